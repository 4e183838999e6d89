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
fn the_servers_unit_and_its_backup_timer_verify() {
    let dir = tempfile::tempdir().unwrap();
    let bin = workspace_bin("club-server");
    let bin_dir = bin.parent().unwrap().to_string_lossy().to_string();
    let mut files = Vec::new();
    for name in [
        "club-server.service",
        "club-server-backup.service",
        "club-server-backup.timer",
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, packaged(name).replace("/usr/local/bin", &bin_dir)).unwrap();
        files.push(file);
    }
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .args(&files)
        .output()
    else {
        eprintln!("no systemd-analyze on this machine: the server's units not verified");
        return;
    };
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    let unit = packaged("club-server.service");
    for line in [
        "Restart=on-failure",
        "ExecStart=/usr/local/bin/club-server --config /etc/clubhall/club-server.toml",
        "StateDirectory=clubhall",
        "WantedBy=multi-user.target",
    ] {
        assert!(unit.contains(line), "club-server.service lacks {line}");
    }
}

#[test]
fn the_example_config_file_is_one_the_server_reads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("club-server.toml");
    std::fs::write(&file, packaged("club-server.toml")).unwrap();
    let cli = club_server::config::parse_from(vec![
        "club-server".into(),
        "--config".into(),
        file.into_os_string(),
    ])
    .unwrap();
    assert_eq!(cli.config.database, "/var/lib/clubhall/clubhall.db");
    assert_eq!(cli.config.listen, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(cli.config.log_format, club_server::config::LogFormat::Json);
}

