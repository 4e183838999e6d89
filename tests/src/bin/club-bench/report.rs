//! Figures and the markdown they go into.

use std::collections::BTreeMap;
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
    /// Every figure by a stable name (`--json`), e.g. `durable.ops_per_s`.
    pub figures: BTreeMap<String, f64>,
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

    pub fn figure(&mut self, name: &str, value: f64) {
        self.figures.insert(name.to_owned(), value);
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

/// One figure over several runs.
#[derive(Debug, serde::Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub values: Vec<f64>,
}

/// Each figure's median and spread over `runs` (a figure missing from a
/// run is left out of that run).
pub fn spreads(runs: &[BTreeMap<String, f64>]) -> BTreeMap<String, Spread> {
    let mut by_name: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run in runs {
        for (k, v) in run {
            by_name.entry(k.clone()).or_default().push(*v);
        }
    }
    by_name
        .into_iter()
        .map(|(k, values)| {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len();
            let median = if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            };
            let spread = Spread {
                median,
                min: sorted[0],
                max: sorted[n - 1],
                values,
            };
            (k, spread)
        })
        .collect()
}

/// The runs section of the markdown: every figure's median and spread.
pub fn spreads_table(spreads: &BTreeMap<String, Spread>, runs: usize) -> String {
    let mut out = format!(
        "## Over {runs} runs\n\nEach figure's median and spread (min to max) over {runs} runs of the command above; the sections below are the last run's.\n\n| figure | median | min | max | runs |\n|---|---|---|---|---|\n"
    );
    for (k, s) in spreads {
        let vals: Vec<String> = s.values.iter().map(|v| format!("{v:.2}")).collect();
        let _ = writeln!(
            out,
            "| `{k}` | {:.2} | {:.2} | {:.2} | {} |",
            s.median,
            s.min,
            s.max,
            vals.join(", ")
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_and_spread_of_each_figure_over_runs() {
        let run = |a: f64, b: Option<f64>| {
            let mut m = BTreeMap::new();
            m.insert("a".to_owned(), a);
            if let Some(b) = b {
                m.insert("b".to_owned(), b);
            }
            m
        };
        let s = spreads(&[run(3.0, Some(1.0)), run(1.0, None), run(2.0, Some(4.0))]);
        assert_eq!((s["a"].median, s["a"].min, s["a"].max), (2.0, 1.0, 3.0));
        assert_eq!(s["a"].values, vec![3.0, 1.0, 2.0]);
        assert_eq!((s["b"].median, s["b"].min, s["b"].max), (2.5, 1.0, 4.0));
    }
}
