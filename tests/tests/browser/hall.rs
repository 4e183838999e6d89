//! The hall page: sessions run from the map, what a Cashier may not do,
//! a stale hall while the server is down, the layout at 1280 pixels, and
//! a PC dragged on the map.

use super::*;

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
