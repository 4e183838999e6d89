//! The operations. Each is one write transaction (BEGIN IMMEDIATE) that
//! validates, changes state, writes its audit entry, commits, and only then
//! publishes its events. Callers (REST, the agent gateway, the scheduler)
//! come through here and nowhere else.

mod actor;
mod agents;
mod auth;
mod builds;
pub mod chain;
mod clients;
mod clubs;
mod commands;
mod corrections;
pub mod demo;
mod devices;
mod enrollment;
mod extend;
mod hall;
pub mod hashing;
pub mod health;
mod housekeeping;
mod money;
mod orders;
mod postings;
mod sessions;
mod shifts;
mod staff;
mod tariffs;
pub mod throttle;

pub use actor::{Actor, StaffCtx};
pub use agents::*;
pub use auth::*;
pub use builds::AgentBuildView;
pub use commands::*;
pub use enrollment::*;
pub use hall::*;
pub use housekeeping::*;
pub use orders::*;
pub use sessions::*;
pub use shifts::*;
pub use tariffs::*;

use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::events::Bus;
use crate::store::{AfterCommit, Conn, Store, Tx};
use chrono::{DateTime, Utc};
use club_shared::{Event, Metrics};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{broadcast, Notify};

/// Desired states waiting for the gateway; one that falls behind resends
/// every connected PC's current state.
const DESIRED_PUSH_BACKLOG: usize = 4096;

/// What one scheduler step did with the work that was due.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Items it moved.
    pub moved: usize,
    /// Items another operation got to first, or that wait for their PC.
    pub skipped: usize,
    /// Items whose operation failed (logged); retried on the next pass.
    pub failed: usize,
}

impl Pass {
    /// Counts one item's result; a failure is logged, never stops the pass.
    pub(crate) fn count(&mut self, what: &str, id: i64, result: Result<bool>) {
        match result {
            Ok(true) => self.moved += 1,
            Ok(false) => {}
            Err(Error::Conflict(why)) => {
                tracing::info!(%what, id, %why, "scheduler skipped");
                self.skipped += 1;
            }
            Err(e) => {
                tracing::error!(%what, id, error = ?e, "scheduler step failed");
                self.failed += 1;
            }
        }
    }

    /// Something due is still there: the scheduler comes back for it.
    pub fn left_work(&self) -> bool {
        self.skipped + self.failed > 0
    }
}

/// What the server knows of a connected PC beyond the database.
#[derive(Debug, Clone, Default)]
pub struct DevicePresence {
    pub online: bool,
    /// The server on the database it is connected to, when not this one
    /// (see `chain`).
    pub instance: Option<Arc<str>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub metrics: Option<Metrics>,
}

/// The LAN's broadcast address, Wake-on-LAN's usual port.
pub const DEFAULT_WOL_TARGET: &str = "255.255.255.255:9";

#[derive(Clone)]
pub struct Service {
    pub store: Store,
    pub bus: Bus,
    pub clock: SharedClock,
    token_ttl: chrono::Duration,
    schedule_changed: Arc<Notify>,
    presence: Arc<RwLock<HashMap<i64, DevicePresence>>>,
    /// This server among the others on a shared database.
    chain: Arc<chain::Membership>,
    desired_pushes: broadcast::Sender<DesiredPush>,
    /// Failed sign-ins per address and account.
    pub(crate) throttle: Arc<throttle::Throttle>,
    /// The fingerprint of the certificate the server serves with, when it
    /// serves TLS: enrollment answers carry it for the agent to pin.
    server_cert_sha256: Option<Arc<str>>,
    /// Each PC's last command from the desk, and the next command id.
    commands: Arc<RwLock<HashMap<i64, club_shared::DeviceCommandView>>>,
    command_ids: Arc<std::sync::atomic::AtomicI64>,
    command_pushes: broadcast::Sender<CommandPush>,
    /// Where Wake-on-LAN packets go.
    wol_target: std::net::SocketAddr,
    /// Agent build downloads under way: each holds a whole build in
    /// memory, so only a few at once.
    build_downloads: Arc<tokio::sync::Semaphore>,
    /// One agent build upload at a time.
    build_uploads: Arc<tokio::sync::Semaphore>,
    /// What /metrics serves.
    pub metrics: crate::metrics::Metrics,
    /// The last readiness check, reused for a second (see `health`).
    readiness: Arc<tokio::sync::Mutex<Option<health::Checked>>>,
}

