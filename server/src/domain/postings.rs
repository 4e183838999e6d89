//! The writes a money rule asks for. The domain decides every one (each
//! holding's new state, each closed segment, each value movement, each
//! ledger entry); the service writes them as they are, in order, and
//! decides nothing about money.

use super::close::SegmentOutcome;
use super::money::{apply_refund, HoldingState};
use club_shared::{Account, ExpirationPolicy, HoldingStatus, Minor, RefundPolicy};

/// Why value leaves a holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Time played: revenue.
    Usage,
    /// Unused time voided by a refund policy.
    Burn,
    /// Unused time paid into bonus.
    Convert,
    /// Time voided because the holding's validity ended.
    Expire,
}

impl ValueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usage => "usage",
            Self::Burn => "burn",
            Self::Convert => "convert",
            Self::Expire => "expire",
        }
    }
}

/// One write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posting {
    /// A holding's state after the rule.
    Holding {
        holding_id: i64,
        remaining_seconds: i64,
        value_remaining: Minor,
        status: HoldingStatus,
    },
    /// A segment closed, with what it used.
    SegmentClosed {
        segment_id: i64,
        seconds_used: i64,
        amount: Minor,
    },
    /// Value leaving a holding.
    Value {
        holding_id: i64,
        segment_id: Option<i64>,
        kind: ValueKind,
        seconds: i64,
        amount: Minor,
    },
    /// An entry on the client's balance (with the balance change).
    Ledger {
        account: Account,
        amount: Minor,
        kind: &'static str,
    },
}

/// The writes that closing segments makes: for each, the holding's new
/// state, the closed segment, the time used, what the refund policy did
/// with the rest (burned or converted), and the bonus it paid.
pub fn closing_postings(outcomes: &[SegmentOutcome]) -> Vec<Posting> {
    let mut out = Vec::new();
    for o in outcomes {
        let Some(h) = o.holding_after else {
            continue;
        };
        out.push(Posting::Holding {
            holding_id: o.holding_id,
            remaining_seconds: h.remaining_seconds,
            value_remaining: h.value_remaining,
            status: if h.remaining_seconds == 0 {
                HoldingStatus::UsedUp
            } else {
                HoldingStatus::Available
            },
        });
        out.push(Posting::SegmentClosed {
            segment_id: o.segment_id,
            seconds_used: o.seconds_used,
            amount: o.amount,
        });
        let value = |kind, seconds, amount| Posting::Value {
            holding_id: o.holding_id,
            segment_id: Some(o.segment_id),
            kind,
            seconds,
            amount,
        };
        if o.seconds_used > 0 || o.amount > 0 {
            out.push(value(ValueKind::Usage, o.seconds_used, o.amount));
        }
        match o.refund {
            Some(r) if r.unused_seconds > 0 && r.policy == RefundPolicy::Burn => {
                out.push(value(ValueKind::Burn, r.unused_seconds, r.burned));
            }
            Some(r) if r.unused_seconds > 0 && r.policy == RefundPolicy::ConvertToBonus => {
                out.push(value(ValueKind::Convert, r.unused_seconds, r.bonus));
            }
            _ => {}
        }
        if o.bonus > 0 {
            out.push(Posting::Ledger {
                account: Account::Bonus,
                amount: o.bonus,
                kind: "refund_to_bonus",
            });
        }
    }
    out
}

/// A holding's expiry: the writes, and the bonus paid and value voided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub postings: Vec<Posting>,
    pub bonus: Minor,
    pub voided: Minor,
}

