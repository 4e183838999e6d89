//! The lock screen covering the display, and coming back when killed.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_screen_covers_the_display_welcomes_starts_and_comes_back() {
    let Locked {
        x,
        srv,
        api,
        h,
        agent,
    } = locked_pc().await;
    x.save_png(&docs("lock-locked.png"));

    // A session for this PC: welcome, with a Start button.
    let first = new_session(&api, h.client, agent.device_id, h.keep).await;
    x.wait_for_screen("the welcome screen with Start", SHOW, welcome_screen);
    x.save_png(&docs("lock-welcome.png"));

    // Enter starts it on the server, and the lock goes away.
    x.key("Return");
    wait_session(&agent, &api, first, SessionStatus::Started).await;
    x.wait_for_windows("no lock window while playing", SHOW, |w| w.is_empty());
    x.wait_for_screen("the desktop", SHOW, |s| s.share(BACKGROUND) < 0.1);
    agent.wait("unlocked", |s| !s.locked).await;

    // Ending the session brings the lock back.
    api.ok(Method::POST, &format!("/sessions/{first}/end"), json!({}))
        .await;
    x.wait_for_windows("the lock again", SHOW, covers_the_screen);
    x.wait_for_screen("the locked screen again", SHOW, |s| {
        locked_screen(s) && !welcome_screen(s)
    });

    // A click on Start works as Enter does.
    let second = new_session(&api, h.client, agent.device_id, h.keep).await;
    x.wait_for_screen("the welcome screen again", SHOW, welcome_screen);
    x.click(START.0, START.1);
    wait_session(&agent, &api, second, SessionStatus::Started).await;
    x.wait_for_windows("no lock window after the click", SHOW, |w| w.is_empty());
    assert_eq!(
        agent.status().session.map(|s| s.status),
        Some(SessionStatus::Started)
    );
    agent.stop().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lock_screen_is_back_within_a_second_and_holds_the_keyboard() {
    let Locked { x, srv, agent, .. } = locked_pc().await;

    // Another X client cannot take the keyboard from the lock.
    let (conn, screen) = x11rb::connect(Some(&x.display)).expect("a second X client");
    let root = conn.setup().roots[screen].root;
    let win = conn.generate_id().unwrap();
    conn.create_window(
        0,
        win,
        root,
        0,
        0,
        10,
        10,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new(),
    )
    .unwrap();
    conn.map_window(win).unwrap();
    let grab = conn
        .grab_keyboard(
            false,
            win,
            x11rb::CURRENT_TIME,
            GrabMode::ASYNC,
            GrabMode::ASYNC,
        )
        .unwrap()
        .reply()
        .unwrap();
    assert_eq!(
        grab.status,
        GrabStatus::ALREADY_GRABBED,
        "the lock holds the keyboard"
    );
    let pointer = conn
        .grab_pointer(
            false,
            win,
            x11rb::protocol::xproto::EventMask::BUTTON_PRESS,
            GrabMode::ASYNC,
            GrabMode::ASYNC,
            x11rb::NONE,
            x11rb::NONE,
            x11rb::CURRENT_TIME,
        )
        .unwrap()
        .reply()
        .unwrap();
    assert_eq!(
        pointer.status,
        GrabStatus::ALREADY_GRABBED,
        "and the pointer"
    );

    // A window mapped over the lock is covered again.
    conn.configure_window(
        win,
        &x11rb::protocol::xproto::ConfigureWindowAux::new()
            .width(WIDTH)
            .height(HEIGHT),
    )
    .unwrap();
    conn.flush().unwrap();
    x.wait_for_screen("the lock above the other window", SHOW, locked_screen);

    // SIGKILL from a terminal: a new lock screen within a second.
    let socket = agent.state_dir.dir.join("lock.sock");
    let before = lock_pids(&socket);
    assert_eq!(before.len(), 1, "one lock screen runs: {before:?}");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &before[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let at = Instant::now();
    let deadline = at + SHOW;
    loop {
        let now = lock_pids(&socket);
        if !now.is_empty() && !now.contains(&before[0]) && covers_the_screen(&x.lock_windows()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new lock screen after SIGKILL"
        );
    }
    let back = at.elapsed();
    eprintln!("a new lock screen covered the display {back:?} after SIGKILL");
    x.wait_for_screen("the new lock screen drawn", SHOW, locked_screen);
    assert!(
        back < Duration::from_secs(1),
        "the lock screen came back after {back:?}"
    );
    agent.stop().await;
    srv.stop().await;
}
