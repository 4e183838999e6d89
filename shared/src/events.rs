//! Events emitted after each committed operation. The agent gateway and the
//! hall feed subscribe to them; the operations know nothing of either.

use crate::types::Minor;
use crate::views::SessionView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionChange {
    Created,
    Activated,
    Started,
    TariffAdded,
    Renewed,
    Moved,
    PriceCorrected,
    Ended,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A session changed; `devices` lists every PC whose desired state may
    /// have changed (two for a move).
    Session {
        change: SessionChange,
        devices: Vec<i64>,
        session: Box<SessionView>,
    },
    BalanceChanged {
        client_id: i64,
        balance: Minor,
        bonus_balance: Minor,
    },
    DeviceChanged {
        device_id: i64,
    },
    TariffChanged {
        tariff_id: i64,
    },
    /// A heartbeat brought fresh metrics for a PC.
    DeviceMetrics {
        device_id: i64,
    },
    /// A staff sign-in ended (logout): screens opened with it close.
    SignedOut {
        token_hash: String,
    },
    /// A PC was enrolled again or disabled: a connection with a secret that
    /// no longer opens one closes.
    DeviceRevoked {
        device_id: i64,
    },
    /// A running session reached a warning moment before its end.
    EndingSoon {
        session_id: i64,
        device_id: i64,
        seconds_left: i64,
    },
}
