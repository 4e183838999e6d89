//! The desk's commands to PCs; the system service and reboots.

use super::*;

/// Waits until the PC's last command from the desk is answered; its state.
async fn command_answered(
    srv: &TestServer,
    device_id: i64,
    id: &Value,
) -> club_shared::CommandState {
    let mut events = srv.events();
    let answered = || {
        srv.service
            .command(device_id)
            .filter(|c| json!(c.id) == *id && c.state != club_shared::CommandState::Sent)
            .map(|c| c.state)
    };
    if let Some(s) = answered() {
        return s;
    }
    wait_for(&mut events, |e| match e {
        Event::DeviceChanged { device_id: d } if *d == device_id => answered(),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_sends_a_message_reboots_shuts_down_and_wakes_pcs() {
    use club_shared::CommandState::{Done, Failed};
    // Wake-on-LAN packets go to a loopback socket of this test.
    let wol = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = wol.local_addr().unwrap();
    let srv = TestServer::start_with(move |c| c.wol_target = target).await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let power = tempfile::tempdir().unwrap();
    let power_log = power.path().join("power.log");
    let log = power_log.clone();
    let agent = TestAgent::run(
        &srv.clock,
        device_id,
        state_dir,
        tempfile::tempdir().unwrap(),
        move |o| {
            o.reboot_cmd = format!("echo reboot >> '{}'", log.display());
            o.shutdown_cmd = "echo no power button here >&2; exit 3".into();
        },
    )
    .await;
    agent.wait("connected", |s| s.connected).await;
    let path = format!("/devices/{device_id}/commands");
    let command = |body: Value| {
        let (api, path) = (api.clone(), path.clone());
        async move { api.call(Method::POST, &path, Some(body)).await }
    };

    // A message: on the PC at once, and answered.
    let (status, c) = command(json!({"kind": "message", "text": "Closing at 23:00"})).await;
    assert_eq!((status, &c["state"]), (202, &json!("sent")), "{c}");
    agent
        .wait("the message is on the PC", |s| {
            s.message.as_deref() == Some("Closing at 23:00")
        })
        .await;
    assert_eq!(command_answered(&srv, device_id, &c["id"]).await, Done);
    let d = api
        .ok(Method::GET, &format!("/devices/{device_id}"), Value::Null)
        .await;
    assert_eq!(d["command"]["state"], "done", "the hall shows it: {d}");
    let (status, _) = command(json!({"kind": "message", "text": "   "})).await;
    assert_eq!(status, 400, "a message needs words");

    // Reboot: refused while a session is STARTED, unless forced.
    let id = new_session(&api, h.client, device_id, h.keep).await;
    api.ok(Method::POST, &format!("/sessions/{id}/start"), json!({}))
        .await;
    let (status, v) = command(json!({"kind": "reboot"})).await;
    assert_eq!(status, 409, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("force"));
    let (status, c) = command(json!({"kind": "reboot", "force": true})).await;
    assert_eq!(status, 202, "{c}");
    assert_eq!(command_answered(&srv, device_id, &c["id"]).await, Done);
    assert_eq!(
        std::fs::read_to_string(&power_log).unwrap().trim(),
        "reboot"
    );
    // A shutdown command that fails is answered as failed, with why.
    let (_, c) = command(json!({"kind": "shutdown", "force": true})).await;
    assert_eq!(command_answered(&srv, device_id, &c["id"]).await, Failed);
    let error = srv.service.command(device_id).unwrap().error.unwrap();
    assert!(error.contains("no power button here"), "{error}");

    // Only with DeviceManage.
    let cashier = srv.staff("cas", "Cashier").await;
    let (status, _) = cashier
        .call(
            Method::POST,
            &path,
            Some(json!({"kind": "message", "text": "hi"})),
        )
        .await;
    assert_eq!(status, 403);
    let mut events = srv.events();
    agent.stop().await;
    // The server has seen the PC go (an agent's stop returns before its
    // disconnect is handled there).
    let service = srv.service.clone();
    wait_for(&mut events, |e| match e {
        Event::DeviceChanged { device_id: d }
            if *d == device_id && !service.presence(device_id).online =>
        {
            Some(())
        }
        _ => None,
    })
    .await;

    // Offline: nobody to ask, except for a wake.
    let (status, _) = command(json!({"kind": "message", "text": "hello?"})).await;
    assert_eq!(status, 409);

    // Wake: a PC whose agent reported its MAC gets the magic packet.
    let (other, other_state, _other_disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-B").await;
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/devices/{other}/commands"),
            Some(json!({"kind": "wake"})),
        )
        .await;
    assert_eq!(status, 409, "no MAC known yet");
    let (_, secret) = other_state.load_enrollment().unwrap();
    let mut ws = raw_agent(&srv, &secret).await.unwrap();
    let mut hello = hello(1);
    if let AgentMsg::Hello { hardware, .. } = &mut hello {
        hardware.macs = vec!["02:00:5E:10:20:30".into(), "not a mac".into()];
    }
    send(&mut ws, &hello).await;
    first_state(&mut ws).await;
    ws.close(None).await.unwrap();
    let (status, c) = api
        .call(
            Method::POST,
            &format!("/devices/{other}/commands"),
            Some(json!({"kind": "wake"})),
        )
        .await;
    assert_eq!((status, &c["state"]), (202, &json!("done")), "{c}");
    let mut packet = [0u8; 200];
    let (n, _) = tokio::time::timeout(WAIT, wol.recv_from(&mut packet))
        .await
        .expect("a magic packet")
        .unwrap();
    assert_eq!(n, 102);
    assert_eq!(&packet[..6], &[0xFF; 6]);
    for mac in packet[6..n].chunks(6) {
        assert_eq!(mac, &[0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
    }

    // Every command and every answer is on record.
    let audit = api.ok(Method::GET, "/audit", Value::Null).await;
    let kinds: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "device.command").count(), 4);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "device.command_done")
            .count(),
        3
    );
    srv.stop().await;
}

/// Connects to a Unix socket as `user` and answers the first line it says
/// (empty: refused or closed).
async fn first_line_as(user: &str, socket: &std::path::Path) -> (bool, String) {
    let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('refused', e.errno); sys.exit(3)\nf=s.makefile()\nprint(f.readline().strip())\n";
    let out = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new("setpriv")
            // The group: nogroup (65534), which every Debian system has.
            .args(["--reuid", user, "--regid", "65534", "--clear-groups", "--"])
            // Debian's own Python: every account can run it.
            .args(["/usr/bin/python3", "-c", script])
            .arg(socket)
            .output(),
    )
    .await
    .expect("finished in time")
    .expect("setpriv runs");
    let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{said}{err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_service_daemon_lets_only_the_players_lock_screen_on_its_channel() {
    if !club_tests::process::is_root() {
        eprintln!("needs root to act as two accounts: skipped");
        return;
    }
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state_dir, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    // /run/club-agent in the packaged unit: root's, readable by all.
    let run = tempfile::tempdir().unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(run.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = run.path().join("lock.sock");
    let nobody = club_agent::state::uid_of("nobody").unwrap();
    let path = socket.clone();
    let agent = TestAgent::run(
        &srv.clock,
        device_id,
        state_dir,
        tempfile::tempdir().unwrap(),
        move |o| {
            o.lock_channel = Some(path);
            o.lock_screen_uid = Some(nobody);
        },
    )
    .await;
    agent.wait("connected", |s| s.connected).await;
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (nobody, 0o600));
    // The player's account (here: nobody) gets the view...
    let (ok, line) = first_line_as("nobody", &socket).await;
    assert!(ok && line.contains("\"locked\":true"), "{line}");
    // ...and another account cannot even open the socket.
    let (ok, line) = first_line_as("daemon", &socket).await;
    assert!(!ok && line.starts_with("refused"), "{line}");
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc_that_rebooted_is_told_apart_from_an_agent_that_restarted() {
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let h = hall(&api).await;
    let (device_id, state, _disk) =
        club_tests::agents::enrolled_pc(&srv, &api, h.zone, "PC-A").await;
    let (_, secret) = state.load_enrollment().unwrap();
    let id = new_session(&api, h.client, device_id, h.keep).await;
    api.ok(
        Method::POST,
        &format!("/sessions/{id}/start"),
        json!({"force": true}),
    )
    .await;
    // Hellos as the agent sends them: when it started, and the PC's uptime.
    let connect = |started: chrono::DateTime<chrono::Utc>, uptime: u64| {
        let (srv, secret) = (&srv, secret.clone());
        async move {
            let mut ws = raw_agent(srv, &secret).await.unwrap();
            let mut hi = hello(1);
            if let AgentMsg::Hello {
                hardware,
                agent_started_at,
                ..
            } = &mut hi
            {
                hardware.uptime_seconds = uptime;
                *agent_started_at = Some(started);
            }
            send(&mut ws, &hi).await;
            first_state(&mut ws).await;
            ws.close(None).await.unwrap();
        }
    };
    let t = srv.service.now();
    connect(t, 3600).await;
    // The agent alone restarted 10 minutes later: the PC has been up 1 h 10.
    srv.clock.advance(Duration::minutes(10));
    connect(srv.service.now(), 4200).await;
    // The PC rebooted 10 minutes after that: up for 30 s only.
    srv.clock.advance(Duration::minutes(10));
    connect(srv.service.now(), 30).await;
    // Reconnecting without a restart is no restart.
    connect(srv.service.now(), 40).await;

    let audit = api
        .ok(Method::GET, &format!("/sessions/{id}"), Value::Null)
        .await["audit"]
        .as_array()
        .unwrap()
        .clone();
    let rebooted: Vec<Value> = audit
        .iter()
        .filter(|a| a["kind"] == "agent.restarted")
        .map(|a| a["after"]["pc_rebooted"].clone())
        .collect();
    assert_eq!(
        rebooted,
        vec![json!(true), json!(false)],
        "newest first: {audit:?}"
    );
    srv.stop().await;
}
