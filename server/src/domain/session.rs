use chrono::{DateTime, Utc};
use club_shared::SessionStatus::{self, *};
use std::fmt;

/// What an operation asks of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The scheduler: planned start reached.
    Activate,
    /// Start pressed on the PC, in the app, or by an operator.
    Start,
    Cancel,
    /// Manual end by staff or natural end by the clock.
    End,
}

/// A transition the state machine does not allow; the message names the
/// current status and what is available instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: SessionStatus,
    pub action: Action,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.status;
        let hint = match (s, self.action) {
            (Ended | Cancelled, _) => "it is final; there is no reverse transition",
            (Started, Action::Cancel) => "only ending is available",
            (Started, Action::Start) => "it has already started",
            (Pending, Action::Start) => "Start is available once its planned start is reached",
            (Pending | Active, Action::End) => "it has not started; only cancelling is available",
            (_, Action::Activate) => "only a PENDING session becomes ACTIVE",
            _ => "this operation is not available",
        };
        write!(f, "session is {s}; {hint}")
    }
}

impl std::error::Error for Refusal {}

/// The status a session moves to, or why it cannot.
pub fn transition(status: SessionStatus, action: Action) -> Result<SessionStatus, Refusal> {
    let next = match (status, action) {
        (Pending, Action::Activate) => Active,
        (Active, Action::Start) => Started,
        (Pending | Active, Action::Cancel) => Cancelled,
        (Started, Action::End) => Ended,
        _ => return Err(Refusal { status, action }),
    };
    Ok(next)
}

/// Cancel is possible only while the player has not pressed Start: the
/// one cancel rule, for the operation, its preview, a bulk cancel and the
/// no-show release alike.
pub fn check_cancel(
    status: SessionStatus,
    actual_start_at: Option<DateTime<Utc>>,
) -> Result<(), Refusal> {
    transition(status, Action::Cancel)?;
    if actual_start_at.is_some() {
        // Started by a press, whatever the status says: only ending is left.
        return Err(Refusal {
            status: Started,
            action: Action::Cancel,
        });
    }
    Ok(())
}

/// What a session allows now: the one answer for the operations, their
/// previews and the operator page.
pub fn available_actions(
    status: SessionStatus,
    actual_start_at: Option<DateTime<Utc>>,
) -> club_shared::SessionActions {
    club_shared::SessionActions {
        start: transition(status, Action::Start).is_ok(),
        cancel: check_cancel(status, actual_start_at).is_ok(),
        end: transition(status, Action::End).is_ok(),
    }
}

/// PENDING when the planned start is in the future, ACTIVE otherwise.
pub fn initial_status(planned_start_at: DateTime<Utc>, now: DateTime<Utc>) -> SessionStatus {
    if planned_start_at > now {
        Pending
    } else {
        Active
    }
}

/// A half-open span of time `[from, to)` a session holds its device for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Span {
    pub fn overlaps(&self, other: &Span) -> bool {
        self.from < other.to && other.from < self.to
    }
}

