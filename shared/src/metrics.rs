//! What an agent reports about its PC with every heartbeat, and the limits
//! the server cuts it to before storing and showing it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A PC's hardware figures and what its agent finds wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Default)]
pub struct Metrics {
    pub cpu_percent: f32,
    pub memory_used: u64,
    pub memory_total: u64,
    pub uptime_seconds: u64,
    pub hostname: String,
    pub os: String,
    /// What the agent finds wrong on its PC, e.g. "the lock screen keeps
    /// failing: …"; the hall shows them on the PC's tile.
    #[serde(default)]
    pub problems: Vec<String>,
    /// The PC's network cards' MAC addresses ("aa:bb:cc:dd:ee:ff"), for
    /// waking it from the desk (Wake-on-LAN).
    #[serde(default)]
    pub macs: Vec<String>,
}

/// MAC addresses an agent may report; the server keeps only well-formed ones.
pub const MAX_MACS: usize = 8;

/// A MAC address as six bytes, from "aa:bb:cc:dd:ee:ff" (or with dashes).
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for b in &mut out {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// How many problems an agent may report, and how long each may be; the
/// server cuts what is over.
pub const MAX_PROBLEMS: usize = 4;
pub const MAX_PROBLEM_CHARS: usize = 200;
/// A host name (DNS allows 253) and an OS description, cut to this.
pub const MAX_HOSTNAME_CHARS: usize = 253;
pub const MAX_OS_CHARS: usize = 200;

fn cut(s: &mut String, chars: usize) {
    if let Some((i, _)) = s.char_indices().nth(chars) {
        s.truncate(i);
    }
}

impl Metrics {
    /// Cuts what an agent reports to its limits: an agent is a program on a
    /// player's PC, and what it says is stored and shown to every screen.
    pub fn bounded(mut self) -> Metrics {
        cut(&mut self.hostname, MAX_HOSTNAME_CHARS);
        cut(&mut self.os, MAX_OS_CHARS);
        self.problems.truncate(MAX_PROBLEMS);
        for p in &mut self.problems {
            cut(p, MAX_PROBLEM_CHARS);
        }
        if !self.cpu_percent.is_finite() {
            self.cpu_percent = 0.0;
        }
        self.cpu_percent = self.cpu_percent.clamp(0.0, 100.0);
        // Only real unicast addresses: not the loopback's zeros.
        self.macs
            .retain(|m| parse_mac(m).is_some_and(|b| b != [0; 6]));
        for m in &mut self.macs {
            *m = m.to_ascii_lowercase().replace('-', ":");
        }
        self.macs.dedup();
        self.macs.truncate(MAX_MACS);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_agent_reports_is_cut_to_its_limits() {
        let m = Metrics {
            problems: vec!["é".repeat(500); 9],
            hostname: "h".repeat(60_000),
            os: "o".repeat(1000),
            cpu_percent: 1e9,
            ..Metrics::default()
        }
        .bounded();
        assert_eq!(m.hostname.len(), MAX_HOSTNAME_CHARS);
        assert_eq!(m.os.len(), MAX_OS_CHARS);
        assert_eq!(m.cpu_percent, 100.0);
        assert_eq!(m.problems.len(), MAX_PROBLEMS);
        assert!(m
            .problems
            .iter()
            .all(|p| p.chars().count() == MAX_PROBLEM_CHARS));
    }
}
