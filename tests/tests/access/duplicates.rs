//! A name the club already uses is refused with what the schema's rule
//! says, on either backend: the store reads SQLite's report and
//! PostgreSQL's constraint name into the same rule, and nothing changes.

use super::*;

#[tokio::test]
async fn a_name_in_use_is_refused_by_its_rule_and_changes_nothing() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let role = api.role_id("Administrator").await;
    let cases = [
        (
            "/zones",
            json!({"name": "Main"}),
            "a zone with this name already exists in this club",
        ),
        (
            "/devices",
            json!({"name": "PC-0", "zone_id": h.zone, "x": 7, "y": 7}),
            "a PC with this name already exists in this club",
        ),
        (
            "/tariffs",
            json!({"name": "Keep", "duration_seconds": 60, "price": 1, "refund_policy": "burn"}),
            "a tariff with this name already exists",
        ),
        (
            "/operators",
            json!({"login": "owner", "password": "password-123", "role_id": role}),
            "an operator with login owner already exists",
        ),
        (
            "/roles",
            json!({"name": "Administrator", "permissions": []}),
            "a role with this name already exists",
        ),
    ];
    for (path, body, said) in cases {
        let before = api.ok(Method::GET, path, Value::Null).await;
        let (status, answer) = api.post(path, body).await;
        assert_eq!(status, 409, "{path}: {answer}");
        assert_eq!(answer["error"]["message"], said, "{path}");
        assert_eq!(
            api.ok(Method::GET, path, Value::Null).await,
            before,
            "{path}"
        );
    }
    srv.stop().await;
}
