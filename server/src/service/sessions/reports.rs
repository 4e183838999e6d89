//! The sessions report as CSV.

use chrono::{DateTime, Utc};
use club_shared::{Minor, SessionView};

/// A text field people typed (a name, a tariff): one that a spreadsheet
/// would run as a formula (starting with =, +, -, @, a tab or a CR) gets a
/// leading apostrophe, so that it is shown, not run.
pub(crate) fn csv_text(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    }
}

/// One field of a CSV line, quoted when it must be.
pub(crate) fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// The session report as CSV (RFC 4180), one session a line.
pub fn sessions_csv(sessions: &[SessionView]) -> String {
    let t = |v: Option<DateTime<Utc>>| v.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut out = String::from(
        "id,client_id,client_name,device_id,device_name,status,planned_start_at,\
         actual_start_at,actual_end_at,cancelled_at,cancelled_by,cancelled_by_login,end_kind,\
         tariffs,corrections,receipt_total\r\n",
    );
    for s in sessions {
        let tariffs: Vec<&str> = s.segments.iter().map(|g| g.tariff_name.as_str()).collect();
        let corrections: Minor = s.price_corrections.iter().map(|p| p.delta).sum();
        let fields = [
            s.id.to_string(),
            s.client_id.to_string(),
            csv_text(&s.client_name),
            s.device_id.to_string(),
            csv_text(&s.device_name),
            s.status.to_string(),
            t(Some(s.planned_start_at)),
            t(s.actual_start_at),
            t(s.actual_end_at),
            t(s.cancelled_at),
            s.cancelled_by.map(|v| v.to_string()).unwrap_or_default(),
            csv_text(s.cancelled_by_login.as_deref().unwrap_or_default()),
            s.end_kind.clone().unwrap_or_default(),
            csv_text(&tariffs.join(" + ")),
            // Money as people read it, in major units.
            club_shared::major(corrections),
            s.receipt
                .as_ref()
                .map(|r| club_shared::major(r.total))
                .unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{csv_field, csv_text};

    #[test]
    pub(crate) fn typed_text_that_a_spreadsheet_would_run_is_shown_instead() {
        assert_eq!(
            csv_field(&csv_text("=HYPERLINK(\"http://evil.example\",\"x\")")),
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""
        );
        for bad in ["+1", "-2", "@x", "\tx", "\rx"] {
            assert!(csv_text(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(csv_text("Dana"), "Dana");
    }

    #[test]
    pub(crate) fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("Dana"), "Dana");
        assert_eq!(csv_field("Lopez, Maria"), "\"Lopez, Maria\"");
        assert_eq!(csv_field("the \"Pro\""), "\"the \"\"Pro\"\"\"");
    }
}
