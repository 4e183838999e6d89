//! Who performs an operation: a staff member with their role's
//! permissions, a player, a PC's agent or the server itself.

use crate::error::{Error, Result};
use crate::store::{self, NewAudit};
use chrono::{DateTime, Utc};
use club_shared::Permission;

/// Who performs an operation; recorded in the audit trail.
#[derive(Debug, Clone)]
pub enum Actor {
    Staff(StaffCtx),
    Player { client_id: i64 },
    Agent { device_id: i64 },
    System,
}

impl Actor {
    pub fn operator_id(&self) -> Option<i64> {
        match self {
            Actor::Staff(s) => Some(s.operator_id),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Staff(_) => "staff",
            Actor::Player { .. } => "player",
            Actor::Agent { .. } => "agent",
            Actor::System => "system",
        }
    }

    /// Staff must hold `p`; players, agents and the system are checked by
    /// the operation itself (their own session or device only).
    pub fn require(&self, p: Permission) -> Result<()> {
        match self {
            Actor::Staff(s) => s.require(p),
            _ => Ok(()),
        }
    }

    pub(super) fn audit(&self, kind: &'static str, at: DateTime<Utc>) -> NewAudit {
        NewAudit {
            at: store::ms(at),
            operator_id: self.operator_id(),
            actor: self.kind(),
            kind,
            ..NewAudit::default()
        }
    }
}

/// A signed-in staff member and what their role allows.
#[derive(Debug, Clone)]
pub struct StaffCtx {
    pub operator_id: i64,
    pub login: String,
    pub role: String,
    pub permissions: Vec<Permission>,
    /// The sign-in this request came with: its digest and end.
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

impl StaffCtx {
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.permissions.contains(&p) {
            Ok(())
        } else {
            Err(Error::Forbidden(p))
        }
    }
}
