//! Real agents for tests: enrolled through the real enrollment endpoint,
//! running the agent's own code against the test server, on its clock.

use crate::{Api, TestServer, WAIT};
use club_agent::state::StateDir;
use club_agent::{AgentHandle, AgentOptions, LocalStatus};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct TestAgent {
    pub handle: AgentHandle,
    pub device_id: i64,
    pub state_dir: StateDir,
    pub lock_log: std::path::PathBuf,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// Creates a PC in `zone` and enrolls an agent for it.
pub async fn enrolled_pc(
    srv: &TestServer,
    api: &Api,
    zone: i64,
    name: &str,
) -> (i64, StateDir, tempfile::TempDir) {
    enrolled_pc_at(api, zone, name, &srv.base).await
}

/// Creates a PC in `zone` through `api` and enrolls an agent for it with
/// `servers` (one base URL, or several comma-separated).
pub async fn enrolled_pc_at(
    api: &Api,
    zone: i64,
    name: &str,
    servers: &str,
) -> (i64, StateDir, tempfile::TempDir) {
    let dev = api
        .ok(
            Method::POST,
            "/devices",
            json!({"name": name, "zone_id": zone, "x": 0, "y": 0}),
        )
        .await;
    let dir = tempfile::tempdir().expect("agent dir");
    let state_dir = StateDir::new(dir.path().join("state"));
    let code = dev["enrollment_code"].as_str().unwrap();
    let pin = dev["server_cert_sha256"].as_str();
    let id = club_agent::enroll(&state_dir, servers, code, pin)
        .await
        .expect("enrolls");
    assert_eq!(Value::from(id), dev["id"]);
    (id, state_dir, dir)
}

impl TestAgent {
    /// Enrolls a new PC and runs its agent, sharing the server's manual clock.
    pub async fn start(srv: &TestServer, api: &Api, zone: i64, name: &str) -> TestAgent {
        let (device_id, state_dir, dir) = enrolled_pc(srv, api, zone, name).await;
        Self::run(&srv.clock, device_id, state_dir, dir, |_| {}).await
    }

    /// Runs an agent on an enrolled state dir, on the test's manual clock.
    pub async fn run(
        clock: &club_server::clock::ManualClock,
        device_id: i64,
        state_dir: StateDir,
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut AgentOptions),
    ) -> TestAgent {
        let lock_log = dir.path().join("lock.log");
        let mut opts = AgentOptions::new(state_dir.clone(), "127.0.0.1:0".parse().unwrap());
        let clock = clock.clone();
        opts.clock = Arc::new(move || club_server::clock::Clock::now(&clock));
        // The lock commands leave a trace the test can read.
        opts.lock_cmd = Some(format!("echo lock >> '{}'", lock_log.display()));
        opts.unlock_cmd = Some(format!("echo unlock >> '{}'", lock_log.display()));
        opts.failsafe_tick = Duration::from_millis(50);
        tweak(&mut opts);
        let shutdown = CancellationToken::new();
        let (handle, task) = club_agent::run(opts, shutdown.clone())
            .await
            .expect("agent runs");
        TestAgent {
            handle,
            device_id,
            state_dir,
            lock_log,
            shutdown,
            task,
            _dir: dir,
        }
    }

    pub fn status(&self) -> LocalStatus {
        self.handle.status()
    }

    /// Waits for a status; fails the test after [`WAIT`] (plus the
    /// reconnect ceiling where a reconnect is involved).
    pub async fn wait(&self, what: &str, pred: impl Fn(&LocalStatus) -> bool) -> LocalStatus {
        match self.handle.wait_until(WAIT * 2, pred).await {
            Some(s) => s,
            None => panic!("agent never reached: {what}; status {:?}", self.status()),
        }
    }

    /// What the lock screen's Start button does: POST /api/start.
    pub async fn press_start(&self) -> (u16, Value) {
        let url = format!("http://{}/api/start", self.handle.ui_addr());
        let (status, body) = club_agent::http::request("POST", &url, None)
            .await
            .expect("lock screen answers");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// The lock and unlock commands run so far, once none is pending (they
    /// run off the connection loop).
    pub async fn lock_log(&self) -> Vec<String> {
        self.wait("the lock commands ran", |s| !s.hook_pending)
            .await;
        std::fs::read_to_string(&self.lock_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("agent stops")
            .expect("agent task");
    }
}

/// Where cargo put a workspace binary (built with the tests by nextest).
pub fn workspace_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not built: run the tests through ./scripts/test.sh",
        bin.display()
    );
    bin
}
