//! Tariff time windows (e.g. a night package usable 22:00-08:00).

use chrono::{DateTime, Duration, Utc};

/// A daily window in club-local minutes after midnight; `start > end` wraps
/// past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_minute: i64,
    pub end_minute: i64,
}

impl Window {
    pub fn from_columns(start: Option<i64>, end: Option<i64>) -> Option<Window> {
        Some(Window {
            start_minute: start?,
            end_minute: end?,
        })
    }

    pub fn describe(&self) -> String {
        let hm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
        format!("{}-{}", hm(self.start_minute), hm(self.end_minute))
    }

    fn local_second_of_day(at: DateTime<Utc>, utc_offset_minutes: i64) -> i64 {
        (at.timestamp() + utc_offset_minutes * 60).rem_euclid(86_400)
    }

    pub fn contains(&self, at: DateTime<Utc>, utc_offset_minutes: i64) -> bool {
        let m = Self::local_second_of_day(at, utc_offset_minutes) / 60;
        if self.start_minute <= self.end_minute {
            self.start_minute <= m && m < self.end_minute
        } else {
            m >= self.start_minute || m < self.end_minute
        }
    }

    /// The end of the window that `at` falls in, or None when outside it.
    pub fn end_after(&self, at: DateTime<Utc>, utc_offset_minutes: i64) -> Option<DateTime<Utc>> {
        if !self.contains(at, utc_offset_minutes) {
            return None;
        }
        let now = Self::local_second_of_day(at, utc_offset_minutes);
        let delta = (self.end_minute * 60 - now).rem_euclid(86_400);
        Some(at + Duration::seconds(delta))
    }
}

/// Seconds a segment can run from `start`: the holding's time, cut at the
/// window's end. None when the window does not allow starting now.
pub fn segment_seconds(
    remaining_seconds: i64,
    window: Option<Window>,
    start: DateTime<Utc>,
    utc_offset_minutes: i64,
) -> Option<i64> {
    match window {
        None => Some(remaining_seconds),
        Some(w) => {
            let end = w.end_after(start, utc_offset_minutes)?;
            Some(remaining_seconds.min((end - start).num_seconds()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, m, 0).unwrap()
    }

    const NIGHT: Window = Window {
        start_minute: 22 * 60,
        end_minute: 8 * 60,
    };

    #[test]
    fn night_window_wraps_midnight() {
        assert!(NIGHT.contains(at(23, 0), 0));
        assert!(NIGHT.contains(at(3, 0), 0));
        assert!(!NIGHT.contains(at(8, 0), 0));
        assert!(!NIGHT.contains(at(12, 0), 0));
    }

    #[test]
    fn a_night_package_ends_at_the_window_end() {
        // 10 h package started at 23:00 ends at 08:00, after 9 h.
        assert_eq!(
            segment_seconds(36_000, Some(NIGHT), at(23, 0), 0),
            Some(9 * 3600)
        );
        // Outside the window it cannot start.
        assert_eq!(segment_seconds(36_000, Some(NIGHT), at(12, 0), 0), None);
        // Short holdings end on their own time.
        assert_eq!(segment_seconds(3600, Some(NIGHT), at(23, 0), 0), Some(3600));
    }

    #[test]
    fn the_window_is_in_club_local_time() {
        // 21:00 UTC is 23:00 at UTC+2.
        assert!(NIGHT.contains(at(21, 0), 120));
        assert!(!NIGHT.contains(at(21, 0), 0));
    }

    #[test]
    fn no_window_means_all_of_the_holding() {
        assert_eq!(segment_seconds(7200, None, at(12, 0), 0), Some(7200));
    }
}