/// Expiry applies the same rule as a refund policy to all the time left:
/// convert pays it pro rata into bonus, burn voids it; what a conversion
/// leaves by rounding is voided with the time. The expiry is always on
/// record: as a conversion, a void, or both (a free tariff's expiry is a
/// void of 0).
pub fn expiry_postings(holding_id: i64, holding: HoldingState, policy: ExpirationPolicy) -> Expiry {
    let refund_policy = match policy {
        ExpirationPolicy::ConvertToBonus => RefundPolicy::ConvertToBonus,
        ExpirationPolicy::Burn => RefundPolicy::Burn,
    };
    let seconds = holding.remaining_seconds;
    let mut h = holding;
    let r = apply_refund(refund_policy, &mut h, seconds);
    let (bonus, voided) = (r.bonus, r.burned + r.dust);
    let mut postings = vec![Posting::Holding {
        holding_id,
        remaining_seconds: h.remaining_seconds,
        value_remaining: h.value_remaining,
        status: HoldingStatus::Expired,
    }];
    let value = |kind, amount| Posting::Value {
        holding_id,
        segment_id: None,
        kind,
        seconds,
        amount,
    };
    if bonus > 0 {
        postings.push(value(ValueKind::Convert, bonus));
    }
    if voided > 0 || bonus == 0 {
        postings.push(value(ValueKind::Expire, voided));
    }
    if bonus > 0 {
        postings.push(Posting::Ledger {
            account: Account::Bonus,
            amount: bonus,
            kind: "expiry_to_bonus",
        });
    }
    Expiry {
        postings,
        bonus,
        voided,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::close::{close_segment, Closing, OpenSegment};

    fn segment(policy: RefundPolicy) -> OpenSegment {
        OpenSegment {
            id: 7,
            holding_id: 3,
            tariff_id: 1,
            tariff_name: "1 h".into(),
            refund_policy: policy,
            reserved_seconds: 3600,
            span: None,
        }
    }

    #[test]
    fn a_cancel_that_converts_posts_the_conversion_and_the_bonus() {
        let o = close_segment(
            &segment(RefundPolicy::ConvertToBonus),
            HoldingState::new(3600, 10_00),
            Closing::Cancel,
        );
        let p = closing_postings(&[o]);
        assert_eq!(
            p,
            vec![
                Posting::Holding {
                    holding_id: 3,
                    remaining_seconds: 0,
                    value_remaining: 0,
                    status: HoldingStatus::UsedUp
                },
                Posting::SegmentClosed {
                    segment_id: 7,
                    seconds_used: 0,
                    amount: 0
                },
                Posting::Value {
                    holding_id: 3,
                    segment_id: Some(7),
                    kind: ValueKind::Convert,
                    seconds: 3600,
                    amount: 10_00
                },
                Posting::Ledger {
                    account: Account::Bonus,
                    amount: 10_00,
                    kind: "refund_to_bonus"
                },
            ]
        );
    }

    #[test]
    fn a_cancel_that_keeps_the_balance_moves_no_value() {
        let o = close_segment(
            &segment(RefundPolicy::KeepBalance),
            HoldingState::new(3600, 10_00),
            Closing::Cancel,
        );
        let p = closing_postings(&[o]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(matches!(
            p[0],
            Posting::Holding {
                remaining_seconds: 3600,
                value_remaining: 10_00,
                status: HoldingStatus::Available,
                ..
            }
        ));
    }

    #[test]
    fn an_expiry_is_always_on_record() {
        let burn = expiry_postings(3, HoldingState::new(3600, 10_00), ExpirationPolicy::Burn);
        assert_eq!((burn.bonus, burn.voided), (0, 10_00));
        assert!(burn.postings.contains(&Posting::Value {
            holding_id: 3,
            segment_id: None,
            kind: ValueKind::Expire,
            seconds: 3600,
            amount: 10_00
        }));
        let free = expiry_postings(3, HoldingState::new(3600, 0), ExpirationPolicy::Burn);
        assert_eq!(free.postings.len(), 2, "a void of 0 is recorded");
        let convert = expiry_postings(
            3,
            HoldingState::new(3600, 10_00),
            ExpirationPolicy::ConvertToBonus,
        );
        assert_eq!((convert.bonus, convert.voided), (10_00, 0));
        assert!(convert.postings.contains(&Posting::Ledger {
            account: Account::Bonus,
            amount: 10_00,
            kind: "expiry_to_bonus"
        }));
    }
}
