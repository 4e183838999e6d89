//! The server under test, as its own process (its REST calls: `api`).

use anyhow::{bail, Context};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

pub const OWNER_PASSWORD: &str = "bench-pass-1";

/// The PostgreSQL server (`--postgres URL`) whose new databases the bench's
/// servers run on; SQLite files when unset.
static POSTGRES: OnceLock<String> = OnceLock::new();

pub fn use_postgres(url: String) {
    let _ = POSTGRES.set(url);
}

pub fn postgres() -> Option<&'static str> {
    POSTGRES.get().map(String::as_str)
}

/// The name of the backend the servers run on, for the report.
pub fn backend() -> &'static str {
    if postgres().is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

pub struct Server {
    child: tokio::process::Child,
    pub base: String,
    /// The certificate fingerprint of a server started with TLS.
    pub pin: Option<String>,
    extra: Vec<String>,
    database: String,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A release club-server on a fresh database, on a free loopback port.
    pub async fn start() -> anyhow::Result<Server> {
        Self::start_with(&[]).await
    }

    /// The same with more arguments (e.g. `--tls-self-signed`).
    pub async fn start_with(extra: &[&str]) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let database = club_tests::new_database_on(postgres(), dir.path()).await?;
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if postgres().is_some() {
            // The self-signed certificate needs a place of its own.
            extra.push(format!("--state-dir={}", dir.path().display()));
        }
        let mut s = Self::spawn(&database, "127.0.0.1:0", &extra).await?;
        s._dir = Some(dir);
        Ok(s)
    }

    async fn spawn(database: &str, listen: &str, extra: &[String]) -> anyhow::Result<Server> {
        let bin = std::env::current_exe()?.with_file_name("club-server");
        if !bin.exists() {
            bail!(
                "{} is missing: cargo build --release -p club-server",
                bin.display()
            );
        }
        let prefix = std::env::var("CLUB_BENCH_SERVER_PREFIX").unwrap_or_default();
        let mut words = prefix.split_whitespace();
        let mut command = match words.next() {
            Some(profiler) => {
                let mut c = tokio::process::Command::new(profiler);
                c.args(words).arg(bin);
                c
            }
            None => tokio::process::Command::new(bin),
        };
        let mut child = command
            .args(["--listen", listen, "--owner-password", OWNER_PASSWORD])
            // Every simulated PC and operator comes from 127.0.0.1: the
            // per-address cap is for a LAN, not for this bench.
            .args([
                "--max-connections-per-address",
                "1000000",
                "--max-connections",
                "1000000",
            ])
            // Its 210 hall screens share one operator's sign-in.
            .args(["--hall-screens-per-sign-in", "1000000"])
            .arg("--database")
            .arg(database)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let tls = extra.iter().any(|a| a.starts_with("--tls"));
        let (base, pin) = tokio::time::timeout(Duration::from_secs(120), async {
            let mut base = None;
            while let Some(l) = lines.next_line().await? {
                let word = |after: &str| {
                    l.split(after)
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .map(str::to_owned)
                };
                if let Some(b) = word("listening on ") {
                    if !tls {
                        return Ok((b, None));
                    }
                    base = Some(b);
                } else if let (Some(b), Some(pin)) = (&base, word("SHA-256: ")) {
                    return Ok((b.clone(), Some(pin)));
                }
            }
            bail!("club-server exited")
        })
        .await??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            base,
            pin,
            extra: extra.to_vec(),
            database: database.to_owned(),
            _dir: None,
        })
    }

    /// Another server on this one's database (PostgreSQL's: several
    /// servers may share it).
    pub async fn beside(&self) -> anyhow::Result<Server> {
        Self::spawn(&self.database, "127.0.0.1:0", &self.extra).await
    }

    /// Stops the server gracefully (SIGTERM) and starts it again on the same
    /// address and database; answers once it listens.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let pid = self.pid();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("server stopping")??;
        let listen = self
            .base
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned();
        let next = Self::spawn(&self.database, &listen, &self.extra).await?;
        self.child = next.child;
        Ok(())
    }

    /// Stops the server with SIGTERM, and any process a profiler prefix
    /// started under it, then waits for the profiler to write its data.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.pid().to_string();
        std::process::Command::new("pkill")
            .args(["-TERM", "-P", &pid])
            .status()?;
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()?;
        tokio::time::timeout(Duration::from_secs(300), self.child.wait())
            .await
            .context("server stopping")??;
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    pub fn ws_base(&self) -> String {
        self.base
            .replace("https://", "wss://")
            .replace("http://", "ws://")
    }
}

/// Reads /proc/<pid>: (RSS KiB, CPU ticks of user + system time).
pub fn proc_stats(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("VmRSS")?
        .parse()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("stat")?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    Ok((rss, ticks))
}

/// Linux's USER_HZ: the unit of /proc CPU times.
pub const TICKS_PER_SECOND: f64 = 100.0;
