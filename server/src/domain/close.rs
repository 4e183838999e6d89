//! What closing segments does to holdings: the plan behind cancel, manual
//! end, natural end and their previews. One function computes it; the
//! service either applies it or shows it.

use super::money::{apply_refund, HoldingState, Movement, RefundOutcome};
use chrono::{DateTime, Utc};
use club_shared::{Minor, RefundPolicy};
use serde::Serialize;
use utoipa::ToSchema;

/// An open segment as the plan needs it.
#[derive(Debug, Clone)]
pub struct OpenSegment {
    pub id: i64,
    pub holding_id: i64,
    pub tariff_id: i64,
    pub tariff_name: String,
    pub refund_policy: RefundPolicy,
    pub reserved_seconds: i64,
    /// The running span, once the segment has started.
    pub span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl OpenSegment {
    /// Seconds the segment runs for when it runs to its end.
    pub fn length_seconds(&self) -> i64 {
        match self.span {
            Some((from, to)) => (to - from).num_seconds().max(0),
            None => self.reserved_seconds,
        }
    }
}

/// How a session is being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Before Start: the refund policy applies to every reserved holding.
    Cancel,
    /// Staff ended it at this moment: the policy applies to the unused time
    /// of the running segment and to the whole holding of a queued one.
    ManualEnd(DateTime<Utc>),
    /// The time ran out: every segment ran to its end, no remainder.
    NaturalEnd,
    /// A tariff was switched to at this moment: the time used counts, and
    /// each holding keeps what it did not use, whatever the refund policy
    /// (a queued segment's holding is back on the balance, whole).
    Switch(DateTime<Utc>),
}

/// What closing one segment does, in numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SegmentOutcome {
    pub segment_id: i64,
    pub holding_id: i64,
    pub tariff_id: i64,
    pub tariff_name: String,
    pub seconds_used: i64,
    /// Value recognised for the time used (and any rounding remainder).
    pub amount: Minor,
    pub refund_policy: Option<RefundPolicy>,
    pub unused_seconds: i64,
    /// Seconds that stay on the holding for a later visit.
    pub kept_seconds: i64,
    pub bonus: Minor,
    pub burned: Minor,
    pub holding_remaining_seconds: i64,
    pub holding_value_remaining: Minor,
    #[serde(skip)]
    pub holding_after: Option<HoldingState>,
    #[serde(skip)]
    pub used: Movement,
    #[serde(skip)]
    pub refund: Option<RefundOutcome>,
}