impl Service {
    pub fn new(store: Store, bus: Bus, clock: SharedClock, token_ttl_hours: i64) -> Self {
        let metrics = crate::metrics::Metrics::new(Some(store.writer_stats()));
        Service {
            metrics,
            readiness: Arc::default(),
            store,
            bus,
            clock,
            token_ttl: chrono::Duration::hours(token_ttl_hours.max(1)),
            schedule_changed: Arc::new(Notify::new()),
            presence: Arc::default(),
            chain: Arc::default(),
            desired_pushes: broadcast::channel(DESIRED_PUSH_BACKLOG).0,
            throttle: Arc::default(),
            server_cert_sha256: None,
            commands: Arc::default(),
            command_ids: Arc::new(std::sync::atomic::AtomicI64::new(1)),
            command_pushes: broadcast::channel(64).0,
            wol_target: DEFAULT_WOL_TARGET.parse().expect("an address"),
            build_downloads: Arc::new(tokio::sync::Semaphore::new(builds::MAX_DOWNLOADS)),
            build_uploads: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    /// Sends Wake-on-LAN packets to this address.
    pub fn with_wol_target(mut self, target: std::net::SocketAddr) -> Self {
        self.wol_target = target;
        self
    }

    /// Serving TLS with the certificate of this fingerprint.
    pub fn with_server_cert_sha256(mut self, sha256: Option<String>) -> Self {
        self.server_cert_sha256 = sha256.map(Arc::from);
        self
    }

    pub fn server_cert_sha256(&self) -> Option<String> {
        self.server_cert_sha256.as_deref().map(str::to_owned)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Wakes the scheduler: a deadline may have moved.
    pub fn schedule_changed(&self) -> Arc<Notify> {
        self.schedule_changed.clone()
    }

    pub fn presence(&self, device_id: i64) -> DevicePresence {
        self.presence
            .read()
            .map(|m| m.get(&device_id).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn set_presence(&self, device_id: i64, p: DevicePresence) {
        if let Ok(mut m) = self.presence.write() {
            m.insert(device_id, p);
        }
    }

    /// New desired states for the agent gateway, after each commit.
    pub fn desired_pushes(&self) -> broadcast::Receiver<DesiredPush> {
        self.desired_pushes.subscribe()
    }

    /// Stores the new desired state of every PC the events touch, commits
    /// `tx`, then publishes both: subscribers only ever see what is durable.
    async fn commit(&self, tx: Tx, events: Vec<Event>) -> Result<()> {
        self.commit_noting(tx, events, Vec::new()).await
    }

    /// `commit`, with the desk's commands it sent or answered.
    async fn commit_noting(
        &self,
        mut tx: Tx,
        events: Vec<Event>,
        commands: Vec<chain::CommandNote>,
    ) -> Result<()> {
        let (after, outbox) = self.clone().publish_after(&mut *tx, events, commands)?;
        tx.commit_then(after).await?;
        if let Some(id) = outbox {
            self.published(id).await;
        }
        Ok(())
    }

    /// Runs an operation whole on the writer's thread (`Store::run`): `op`
    /// reads and writes in the transaction, undone if it fails, and returns
    /// its value and the events to publish once it is durable.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Service, &mut Conn) -> Result<(T, Vec<Event>)> + Send + 'static,
    ) -> Result<T> {
        let service = self.clone();
        let (value, outbox) = self
            .store
            .run(move |tx| {
                let (value, events) = op(&service, tx)?;
                let (after, outbox) = service.publish_after(tx, events, Vec::new())?;
                Ok::<_, Error>(((value, outbox), after))
            })
            .await?;
        if let Some(id) = outbox {
            self.published(id).await;
        }
        Ok(value)
    }

    /// Stores the new desired state of every PC the events touch, in the
    /// operation's transaction, and returns what publishes both once it is
    /// durable (and wakes the scheduler when a session changed: a deadline
    /// may have moved). On a shared database the outcome goes to the
    /// outbox instead, and its id comes back: every server publishes it
    /// from there, this one too (see `chain`). Takes the service the
    /// operation already holds, for the publishing.
    fn publish_after(
        self,
        c: &mut Conn,
        events: Vec<Event>,
        commands: Vec<chain::CommandNote>,
    ) -> Result<(AfterCommit, Option<i64>)> {
        let mut devices: Vec<i64> = events.iter().flat_map(touched_devices).collect();
        devices.sort_unstable();
        devices.dedup();
        let now = self.now();
        let mut pushes = Vec::new();
        for device_id in devices {
            if let agents::Changed::Yes(p) = agents::desired_in_tx(c, device_id, now)? {
                pushes.push(p);
            }
        }
        let outcome = chain::Outcome {
            schedule: events.iter().any(|e| matches!(e, Event::Session { .. })),
            events,
            pushes,
            commands,
        };
        if self.store.shared() {
            if outcome.is_empty() {
                return Ok((Box::new(|| {}), None));
            }
            let body = serde_json::to_string(&outcome).map_err(|e| Error::Internal(e.into()))?;
            let id = c.append_outbox(&self.chain.instance, &body)?;
            return Ok((Box::new(|| {}), Some(id)));
        }
        Ok((Box::new(move || self.publish_outcome(outcome)), None))
    }
}

/// The PCs whose screens an event may change.
fn touched_devices(e: &Event) -> Vec<i64> {
    match e {
        Event::Session { devices, .. } => devices.clone(),
        Event::EndingSoon { device_id, .. } => vec![*device_id],
        _ => Vec::new(),
    }
}

fn json<T: serde::Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

/// Refuses an amount of money that is not a positive number of minor units.
pub(crate) fn positive_amount(field: &str, amount: i64) -> Result<()> {
    if amount <= 0 {
        return Err(Error::bad(
            field,
            "must be a positive number of minor units",
        ));
    }
    Ok(())
}

/// Text fields: trimmed, non-empty, bounded.
///
/// The request structs state this in the OpenAPI document as
/// `min_length = 1, max_length = max` and a pattern asking for one
/// character that `str::trim` keeps: a class of everything but Unicode
/// White_Space, spelled out because `\s` in the document's regex dialect
/// (ECMA 262) differs from it (U+0085, U+FEFF).
pub(crate) fn required_text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::bad(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(Error::bad(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    /// The pattern of every `required_text` field in the document: one
    /// character that is not Unicode White_Space, which `str::trim` removes.
    const NOT_ONLY_WHITESPACE: &str =
        r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
    /// The same class as code point ranges.
    const WHITE_SPACE: [(u32, u32); 11] = [
        (0x09, 0x0d),
        (0x20, 0x20),
        (0x85, 0x85),
        (0xa0, 0xa0),
        (0x1680, 0x1680),
        (0x2000, 0x200a),
        (0x2028, 0x2028),
        (0x2029, 0x2029),
        (0x202f, 0x202f),
        (0x205f, 0x205f),
        (0x3000, 0x3000),
    ];

    #[test]
    fn the_documented_class_is_what_trim_removes() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let listed = WHITE_SPACE
                .iter()
                .any(|&(a, b)| (a..=b).contains(&(c as u32)));
            assert_eq!(listed, c.is_whitespace(), "U+{:04X}", c as u32);
        }
    }

    /// Every pattern of that kind in the request schemas is spelled alike.
    #[test]
    fn request_schemas_spell_the_class_alike() {
        fn patterns(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(p)) = m.get("pattern") {
                        out.push(p.clone());
                    }
                    m.values().for_each(|v| patterns(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| patterns(v, out)),
                _ => {}
            }
        }
        let schemas = [
            crate::requests::staff::NewRole::schema(),
            crate::requests::staff::NewOperator::schema(),
            crate::requests::staff::UpdateOperator::schema(),
            crate::requests::staff::PasswordChange::schema(),
            crate::requests::hall::NewZone::schema(),
            crate::requests::hall::NewDevice::schema(),
            crate::requests::devices::DevicePatch::schema(),
            crate::requests::enrollment::EnrollRequest::schema(),
            crate::requests::clients::NewClient::schema(),
            crate::requests::clients::ClientPatch::schema(),
            crate::requests::corrections::PriceCorrection::schema(),
            crate::requests::housekeeping::BulkCancel::schema(),
            crate::requests::orders::OrderRefund::schema(),
            crate::requests::orders::ExtraCharge::schema(),
            crate::requests::tariffs::TariffInput::schema(),
            crate::requests::commands::NewCommand::schema(),
        ];
        let mut found = Vec::new();
        for s in &schemas {
            patterns(&serde_json::to_value(s).unwrap(), &mut found);
        }
        let classes: Vec<_> = found.iter().filter(|p| p.starts_with("[^")).collect();
        assert_eq!(classes.len(), 18, "{found:?}");
        assert!(
            classes.iter().all(|p| *p == NOT_ONLY_WHITESPACE),
            "{classes:?}"
        );
    }
}