/// The repository's own file (Dockerfile, compose.yaml).
fn repository_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// No Docker engine runs on the test machines, so the image is not built
/// here: what can be checked without one is. The container's settings are
/// variables the server reads, and its health check is a command the
/// server has, run here against a real server as the container would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_containers_settings_and_health_check_are_the_servers_own() {
    let dockerfile = repository_file("Dockerfile");
    let compose = repository_file("compose.yaml");
    let help = std::process::Command::new(workspace_bin("club-server"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    for file in [&dockerfile, &compose] {
        for var in file
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("CLUB_"))
        {
            assert!(
                help.contains(&format!("env: {var}")),
                "{var} is no setting of the server"
            );
        }
    }
    assert!(
        dockerfile.contains(r#"HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["club-server", "health"]"#),
        "{dockerfile}"
    );
    assert!(dockerfile.contains(r#"ENTRYPOINT ["club-server"]"#));
    assert!(dockerfile.contains("VOLUME /var/lib/clubhall"));
    assert!(
        compose.contains(r#"test: ["CMD", "club-server", "health"]"#),
        "{compose}"
    );
    assert!(
        compose.contains("clubhall-data:/var/lib/clubhall"),
        "{compose}"
    );
    // The build command the image runs is one that builds.
    assert!(dockerfile.contains("cargo build --release --locked -p club-server --bin club-server"));

    // The health check, as the container runs it: CLUB_LISTEN tells it
    // where (the image listens on every address; it asks loopback).
    let dir = tempfile::tempdir().unwrap();
    let srv = club_tests::process::ServerProcess::start(club_tests::process::server_command(
        dir.path().join("club.db"),
        "",
        &[],
    ))
    .await;
    let port = srv.base.rsplit(':').next().unwrap().to_owned();
    let health = |listen: String| {
        let mut c = tokio::process::Command::new(workspace_bin("club-server"));
        c.arg("health").env("CLUB_LISTEN", listen);
        c.output()
    };
    let out = health(format!("0.0.0.0:{port}")).await.unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    srv.stop().await;
    let out = health(format!("0.0.0.0:{port}")).await.unwrap();
    assert!(!out.status.success(), "a stopped server is not healthy");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_gives_the_install_command_and_the_installer_sets_up_and_enrolls_a_pc() {
    use club_tests::*;
    use reqwest::Method;
    use serde_json::json;
    let srv = TestServer::start().await;
    let api = srv.owner().await;
    let zone = api
        .ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await["id"]
        .clone();
    let pc = api
        .ok(
            Method::POST,
            "/devices",
            json!({"name": "PC-1", "zone_id": zone, "x": 0, "y": 0}),
        )
        .await;
    let code = pc["enrollment_code"].as_str().unwrap();
    // The answer says what to run on the PC, for the address the desk used.
    assert_eq!(
        pc["agent_command"],
        json!(format!(
            "club-agent enroll --server {} --code {code}",
            srv.base
        ))
    );
    let install = pc["install_command_linux"].as_str().unwrap();
    assert_eq!(
        install,
        format!(
            "sudo ./install-agent.sh --server {} --code {code}",
            srv.base
        )
    );

    // And for Windows: the PowerShell installer, with parameters it declares.
    let windows = pc["install_command_windows"].as_str().unwrap();
    assert_eq!(
        windows,
        format!(
            "powershell -ExecutionPolicy Bypass -File .\\install-agent.ps1 -Server {} -Code {code}",
            srv.base
        )
    );
    let ps1 = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../packaging/windows/install-agent.ps1"),
    )
    .unwrap();
    let param_block = &ps1[ps1.find("param(").unwrap()..];
    let param_block = &param_block[..param_block.find("\n)").unwrap()];
    let script_args: Vec<&str> = windows.split(' ').skip(5).collect();
    for name in script_args.iter().filter(|a| a.starts_with('-')) {
        assert!(
            param_block.contains(&format!("]${}", &name[1..])),
            "install-agent.ps1 declares no {name}"
        );
    }

    // The installer, into a scratch root (it starts nothing there), with the
    // arguments the desk gave.
    let root = tempfile::tempdir().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging/linux/install-agent.sh");
    let bin_dir = workspace_bin("club-agent").parent().unwrap().to_owned();
    let args: Vec<&str> = install.split(' ').skip(2).collect();
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .args(&args)
        .arg("--root")
        .arg(root.path())
        .arg("--bin-dir")
        .arg(&bin_dir)
        .args(["--player", "nobody"])
        .output()
        .await
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let at = |p: &str| root.path().join(p);
    for f in [
        "usr/local/bin/club-agent",
        "usr/local/bin/club-lock",
        "etc/systemd/system/club-agent.service",
        "etc/systemd/user/club-lock.service",
    ] {
        assert!(at(f).exists(), "{f} installed");
    }
    // The units are the repository's own, as `systemd-analyze verify` saw them.
    let packaged = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/linux");
    for (installed, source) in [
        (
            "etc/systemd/system/club-agent.service",
            "club-agent.service",
        ),
        ("etc/systemd/user/club-lock.service", "club-lock.service"),
    ] {
        assert_eq!(
            std::fs::read_to_string(at(installed)).unwrap(),
            std::fs::read_to_string(packaged.join(source)).unwrap(),
            "{installed}"
        );
    }
    let drop_in =
        std::fs::read_to_string(at("etc/systemd/system/club-agent.service.d/player.conf")).unwrap();
    assert!(
        drop_in.contains("CLUB_LOCK_SCREEN_USER=nobody"),
        "{drop_in}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| std::fs::metadata(at(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("var/lib/club-agent"), 0o700);
    assert_eq!(mode("var/lib/club-agent/secret"), 0o600);
    // Enrolled: the PC is this device, and the code is spent.
    let state = club_agent::state::StateDir::new(at("var/lib/club-agent"));
    let (enrollment, _) = state.load_enrollment().unwrap();
    assert_eq!(json!(enrollment.device_id), pc["id"]);
    let again = api
        .call(
            Method::POST,
            "/agent/enroll",
            Some(json!({"code": code, "hostname": "x"})),
        )
        .await;
    assert_eq!(again.0, 401, "the code was used: {:?}", again.1);
    srv.stop().await;
}

/// `club-agent service start|stop|status` drive systemd's club-agent unit:
/// checked with a stand-in systemctl first on the PATH that records what it
/// was asked and answers as systemctl does for a stopped unit.
#[test]
fn the_service_commands_drive_the_systemd_unit() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let fake = dir.path().join("systemctl");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\n[ \"$1\" = status ] && exit 3\nexit 0\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |action: &str| {
        std::process::Command::new(club_tests::agents::workspace_bin("club-agent"))
            .args(["service", action])
            .env("PATH", &path)
            .status()
            .unwrap()
    };
    assert!(run("start").success());
    assert!(run("stop").success());
    // A stopped service: systemctl's exit code 3 comes through.
    assert_eq!(run("status").code(), Some(3));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "start club-agent\nstop club-agent\nstatus --no-pager club-agent\n"
    );
    // A player name that would break the unit file is refused before
    // anything is written.
    let root = dir.path().join("root");
    let out = std::process::Command::new(club_tests::agents::workspace_bin("club-agent"))
        .args([
            "service",
            "install",
            "--player",
            "x\nExecStartPre=/bin/sh",
            "--root",
        ])
        .arg(&root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not an account name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!root.exists(), "nothing was written");
}
