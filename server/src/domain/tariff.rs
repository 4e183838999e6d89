//! Tariff time windows (e.g. a night package usable 22:00-08:00) and the
//! club's days, in the club's time zone (IANA, daylight saving included).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// A daily window in club-local minutes after midnight; `start > end` wraps
/// past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_minute: i64,
    pub end_minute: i64,
}

/// The instant a club-local wall time names: the earlier one when the
/// clock shows it twice (the hour repeated in autumn), and the moment the
/// clock jumps when it never shows it (the hour skipped in spring).
pub fn local_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local;
    // A gap is at most a few hours (usually one); a minute at a time.
    for _ in 0..=24 * 60 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc);
        }
        t += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&local)
}

/// A club day (`date` in the club's time zone) as an instant range
/// [start, end): 23 or 25 hours on the days the clocks change.
pub fn club_day(tz: Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |d: NaiveDate| local_instant(tz, d.and_hms_opt(0, 0, 0).unwrap_or_default());
    (midnight(date), midnight(date.succ_opt().unwrap_or(date)))
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

    fn local_minute_of_day(at: DateTime<Utc>, tz: Tz) -> i64 {
        let l = at.with_timezone(&tz);
        i64::from(l.hour() * 60 + l.minute())
    }

    pub fn contains(&self, at: DateTime<Utc>, tz: Tz) -> bool {
        let m = Self::local_minute_of_day(at, tz);
        if self.start_minute <= self.end_minute {
            self.start_minute <= m && m < self.end_minute
        } else {
            m >= self.start_minute || m < self.end_minute
        }
    }

    /// The end of the window that `at` falls in, or None when outside it:
    /// the next time the club's clock shows the window's end.
    pub fn end_after(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if !self.contains(at, tz) {
            return None;
        }
        let local = at.with_timezone(&tz).naive_local();
        let end_of = |d: NaiveDate| {
            let hm = (self.end_minute.clamp(0, 24 * 60 - 1)) as u32;
            d.and_hms_opt(hm / 60, hm % 60, 0).unwrap_or_default()
        };
        let mut end = end_of(local.date());
        if end <= local {
            end = end_of(local.date().succ_opt()?);
        }
        Some(local_instant(tz, end)).filter(|e| *e > at)
    }
}

/// Seconds a segment can run from `start`: the holding's time, cut at the
/// window's end. None when the window does not allow starting now.
pub fn segment_seconds(
    remaining_seconds: i64,
    window: Option<Window>,
    start: DateTime<Utc>,
    tz: Tz,
) -> Option<i64> {
    match window {
        None => Some(remaining_seconds),
        Some(w) => {
            let end = w.end_after(start, tz)?;
            Some(remaining_seconds.min((end - start).num_seconds()))
        }
    }
}

