//! The real `club-server` binary in a process of its own, for what only a
//! process can show: how it starts, how it stops, what the operating system
//! does to it (a file-size limit, another user account).

use crate::agents::workspace_bin;
use crate::{Api, WAIT};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

/// The owner password the process servers start with.
pub const PROCESS_OWNER_PASSWORD: &str = "owner-pass-1";

/// `club-server` on `database`, listening on a free loopback port, with
/// `extra` arguments, run through `sh -c "<prelude>; exec …"` so a test can
/// set what a process inherits (an ignored signal, a user account).
pub fn server_command(
    database: impl AsRef<std::ffi::OsStr>,
    prelude: &str,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{prelude}\nexec \"$@\""))
        .arg("sh")
        .arg(workspace_bin("club-server"))
        .arg("--database")
        .arg(database.as_ref())
        .args(["--listen", "127.0.0.1:0"])
        .args(["--owner-password", PROCESS_OWNER_PASSWORD])
        .args(["--wol-target", "127.0.0.1:9"])
        .args(extra)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

impl ServerProcess {
    /// Starts the server and waits for the line that says where it listens.
    pub async fn start(mut cmd: Command) -> ServerProcess {
        let mut child = cmd.spawn().expect("club-server starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.expect("stdout readable") {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    return rest.split_whitespace().next().map(str::to_owned);
                }
            }
            None
        })
        .await
        .expect("the server said where it listens in time")
        .expect("the server said where it listens");
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess { child, base }
    }

    pub fn anonymous(&self) -> Api {
        Api::new(&self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("server running")
    }

    /// SIGTERM, and waits for a clean exit.
    pub async fn stop(mut self) {
        let pid = self.pid().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill runs");
        assert!(killed.success());
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the server stops in time")
            .expect("wait");
        assert!(status.success(), "the server stopped cleanly: {status}");
    }
}

/// Runs a command that must finish in time: its exit status and stderr.
pub async fn finished(mut cmd: Command) -> (std::process::ExitStatus, String) {
    let out = tokio::time::timeout(WAIT, cmd.output())
        .await
        .expect("finished in time")
        .expect("ran");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether this process runs as root (who may write any file and act as
/// any account).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// The Owner of a process server at `base`, signed in.
pub async fn sign_in_owner(base: &str) -> Api {
    let (status, body) = Api::new(base)
        .post(
            "/auth/login",
            serde_json::json!({"login": "owner", "password": PROCESS_OWNER_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    Api::new(base).with_token(body["token"].as_str().expect("a token"))
}

/// The database file of a test directory.
pub fn database_in(dir: &Path) -> PathBuf {
    dir.join("club.db")
}
