//! The agent updates itself to the club's build. The server names the
//! club's build for this platform when it differs from the running one (in
//! its welcome, or with a refusal of a protocol too old); the agent then
//!
//! 1. downloads it from its own server with its device secret (pinned TLS
//!    as ever), and checks its size and SHA-256;
//! 2. tries it: the new executable must run and answer `--version`;
//! 3. waits until the PC is idle (locked, no session: a player never loses
//!    a frame to an update);
//! 4. writes `update.json` in the state dir, moves itself aside
//!    (`<exe>.previous`), puts the new build in its place, and restarts
//!    (Unix: exec; Windows: an exit the service manager answers with a
//!    restart).
//!
//! The new build is on probation: if it has not been welcomed by the server
//! within the probation time, it puts the previous build back and restarts
//! into it. That build is then not tried again on this PC for a day, and the
//! hall shows why.

use crate::runtime::AgentHandle;
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use club_shared::protocol::{AgentBuild, UpdateOffer};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

mod probation;
pub(crate) use probation::probation;

/// How long a build that could not connect is not tried again.
const FAILED_BUILD_PAUSE: chrono::Duration = chrono::Duration::hours(24);
/// A download may take this long in all.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// The new build must answer `--version` within this.
const TRIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Self-update, for an agent that is its own executable (the command line
/// sets it; agents inside tests and the demo have none).
#[derive(Debug, Clone)]
pub struct SelfUpdate {
    /// This executable as started: where a new build goes, and what a
    /// restart runs.
    pub exe: PathBuf,
    /// A new build not welcomed by the server within this is rolled back.
    pub probation: Duration,
}

impl SelfUpdate {
    fn beside(&self, suffix: &str) -> PathBuf {
        let mut name = self.exe.file_name().unwrap_or_default().to_owned();
        name.push(suffix);
        self.exe.with_file_name(name)
    }

    fn previous(&self) -> PathBuf {
        self.beside(".previous")
    }

    fn incoming(&self) -> PathBuf {
        self.beside(".new")
    }

    fn failed(&self) -> PathBuf {
        self.beside(".failed")
    }
}

/// `update.json`: an update under way, or one that failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Marker {
    pub from_sha256: String,
    pub to_sha256: String,
    pub to_version: String,
    /// Where the previous build was put.
    pub previous: PathBuf,
    /// The end of the new build's probation (wall clock).
    pub deadline: DateTime<Utc>,
    /// The new build could not connect and the previous one is back.
    pub failed: bool,
}

/// What the agent knows about its own build and updates.
#[derive(Default)]
pub(crate) struct UpdateState {
    pub(crate) build: Option<AgentBuild>,
    /// An update is being fetched or waits for an idle PC.
    busy: AtomicBool,
    /// A build that failed here, and until when it is not tried again.
    failed: Mutex<Option<(String, DateTime<Utc>)>>,
    /// Why the last update did not happen, for the hall.
    pub(crate) problem: Mutex<Option<String>>,
    restart: Notify,
    restart_requested: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn marker_path(handle: &AgentHandle) -> PathBuf {
    handle.opts.state_dir.dir.join("update.json")
}

fn read_marker(path: &Path) -> Option<Marker> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_marker(path: &Path, m: &Marker) -> anyhow::Result<()> {
    crate::state::write_atomic(path, &serde_json::to_vec_pretty(m)?)
}

/// The SHA-256 of a file, read in small pieces on a blocking thread (the
/// agent's own executable: never all of it in memory at once).
async fn file_sha256(path: PathBuf) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let f =
            std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        club_shared::tls::sha256_hex_reader(f)
            .with_context(|| format!("reading {}", path.display()))
    })
    .await?
}

/// At the agent's start: its own build, and what `update.json` says.
/// Answers the state and, when this build is on probation, its marker.
pub(crate) async fn prepare(su: &SelfUpdate, state_dir: &Path) -> (UpdateState, Option<Marker>) {
    let mut state = UpdateState::default();
    let sha256 = match file_sha256(su.exe.clone()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "cannot read this build; no self-update"
            );
            return (state, None);
        }
    };
    let marker = read_marker(&state_dir.join("update.json"));
    let mut probation = None;
    if let Some(m) = marker {
        if m.failed {
            *lock(&state.failed) = Some((m.to_sha256.clone(), m.deadline + FAILED_BUILD_PAUSE));
            *lock(&state.problem) = Some(format!(
                "the update to {} could not connect; back on the previous build",
                m.to_version
            ));
        } else if m.to_sha256 == sha256 {
            probation = Some(m);
        } else {
            // The swap never happened, or this is the previous build put
            // back by hand: that update failed.
            let m = Marker { failed: true, ..m };
            *lock(&state.failed) = Some((m.to_sha256.clone(), m.deadline + FAILED_BUILD_PAUSE));
            let _ = write_marker(&state_dir.join("update.json"), &m);
        }
    }
    state.build = Some(AgentBuild {
        platform: club_shared::protocol::agent_platform(),
        sha256,
    });
    (state, probation)
}

impl AgentHandle {
    /// The build this agent runs, when it can update itself.
    pub(crate) fn build(&self) -> Option<AgentBuild> {
        self.update.build.clone()
    }

