//! Money rules. Every amount is an integer in minor units.

use club_shared::{major, Minor, RefundPolicy};

/// The time and value left on a holding (a bought tariff on a client's
/// balance). `value_remaining` is the part of the price not yet used,
/// burned or converted; when the last second leaves, the value goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldingState {
    pub total_seconds: i64,
    pub remaining_seconds: i64,
    pub price_paid: Minor,
    pub value_remaining: Minor,
}

impl HoldingState {
    pub fn new(total_seconds: i64, price_paid: Minor) -> Self {
        Self {
            total_seconds,
            remaining_seconds: total_seconds,
            price_paid,
            value_remaining: price_paid,
        }
    }

    /// `floor(seconds / total * price)`, in integers.
    pub fn pro_rata(&self, seconds: i64) -> Minor {
        if self.total_seconds <= 0 {
            return 0;
        }
        (i128::from(seconds) * i128::from(self.price_paid) / i128::from(self.total_seconds)) as i64
    }

    /// Takes `seconds` off the holding and returns the value that leaves
    /// with them. Taking the last second takes all the value left, so
    /// rounding never strands money on an empty holding.
    fn take(&mut self, seconds: i64, amount: Minor) -> (i64, Minor) {
        let seconds = seconds.clamp(0, self.remaining_seconds);
        self.remaining_seconds -= seconds;
        let amount = if self.remaining_seconds == 0 {
            self.value_remaining
        } else {
            amount.min(self.value_remaining)
        };
        self.value_remaining -= amount;
        (seconds, amount)
    }

    /// Play time used: the value leaves as recognised revenue.
    pub fn consume(&mut self, seconds: i64) -> Movement {
        let (seconds, amount) = self.take(seconds, self.pro_rata(seconds));
        Movement { seconds, amount }
    }
}

/// Seconds and value that left a holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Movement {
    pub seconds: i64,
    pub amount: Minor,
}

/// What a refund policy did with unused time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundOutcome {
    pub policy: RefundPolicy,
    pub unused_seconds: i64,
    /// Seconds left on the holding for a later visit.
    pub kept_seconds: i64,
    /// Added to the bonus balance.
    pub bonus: Minor,
    /// Voided value.
    pub burned: Minor,
    /// Rounding remainder recognised as revenue when the holding empties
    /// through a conversion.
    pub dust: Minor,
}

/// Applies `policy` to `unused_seconds` of a holding (at most what it has).
pub fn apply_refund(
    policy: RefundPolicy,
    holding: &mut HoldingState,
    unused_seconds: i64,
) -> RefundOutcome {
    let unused = unused_seconds.clamp(0, holding.remaining_seconds);
    let mut out = RefundOutcome {
        policy,
        unused_seconds: unused,
        kept_seconds: 0,
        bonus: 0,
        burned: 0,
        dust: 0,
    };
    match policy {
        RefundPolicy::KeepBalance => out.kept_seconds = unused,
        RefundPolicy::ConvertToBonus => {
            let bonus = holding.pro_rata(unused).min(holding.value_remaining);
            let (_, amount) = holding.take(unused, bonus);
            out.bonus = bonus;
            out.dust = amount - bonus;
        }
        RefundPolicy::Burn => {
            let (_, amount) = holding.take(unused, holding.pro_rata(unused));
            out.burned = amount;
        }
    }
    out
}

/// The most bonus a purchase of `price` may use (null percentage = no cap).
pub fn max_bonus(price: Minor, max_bonus_percent: Option<i64>) -> Minor {
    match max_bonus_percent {
        Some(p) => (i128::from(price) * i128::from(p.clamp(0, 100)) / 100) as i64,
        None => price,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurchaseError {
    BonusOverCap { cap: Minor },
    BonusOverPrice { price: Minor },
    NotEnoughBonus { bonus_balance: Minor },
    NotEnoughMoney { needed: Minor, balance: Minor },
}

impl std::fmt::Display for PurchaseError {
    // Amounts as people read them (major units).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BonusOverCap { cap } => {
                write!(
                    f,
                    "bonus_amount is over this tariff's bonus cap of {}",
                    major(*cap)
                )
            }
            Self::BonusOverPrice { price } => {
                write!(
                    f,
                    "bonus_amount is over the tariff price of {}",
                    major(*price)
                )
            }
            Self::NotEnoughBonus { bonus_balance } => {
                write!(
                    f,
                    "bonus_amount is over the client's bonus balance of {}",
                    major(*bonus_balance)
                )
            }
            Self::NotEnoughMoney { needed, balance } => write!(
                f,
                "the client's balance of {} does not cover the {} to pay",
                major(*balance),
                major(*needed)
            ),
        }
    }
}

