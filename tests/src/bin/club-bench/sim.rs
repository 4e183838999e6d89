//! Simulated agents, in a process of their own (the open-files limit is per
//! process). Each speaks the real protocol: hello, a heartbeat every 15 s
//! at a random phase, an ack for every state, and on a lost connection the
//! club agent's own backoff (1 s doubling to 60 s, full jitter).
//!
//! The child reports on stdout, one line per fact, with wall-clock
//! nanoseconds (both processes read the same clock):
//!   ready                          every agent has had its first state
//!   state <device> <session> <ns>  a state arrived (session 0: none)
//!   synced <device> <ns>           first state after a (re)connect
//!   connfail <device>              a connection attempt failed
//!   failed <device> <why>          the agent gave up
//! It exits when its stdin closes, so it never outlives the bench.

use anyhow::Context;
use club_agent::backoff::Backoff;
use club_shared::protocol::{AgentMsg, ServerMsg, MAX_FRAME_BYTES};
use club_shared::Metrics;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

/// The child's entry point: `club-bench agents-child URL CREDS_FILE [PIN]`
/// (PIN: the certificate fingerprint of a wss:// server).
pub async fn child_main(url: String, creds: String, pin: Option<String>) -> anyhow::Result<()> {
    let creds: Vec<(i64, String)> = std::fs::read_to_string(&creds)?
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, secret)| Ok((id.parse()?, secret.to_owned())))
        .collect::<anyhow::Result<_>>()?;
    tokio::spawn(async {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(_)) = stdin.next_line().await {}
        std::process::exit(0);
    });
    let (out, mut lines) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::BufWriter::new(tokio::io::stdout());
        while let Some(l) = lines.recv().await {
            stdout.write_all(l.as_bytes()).await?;
            stdout.write_all(b"\n").await?;
            while let Ok(l) = lines.try_recv() {
                stdout.write_all(l.as_bytes()).await?;
                stdout.write_all(b"\n").await?;
            }
            stdout.flush().await?;
        }
        anyhow::Ok(())
    });
    let n = creds.len();
    let first_states = Arc::new(AtomicUsize::new(0));
    for (id, secret) in creds {
        let (url, out, first_states) = (url.clone(), out.clone(), first_states.clone());
        let pin = pin.clone();
        tokio::spawn(async move {
            let reason = agent(&url, pin.as_deref(), id, &secret, &out, || {
                if first_states.fetch_add(1, Ordering::SeqCst) + 1 == n {
                    let _ = out.send("ready".into());
                }
            })
            .await;
            let _ = out.send(format!("failed {id} {reason}"));
        });
    }
    drop(out);
    writer.await?
}

/// One agent, for as long as the server will have it; answers why it
/// stopped.
async fn agent(
    url: &str,
    pin: Option<&str>,
    id: i64,
    secret: &str,
    out: &mpsc::UnboundedSender<String>,
    on_first_state: impl Fn() + Sync,
) -> String {
    let mut backoff = Backoff::standard();
    let mut ever_synced = false;
    let mut last_applied = 0;
    loop {
        let mut synced = false;
        let first_state = || {
            if !ever_synced {
                on_first_state();
            }
        };
        let outcome = session(
            Link { url, pin },
            id,
            secret,
            out,
            &mut last_applied,
            &mut synced,
            &first_state,
        )
        .await;
        if let Ok(Some(why)) = outcome {
            return why;
        }
        if synced {
            ever_synced = true;
            backoff.reset();
        } else {
            let _ = out.send(format!("connfail {id}"));
        }
        // A connection that synced and then ended also waits: a restarted
        // server is not met by the whole hall at once.
        let delay = backoff.next_delay(rand::random::<f64>());
        tokio::time::sleep(delay).await;
        if !ever_synced && backoff.ceiling() >= Duration::from_secs(60) {
            return "never connected".into();
        }
    }
}

/// One connection: answers `Some(reason)` if the server refused the agent
/// for good.
/// The server's agent socket, and its certificate's fingerprint for wss://.
struct Link<'a> {
    url: &'a str,
    pin: Option<&'a str>,
}

