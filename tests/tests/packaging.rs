//! The service units in packaging/ are what systemd accepts: checked with
//! `systemd-analyze verify` (the project's install script installs it), with
//! the binaries' paths pointed at this build, so that a unit naming a
//! missing program or a misspelt setting fails here and not on a PC.

use club_tests::agents::workspace_bin;
use std::path::Path;

fn packaged(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging/linux")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `systemd-analyze [--user] verify` on `unit`, with /usr/local/bin
/// replaced by this build's target dir. `None`: no systemd-analyze here.
fn verify(name: &str, user: bool) -> Option<(bool, String)> {
    let dir = tempfile::tempdir().unwrap();
    let bin = workspace_bin("club-agent");
    let bin_dir = bin.parent().unwrap().to_string_lossy().to_string();
    let unit = packaged(name).replace("/usr/local/bin", &bin_dir);
    let file = dir.path().join(name);
    std::fs::write(&file, unit).unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new("systemd-analyze");
    if user {
        cmd.arg("--user").env("XDG_RUNTIME_DIR", runtime.path());
    }
    let out = cmd.arg("verify").arg(&file).output().ok()?;
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    // Any complaint counts, also those systemd only warns about.
    Some((out.status.success() && said.trim().is_empty(), said))
}

#[test]
fn the_agents_system_unit_and_the_lock_screens_user_unit_verify() {
    for (name, user) in [("club-agent.service", false), ("club-lock.service", true)] {
        match verify(name, user) {
            Some((ok, said)) => assert!(ok, "{name}: {said}"),
            None => eprintln!("no systemd-analyze on this machine: {name} not verified"),
        }
    }
}

#[test]
fn the_agent_unit_restarts_always_and_keeps_its_state_to_root() {
    let unit = packaged("club-agent.service");
    for line in [
        "Restart=always",
        "StartLimitIntervalSec=0",
        "StateDirectoryMode=0700",
        "WantedBy=multi-user.target",
        "--lock-screen-user ${CLUB_LOCK_SCREEN_USER}",
    ] {
        assert!(unit.contains(line), "club-agent.service lacks {line}");
    }
    assert!(packaged("club-lock.service").contains("Restart=always"));
}

#[test]
fn a_unit_naming_a_missing_program_fails_the_check() {
    // The check can fail: a unit with a program that is not there.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.service");
    std::fs::write(&file, "[Service]\nExecStart=/nonexistent/club-agent run\n").unwrap();
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
    else {
        eprintln!("no systemd-analyze on this machine");
        return;
    };
    assert!(!out.status.success());
}