/// Splits a price into (money, bonus) paid, or says why it cannot be paid.
pub fn split_payment(
    price: Minor,
    max_bonus_percent: Option<i64>,
    bonus_amount: Minor,
    balance: Minor,
    bonus_balance: Minor,
) -> Result<(Minor, Minor), PurchaseError> {
    if bonus_amount > price {
        return Err(PurchaseError::BonusOverPrice { price });
    }
    let cap = max_bonus(price, max_bonus_percent);
    if bonus_amount > cap {
        return Err(PurchaseError::BonusOverCap { cap });
    }
    if bonus_amount > bonus_balance {
        return Err(PurchaseError::NotEnoughBonus { bonus_balance });
    }
    let money = price - bonus_amount;
    if money > balance {
        return Err(PurchaseError::NotEnoughMoney {
            needed: money,
            balance,
        });
    }
    Ok((money, bonus_amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Seed (refund policy): price 200, 2 h, 30 min unused -> 50 bonus.
    #[test]
    fn convert_to_bonus_seed_example() {
        let mut h = HoldingState::new(2 * 3600, 200);
        let used = h.consume(90 * 60);
        assert_eq!(used.amount, 150);
        let out = apply_refund(RefundPolicy::ConvertToBonus, &mut h, 30 * 60);
        assert_eq!(out.bonus, 50);
        assert_eq!(out.dust, 0);
        assert_eq!(h.remaining_seconds, 0);
        assert_eq!(h.value_remaining, 0);
    }

    #[test]
    fn convert_rounds_down_and_the_remainder_is_not_lost() {
        let mut h = HoldingState::new(3, 100);
        assert_eq!(h.consume(1).amount, 33);
        let out = apply_refund(RefundPolicy::ConvertToBonus, &mut h, 2);
        assert_eq!(out.bonus, 66, "floor(2/3 * 100)");
        assert_eq!(out.dust, 1);
        assert_eq!(33 + out.bonus + out.dust, 100);
    }

    #[test]
    fn keep_balance_leaves_the_time_on_the_holding() {
        let mut h = HoldingState::new(3600, 100);
        h.consume(600);
        let before = h;
        let out = apply_refund(RefundPolicy::KeepBalance, &mut h, 3000);
        assert_eq!(out.kept_seconds, 3000);
        assert_eq!((out.bonus, out.burned), (0, 0));
        assert_eq!(h, before);
    }

    #[test]
    fn burn_voids_the_unused_value() {
        let mut h = HoldingState::new(3600, 120);
        h.consume(1800);
        let out = apply_refund(RefundPolicy::Burn, &mut h, 1800);
        assert_eq!(out.burned, 60);
        assert_eq!(h.remaining_seconds, 0);
        assert_eq!(h.value_remaining, 0);
    }

    #[test]
    fn refund_never_takes_more_than_the_holding_has() {
        let mut h = HoldingState::new(100, 100);
        let out = apply_refund(RefundPolicy::Burn, &mut h, 500);
        assert_eq!(out.unused_seconds, 100);
        assert_eq!(out.burned, 100);
    }

    #[test]
    fn value_is_conserved_across_any_split() {
        for price in [0, 1, 7, 199, 200, 12_345] {
            for total in [1, 3, 60, 7200] {
                for used in [0, 1, total / 2, total] {
                    for policy in RefundPolicy::ALL {
                        let mut h = HoldingState::new(total, price);
                        let m = h.consume(used);
                        let r = apply_refund(policy, &mut h, total - used);
                        assert_eq!(
                            m.amount + r.bonus + r.burned + r.dust + h.value_remaining,
                            price,
                            "price {price} total {total} used {used} {policy:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bonus_cap_is_a_percentage_of_the_price_or_none() {
        assert_eq!(max_bonus(200, Some(50)), 100);
        assert_eq!(max_bonus(199, Some(50)), 99);
        assert_eq!(max_bonus(200, Some(0)), 0);
        assert_eq!(max_bonus(200, None), 200, "no max set: no limit");
    }

    #[test]
    fn paying_with_bonus_respects_cap_and_balances() {
        assert_eq!(split_payment(200, Some(50), 100, 100, 100), Ok((100, 100)));
        assert_eq!(
            split_payment(200, Some(50), 101, 1000, 1000),
            Err(PurchaseError::BonusOverCap { cap: 100 })
        );
        assert_eq!(split_payment(200, None, 200, 0, 200), Ok((0, 200)));
        assert_eq!(
            split_payment(200, None, 50, 100, 40),
            Err(PurchaseError::NotEnoughBonus { bonus_balance: 40 })
        );
        assert_eq!(
            split_payment(200, None, 0, 199, 0),
            Err(PurchaseError::NotEnoughMoney {
                needed: 200,
                balance: 199
            })
        );
    }
}