async fn session(
    Link { url, pin }: Link<'_>,
    id: i64,
    secret: &str,
    out: &mpsc::UnboundedSender<String>,
    last_applied: &mut u64,
    synced: &mut bool,
    first_state: &(dyn Fn() + Sync),
) -> anyhow::Result<Option<String>> {
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse()?);
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(Some(MAX_FRAME_BYTES));
    // As the agent connects: its own TCP (and pinned TLS) connect.
    let t = club_agent::http::target(url)?;
    let connect = async {
        let stream = club_agent::http::connect(&t.host, t.port, t.tls, pin).await?;
        anyhow::Ok(tokio_tungstenite::client_async_with_config(req, stream, Some(config)).await)
    };
    let (mut ws, _) = match tokio::time::timeout(Duration::from_secs(15), connect)
        .await
        .context("connect timed out")??
    {
        Ok(c) => c,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401 => {
            return Ok(Some("unauthorized".into()))
        }
        Err(e) => return Err(e.into()),
    };
    let hello = AgentMsg::Hello {
        protocol_version: 1,
        agent_version: "bench".into(),
        last_applied_seq: *last_applied,
        locked: true,
        hardware: Metrics::default(),
        agent_started_at: None,
        build: None,
    };
    ws.send(Message::text(serde_json::to_string(&hello)?))
        .await?;
    let mut beat = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_millis(rand::random::<u64>() % 15_000),
        Duration::from_secs(15),
    );
    loop {
        tokio::select! {
            _ = beat.tick() => {
                let b = AgentMsg::Heartbeat { metrics: Metrics { cpu_percent: 5.0, ..Metrics::default() } };
                if ws.send(Message::text(serde_json::to_string(&b)?)).await.is_err() {
                    break;
                }
            }
            m = ws.next() => {
                let Some(Ok(Message::Text(t))) = m else { break };
                match serde_json::from_str(&t) {
                    Ok(ServerMsg::State { seq, desired, .. }) => {
                        let at = now_ns();
                        let session = desired.session.map(|s| s.id).unwrap_or(0);
                        let _ = out.send(format!("state {id} {session} {at}"));
                        if !*synced {
                            *synced = true;
                            let _ = out.send(format!("synced {id} {at}"));
                            first_state();
                        }
                        *last_applied = (*last_applied).max(seq);
                        ws.send(Message::text(serde_json::to_string(&AgentMsg::Ack { seq })?)).await?;
                    }
                    Ok(ServerMsg::Refused { reason, retry: false, .. }) => return Ok(Some(reason)),
                    _ => {}
                }
            }
        }
    }
    Ok(None)
}

/// What the bench knows of one child's agents.
#[derive(Default)]
pub struct Seen {
    pub ready: bool,
    /// Per device: (session id or 0, arrival ns), in arrival order.
    pub states: HashMap<i64, Vec<(i64, u64)>>,
    pub synced: Vec<(i64, u64)>,
    pub connfails: usize,
    pub failed: Vec<String>,
}

pub struct Fleet {
    /// Killed when the fleet drops; it also exits when its stdin closes.
    _child: tokio::process::Child,
    pub seen: Arc<Mutex<Seen>>,
    changed: Arc<Notify>,
    pub size: usize,
}

impl Fleet {
    /// Starts a child process running one simulated agent per credential
    /// and answers once every agent has its first state.
    pub async fn start(ws_base: &str, creds: &[(i64, String)]) -> anyhow::Result<Fleet> {
        Self::start_pinned(ws_base, creds, None).await
    }

    /// The same for a wss:// server whose certificate has fingerprint `pin`.
    pub async fn start_pinned(
        ws_base: &str,
        creds: &[(i64, String)],
        pin: Option<&str>,
    ) -> anyhow::Result<Fleet> {
        let dir = std::env::temp_dir().join(format!("club-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join(format!("creds-{}-{}", creds[0].0, creds.len()));
        let text: String = creds.iter().map(|(id, s)| format!("{id} {s}\n")).collect();
        std::fs::write(&file, text)?;
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("agents-child")
            .arg(format!("{ws_base}/agent/v1/ws"))
            .arg(&file)
            .args(pin)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let changed = Arc::new(Notify::new());
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        {
            let (seen, changed) = (seen.clone(), changed.clone());
            tokio::spawn(async move {
                while let Ok(Some(l)) = lines.next_line().await {
                    record(&mut seen.lock().unwrap(), &l);
                    changed.notify_waiters();
                }
            });
        }
        let fleet = Fleet {
            _child: child,
            seen,
            changed,
            size: creds.len(),
        };
        fleet
            .wait(Duration::from_secs(600), |s| {
                s.ready || !s.failed.is_empty()
            })
            .await
            .context("agents connecting")?;
        // The child has read its secrets by now.
        let _ = std::fs::remove_file(&file);
        if let Some(f) = fleet.seen.lock().unwrap().failed.first() {
            anyhow::bail!("an agent gave up: {f}");
        }
        Ok(fleet)
    }

    /// Notified at every report of the agents.
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Waits until `done` holds of what the agents reported.
    pub async fn wait(
        &self,
        patience: Duration,
        done: impl Fn(&Seen) -> bool,
    ) -> anyhow::Result<()> {
        tokio::time::timeout(patience, async {
            loop {
                let notified = self.changed.notified();
                if done(&self.seen.lock().unwrap()) {
                    return;
                }
                notified.await;
            }
        })
        .await
        .context("the agents did not report in time")
    }
}

fn record(seen: &mut Seen, line: &str) {
    let mut f = line.split(' ');
    let num = |s: Option<&str>| s.and_then(|v| v.parse::<i64>().ok()).unwrap_or_default();
    match f.next() {
        Some("ready") => seen.ready = true,
        Some("state") => {
            let (device, session, at) = (num(f.next()), num(f.next()), num(f.next()));
            seen.states
                .entry(device)
                .or_default()
                .push((session, at as u64));
        }
        Some("synced") => {
            let (device, at) = (num(f.next()), num(f.next()));
            seen.synced.push((device, at as u64));
        }
        Some("connfail") => seen.connfails += 1,
        Some("failed") => seen.failed.push(line.to_owned()),
        _ => {}
    }
}