    /// Waits until this agent has put a new build in place and must restart
    /// into it (or back into the previous one).
    pub async fn restart_requested(&self) {
        loop {
            let notified = self.update.restart.notified();
            if self.update.restart_requested.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    pub fn is_restart_requested(&self) -> bool {
        self.update.restart_requested.load(Ordering::Acquire)
    }

    fn request_restart(&self) {
        self.update.restart_requested.store(true, Ordering::Release);
        self.update.restart.notify_waiters();
    }

    fn set_update_problem(&self, problem: Option<String>) {
        *lock(&self.update.problem) = problem;
        self.changed();
    }

    /// The server offers the club's build. Starts fetching it unless this
    /// agent cannot update itself, runs it already, saw it fail lately, or
    /// is at it already. True when an update is under way.
    pub(crate) fn offer_update(
        &self,
        offer: UpdateOffer,
        server: &str,
        secret: &str,
        pin: Option<&str>,
    ) -> bool {
        let (Some(su), Some(own)) = (self.opts.self_update.clone(), self.build()) else {
            return false;
        };
        if offer.sha256 == own.sha256 {
            return false;
        }
        if let Some((sha, until)) = lock(&self.update.failed).clone() {
            if sha == offer.sha256 && Utc::now() < until {
                return false;
            }
        }
        if self.update.busy.swap(true, Ordering::AcqRel) {
            return true;
        }
        tracing::info!(version = %offer.version, sha256 = %offer.sha256, "updating to the club's build");
        let handle = self.clone();
        let (server, secret, pin) = (server.to_owned(), secret.to_owned(), pin.map(str::to_owned));
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let result = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = apply(&handle, &su, &own, &offer, &server, &secret, pin.as_deref()) => r,
            };
            match result {
                Ok(()) => {
                    handle.set_update_problem(None);
                    handle.request_restart();
                }
                Err(e) => {
                    let why = format!("{e:#}");
                    tracing::warn!(error = %why, "the update did not happen");
                    handle.set_update_problem(Some(format!(
                        "the update to {} did not happen: {why}",
                        offer.version
                    )));
                    handle.update.busy.store(false, Ordering::Release);
                }
            }
        });
        true
    }
}

async fn apply(
    handle: &AgentHandle,
    su: &SelfUpdate,
    own: &AgentBuild,
    offer: &UpdateOffer,
    server: &str,
    secret: &str,
    pin: Option<&str>,
) -> anyhow::Result<()> {
    let url = format!("{server}/api/v1/agent/builds/{}", offer.sha256);
    let size = usize::try_from(offer.size).context("an impossible size")?;
    let bytes = crate::http::download(&url, secret, pin, size, DOWNLOAD_TIMEOUT).await?;
    let incoming = su.incoming();
    let (sha, incoming) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(String, PathBuf)> {
            let sha = club_shared::tls::sha256_hex(&bytes);
            if bytes.len() != size {
                bail!("{} bytes came, {size} were announced", bytes.len());
            }
            write_executable(&incoming, &bytes)?;
            Ok((sha, incoming))
        })
        .await??;
    if sha != offer.sha256 {
        let _ = std::fs::remove_file(&incoming);
        bail!("the download's SHA-256 is {sha}, not {}", offer.sha256);
    }
    // It must at least run.
    let trial = tokio::time::timeout(
        TRIAL_TIMEOUT,
        tokio::process::Command::new(&incoming)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await;
    match trial {
        Ok(Ok(out)) if out.status.success() && out.stdout.starts_with(b"club-agent") => {}
        other => {
            let _ = std::fs::remove_file(&incoming);
            bail!("the new build does not run: {other:?}");
        }
    }
    // Only on an idle PC.
    if handle
        .wait_until(Duration::MAX, |s| s.locked && s.session.is_none())
        .await
        .is_none()
    {
        bail!("the PC never became idle");
    }
    let marker = Marker {
        from_sha256: own.sha256.clone(),
        to_sha256: offer.sha256.clone(),
        to_version: offer.version.clone(),
        previous: su.previous(),
        deadline: Utc::now() + chrono::Duration::from_std(su.probation)?,
        failed: false,
    };
    let marker_file = marker_path(handle);
    write_marker(&marker_file, &marker)?;
    // A running executable can be renamed (on Windows too), not overwritten.
    if let Err(e) = std::fs::rename(&su.exe, &marker.previous) {
        let _ = std::fs::remove_file(&marker_file);
        return Err(e).with_context(|| format!("moving {} aside", su.exe.display()));
    }
    if let Err(e) = std::fs::rename(&incoming, &su.exe) {
        let _ = std::fs::rename(&marker.previous, &su.exe);
        let _ = std::fs::remove_file(&marker_file);
        return Err(e).with_context(|| format!("putting the new build at {}", su.exe.display()));
    }
    tracing::info!(version = %offer.version, "the new build is in place; restarting into it");
    Ok(())
}

fn write_executable(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f =
        std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Starts this program again, as it was started: on Unix in this process
/// (exec), on Windows by ending with an exit code the service manager
/// answers with a restart. Returns only on failure.
pub fn restart(su: &SelfUpdate) -> anyhow::Error {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = std::process::Command::new(&su.exe)
            .args(std::env::args_os().skip(1))
            .exec();
        anyhow::anyhow!("restarting {}: {e}", su.exe.display())
    }
    #[cfg(windows)]
    {
        tracing::info!(exe = %su.exe.display(), "ending so that the service manager starts the new build");
        std::process::exit(RESTART_EXIT_CODE);
    }
}

/// The exit code of an agent that ends to be started again (Windows).
pub const RESTART_EXIT_CODE: i32 = 3;
