//! Bad input gets a clear error and changes nothing.

use super::*;

/// (method, path, raw body or None, JSON body, status, what the message names)
type BadInput<'a> = (Method, String, Option<&'a str>, Value, u16, &'a str);

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_no_balance() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let capped = api
        .ok(
            Method::POST,
            "/tariffs",
            json!({"name": "Capped", "duration_seconds": 3600, "price": 100,
            "refund_policy": "keep_balance", "max_bonus_percent": 10}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let before = balance_and_ledger(&api, h.client).await;
    let c = h.client;
    let past = (t0() - Duration::hours(1)).to_rfc3339();
    let cases: Vec<BadInput> = vec![
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            Some("{\"amount\": "),
            Value::Null,
            400,
            "body",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            Some("not json"),
            Value::Null,
            400,
            "body",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            None,
            json!({"amount": -5, "method": "cash"}),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            None,
            json!({"amount": 0, "method": "cash"}),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            None,
            json!({"amount": "ten", "method": "cash"}),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/top-ups"),
            None,
            json!({"amount": 5, "method": "cheque"}),
            400,
            "method",
        ),
        (
            Method::POST,
            "/clients/999/top-ups".into(),
            None,
            json!({"amount": 5, "method": "cash"}),
            404,
            "client 999",
        ),
        (
            Method::POST,
            format!("/clients/{c}/purchases"),
            None,
            json!({"tariff_id": capped, "bonus_amount": 11}),
            400,
            "bonus_amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/purchases"),
            None,
            json!({"tariff_id": capped, "bonus_amount": -1}),
            400,
            "bonus_amount",
        ),
        (
            Method::POST,
            format!("/clients/{c}/purchases"),
            None,
            json!({"tariff_id": 999}),
            404,
            "tariff_id",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": h.pcs[0], "tariff_id": h.keep, "planned_start_at": past}),
            400,
            "planned_start_at",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": 999, "tariff_id": h.keep}),
            404,
            "device 999",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": 999, "device_id": h.pcs[0], "tariff_id": h.keep}),
            404,
            "client 999",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": h.pcs[0]}),
            400,
            "holding_id",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": h.pcs[0], "tariff_id": capped, "bonus_amount": 50}),
            400,
            "bonus_amount",
        ),
        (
            Method::POST,
            "/sessions".into(),
            None,
            json!({"client_id": c, "device_id": h.pcs[0], "tariff_id": h.keep, "extra": 1}),
            400,
            "extra",
        ),
        (
            Method::POST,
            "/sessions/999/cancel".into(),
            None,
            json!({}),
            404,
            "session 999",
        ),
        (
            Method::GET,
            "/sessions/999".into(),
            None,
            Value::Null,
            404,
            "session 999",
        ),
        (
            Method::GET,
            "/sessions/abc".into(),
            None,
            Value::Null,
            400,
            "path",
        ),
        (
            Method::POST,
            "/tariffs".into(),
            None,
            json!({"name": "T", "duration_seconds": 0, "price": 1, "refund_policy": "burn"}),
            400,
            "duration_seconds",
        ),
        (
            Method::POST,
            "/tariffs".into(),
            None,
            json!({"name": "T", "duration_seconds": 60, "price": -1, "refund_policy": "burn"}),
            400,
            "price",
        ),
        (
            Method::POST,
            "/tariffs".into(),
            None,
            json!({"name": "T", "duration_seconds": 60, "price": 1, "refund_policy": "burn", "max_bonus_percent": 101}),
            400,
            "max_bonus_percent",
        ),
        (
            Method::POST,
            "/tariffs".into(),
            None,
            json!({"name": "T", "duration_seconds": 60, "price": 1, "refund_policy": "refund"}),
            400,
            "refund_policy",
        ),
        (
            Method::POST,
            "/clients".into(),
            None,
            json!({"name": "", "phone": "+1 555 0111"}),
            400,
            "name",
        ),
        (
            Method::POST,
            "/clients".into(),
            None,
            json!({"name": "Q", "phone": "+1 555 0111", "pin": "12"}),
            400,
            "pin",
        ),
        // No text holds a NUL character (PostgreSQL stores none): in a
        // body, a field's name, a query or a path.
        (
            Method::POST,
            "/clients".into(),
            None,
            json!({"name": "Q\u{0}", "phone": "+1 555 0111"}),
            400,
            "body: name: text may not contain a NUL character",
        ),
        (
            Method::POST,
            "/zones".into(),
            None,
            json!({"name": "Z", "x\u{0}": 1}),
            400,
            "NUL",
        ),
        (
            Method::GET,
            "/clients?search=a%00b".into(),
            None,
            Value::Null,
            400,
            "query: text may not contain a NUL character",
        ),
        (
            Method::GET,
            "/sessions/1%00".into(),
            None,
            Value::Null,
            400,
            "path: text may not contain a NUL character",
        ),
    ];
    for (method, path, raw, body, status, mentions) in cases {
        let (st, res) = match raw {
            Some(raw) => api.post_raw(&path, raw).await,
            None => {
                api.call(
                    method.clone(),
                    &path,
                    if method == Method::GET {
                        None
                    } else {
                        Some(body.clone())
                    },
                )
                .await
            }
        };
        assert_eq!(st, status, "{method} {path} {body}: {res}");
        let message = res["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("error shape: {res}"));
        assert!(
            message.contains(mentions),
            "{method} {path}: {message:?} should name {mentions}"
        );
    }
    assert_eq!(
        balance_and_ledger(&api, h.client).await,
        before,
        "nothing changed"
    );

    let (st, res) = api.get("/no-such-thing").await;
    assert_eq!(st, 404);
    assert_eq!(res["error"]["code"], "not_found");
    let (st, res) = api.call(Method::DELETE, "/hall", None).await;
    assert_eq!(st, 405);
    assert_eq!(res["error"]["code"], "method_not_allowed");
    srv.stop().await;
}