/// Closes `segment` on `holding` according to `closing`.
pub fn close_segment(
    segment: &OpenSegment,
    holding: HoldingState,
    closing: Closing,
) -> SegmentOutcome {
    let mut h = holding;
    let length = segment.length_seconds();
    let (used_seconds, unused_seconds) = match (closing, segment.span) {
        (Closing::Cancel, _) | (_, None) => (0, segment.reserved_seconds),
        (Closing::NaturalEnd, Some(_)) => (length, 0),
        // A queued segment that has not begun: a manual end applies its
        // policy to its whole holding (a switch leaves the holding whole).
        (Closing::ManualEnd(now), Some((from, _))) if now <= from => (0, segment.reserved_seconds),
        (Closing::ManualEnd(now) | Closing::Switch(now), Some((from, _))) => {
            let used = (now - from).num_seconds().clamp(0, length);
            (used, length - used)
        }
    };
    let used = h.consume(used_seconds);
    let refund = match closing {
        Closing::NaturalEnd | Closing::Switch(_) => None,
        Closing::Cancel | Closing::ManualEnd(_) => {
            Some(apply_refund(segment.refund_policy, &mut h, unused_seconds))
        }
    };
    let r = refund.unwrap_or(RefundOutcome {
        policy: segment.refund_policy,
        unused_seconds: 0,
        kept_seconds: 0,
        bonus: 0,
        burned: 0,
        dust: 0,
    });
    SegmentOutcome {
        segment_id: segment.id,
        holding_id: segment.holding_id,
        tariff_id: segment.tariff_id,
        tariff_name: segment.tariff_name.clone(),
        seconds_used: used.seconds,
        amount: used.amount + r.dust,
        refund_policy: refund.map(|r| r.policy),
        unused_seconds: r.unused_seconds,
        kept_seconds: r.kept_seconds,
        bonus: r.bonus,
        burned: r.burned,
        holding_remaining_seconds: h.remaining_seconds,
        holding_value_remaining: h.value_remaining,
        holding_after: Some(h),
        used,
        refund,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn segment(policy: RefundPolicy, started: Option<DateTime<Utc>>) -> OpenSegment {
        OpenSegment {
            id: 1,
            holding_id: 7,
            tariff_id: 3,
            tariff_name: "2 hours".into(),
            refund_policy: policy,
            reserved_seconds: 7200,
            span: started.map(|s| (s, s + Duration::hours(2))),
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 18, 0, 0).unwrap()
    }

    // Seed: manual end with 30 of 120 minutes unused, convert to bonus -> 50.
    #[test]
    fn manual_end_converts_the_unused_quarter_to_bonus() {
        let s = segment(RefundPolicy::ConvertToBonus, Some(t0()));
        let out = close_segment(
            &s,
            HoldingState::new(7200, 200),
            Closing::ManualEnd(t0() + Duration::minutes(90)),
        );
        assert_eq!(out.seconds_used, 90 * 60);
        assert_eq!(out.amount, 150);
        assert_eq!(out.bonus, 50);
        assert_eq!(out.holding_remaining_seconds, 0);
    }

    // Seed: "It has no effect on sessions that run to natural completion."
    #[test]
    fn natural_end_applies_no_policy() {
        for policy in RefundPolicy::ALL {
            let s = segment(policy, Some(t0()));
            let out = close_segment(&s, HoldingState::new(7200, 200), Closing::NaturalEnd);
            assert_eq!(out.refund_policy, None);
            assert_eq!((out.bonus, out.burned, out.unused_seconds), (0, 0, 0));
            assert_eq!(out.amount, 200);
        }
    }

    // Seed (cancel): "Keep remainder — the purchased tariff stays on the balance".
    #[test]
    fn cancel_with_keep_returns_the_whole_tariff() {
        let s = segment(RefundPolicy::KeepBalance, None);
        let out = close_segment(&s, HoldingState::new(7200, 200), Closing::Cancel);
        assert_eq!(out.seconds_used, 0);
        assert_eq!(out.kept_seconds, 7200);
        assert_eq!(out.holding_remaining_seconds, 7200);
        assert_eq!(out.holding_value_remaining, 200);
    }

    #[test]
    fn cancel_with_burn_voids_the_tariff_and_with_convert_pays_it_all_as_bonus() {
        let burn = close_segment(
            &segment(RefundPolicy::Burn, None),
            HoldingState::new(7200, 200),
            Closing::Cancel,
        );
        assert_eq!(
            (burn.burned, burn.bonus, burn.holding_remaining_seconds),
            (200, 0, 0)
        );
        let convert = close_segment(
            &segment(RefundPolicy::ConvertToBonus, None),
            HoldingState::new(7200, 200),
            Closing::Cancel,
        );
        assert_eq!((convert.bonus, convert.burned), (200, 0));
    }

    #[test]
    fn manual_end_with_keep_leaves_the_unused_time_for_the_next_visit() {
        let s = segment(RefundPolicy::KeepBalance, Some(t0()));
        let out = close_segment(
            &s,
            HoldingState::new(7200, 200),
            Closing::ManualEnd(t0() + Duration::minutes(30)),
        );
        assert_eq!(out.kept_seconds, 90 * 60);
        assert_eq!(out.holding_remaining_seconds, 90 * 60);
        assert_eq!(out.amount, 50);
    }

    // Seed (corrections): "The old segment locks its time"; the holding
    // keeps what it did not use, even under a burn policy.
    #[test]
    fn a_switch_counts_the_time_used_and_keeps_the_rest_on_the_holding() {
        let s = segment(RefundPolicy::Burn, Some(t0()));
        let out = close_segment(
            &s,
            HoldingState::new(7200, 200),
            Closing::Switch(t0() + Duration::minutes(30)),
        );
        assert_eq!(out.seconds_used, 1800);
        assert_eq!(out.amount, 50);
        assert_eq!(out.refund_policy, None);
        assert_eq!((out.burned, out.bonus), (0, 0));
        assert_eq!(out.holding_remaining_seconds, 5400);
    }

    #[test]
    fn a_switch_before_start_returns_the_whole_holding() {
        let s = segment(RefundPolicy::ConvertToBonus, None);
        let out = close_segment(&s, HoldingState::new(7200, 200), Closing::Switch(t0()));
        assert_eq!(out.seconds_used, 0);
        assert_eq!(out.bonus, 0);
        assert_eq!(out.holding_remaining_seconds, 7200);
    }

    fn queued(policy: RefundPolicy, from: DateTime<Utc>) -> OpenSegment {
        OpenSegment {
            id: 2,
            holding_id: 8,
            tariff_id: 4,
            tariff_name: "1 hour".into(),
            refund_policy: policy,
            reserved_seconds: 3600,
            span: Some((from, from + Duration::hours(1))),
        }
    }

    // DESIGN: "A cancel or manual end applies each queued segment's own
    // refund policy to its whole holding."
    #[test]
    fn manual_end_applies_a_queued_segments_policy_to_its_whole_holding() {
        let at = t0() + Duration::minutes(30);
        let convert = close_segment(
            &queued(RefundPolicy::ConvertToBonus, t0() + Duration::hours(2)),
            HoldingState::new(3600, 100),
            Closing::ManualEnd(at),
        );
        assert_eq!((convert.seconds_used, convert.amount), (0, 0));
        assert_eq!((convert.unused_seconds, convert.bonus), (3600, 100));
        let burn = close_segment(
            &queued(RefundPolicy::Burn, t0() + Duration::hours(2)),
            HoldingState::new(3600, 100),
            Closing::ManualEnd(at),
        );
        assert_eq!((burn.burned, burn.holding_remaining_seconds), (100, 0));
        let keep = close_segment(
            &queued(RefundPolicy::KeepBalance, t0() + Duration::hours(2)),
            HoldingState::new(3600, 100),
            Closing::ManualEnd(at),
        );
        assert_eq!(
            (keep.kept_seconds, keep.holding_value_remaining),
            (3600, 100)
        );
    }

    #[test]
    fn a_switch_leaves_a_queued_segments_holding_whole() {
        let out = close_segment(
            &queued(RefundPolicy::Burn, t0() + Duration::hours(2)),
            HoldingState::new(3600, 100),
            Closing::Switch(t0() + Duration::minutes(30)),
        );
        assert_eq!((out.seconds_used, out.burned, out.bonus), (0, 0, 0));
        assert_eq!(out.holding_remaining_seconds, 3600);
    }

    #[test]
    fn a_natural_end_uses_a_queued_segment_to_its_end() {
        let out = close_segment(
            &queued(RefundPolicy::Burn, t0() + Duration::hours(2)),
            HoldingState::new(3600, 100),
            Closing::NaturalEnd,
        );
        assert_eq!((out.seconds_used, out.amount), (3600, 100));
    }

    #[test]
    fn manual_end_after_the_planned_end_uses_no_more_than_the_segment() {
        let s = segment(RefundPolicy::Burn, Some(t0()));
        let out = close_segment(
            &s,
            HoldingState::new(7200, 200),
            Closing::ManualEnd(t0() + Duration::hours(5)),
        );
        assert_eq!(out.seconds_used, 7200);
        assert_eq!(out.burned, 0);
    }
}
