//! Permissions checked on the server, and signing in.

use super::*;

#[tokio::test]
async fn a_cashier_cannot_cancel_until_the_owner_grants_session_delete() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let cashier = srv.staff("carl", "Cashier").await;
    let s = cashier
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    let id = s["id"].as_i64().unwrap();

    let (st, body) = cashier
        .post(&format!("/sessions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(st, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(body["error"]["message"], "missing permission SessionDelete");

    // Role settings: the Owner grants SessionDelete to Cashier.
    let cashier_role = owner.role_id("Cashier").await;
    let roles = owner.ok(Method::GET, "/roles", Value::Null).await;
    let mut perms: Vec<Value> = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == cashier_role)
        .unwrap()["permissions"]
        .as_array()
        .unwrap()
        .clone();
    perms.push(json!("SessionDelete"));
    let updated = owner
        .ok(
            Method::PUT,
            &format!("/roles/{cashier_role}"),
            json!({"permissions": perms}),
        )
        .await;
    assert!(updated["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("SessionDelete")));

    let cancelled = cashier
        .ok(Method::POST, &format!("/sessions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let audit = owner.ok(Method::GET, "/audit", Value::Null).await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "role.permissions"));
    srv.stop().await;
}

#[tokio::test]
async fn each_permission_is_checked_on_the_server() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let cashier = srv.staff("carl", "Cashier").await;
    let admin = srv.staff("ada", "Administrator").await;
    let tariff = json!({"name": "X", "duration_seconds": 60, "price": 1, "refund_policy": "burn"});
    let checks: Vec<(&Api, Method, String, Value, &str)> = vec![
        (
            &cashier,
            Method::POST,
            "/tariffs".into(),
            tariff.clone(),
            "TariffManage",
        ),
        (
            &cashier,
            Method::PUT,
            format!("/tariffs/{}", h.keep),
            tariff,
            "TariffManage",
        ),
        (
            &cashier,
            Method::POST,
            "/zones".into(),
            json!({"name": "Z"}),
            "DeviceManage",
        ),
        (
            &cashier,
            Method::POST,
            "/devices".into(),
            json!({"name": "P", "zone_id": h.zone, "x": 0, "y": 0}),
            "DeviceManage",
        ),
        (
            &cashier,
            Method::POST,
            format!("/devices/{}/enrollment", h.pcs[0]),
            json!({}),
            "DeviceManage",
        ),
        (
            &admin,
            Method::GET,
            "/roles".into(),
            Value::Null,
            "RoleManage",
        ),
        (
            &admin,
            Method::PUT,
            "/roles/1".into(),
            json!({"permissions": []}),
            "RoleManage",
        ),
        (
            &admin,
            Method::POST,
            "/operators".into(),
            json!({"login": "x", "password": "password-1", "role_id": 1}),
            "RoleManage",
        ),
        (
            &admin,
            Method::PUT,
            "/settings".into(),
            json!({"warn_before_end_seconds": 60}),
            "RoleManage",
        ),
    ];
    for (api, method, path, body, perm) in checks {
        let body = if method == Method::GET {
            None
        } else {
            Some(body)
        };
        let (st, res) = api.call(method.clone(), &path, body).await;
        assert_eq!(st, 403, "{method} {path}: {res}");
        assert_eq!(
            res["error"]["message"],
            format!("missing permission {perm}"),
            "{method} {path}"
        );
    }

    // A role without SessionCreate, SessionStart, SessionEnd, BalanceTopUp, ReportView.
    let bare = owner
        .ok(
            Method::POST,
            "/roles",
            json!({"name": "Viewer", "permissions": []}),
        )
        .await;
    owner
        .ok(
            Method::POST,
            "/operators",
            json!({"login": "vic", "password": "password-123", "role_id": bare["id"]}),
        )
        .await;
    let viewer = srv.login("vic", "password-123").await;
    let s = owner
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep}),
        )
        .await;
    let id = s["id"].as_i64().unwrap();
    let checks: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/sessions".into(),
            json!({"client_id": h.client, "device_id": h.pcs[1], "tariff_id": h.keep}),
            "SessionCreate",
        ),
        (
            Method::POST,
            format!("/sessions/{id}/start"),
            json!({}),
            "SessionStart",
        ),
        (
            Method::POST,
            format!("/sessions/{id}/end"),
            json!({}),
            "SessionEnd",
        ),
        (
            Method::POST,
            format!("/clients/{}/top-ups", h.client),
            json!({"amount": 5, "method": "cash"}),
            "BalanceTopUp",
        ),
        (
            Method::POST,
            format!("/clients/{}/purchases", h.client),
            json!({"tariff_id": h.keep}),
            "BalanceTopUp",
        ),
        (
            Method::POST,
            "/clients".into(),
            json!({"name": "N", "phone": "+1 555 0300"}),
            "ClientManage",
        ),
        (Method::GET, "/sessions".into(), Value::Null, "ReportView"),
        (Method::GET, "/audit".into(), Value::Null, "ReportView"),
    ];
    for (method, path, body, perm) in checks {
        let body = if method == Method::GET {
            None
        } else {
            Some(body)
        };
        let (st, res) = viewer.call(method.clone(), &path, body).await;
        assert_eq!(st, 403, "{method} {path}: {res}");
        assert_eq!(
            res["error"]["message"],
            format!("missing permission {perm}")
        );
    }
    srv.stop().await;
}

#[tokio::test]
async fn signing_in_needs_the_right_password_and_a_live_token() {
    let srv = TestServer::start().await;
    let anon = srv.anonymous();
    let (st, body) = anon
        .post("/auth/login", json!({"login": "owner", "password": "nope"}))
        .await;
    assert_eq!(st, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (st, _) = anon
        .post("/auth/login", json!({"login": "ghost", "password": "nope"}))
        .await;
    assert_eq!(st, 401);
    let (st, _) = anon.get("/hall").await;
    assert_eq!(st, 401);

    let owner = srv.owner().await;
    let (st, hall) = owner.get("/hall").await;
    assert_eq!(st, 200);
    assert!(hall["devices"].as_array().unwrap().is_empty());

    // Tokens expire (12 h by default).
    srv.clock.advance(Duration::hours(13));
    let (st, _) = owner.get("/hall").await;
    assert_eq!(st, 401);
    srv.stop().await;
}
