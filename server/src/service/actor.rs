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

    /// The club a staff member works in; None for the chain's staff (every
    /// club), and for players, agents and the system, whose operations
    /// check their own session or PC.
    pub fn club(&self) -> Option<i64> {
        match self {
            Actor::Staff(s) => s.club_id,
            _ => None,
        }
    }

    /// Whether they see and work on `club`'s hall.
    pub fn sees(&self, club: i64) -> bool {
        self.club().is_none_or(|mine| mine == club)
    }

    /// A row of another club is, for them, a row that does not exist.
    pub fn in_club(&self, club: i64, what: &str, id: i64) -> Result<()> {
        if self.sees(club) {
            Ok(())
        } else {
            Err(Error::not_found(what, id))
        }
    }

    /// What every club shares (clubs, tariffs, roles, settings, agent
    /// builds) is set up by the chain's staff, not one club's.
    pub fn require_chain(&self) -> Result<()> {
        match self.club() {
            None => Ok(()),
            Some(_) => Err(Error::NotAllowed(
                "every club of the chain shares this: it is changed by the chain's staff \
                 (an operator without a club)"
                    .into(),
            )),
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
    /// The club they work in; None: every club.
    pub club_id: Option<i64>,
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
