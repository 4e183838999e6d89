//! The operator page in real headless Chromium against a real server and
//! real agents: sign in, a PC comes online, a session is created on the
//! page, Start on the PC shows without a reload, a move updates both PCs,
//! a Cashier has no Cancel button and is refused when forcing it, and
//! Start on a PC whose agent is offline must be confirmed.

use club_tests::agents::TestAgent;
use club_tests::browser::Browser;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;

fn docs(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name)
}

fn tile(id: i64) -> String {
    format!("[data-device-id=\"{id}\"]:not(#session-card)")
}

async fn sign_in(b: &Browser, srv: &TestServer, login: &str, password: &str) -> anyhow::Result<()> {
    b.goto(&format!("{}/", srv.base)).await?;
    b.wait_for("#login-form", None).await?;
    b.type_into("#login", login).await?;
    b.type_into("#password", password).await?;
    b.click("#login-submit").await?;
    // The app is in the page from the start: wait until it is shown.
    b.wait_for("#app:not([hidden])", None).await?;
    b.wait_for("#hall", None).await?;
    b.wait_for("#feed-status", None).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_runs_a_session_from_the_hall_page() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    srv.staff("ada", "Administrator").await;
    let b = Browser::start().await?;
    sign_in(&b, &srv, "ada", "password-123").await?;

    // A PC turns online when its agent connects.
    let a = TestAgent::start(&srv, &owner, h.zone, "PC-A").await;
    b.wait_for(&tile(a.device_id), Some(("data-state", "free")))
        .await?;
    assert!(b.text("#operator").await?.contains("ada"));
    let other = TestAgent::start(&srv, &owner, h.zone, "PC-B").await;
    b.wait_for(&tile(other.device_id), Some(("data-state", "free")))
        .await?;
    // Marks this page load: it must survive everything below (no reload).
    b.script("window.__sameLoad = true;", json!([])).await?;

    // Create a session on the page.
    b.click(&tile(a.device_id)).await?;
    b.wait_for("#btn-create", None).await?;
    b.click("#btn-create").await?;
    b.wait_for("#create-form", None).await?;
    b.type_into("#create-client-search", "Dana").await?;
    b.select("#create-client", &h.client.to_string()).await?;
    b.select("#create-tariff", &h.keep.to_string()).await?;
    b.click("#create-submit").await?;
    b.wait_for(&tile(a.device_id), Some(("data-state", "waiting")))
        .await?;
    assert!(b.text(&tile(a.device_id)).await?.contains("Dana"));
    a.wait("the lock screen names the client", |s| {
        s.session.as_ref().is_some_and(|x| x.client_name == "Dana")
    })
    .await;

    // The player presses Start on the PC; the page shows it live.
    let (status, _) = a.press_start().await;
    assert_eq!(status, 200);
    b.wait_for(&tile(a.device_id), Some(("data-state", "playing")))
        .await?;
    b.click(&tile(a.device_id)).await?;
    b.wait_for("#session-card", Some(("data-status", "STARTED")))
        .await?;

    // Add tariff for a client with no holding left on the balance: the
    // pane says so (it used to fail with a script error).
    b.click("#btn-add-tariff").await?;
    b.wait_for("#add-tariff-form", None).await?;
    let no_holding = "#add-tariff-holding option[disabled]";
    b.wait_for(no_holding, None).await?;
    assert_eq!(b.text(no_holding).await?, "no available holding");
    assert!(
        !b.exists("#add-tariff-form [role=alert]").await?,
        "{}",
        b.text("#add-tariff-form").await?
    );
    // Extend is the default: the tariff bought now is queued after the
    // current one, and the tile and the card show the time added.
    let extend_checked = "return document.querySelector('#add-tariff-extend').checked;";
    assert_eq!(b.script(extend_checked, json!([])).await?, json!(true));
    b.select("#add-tariff-tariff", &h.keep.to_string()).await?;
    b.screenshot(&docs("add-tariff.png")).await?;
    b.click("#add-tariff-submit").await?;
    let queued = format!("{} .tile-queued", tile(a.device_id));
    b.wait_for(&queued, None).await?;
    assert_eq!(b.text(&queued).await?, "+2h 00m queued (Keep)");
    b.wait_for("#session-card .queued", None).await?;
    b.wait_for("#session-card tr.queued", None).await?;
    b.screenshot(&docs("session-card.png")).await?;

    // Move it to PC-B from the card: both PCs update.
    b.wait_for("#btn-move", None).await?;
    b.click("#btn-move").await?;
    b.wait_for("#move-form", None).await?;
    b.select("#move-device", &other.device_id.to_string())
        .await?;
    b.click("#move-submit").await?;
    b.wait_for(&tile(a.device_id), Some(("data-state", "free")))
        .await?;
    b.wait_for(&tile(other.device_id), Some(("data-state", "playing")))
        .await?;
    other.wait("PC-B unlocked", |s| !s.locked).await;
    a.wait("PC-A locked", |s| s.locked && s.session.is_none())
        .await;
    assert_eq!(
        b.script("return window.__sameLoad === true;", json!([]))
            .await?,
        json!(true),
        "no reload"
    );
    b.screenshot(&docs("hall.png")).await?;

    // A message to PC-A from its card: on the PC, and answered on the page.
    b.click(&tile(a.device_id)).await?;
    b.wait_for("#btn-pc-message", None).await?;
    b.click("#btn-pc-message").await?;
    b.wait_for("#pc-message-text", None).await?;
    b.type_into("#pc-message-text", "Closing at 23:00").await?;
    b.click("#pc-command-submit").await?;
    a.wait("the message is on PC-A", |s| {
        s.message.as_deref() == Some("Closing at 23:00")
    })
    .await;
    b.wait_for("#pc-command", Some(("data-state", "done")))
        .await?;

    // PC-B's agent goes silent mid-session: the tile is an alarm, live.
    let other_id = other.device_id;
    other.stop().await;
    b.wait_for(
        &tile(other_id),
        Some(("data-alert", "offline_while_playing")),
    )
    .await?;
    assert!(b
        .text(&tile(other_id))
        .await?
        .contains("offline while playing"));
    b.screenshot(&docs("hall-alarm.png")).await?;

    b.quit().await;
    a.stop().await;
    srv.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_sees_no_cancel_button_and_is_refused_when_forcing_it() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    srv.staff("carl", "Cashier").await;
    let a = TestAgent::start(&srv, &owner, h.zone, "PC-A").await;
    let s = owner
        .ok(
            Method::POST,
            "/sessions",
            json!({"client_id": h.client, "device_id": a.device_id, "tariff_id": h.keep}),
        )
        .await;
    let id = s["id"].as_i64().unwrap();

    let b = Browser::start().await?;
    sign_in(&b, &srv, "carl", "password-123").await?;
    b.wait_for(&tile(a.device_id), Some(("data-state", "waiting")))
        .await?;
    b.click(&tile(a.device_id)).await?;
    b.wait_for("#session-card", Some(("data-status", "ACTIVE")))
        .await?;
    assert!(
        b.exists("#btn-start").await?,
        "a cashier may press Start for the player"
    );
    assert!(
        !b.exists("#btn-cancel").await?,
        "no Cancel without SessionDelete"
    );
    assert!(!b.exists("#btn-move").await?, "no Move without SessionEdit");

    // Forcing it from the page with the cashier's own token: 403.
    let answer = b
        .script_async(
            r#"const [id, done] = arguments;
            fetch(`/api/v1/sessions/${id}/cancel`, {method: "POST",
              headers: {"authorization": "Bearer " + window.clubhall.token(), "content-type": "application/json"},
              body: "{}"})
              .then(async r => done({status: r.status, body: await r.json()}));"#,
            json!([id]),
        )
        .await?;
    assert_eq!(answer["status"], 403);
    assert_eq!(
        answer["body"]["error"]["message"],
        "missing permission SessionDelete"
    );
    let after = owner
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await;
    assert_eq!(after["status"], "ACTIVE", "nothing changed");

    // A booking on a PC whose agent is offline: Start first says so, and
    // only "Start anyway" starts it (audited as forced).
    let offline = h.pcs[0];
    let booked = new_session(&owner, h.client, offline, h.keep).await;
    b.wait_for(&tile(offline), Some(("data-state", "offline")))
        .await?;
    b.click(&tile(offline)).await?;
    b.wait_for("#session-card", Some(("data-status", "ACTIVE")))
        .await?;
    b.click("#btn-start").await?;
    b.wait_for("#btn-start", Some(("data-force", "true")))
        .await?;
    assert!(b.text("#session-card").await?.contains("is offline"));
    let unchanged = owner
        .ok(Method::GET, &format!("/sessions/{booked}"), Value::Null)
        .await;
    assert_eq!(
        unchanged["status"], "ACTIVE",
        "the first press starts nothing"
    );
    b.click("#btn-start").await?;
    b.wait_for("#session-card", Some(("data-status", "STARTED")))
        .await?;
    let started = owner
        .ok(Method::GET, &format!("/sessions/{booked}"), Value::Null)
        .await;
    assert!(started["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "session.start_offline"));

    b.quit().await;
    a.stop().await;
    srv.stop().await;
    Ok(())
}

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
async fn every_view_opens_without_a_script_error() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    new_session(&owner, h.client, h.pcs[0], h.keep).await;
    let b = Browser::start().await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    // Each view, and what it loads: its own element appears.
    for (view, loaded) in [
        ("clients", "#view-clients"),
        ("sessions", "#sessions-list table"),
        ("shift", "#shift-current .shift-report"),
        ("orders", "#orders-list table"),
        ("tariffs", "#tariffs-list table"),
        ("roles", "#roles-matrix table"),
        ("audit", "#audit-list table"),
        ("setup", "#setup-password"),
        ("hall", &tile(h.pcs[0]) as &str),
    ] {
        let nav = format!("#nav-{view}:not([hidden])");
        b.wait_for(&nav, None).await?;
        b.click(&nav).await?;
        b.wait_for(loaded, None).await?;
    }
    b.click(&tile(h.pcs[0])).await?;
    b.wait_for("#session-card", Some(("data-status", "ACTIVE")))
        .await?;
    let errors = b.script_errors().await?;
    assert!(errors.is_empty(), "script errors: {errors:?}");
    // The check can fail: a script error is seen.
    b.script("console.error('seen');", json!([])).await?;
    let seen = b.script_errors().await?;
    assert!(seen.iter().any(|m| m.contains("seen")), "{seen:?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_adds_a_pc_reads_its_code_and_disables_an_operator() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    owner
        .ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await;
    srv.staff("ada", "Administrator").await;
    let b = Browser::start().await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    // A fresh install's hall says where PCs are added.
    b.wait_for("#hall-setup-link", None).await?;
    b.click("#hall-setup-link").await?;
    b.wait_for("#pc-form", None).await?;

    // A new PC: its one-time code and the command to run on it.
    b.type_into("#pc-name", "PC-7").await?;
    b.click("#pc-submit").await?;
    b.wait_for("#setup-code .enroll-code", None).await?;
    let code = b.text("#setup-code .code").await?;
    assert_eq!(code.len(), 10, "{code}");
    let cmd = b.text("#setup-code").await?;
    assert!(
        cmd.contains(&format!(
            "club-agent enroll --server {} --code {code}",
            srv.base
        )),
        "{cmd}"
    );
    b.screenshot(&docs("setup.png")).await?;
    let devices = owner.ok(Method::GET, "/devices", Value::Null).await;
    let pc = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "PC-7")
        .unwrap()
        .clone();
    let row = format!("#setup-pcs tr[data-device-id=\"{}\"]", pc["id"]);
    b.wait_for(&row, None).await?;
    b.click(&format!("{row} .pc-disable")).await?;
    b.wait_for(&format!("{row} .pc-enable"), None).await?;
    let pc = owner
        .ok(Method::GET, &format!("/devices/{}", pc["id"]), Value::Null)
        .await;
    assert_eq!(pc["enabled"], false);

    // ada is disabled from the page and cannot sign in any more.
    b.wait_for("#staff-list tr[data-operator-id]", None).await?;
    let ada = "#staff-list tr[data-operator-id]:has(.op-disable)";
    b.wait_for(ada, None).await?;
    assert!(b.text(ada).await?.contains("ada"));
    b.click(&format!("{ada} .op-disable")).await?;
    b.wait_for("#staff-list tr.disabled", None).await?;
    let (st, _) = srv
        .anonymous()
        .post(
            "/auth/login",
            json!({"login": "ada", "password": "password-123"}),
        )
        .await;
    assert_ne!(st, 200, "a disabled operator cannot sign in");

    // The club's settings save from the page.
    b.type_into("#settings-confirm-above", "250.00").await?;
    b.click("#settings-submit").await?;
    b.wait_for("#settings-form .ok", None).await?;
    let settings = owner.ok(Method::GET, "/settings", Value::Null).await;
    assert_eq!(settings["confirm_above"], 250_00);
    let errors = b.script_errors().await?;
    assert!(errors.is_empty(), "script errors: {errors:?}");
    b.quit().await;
    srv.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hall_goes_stale_and_takes_no_action_while_the_server_is_down() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let b = Browser::start().await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    b.wait_for(&tile(h.pcs[0]), None).await?;
    b.wait_for(".feed.live", None).await?;
    let inert = "return document.querySelector('#view-hall').inert;";
    assert_eq!(b.script(inert, json!([])).await?, json!(false));

    let stopped = srv.stop_for_a_while().await;
    b.wait_for("body.hall-stale", None).await?;
    b.wait_for("#hall-stale:not([hidden])", None).await?;
    assert_eq!(
        b.script(inert, json!([])).await?,
        json!(true),
        "no action on a stale hall"
    );
    b.screenshot(&docs("hall-stale.png")).await?;

    let srv = stopped.start_again().await;
    b.wait_for("#hall-stale[hidden]", None).await?;
    assert_eq!(b.script(inert, json!([])).await?, json!(false));
    b.quit().await;
    srv.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_of_pcs_fits_beside_an_open_card_at_1280_pixels() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let zone = owner
        .ok(Method::POST, "/zones", json!({"name": "Arena"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut first = 0;
    for x in 0..6 {
        let d = owner
            .ok(
                Method::POST,
                "/devices",
                json!({"name": format!("A-{x}"), "zone_id": zone, "x": x, "y": 0}),
            )
            .await;
        if x == 0 {
            first = d["id"].as_i64().unwrap();
        }
    }
    let b = Browser::start().await?;
    b.resize(1280, 800).await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    b.wait_for(&tile(first), None).await?;
    b.click(&tile(first)).await?;
    b.wait_for("#session-card", None).await?;
    let fits = "const hall = document.querySelector('#hall');
        return [hall.scrollWidth <= hall.clientWidth, hall.clientWidth];";
    let got = b.script(fits, json!([])).await?;
    assert_eq!(got[0], json!(true), "the hall scrolls sideways: {got}");
    b.screenshot(&docs("hall-1280.png")).await?;
    b.quit().await;
    srv.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc_dragged_on_the_map_keeps_its_new_place() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let b = Browser::start().await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    let pc = tile(h.pcs[0]);
    b.wait_for(&pc, Some(("data-x", "0"))).await?;
    b.wait_for("#arrange-toggle", None).await?;
    b.click("#arrange-toggle").await?;
    b.wait_for("body.arranging", None).await?;
    // PC-0 from the first cell to the free row below, third column.
    let size = b
        .script(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.width, r.height];",
            json!([pc]),
        )
        .await?;
    let (w, ht) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
    b.drag(&pc, (2.0 * (w + 8.0)) as i64, (ht + 8.0) as i64)
        .await?;
    b.wait_for(&pc, Some(("data-y", "1"))).await?;
    let d = owner
        .ok(Method::GET, &format!("/devices/{}", h.pcs[0]), Value::Null)
        .await;
    assert_eq!((d["x"].as_i64(), d["y"].as_i64()), (Some(2), Some(1)));
    assert!(
        !b.exists("#session-card").await?,
        "arranging, a click does not open the card"
    );
    b.click("#arrange-toggle").await?;
    b.wait_for("body:not(.arranging)", None).await?;
    let errors = b.script_errors().await?;
    assert!(errors.is_empty(), "script errors: {errors:?}");
    b.quit().await;
    srv.stop().await;
    Ok(())
}
