//! Set-up: every view opens cleanly, and the Owner adds a PC and
//! disables an operator.

use super::*;

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
async fn the_chains_owner_adds_a_club_and_its_manager_sees_only_it() -> anyhow::Result<()> {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let h = hall(&owner).await;
    let b = Browser::start().await?;
    sign_in(&b, &srv, "owner", OWNER_PASSWORD).await?;
    b.wait_for(&tile(h.pcs[0]), None).await?;
    b.click("#nav-setup").await?;

    // A second club, a zone in it and a PC in that zone, all on the page.
    b.wait_for("#club-form", None).await?;
    b.type_into("#club-name", "North").await?;
    b.type_into("#club-time-zone", "Europe/Helsinki").await?;
    b.type_into("#club-no-show", "20").await?;
    b.click("#club-submit").await?;
    b.wait_for("[data-club-id=\"2\"]", None).await?;
    // The first club, "Club" until named, is renamed on the page.
    b.type_into("[data-club-id=\"1\"] .club-rename", "Center")
        .await?;
    // ... and keeps no no-show rule of its own: none in this club.
    b.type_into("[data-club-id=\"1\"] .club-no-show", "0")
        .await?;
    b.click("[data-club-id=\"1\"] .club-rename-save").await?;
    b.wait_for("[data-club-id=\"1\"]", Some(("data-club-name", "Center")))
        .await?;
    let clubs = owner.ok(Method::GET, "/clubs", Value::Null).await;
    assert_eq!(clubs[1]["time_zone"], "Europe/Helsinki", "{clubs}");
    assert_eq!(clubs[0]["time_zone"], Value::Null, "{clubs}");
    assert_eq!(clubs[1]["no_show_minutes"], 20, "{clubs}");
    assert_eq!(clubs[0]["no_show_minutes"], 0, "{clubs}");
    b.script(
        "document.querySelector('#setup-clubs').scrollIntoView()",
        json!([]),
    )
    .await?;
    b.screenshot(&docs("setup-clubs.png")).await?;
    b.wait_for("#zone-club", None).await?;
    b.select("#zone-club", "2").await?;
    b.type_into("#zone-name", "North hall").await?;
    b.click("#zone-submit").await?;
    // Set-up is drawn again with the new zone among the PCs' zones: then
    // it is stored (reading it sooner raced the page's request).
    b.wait_for("#pc-zone option:nth-child(2)", None).await?;
    let zones = owner.ok(Method::GET, "/zones", Value::Null).await;
    let zone = zones
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == "North hall")
        .expect("the zone was added")
        .clone();
    assert_eq!(zone["club_id"], 2);
    let zone_id = zone["id"].as_i64().unwrap();
    b.wait_for(&format!("#pc-zone option[value=\"{zone_id}\"]"), None)
        .await?;
    b.select("#pc-zone", &zone_id.to_string()).await?;
    b.type_into("#pc-name", "N-1").await?;
    b.click("#pc-submit").await?;
    b.wait_for("#setup-code .enroll-code", None).await?;
    let north_pc = owner
        .ok(Method::GET, "/devices", Value::Null)
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "N-1")
        .expect("the PC was added")["id"]
        .as_i64()
        .unwrap();

    // The chain's hall names each zone's club.
    b.click("#nav-hall").await?;
    b.wait_for(&tile(north_pc), None).await?;
    let title = b
        .text(&format!("[data-zone-id=\"{zone_id}\"] .zone-title"))
        .await?;
    assert!(title.contains("North · North hall"), "{title}");
    let first = b
        .text(&format!("[data-zone-id=\"{}\"] .zone-title", h.zone))
        .await?;
    assert!(first.contains("Center · Main"), "{first}");
    b.screenshot(&docs("hall-chain.png")).await?;

    // North's manager (the Owner role, in North only). A page opened on
    // Set-up itself shows the clubs and her club once they are read.
    let owner_role = owner.role_id("Owner").await;
    let nora = owner
        .ok(
            Method::POST,
            "/operators",
            json!({"login": "nora", "password": "password-123", "role_id": owner_role,
                "club_id": 2}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    b.goto(&format!("{}/#setup", srv.base)).await?;
    b.wait_for("[data-club-id=\"2\"]", None).await?;
    let row = format!("[data-operator-id=\"{nora}\"]");
    b.wait_for(&format!("{row} .op-club"), None).await?;
    let club = b
        .script(
            "return document.querySelector(arguments[0]).value;",
            json!([format!("{row} .op-club")]),
        )
        .await?;
    assert_eq!(club, json!("2"));
    b.quit().await;

    // She sees North alone, and none of what the chain shares in Set-up.
    let b = Browser::start().await?;
    sign_in(&b, &srv, "nora", "password-123").await?;
    b.wait_for(&tile(north_pc), None).await?;
    assert!(
        !b.exists(&tile(h.pcs[0])).await?,
        "club 1's PCs are not hers"
    );
    b.wait_for("#operator", Some(("data-club", "North")))
        .await?;
    let who = b.text("#operator").await?;
    assert!(who.contains("nora · Owner · North"), "{who}");
    b.click("#nav-setup").await?;
    b.wait_for("#zone-form", None).await?;
    assert!(!b.exists("#setup-clubs").await?);
    assert!(!b.exists("#setup-settings").await?);
    assert!(!b.exists("#zone-club").await?);
    // Tariffs and roles are the chain's: she reads them.
    b.click("#nav-tariffs").await?;
    b.wait_for("#tariffs-list table", None).await?;
    assert!(!b.exists("#tariff-new:not([hidden])").await?);
    b.click("#nav-roles").await?;
    b.wait_for("#roles-matrix table", None).await?;
    assert!(!b.exists("#roles-matrix tfoot").await?);
    let errors = b.script_errors().await?;
    assert!(errors.is_empty(), "script errors: {errors:?}");
    b.quit().await;
    srv.stop().await;
    Ok(())
}