/// How long a live session holds its device. A reservation holds its
/// planned slot; an ACTIVE session holds from its planned start until its
/// time would run out if started now; a STARTED one until it ends.
pub fn occupancy(
    status: SessionStatus,
    planned_start_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
    reserved_seconds: i64,
    now: DateTime<Utc>,
) -> Option<Span> {
    let secs = chrono::Duration::seconds(reserved_seconds.max(1));
    match status {
        Pending => Some(Span {
            from: planned_start_at,
            to: planned_start_at + secs,
        }),
        Active => Some(Span {
            from: planned_start_at.min(now),
            to: planned_start_at.max(now) + secs,
        }),
        Started => Some(Span {
            from: planned_start_at.min(now),
            to: ends_at.unwrap_or(now).max(now),
        }),
        Ended | Cancelled => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 10, h, m, 0).unwrap()
    }

    #[test]
    fn every_allowed_transition() {
        assert_eq!(transition(Pending, Action::Activate), Ok(Active));
        assert_eq!(transition(Active, Action::Start), Ok(Started));
        assert_eq!(transition(Pending, Action::Cancel), Ok(Cancelled));
        assert_eq!(transition(Active, Action::Cancel), Ok(Cancelled));
        assert_eq!(transition(Started, Action::End), Ok(Ended));
    }

    #[test]
    fn every_other_transition_is_refused_naming_the_status() {
        let allowed = [
            (Pending, Action::Activate),
            (Active, Action::Start),
            (Pending, Action::Cancel),
            (Active, Action::Cancel),
            (Started, Action::End),
        ];
        for status in SessionStatus::ALL {
            for action in [Action::Activate, Action::Start, Action::Cancel, Action::End] {
                if allowed.contains(&(status, action)) {
                    continue;
                }
                let refusal = transition(status, action).unwrap_err();
                assert!(
                    refusal
                        .to_string()
                        .starts_with(&format!("session is {status};")),
                    "{refusal}"
                );
            }
        }
    }

    #[test]
    fn no_transition_goes_backwards_or_leaves_a_final_status() {
        for status in SessionStatus::ALL {
            for action in [Action::Activate, Action::Start, Action::Cancel, Action::End] {
                if let Ok(next) = transition(status, action) {
                    assert!(next.rank() > status.rank());
                }
            }
        }
        for status in [Ended, Cancelled] {
            for action in [Action::Activate, Action::Start, Action::Cancel, Action::End] {
                assert!(transition(status, action).is_err());
            }
        }
    }

    // Seed: "After the session starts — only ending is available."
    #[test]
    fn a_started_session_can_only_be_ended() {
        let refusal = transition(Started, Action::Cancel).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "session is STARTED; only ending is available"
        );
        assert!(check_cancel(Started, Some(t(10, 0))).is_err());
    }

    // Seed: "The technical boundary is the actualStartAt field."
    #[test]
    fn cancel_only_while_actual_start_is_null() {
        assert!(check_cancel(Pending, None).is_ok());
        assert!(check_cancel(Active, None).is_ok());
        assert!(check_cancel(Active, Some(t(10, 0))).is_err());
        assert!(check_cancel(Ended, None).is_err());
        let a = available_actions(Active, None);
        assert!(a.start && a.cancel && !a.end);
        let a = available_actions(Started, Some(t(10, 0)));
        assert!(!a.start && !a.cancel && a.end);
        let a = available_actions(Pending, None);
        assert!(!a.start && a.cancel && !a.end);
        for s in [Ended, Cancelled] {
            assert_eq!(available_actions(s, None), Default::default());
        }
    }

    // Seed table: ending is not available for PENDING or ACTIVE.
    #[test]
    fn ending_needs_a_started_session() {
        assert!(transition(Pending, Action::End).is_err());
        assert!(transition(Active, Action::End).is_err());
    }

    #[test]
    fn future_planned_start_makes_a_reservation() {
        assert_eq!(initial_status(t(12, 0), t(10, 0)), Pending);
        assert_eq!(initial_status(t(10, 0), t(10, 0)), Active);
    }

    #[test]
    fn reservations_overlap_by_their_slots() {
        let a = occupancy(Pending, t(12, 0), None, 3600, t(10, 0)).unwrap();
        let b = occupancy(Pending, t(13, 0), None, 3600, t(10, 0)).unwrap();
        let c = occupancy(Pending, t(12, 30), None, 3600, t(10, 0)).unwrap();
        assert!(!a.overlaps(&b), "back to back is fine");
        assert!(a.overlaps(&c));
        let running = occupancy(Started, t(9, 0), Some(t(11, 0)), 7200, t(10, 0)).unwrap();
        assert!(!running.overlaps(&a));
        let now_session = occupancy(Active, t(10, 0), None, 3600, t(10, 0)).unwrap();
        assert!(running.overlaps(&now_session));
    }
}