/// The spans of segments run one after the other from `start`: each its
/// holding's time (`remaining_seconds`), cut at its window's end; a segment
/// whose window does not allow its turn gets no time (an empty span) and
/// the next one follows on.
pub fn chain(
    start: DateTime<Utc>,
    segments: &[(i64, Option<Window>)],
    tz: Tz,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut from = start;
    segments
        .iter()
        .map(|&(remaining, window)| {
            let seconds = segment_seconds(remaining, window, from, tz)
                .unwrap_or(0)
                .max(0);
            let span = (from, from + chrono::Duration::seconds(seconds));
            from = span.1;
            span
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UTC: Tz = chrono_tz::UTC;
    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, m, 0).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    const NIGHT: Window = Window {
        start_minute: 22 * 60,
        end_minute: 8 * 60,
    };

    #[test]
    fn night_window_wraps_midnight() {
        assert!(NIGHT.contains(at(23, 0), UTC));
        assert!(NIGHT.contains(at(3, 0), UTC));
        assert!(!NIGHT.contains(at(8, 0), UTC));
        assert!(!NIGHT.contains(at(12, 0), UTC));
    }

    #[test]
    fn a_night_package_ends_at_the_window_end() {
        // 10 h package started at 23:00 ends at 08:00, after 9 h.
        assert_eq!(
            segment_seconds(36_000, Some(NIGHT), at(23, 0), UTC),
            Some(9 * 3600)
        );
        // Outside the window it cannot start.
        assert_eq!(segment_seconds(36_000, Some(NIGHT), at(12, 0), UTC), None);
        // Short holdings end on their own time.
        assert_eq!(
            segment_seconds(3600, Some(NIGHT), at(23, 0), UTC),
            Some(3600)
        );
    }

    #[test]
    fn the_window_is_in_club_local_time() {
        // 21:00 UTC is 23:00 in Athens in winter (UTC+2).
        assert!(NIGHT.contains(at(21, 0), chrono_tz::Europe::Athens));
        assert!(!NIGHT.contains(at(21, 0), UTC));
    }

    #[test]
    fn no_window_means_all_of_the_holding() {
        assert_eq!(segment_seconds(7200, None, at(12, 0), UTC), Some(7200));
    }

    #[test]
    fn a_night_across_the_spring_change_is_an_hour_shorter() {
        // 23:00 CET on 28 March 2026 = 22:00 UTC; the clocks go 02:00 ->
        // 03:00; the window ends at 08:00 CEST = 06:00 UTC: 8 hours, not 9.
        let start = utc(2026, 3, 28, 22, 0);
        assert_eq!(NIGHT.end_after(start, BERLIN), Some(utc(2026, 3, 29, 6, 0)));
        assert_eq!(
            segment_seconds(36_000, Some(NIGHT), start, BERLIN),
            Some(8 * 3600)
        );
        // 08:30 CEST is outside the window, though 07:30 at the winter offset.
        assert!(!NIGHT.contains(utc(2026, 3, 29, 6, 30), BERLIN));
    }

    #[test]
    fn a_night_across_the_autumn_change_is_an_hour_longer() {
        // 23:00 CEST on 24 October 2026 = 21:00 UTC; the clocks go 03:00 ->
        // 02:00; 08:00 CET = 07:00 UTC: 10 hours.
        let start = utc(2026, 10, 24, 21, 0);
        assert_eq!(
            NIGHT.end_after(start, BERLIN),
            Some(utc(2026, 10, 25, 7, 0))
        );
        assert_eq!(
            segment_seconds(36_000, Some(NIGHT), start, BERLIN),
            Some(10 * 3600)
        );
    }

    #[test]
    fn a_window_ending_in_the_skipped_or_repeated_hour() {
        let w = Window {
            start_minute: 22 * 60,
            end_minute: 2 * 60 + 30,
        };
        // 02:30 does not exist on 29 March 2026 in Berlin: the window ends
        // when the clock jumps from 02:00 CET (01:00 UTC) to 03:00 CEST.
        assert_eq!(
            w.end_after(utc(2026, 3, 28, 22, 0), BERLIN),
            Some(utc(2026, 3, 29, 1, 0))
        );
        // 02:30 is shown twice on 25 October: the first one ends it.
        assert_eq!(
            w.end_after(utc(2026, 10, 24, 21, 0), BERLIN),
            Some(utc(2026, 10, 25, 0, 30))
        );
    }

    #[test]
    fn a_club_day_is_23_or_25_hours_on_the_days_the_clocks_change() {
        let day = |y, m, d| club_day(BERLIN, NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(
            day(2026, 3, 29),
            (utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0))
        );
        assert_eq!(
            day(2026, 10, 25),
            (utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0))
        );
        assert_eq!(
            day(2026, 6, 1),
            (utc(2026, 5, 31, 22, 0), utc(2026, 6, 1, 22, 0))
        );
    }

    #[test]
    fn chained_segments_follow_one_another_and_a_window_cuts_its_own() {
        // 20:00: two hours, then a night package (ends 08:00), then an hour.
        let spans = chain(
            at(20, 0),
            &[(7200, None), (36_000, Some(NIGHT)), (3600, None)],
            UTC,
        );
        assert_eq!(spans[0], (at(20, 0), at(22, 0)));
        assert_eq!(
            spans[1],
            (at(22, 0), at(22, 0) + chrono::Duration::hours(10))
        );
        assert_eq!(spans[2].0, spans[1].1);
        assert_eq!(spans[2].1 - spans[2].0, chrono::Duration::hours(1));
        // A night package whose turn comes at noon gets no time; the next
        // segment follows at once.
        let spans = chain(
            at(11, 0),
            &[(3600, None), (36_000, Some(NIGHT)), (60, None)],
            UTC,
        );
        assert_eq!(spans[1], (at(12, 0), at(12, 0)));
        assert_eq!(spans[2], (at(12, 0), at(12, 1)));
    }
}
