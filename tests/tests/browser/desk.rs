//! The cash desk's pages: a shift with a cash difference, an itemised
//! receipt, the reports page, and payouts and cash sales on the orders
//! screen.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_opens_and_closes_a_shift_with_a_cash_difference() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let ada = srv.staff("ada", "Administrator").await;
    let b = Browser::start().await?;
    sign_in(&b, &srv, "ada", "password-123").await?;

    // No shift yet: the page asks for the float counted in the till. The
    // Shift button shows once the operator's permissions are known.
    b.wait_for("#nav-shift:not([hidden])", None).await?;
    b.click("#nav-shift").await?;
    b.wait_for("#shift-open-form", None).await?;
    b.type_into("#shift-opening-cash", "100").await?;
    b.click("#shift-open-submit").await?;
    b.wait_for(".shift-report", Some(("data-kind", "x")))
        .await?;

    // 5.00 cash taken at the desk: the till expects 105.00.
    ada.ok(
        Method::POST,
        &format!("/clients/{}/top-ups", h.client),
        json!({"amount": 5_00, "method": "cash"}),
    )
    .await;
    b.click("#shift-refresh").await?;
    b.wait_for(".shift-report", Some(("data-expected-cash", "10500")))
        .await?;

    // 104.50 counted: the page says the till is short before it closes.
    b.type_into("#shift-counted-cash", "104.50").await?;
    b.click("#shift-close-submit").await?;
    b.wait_for("#shift-close-warning:not([hidden])", None)
        .await?;
    assert!(b.text("#shift-close-warning").await?.contains("0.50 short"));
    b.click("#shift-close-submit").await?;
    b.wait_for("#shift-current .shift-report", Some(("data-kind", "z")))
        .await?;
    assert_eq!(
        b.text("#shift-current .cash-difference").await?,
        "0.50 short"
    );
    assert_eq!(b.text("#shift-current .counted-cash").await?, "104.50");
    b.wait_for("#shift-open-form", None).await?;
    b.wait_for("#shift-list", None).await?;
    b.script(
        "document.querySelector('#shift-current h2').scrollIntoView(true);",
        json!([]),
    )
    .await?;
    b.screenshot(&docs("shift-z.png")).await?;

    let shifts = owner.ok(Method::GET, "/shifts", Value::Null).await;
    let z = shifts
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["operator_login"] == "ada")
        .unwrap()
        .clone();
    assert_eq!(
        (z["counted_cash"].as_i64(), z["cash_difference"].as_i64()),
        (Some(104_50), Some(-50))
    );
    b.quit().await;
    srv.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_session_shows_an_itemised_receipt_that_prints_alone() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let a = TestAgent::start(&srv, &owner, h.zone, "PC-A").await;
    // Online before Start (the server marks it so before its welcome):
    // an operator cannot start a session on an offline PC.
    a.wait("connected", |s| s.connected).await;
    let id = new_session(&owner, h.client, a.device_id, h.keep).await;
    owner
        .ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    srv.clock.advance(chrono::Duration::minutes(30));
    owner
        .ok(
            Method::POST,
            &format!("/sessions/{id}/price-corrections"),
            json!({"delta": -10, "reason": "slow network"}),
        )
        .await;
    let b = Browser::start().await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    b.wait_for(&tile(a.device_id), Some(("data-state", "playing")))
        .await?;
    b.click(&tile(a.device_id)).await?;
    b.wait_for("#btn-end", None).await?;
    b.click("#btn-end").await?;
    b.wait_for("#btn-confirm", None).await?;
    b.click("#btn-confirm").await?;

    // The card shows the receipt: time played, the unused time kept on
    // the Keep holding, the correction with its reason, the total.
    let receipt = format!("#session-card .receipt[data-session-id=\"{id}\"]");
    b.wait_for(&receipt, None).await?;
    let text = b.text(&receipt).await?;
    for part in [
        "Keep",
        "30m",
        "1h 30m kept on the holding",
        "Correction: slow network",
        "-0.10",
        "0.40",
        "Print receipt",
    ] {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }
    b.screenshot(&docs("receipt.png")).await?;

    // Printed, the receipt is all there is on the page.
    b.cdp("Emulation.setEmulatedMedia", json!({"media": "print"}))
        .await?;
    let visibility = "const r = document.querySelector(arguments[0]);
        r.classList.add('printing'); document.body.classList.add('print-one');
        const seen = (el) => getComputedStyle(el).visibility === 'visible';
        return [seen(r), seen(r.querySelector('table')), seen(document.querySelector('.sidenav')),
                seen(document.querySelector('.tile')), seen(r.querySelector('.print-receipt'))
                    && getComputedStyle(r.querySelector('.no-print')).display !== 'none'];";
    assert_eq!(
        b.script(visibility, json!([receipt])).await?,
        json!([true, true, false, false, false])
    );
    b.quit().await;
    a.stop().await;
    srv.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_page_read_by_name_and_cancel_in_bulk() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    owner
        .ok(
            Method::POST,
            &format!("/clients/{}/top-ups", h.client),
            json!({"amount": 300_00, "method": "cash"}),
        )
        .await;
    // 101 bookings, one a day: more than a page of 100.
    let mut ids = Vec::new();
    for day in 1..=101 {
        let s = owner
            .ok(
                Method::POST,
                "/sessions",
                json!({"client_id": h.client, "device_id": h.pcs[0], "tariff_id": h.keep,
                    "planned_start_at": t0() + chrono::Duration::days(day)}),
            )
            .await;
        ids.push(s["id"].as_i64().unwrap());
    }
    let b = Browser::start().await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    b.wait_for("#nav-sessions:not([hidden])", None).await?;
    b.click("#nav-sessions").await?;
    let row = |id: i64| format!("#sessions-list tr[data-session-id=\"{id}\"]");
    b.wait_for(&row(ids[100]), None).await?;
    assert!(!b.exists(&row(ids[0])).await?, "the oldest is on page 2");
    b.click("#sessions-pager .page-older").await?;
    b.wait_for(&row(ids[0]), None).await?;
    b.click("#sessions-pager .page-newer").await?;
    b.wait_for(&row(ids[100]), None).await?;

    // Two bookings ticked and cancelled in one go, each on its own.
    for id in [ids[100], ids[99]] {
        b.click(&format!("{} .bulk-pick", row(id))).await?;
    }
    b.type_into("#bulk-reason", "tournament moved").await?;
    b.click("#bulk-cancel-submit").await?;
    b.wait_for("#bulk-result", None).await?;
    assert_eq!(b.text("#bulk-result").await?, "2 cancelled.");
    for id in [ids[100], ids[99]] {
        let s = owner
            .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
            .await;
        assert_eq!(s["status"], "CANCELLED");
        assert_eq!(s["cancelled_by_login"], "owner");
    }
    b.click("#sessions-csv").await?;

    // The audit names who and where, and says what changed in words.
    b.click("#nav-audit").await?;
    b.type_into("#audit-session", &ids[100].to_string()).await?;
    b.click("#audit-apply").await?;
    b.wait_for("#audit-list tr[data-audit-id]", None).await?;
    let text = b.text("#audit-list").await?;
    for part in [
        "owner",
        "PC-0",
        "Dana",
        "session.status: PENDING → CANCELLED",
        "tournament moved",
    ] {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }
    b.screenshot(&docs("audit.png")).await?;
    let errors = b.script_errors().await?;
    assert!(errors.is_empty(), "script errors: {errors:?}");
    b.quit().await;
    srv.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_payout_from_the_orders_screen_is_confirmed_and_a_tariff_sells_for_cash(
) -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let top_up = owner
        .ok(
            Method::GET,
            &format!("/orders?client_id={}", h.client),
            Value::Null,
        )
        .await[0]["id"]
        .as_i64()
        .unwrap();
    let b = Browser::start().await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    b.wait_for("#nav-orders:not([hidden])", None).await?;
    b.click("#nav-orders").await?;
    let row = format!("#orders-list tr[data-order-id=\"{top_up}\"]");
    b.wait_for(&format!("{row} .refund-open"), None).await?;
    assert!(b.text(&row).await?.contains("Dana"));
    b.click(&format!("{row} .refund-open")).await?;
    b.wait_for("#refund-form", None).await?;
    b.type_into("#refund-amount", "1.00").await?;
    b.type_into("#refund-reason", "typed one too many").await?;
    b.click("#refund-submit").await?;
    // Cash leaves the till only on the second press.
    b.wait_for("#refund-form .confirm-note:not([hidden])", None)
        .await?;
    assert!(b
        .text("#refund-form .confirm-note")
        .await?
        .contains("Pay out 1.00 in cash"));
    let orders = |api: Api| async move {
        api.ok(
            Method::GET,
            &format!("/orders?client_id={}", h.client),
            Value::Null,
        )
        .await
        .as_array()
        .unwrap()
        .len()
    };
    assert_eq!(orders(owner.clone()).await, 1, "nothing paid out yet");
    b.click("#refund-submit").await?;
    b.wait_for("#orders-filter .ok", None).await?;
    assert_eq!(orders(owner.clone()).await, 2);
    b.screenshot(&docs("orders.png")).await?;

    // A tariff sold for cash from the client card: the balance stays.
    let before = owner
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await["balance"]
        .clone();
    b.click("#nav-clients").await?;
    b.wait_for(&format!("[data-client-id=\"{}\"]", h.client), None)
        .await?;
    b.click(&format!("[data-client-id=\"{}\"]", h.client))
        .await?;
    b.wait_for("#purchase-form", None).await?;
    // An error names the field as the form labels it, money in units.
    b.type_into("#topup-amount", "12.345").await?;
    b.click("#topup-submit").await?;
    b.wait_for("#topup-form .error", None).await?;
    let said = b.text("#topup-form .error").await?;
    assert!(said.starts_with("Amount: "), "{said}");
    b.type_into("#topup-amount", "20000000").await?;
    b.click("#topup-submit").await?;
    b.wait_for("#topup-form .confirm-note:not([hidden])", None)
        .await?;
    b.click("#topup-submit").await?;
    b.wait_for("#topup-form .error", None).await?;
    let said = b.text("#topup-form .error").await?;
    assert_eq!(said, "Amount: must be at most 10000000.00 (a typo guard)");
    b.select("#purchase-tariff", &h.keep.to_string()).await?;
    b.select("#purchase-pay", "cash").await?;
    b.click("#purchase-submit").await?;
    b.wait_for("#purchase-form .ok", None).await?;
    let client = owner
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(client["balance"], before);
    assert_eq!(client["holdings"].as_array().unwrap().len(), 1);

    // The client's phone and PIN change from the card.
    b.click(".client-edit summary").await?;
    b.type_into("#client-edit-phone", "+1 (555) 0177").await?;
    b.type_into("#client-edit-pin", "2468").await?;
    b.click("#client-edit-submit").await?;
    b.wait_for("#client-edit-form .ok", None).await?;
    let client = owner
        .ok(Method::GET, &format!("/clients/{}", h.client), Value::Null)
        .await;
    assert_eq!(client["phone"], "+15550177", "kept in E.164");
    let (st, body) = srv
        .anonymous()
        .post(
            "/player/login",
            json!({"phone": "+1 555 0177", "pin": "2468"}),
        )
        .await;
    assert_eq!(st, 200, "the new PIN signs the player in: {body}");
    let errors = b.script_errors().await?;
    assert!(errors.is_empty(), "script errors: {errors:?}");
    b.quit().await;
    srv.stop().await;
    Ok(())
}
