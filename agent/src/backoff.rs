//! Reconnect delays: capped exponential backoff with full jitter. After a
//! good connection the sequence starts again from the bottom.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// 1 s doubling up to 60 s, as the club's agents use.
    pub fn standard() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(60))
    }

    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The ceiling of the next delay: base * 2^attempt, capped.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The next delay: uniform in [0, ceiling] ("full jitter"), so a hall of
    /// agents does not reconnect in one wave after a server restart.
    pub fn next_delay(&mut self, unit_random: f64) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(unit_random.clamp(0.0, 1.0))
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_from_one_second_and_stop_at_sixty() {
        let mut b = Backoff::standard();
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            ceilings.push(b.ceiling().as_secs());
            b.next_delay(0.5);
        }
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        for _ in 0..100 {
            b.next_delay(1.0);
        }
        assert_eq!(b.ceiling(), Duration::from_secs(60), "never past the cap");
    }

    #[test]
    fn delays_stay_within_zero_and_the_ceiling() {
        let mut b = Backoff::standard();
        assert_eq!(b.next_delay(0.0), Duration::ZERO);
        assert_eq!(b.next_delay(1.0), Duration::from_secs(2));
        assert_eq!(
            b.next_delay(2.0),
            Duration::from_secs(4),
            "random clamped to 1"
        );
        assert_eq!(b.next_delay(0.5), Duration::from_secs(4));
    }

    #[test]
    fn a_good_connection_starts_over() {
        let mut b = Backoff::standard();
        for _ in 0..8 {
            b.next_delay(1.0);
        }
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_secs(1));
    }
}
