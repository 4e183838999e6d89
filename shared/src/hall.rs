//! The hall feed on /api/v1/hall/ws: a snapshot, then sequenced events.
//! Every event carries the full current view of each PC it touches, so a
//! screen replaces what it shows instead of patching it.

use crate::types::Minor;
use crate::views::{DeviceView, HallSnapshot, SessionView};
use serde::{Deserialize, Serialize};

/// Server -> screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HallMsg {
    /// Everything, as of `seq`; the next event is `seq + 1`.
    Snapshot {
        seq: u64,
        hall: HallSnapshot,
    },
    Event {
        seq: u64,
        event: Box<HallEvent>,
    },
    /// The answer to a frame the server could not read; the feed goes on.
    Error {
        message: String,
    },
}

/// Screen -> server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScreenMsg {
    /// "I saw a gap": answered with a fresh snapshot.
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HallEventKind {
    DeviceOnline,
    DeviceOffline,
    DeviceChanged,
    Metrics,
    SessionCreated,
    SessionActivated,
    SessionStarted,
    SessionTariffAdded,
    SessionRenewed,
    SessionMoved,
    SessionPriceCorrected,
    SessionEnded,
    SessionCancelled,
    BalanceChanged,
    TariffChanged,
    EndingSoon,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HallEvent {
    pub kind: HallEventKind,
    #[serde(default)]
    pub devices: Vec<DeviceView>,
    #[serde(default)]
    pub session: Option<SessionView>,
    #[serde(default)]
    pub client_id: Option<i64>,
    #[serde(default)]
    pub balance: Option<Minor>,
    #[serde(default)]
    pub bonus_balance: Option<Minor>,
}
