//! What the agent gateway needs from the operations: who a device is, what
//! its PC should look like, and its presence.

use super::{DevicePresence, Service};
use crate::error::{Error, Result};
use crate::secrets;
use crate::store::{self, at, at_opt, Conn};
use chrono::{DateTime, Utc};
use club_shared::protocol::{DesiredState, ShownSession};
use club_shared::{Event, Metrics, SessionStatus};

/// A device the gateway has authenticated by its secret.
#[derive(Debug, Clone)]
pub struct AgentDevice {
    pub id: i64,
    pub name: String,
    /// The digest of the secret it authenticated with.
    pub secret_hash: String,
}

/// What a PC should show, from its live session: STARTED unlocks it; ACTIVE
/// shows the client and a Start button on a locked screen; otherwise locked.
fn compute_desired(
    c: &mut Conn,
    device_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<DesiredState> {
    let live = c.live_sessions(Some(device_id))?;
    let running = live.iter().find(|s| s.status != SessionStatus::Pending);
    let Some(s) = running else {
        return Ok(DesiredState {
            locked: true,
            session: None,
            warnings: Vec::new(),
        });
    };
    let status = s.status;
    // The tariff running now, else the first one still to run.
    let segments = c.session_segments(s.id)?;
    let t = store::ms(now);
    let open = || segments.iter().filter(|g| g.closed_at.is_none());
    let tariff_name = open()
        .find(|g| {
            g.starts_at
                .zip(g.ends_at)
                .is_some_and(|(a, b)| a <= t && t < b)
        })
        .or_else(|| open().next())
        .or(segments.last())
        .map(|g| g.tariff_name.clone())
        .unwrap_or_default();
    let left_ms = s.ends_at.map(|e| e - store::ms(now));
    let warnings = match left_ms {
        Some(left) if status == SessionStatus::Started && left > 0 => {
            // The smallest warning window the time left is in. The settings
            // are read only here: this runs inside every operation's
            // transaction, for each PC it touches.
            let settings = super::tariffs::load_settings(c)?;
            super::housekeeping::warning_offsets_ms(&settings)
                .into_iter()
                .filter(|w| left <= *w)
                .min()
                .map(|w| vec![format!("{} left", minutes(w))])
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    Ok(DesiredState {
        locked: status != SessionStatus::Started,
        session: Some(ShownSession {
            id: s.id,
            client_name: s.client_name.clone(),
            status,
            tariff_name,
            ends_at: at_opt(s.ends_at),
        }),
        warnings,
    })
}

/// A PC's new desired state under its new sequence number, published to the
/// gateway after the operation that changed it commits.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DesiredPush {
    pub device_id: i64,
    pub seq: u64,
    pub desired: DesiredState,
}

pub(crate) enum Changed {
    Yes(DesiredPush),
    No(DesiredPush),
}

fn stored_state(stored: Option<String>) -> Option<DesiredState> {
    stored.and_then(|s| serde_json::from_str(&s).ok())
}

/// Recomputes a PC's desired state inside the operation's transaction and,
/// when it changed, stores it under the next sequence number: the push is a
/// read once the operation commits, and a PC's state is as durable as the
/// operation behind it.
pub(crate) fn desired_in_tx(
    c: &mut Conn,
    device_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Changed> {
    let push = match compare_desired(c, device_id, now)? {
        Changed::Yes(push) => push,
        unchanged => return Ok(unchanged),
    };
    let json = serde_json::to_string(&push.desired).map_err(|e| Error::Internal(e.into()))?;
    let seq = c.bump_desired_state(device_id, &json)?;
    Ok(Changed::Yes(DesiredPush {
        seq: seq.max(0) as u64,
        ..push
    }))
}

/// Whether a PC's desired state is other now than what is stored.
pub(crate) fn desired_changes(
    c: &mut Conn,
    device_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    Ok(matches!(
        compare_desired(c, device_id, now)?,
        Changed::Yes(_)
    ))
}

/// A PC in a started session went silent or came back: on record, with
/// when (the classic fraud: the client switched off to pocket the cash
/// while the PC is played).
pub(crate) fn audit_if_playing(
    tx: &mut Conn,
    device_id: i64,
    kind: &'static str,
    now: DateTime<Utc>,
    after: serde_json::Value,
) -> Result<()> {
    let started = tx
        .live_sessions(Some(device_id))?
        .into_iter()
        .find(|s| s.status == SessionStatus::Started);
    if let Some(s) = started {
        let mut a = super::Actor::System.audit(kind, now);
        a.session_id = Some(s.id);
        a.device_id = Some(device_id);
        a.client_id = Some(s.client_id);
        a.after = Some(after);
        tx.insert_audit(&a)?;
    }
    Ok(())
}

/// What a PC should show now, against what is stored: `Yes` carries the
/// new state under the stored (old) sequence number, nothing written.
fn compare_desired(
    c: &mut Conn,
    device_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Changed> {
    let desired = compute_desired(c, device_id, now)?;
    let (seq, stored) = c
        .desired_state(device_id)?
        .ok_or_else(|| Error::not_found("device", device_id))?;
    let unchanged = stored_state(stored).as_ref() == Some(&desired);
    let push = DesiredPush {
        device_id,
        seq: seq.max(0) as u64,
        desired,
    };
    Ok(if unchanged {
        Changed::No(push)
    } else {
        Changed::Yes(push)
    })
}

fn minutes(ms: i64) -> String {
    match ms / 60_000 {
        1 => "1 minute".into(),
        m if m > 1 => format!("{m} minutes"),
        _ => format!("{} seconds", ms / 1000),
    }
}

impl Service {
    /// The device a secret belongs to; unknown or revoked secrets are 401
    /// (the agent stops: that key will never work again), the secret of a
    /// disabled PC is 403 (it works again once the PC is enabled).
    pub async fn authenticate_device(&self, secret: &str) -> Result<AgentDevice> {
        let mut c = self.store.read().await?;
        let secret_hash = secrets::digest(secret);
        let d = c
            .device_by_secret(&secret_hash)?
            .ok_or_else(|| Error::Unauthorized("unknown or revoked device secret".into()))?;
        if !d.enabled {
            return Err(Error::NotAllowed(format!(
                "PC {} is disabled at the desk; its agent is let in again once it is enabled",
                d.name
            )));
        }
        Ok(AgentDevice {
            id: d.id,
            name: d.name,
            secret_hash,
        })
    }

    /// The digest of a device's current secret (`None`: not enrolled, or
    /// disabled).
    pub async fn device_secret_hash(&self, device_id: i64) -> Result<Option<String>> {
        let mut c = self.store.read().await?;
        Ok(c.device_secret_hash(device_id)?)
    }

    /// A PC's desired state as of now, for an agent that just connected:
    /// read from a snapshot, and written (under a new sequence number) only
    /// when something time-dependent moved since the last operation stored it.
    pub async fn current_desired_state(&self, device_id: i64) -> Result<(u64, DesiredState)> {
        let now = self.now();
        {
            let mut c = self.store.snapshot().await?;
            if let Changed::No(push) = compare_desired(&mut *c, device_id, now)? {
                return Ok((push.seq, push.desired));
            }
        }
        self.run(move |_, tx| {
            let push = match desired_in_tx(&mut *tx, device_id, now)? {
                Changed::Yes(push) => push,
                Changed::No(push) => return Ok(((push.seq, push.desired), Vec::new())),
            };
            // Not published: the caller sends it to the one PC it concerns.
            let events = Vec::new();
            Ok(((push.seq, push.desired), events))
        })
        .await
    }

    /// The state for an agent that just connected, under a sequence number
    /// it will apply: above what it says it applied last. An agent that
    /// applied a higher number than this server ever gave (it was enrolled
    /// against another database) would otherwise ignore every state as
    /// stale and never unlock.
    pub async fn desired_state_for_agent(
        &self,
        device_id: i64,
        agent_seq: u64,
    ) -> Result<(u64, DesiredState)> {
        let (seq, desired) = self.current_desired_state(device_id).await?;
        if seq >= agent_seq {
            return Ok((seq, desired));
        }
        tracing::warn!(
            seq,
            agent_seq,
            "the agent is ahead of this server's sequence; raising it"
        );
        let json = serde_json::to_string(&desired).map_err(|e| Error::Internal(e.into()))?;
        let above = i64::try_from(agent_seq).unwrap_or(i64::MAX - 1);
        self.run(move |_, tx| {
            let seq = tx.raise_desired_state(device_id, above, &json)?;
            let events = Vec::new();
            Ok(((seq.max(0) as u64, desired), events))
        })
        .await
    }

    /// An agent connected, sent a heartbeat, or went away.
    /// A hello said when its agent started: a start other than the last
    /// one known is a restart of the agent (or of the PC: then its uptime
    /// is shorter than the time since the last start), audited with the
    /// session on the PC, if any.
    pub async fn agent_started(
        &self,
        device_id: i64,
        started_at: DateTime<Utc>,
        pc_uptime_seconds: u64,
    ) -> Result<()> {
        let started = store::ms(started_at);
        // Most hellos are reconnects of the same agent: a read tells, and
        // the writer is only taken for a start it has not seen.
        let known = {
            let mut c = self.store.read().await?;
            c.agent_started_at(device_id)?
        };
        if known == Some(started) {
            return Ok(());
        }
        self.run(move |this, tx| {
            let previous = tx.agent_started_at(device_id)?;
            if previous == Some(started) {
                return Ok(((), Vec::new()));
            }
            tx.set_agent_started_at(device_id, started)?;
            if let Some(previous) = previous {
                let now = this.now();
                let session = tx
                    .live_sessions(Some(device_id))?
                    .into_iter()
                    .find(|s| s.status != SessionStatus::Pending);
                let pc_rebooted = (pc_uptime_seconds as i64) * 1000 < store::ms(now) - previous;
                let mut a = super::Actor::System.audit("agent.restarted", now);
                a.device_id = Some(device_id);
                a.session_id = session.as_ref().map(|s| s.id);
                a.client_id = session.as_ref().map(|s| s.client_id);
                a.before = Some(serde_json::json!({ "agent_started_at": at(previous) }));
                a.after = Some(serde_json::json!({
                    "agent_started_at": started_at,
                    "pc_uptime_seconds": pc_uptime_seconds,
                    "pc_rebooted": pc_rebooted,
                }));
                tx.insert_audit(&a)?;
            }
            let events = Vec::new();
            Ok(((), events))
        })
        .await
    }

    pub async fn device_presence(
        &self,
        device_id: i64,
        online: bool,
        metrics: Option<Metrics>,
    ) -> Result<()> {
        let now = self.now();
        let previous = self.presence(device_id);
        // On a shared database (see `chain`): a connection here that closes
        // after the agent connected to another server changes nothing, and
        // one that opens here takes the PC over.
        let elsewhere = previous.online && !previous.here();
        if !online && elsewhere {
            return Ok(());
        }
        let was_online = previous.here();
        if metrics.is_some() {
            self.metrics_fresh(device_id);
        }
        let metrics = metrics.map(Metrics::bounded).or(previous.metrics.clone());
        self.set_presence(
            device_id,
            DevicePresence {
                online,
                instance: None,
                last_seen_at: Some(now),
                metrics: metrics.clone(),
            },
        );
        if was_online == online {
            if online {
                self.bus.publish([Event::DeviceMetrics { device_id }]);
            }
            return Ok(());
        }
        // Kept in the database on connect and disconnect, not on every
        // heartbeat: the hall reads live presence from memory.
        let last_seen_at = previous.last_seen_at;
        let shared = self.store.shared().then(|| self.chain.instance.clone());
        let recorded = self
            .run(move |_, tx| {
                if let Some(instance) = &shared {
                    if online {
                        tx.put_presence(device_id, instance, store::ms(now))?;
                    } else if !tx.drop_presence(device_id, instance)? {
                        // Connected to another server meanwhile.
                        return Ok((false, Vec::new()));
                    }
                }
                let json = metrics.as_ref().and_then(|m| serde_json::to_string(m).ok());
                tx.record_device_seen(device_id, store::ms(now), json.as_deref())?;
                // An agent that moved from one server to another was not
                // silent.
                if !elsewhere {
                    let kind = if online {
                        "device.back_online"
                    } else {
                        "device.offline_while_playing"
                    };
                    let after = serde_json::json!({
                        "online": online,
                        "last_seen_at": last_seen_at,
                    });
                    audit_if_playing(tx, device_id, kind, now, after)?;
                }
                Ok((true, vec![Event::DeviceChanged { device_id }]))
            })
            .await;
        match recorded {
            Ok(true) => Ok(()),
            // On record on another server: shown as there.
            Ok(false) => self.refresh_presence(device_id).await,
            // A connect not on record: shown as before, so that the next
            // heartbeat tries again.
            Err(e) if online => {
                self.set_presence(device_id, previous);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}
