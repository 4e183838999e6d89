//! Figures and the markdown they go into.

use std::fmt::Write as _;
use std::time::Duration;

pub fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    let i = ((v.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(v.len().saturating_sub(1));
    v.get(i).copied().unwrap_or_default()
}

pub fn median(v: &mut [Duration]) -> Duration {
    pct(v, 0.5)
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub struct Target {
    pub scenario: String,
    pub measured: String,
    pub target: String,
    pub met: bool,
}

#[derive(Default)]
pub struct Report {
    pub body: String,
    pub targets: Vec<Target>,
}

impl Report {
    pub fn section(&mut self, title: &str) {
        let _ = writeln!(self.body, "## {title}\n");
    }

    pub fn table(&mut self, head: &[&str], rows: &[Vec<String>]) {
        let _ = writeln!(self.body, "| {} |", head.join(" | "));
        let _ = writeln!(self.body, "|{}", "---|".repeat(head.len()));
        for r in rows {
            let _ = writeln!(self.body, "| {} |", r.join(" | "));
        }
        let _ = writeln!(self.body);
    }

    pub fn line(&mut self, text: &str) {
        let _ = writeln!(self.body, "{text}\n");
    }

    pub fn target(&mut self, scenario: &str, measured: String, target: &str, met: bool) {
        self.targets.push(Target {
            scenario: scenario.into(),
            measured,
            target: target.into(),
            met,
        });
    }

    pub fn render(&self, header: &str) -> String {
        let mut out = String::from(header);
        let _ = writeln!(out, "## Targets\n");
        let _ = writeln!(out, "| scenario | measured | target | |\n|---|---|---|---|");
        for t in &self.targets {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                t.scenario,
                t.measured,
                t.target,
                if t.met { "met" } else { "missed" }
            );
        }
        let _ = writeln!(out);
        out.push_str(&self.body);
        out
    }
}
