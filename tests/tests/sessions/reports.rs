//! Readable reports: names beside ids, paging past any cap, the CSV.

use super::*;

#[tokio::test]
async fn reports_name_who_and_where_and_page_past_any_cap() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let ada = srv.staff("ada", "Administrator").await;
    api.ok(
        Method::POST,
        &format!("/clients/{}/top-ups", h.client),
        json!({"amount": 2000, "method": "cash"}),
    )
    .await;
    // Seven bookings, a day apart, on PC-1; ada cancels one of them.
    let mut ids = Vec::new();
    for day in 1..=7 {
        let s = api
            .ok(
                Method::POST,
                "/sessions",
                json!({"client_id": h.client, "device_id": h.pcs[1],
                    "tariff_id": h.keep, "planned_start_at": t0() + Duration::days(day)}),
            )
            .await;
        ids.push(s["id"].as_i64().unwrap());
    }
    let cancelled = ada
        .ok(
            Method::POST,
            &format!("/sessions/{}/cancel", ids[0]),
            json!({"reason": "called in sick"}),
        )
        .await;
    assert_eq!(cancelled["device_name"], "PC-1");
    assert_eq!(cancelled["cancelled_by_login"], "ada");

    // The audit names the operator, the PC and the client beside the ids.
    let audit = api
        .ok(
            Method::GET,
            &format!("/audit?session_id={}", ids[0]),
            Value::Null,
        )
        .await;
    let cancel = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "session.cancel")
        .unwrap()
        .clone();
    assert_eq!(
        (
            cancel["operator_login"].as_str(),
            cancel["device_name"].as_str(),
            cancel["client_name"].as_str()
        ),
        (Some("ada"), Some("PC-1"), Some("Dana"))
    );

    // Pages of three, newest first, until none is left.
    let mut seen: Vec<i64> = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let q = match before {
            Some(b) => format!("/sessions?limit=3&before_id={b}"),
            None => "/sessions?limit=3".to_owned(),
        };
        let page = api.ok(Method::GET, &q, Value::Null).await;
        let page: Vec<i64> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .collect();
        assert!(page.len() <= 3);
        seen.extend(&page);
        match page.last() {
            Some(last) if page.len() == 3 => before = Some(*last),
            _ => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    for bad in ["limit=0", "limit=501", "before_id=x", "before_id=0"] {
        let (st, body) = api.get(&format!("/sessions?{bad}")).await;
        assert_eq!(st, 400, "{bad}: {body}");
    }
    let (st, _) = api.get("/audit?limit=1001").await;
    assert_eq!(st, 400);
    let one = api.ok(Method::GET, "/audit?limit=1", Value::Null).await;
    assert_eq!(one.as_array().unwrap().len(), 1);

    // The CSV: every matching session (all pages), names, money in units.
    api.ok(
        Method::POST,
        &format!("/sessions/{}/price-corrections", ids[1]),
        json!({"delta": 150, "reason": "snacks"}),
    )
    .await;
    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/sessions.csv?limit=2", srv.base))
        .bearer_auth(api.token().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 7, "every page of two: {csv}");
    assert!(lines[0].contains(",device_name,") && lines[0].contains(",cancelled_by_login,"));
    let sick = lines
        .iter()
        .find(|l| l.starts_with(&format!("{},", ids[0])))
        .unwrap();
    assert!(sick.contains(",PC-1,") && sick.contains(",ada,"), "{sick}");
    let snacks = lines
        .iter()
        .find(|l| l.starts_with(&format!("{},", ids[1])))
        .unwrap();
    assert!(snacks.contains(",1.50,"), "{snacks}");
    srv.stop().await;
}
