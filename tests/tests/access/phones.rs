//! Phone numbers are kept in E.164 in the club's region: any spelling is
//! the same client, for staff and for the player's sign-in.

use super::*;

#[tokio::test]
async fn any_spelling_of_a_number_is_one_client_for_staff_and_for_sign_in() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let mut settings = api.ok(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings["phone_region"], "US", "the default region");
    for bad in ["XX", "de", "Germany"] {
        settings["phone_region"] = json!(bad);
        let (st, body) = api
            .call(Method::PUT, "/settings", Some(settings.clone()))
            .await;
        assert_eq!(st, 400, "{bad}: {body}");
    }
    settings["phone_region"] = json!("DE");
    api.ok(Method::PUT, "/settings", settings).await;

    let c = api
        .ok(
            Method::POST,
            "/clients",
            json!({"name": "Jonas", "phone": "+49 30 1234567", "pin": "2468"}),
        )
        .await;
    assert_eq!(c["phone"], "+49301234567");
    for spelling in ["+49 (30) 123-4567", "030 1234567", "(030) 123 45 67"] {
        let (st, body) = api
            .post(
                "/clients",
                json!({"name": "Jonas again", "phone": spelling}),
            )
            .await;
        assert_eq!(st, 409, "{spelling}: {body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("+49301234567"));
    }
    // Another client may not take it by an edit either.
    let other = api
        .ok(
            Method::POST,
            "/clients",
            json!({"name": "Mia", "phone": "030 7654321"}),
        )
        .await;
    assert_eq!(other["phone"], "+49307654321", "read in the club's region");
    let (st, _) = api
        .call(
            Method::PATCH,
            &format!("/clients/{}", other["id"]),
            Some(json!({"phone": "0049 30 123 4567"})),
        )
        .await;
    assert_eq!(st, 409);
    // Found by the digits however they are typed.
    let found = api
        .ok(Method::GET, "/clients?q=030%20123-45", Value::Null)
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["id"], c["id"]);
    // The player signs in with any spelling.
    for spelling in ["+49 30 1234567", "030-123 4567"] {
        let token = srv
            .anonymous()
            .ok(
                Method::POST,
                "/player/login",
                json!({"phone": spelling, "pin": "2468"}),
            )
            .await;
        assert!(token["token"].is_string(), "{spelling}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn numbers_kept_as_typed_before_are_brought_to_e164_at_start() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let a = api
        .ok(
            Method::POST,
            "/clients",
            json!({"name": "Ann", "phone": "+1 212 555 0100"}),
        )
        .await;
    let b = api
        .ok(
            Method::POST,
            "/clients",
            json!({"name": "Ben", "phone": "+1 212 555 0199"}),
        )
        .await;
    let stopped = srv.stop_for_a_while().await;
    // As an older server kept them: as typed; and two spellings of one
    // number on two clients, which no rule can merge.
    stopped
        .place
        .sql(&format!(
            "DELETE FROM settings WHERE key = 'phones_e164'; \
             UPDATE clients SET phone = '(212) 555-0100' WHERE id = {}; \
             INSERT INTO clients (name, phone, created_at) VALUES ('Ann twin', '212 555 0100', 0); \
             UPDATE clients SET phone = '+1 (212) 555-0199' WHERE id = {};",
            a["id"], b["id"]
        ))
        .await;
    let srv = stopped.start_again().await;
    let api = srv.owner().await;
    let phone = |id: Value| {
        let api = api.clone();
        async move {
            api.ok(Method::GET, &format!("/clients/{id}"), Value::Null)
                .await["phone"]
                .clone()
        }
    };
    assert_eq!(phone(b["id"].clone()).await, "+12125550199");
    // Of the two spellings of one number, the first became E.164; the
    // other is left as typed (and logged) for the desk to sort out.
    assert_eq!(phone(a["id"].clone()).await, "+12125550100");
    let twin = api
        .ok(Method::GET, "/clients?q=Ann%20twin", Value::Null)
        .await;
    assert_eq!(twin[0]["phone"], "212 555 0100");
    let audit = api.ok(Method::GET, "/audit", Value::Null).await;
    let normalized = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "client.phone_normalized")
        .count();
    assert_eq!(normalized, 2);
    srv.stop().await;
}
