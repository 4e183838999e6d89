//! What the server counts for its operator's monitoring, served at
//! `GET /metrics` in Prometheus's text format (the `prometheus` crate, one
//! registry per server, so tests run several servers in one process).
//!
//! The counters live where the work is done: the writer keeps its own
//! commit figures ([`WriterStats`]), the hall feed its overflows; this
//! registry gathers them all.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::sync::Arc;

#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

pub struct Inner {
    registry: Registry,
    /// Agents with a live connection.
    pub agents_connected: IntGauge,
    /// Agents connected, by the protocol version they spoke in their hello.
    pub agents_by_protocol: IntGaugeVec,
    /// Operator screens following the hall feed.
    pub screens_connected: IntGauge,
    /// Requests that change something (not GET), by route and result.
    pub operations: IntCounterVec,
    /// Start presses and other agent reports, by kind and result.
    pub agent_reports: IntCounterVec,
    pub hall_overflows: IntCounter,
    pub hall_resyncs: IntCounter,
    /// Failed sign-ins, by who (staff, player).
    pub login_failures: IntCounterVec,
    /// Accounts, addresses or PINs locked after too many failures.
    pub lockouts: IntCounterVec,
    /// How late the scheduler's passes start after the deadline they woke for.
    pub scheduler_lag: Histogram,
    /// 1 while the scheduler's loop runs.
    pub scheduler_running: IntGauge,
}

/// The writer's own figures, registered with the server's [`Metrics`].
#[derive(Clone)]
pub struct WriterStats {
    pub commits: IntCounter,
    /// Operations per COMMIT (group commit's batching).
    pub batch_operations: Histogram,
    pub commit_seconds: Histogram,
    /// The flusher's fsync of the WAL, which every answer waits for.
    pub flush_seconds: Histogram,
    /// From an operation's hand-over to the writer's thread until its
    /// statements start: the thread's wake-up, the operations before it,
    /// and its BEGIN or SAVEPOINT.
    pub queue_seconds: Histogram,
    /// An operation's statements on the writer's thread, inside its batch.
    pub operation_seconds: Histogram,
}

impl Default for WriterStats {
    fn default() -> Self {
        let seconds = || {
            // 10 µs to about 5 s.
            prometheus::exponential_buckets(0.00001, 2.0, 20).expect("valid buckets")
        };
        WriterStats {
            commits: IntCounter::new(
                "clubhall_commits_total",
                "COMMITs of the database writer (each holds one or more operations).",
            )
            .expect("valid metric"),
            batch_operations: histogram(
                "clubhall_commit_batch_operations",
                "Operations per COMMIT of the database writer.",
                prometheus::exponential_buckets(1.0, 2.0, 10).expect("valid buckets"),
            ),
            commit_seconds: histogram(
                "clubhall_commit_seconds",
                "Time a COMMIT of the database writer took.",
                seconds(),
            ),
            flush_seconds: histogram(
                "clubhall_wal_flush_seconds",
                "Time an fsync of the write-ahead log took (every answer waits for one).",
                seconds(),
            ),
            queue_seconds: histogram(
                "clubhall_writer_queue_seconds",
                "Time from an operation's hand-over to the database writer's thread until its statements start.",
                seconds(),
            ),
            operation_seconds: histogram(
                "clubhall_writer_operation_seconds",
                "Time an operation's statements took on the database writer's thread.",
                seconds(),
            ),
        }
    }
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)).expect("valid metric")
}

fn counters(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

impl Metrics {
    pub fn new(writer: Option<WriterStats>) -> Metrics {
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        let inner = Inner {
            registry: Registry::new(),
            agents_connected: gauge(
                "clubhall_agents_connected",
                "PC agents with a live connection.",
            ),
            agents_by_protocol: IntGaugeVec::new(
                Opts::new(
                    "clubhall_agents_by_protocol",
                    "PC agents connected, by the protocol version they speak.",
                ),
                &["protocol_version"],
            )
            .expect("valid metric"),
            screens_connected: gauge(
                "clubhall_hall_screens_connected",
                "Operator screens following the hall feed.",
            ),
            operations: counters(
                "clubhall_operations_total",
                "API requests that change something, by route and result (ok, or the status code).",
                &["kind", "result"],
            ),
            agent_reports: counters(
                "clubhall_agent_reports_total",
                "Reports from PC agents that act (Start presses), by kind and result.",
                &["kind", "result"],
            ),
            hall_overflows: counter(
                "clubhall_hall_feed_overflows_total",
                "Times an operator screen's event queue was full (it gets a fresh snapshot).",
            ),
            hall_resyncs: counter(
                "clubhall_hall_feed_resyncs_total",
                "Fresh snapshots sent to operator screens after their first one.",
            ),
            login_failures: counters(
                "clubhall_login_failures_total",
                "Failed sign-ins, by who tried (staff, player).",
                &["who"],
            ),
            lockouts: counters(
                "clubhall_lockouts_total",
                "Sign-in locks set after too many failures, by what was locked (address, login, phone).",
                &["what"],
            ),
            scheduler_lag: histogram(
                "clubhall_scheduler_lag_seconds",
                "How late the scheduler's passes start after the deadline they woke for.",
                prometheus::exponential_buckets(0.001, 2.0, 14).expect("valid buckets"),
            ),
            scheduler_running: gauge(
                "clubhall_scheduler_running",
                "1 while the scheduler (session ends, no-shows, expiry) runs.",
            ),
        };
        let r = &inner.registry;
        let build = IntGaugeVec::new(
            Opts::new(
                "clubhall_build_info",
                "The running club-server's version (always 1).",
            ),
            &["version"],
        )
        .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let all: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(build),
            Box::new(inner.agents_connected.clone()),
            Box::new(inner.agents_by_protocol.clone()),
            Box::new(inner.screens_connected.clone()),
            Box::new(inner.operations.clone()),
            Box::new(inner.agent_reports.clone()),
            Box::new(inner.hall_overflows.clone()),
            Box::new(inner.hall_resyncs.clone()),
            Box::new(inner.login_failures.clone()),
            Box::new(inner.lockouts.clone()),
            Box::new(inner.scheduler_lag.clone()),
            Box::new(inner.scheduler_running.clone()),
        ];
        for c in all {
            r.register(c).expect("each metric once");
        }
        if let Some(w) = writer {
            r.register(Box::new(w.commits)).expect("each metric once");
            r.register(Box::new(w.batch_operations))
                .expect("each metric once");
            r.register(Box::new(w.commit_seconds))
                .expect("each metric once");
            r.register(Box::new(w.flush_seconds))
                .expect("each metric once");
            r.register(Box::new(w.queue_seconds))
                .expect("each metric once");
            r.register(Box::new(w.operation_seconds))
                .expect("each metric once");
        }
        Metrics(Arc::new(inner))
    }

    /// Every metric in Prometheus's text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.0.registry.gather(), &mut out)
            .expect("text encoding into memory");
        String::from_utf8(out).expect("the text format is UTF-8")
    }

    /// An agent connection, counted until the guard is dropped.
    pub fn agent_connected(&self, protocol_version: u32) -> Connected {
        // The label's values stay few: an agent may claim any version, and
        // each value would be a series kept for good.
        let version = if protocol_version > club_shared::protocol::PROTOCOL_VERSION {
            "newer".to_owned()
        } else {
            protocol_version.to_string()
        };
        self.agents_connected.inc();
        self.agents_by_protocol.with_label_values(&[&version]).inc();
        Connected {
            metrics: self.clone(),
            protocol: Some(version),
        }
    }

    /// A hall screen, counted until the guard is dropped.
    pub fn screen_connected(&self) -> Connected {
        self.screens_connected.inc();
        Connected {
            metrics: self.clone(),
            protocol: None,
        }
    }
}

impl std::ops::Deref for Metrics {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Counts one connection while it lives.
pub struct Connected {
    metrics: Metrics,
    /// Set for an agent: its protocol version's label.
    protocol: Option<String>,
}

impl Drop for Connected {
    fn drop(&mut self) {
        match &self.protocol {
            Some(v) => {
                self.metrics.agents_connected.dec();
                self.metrics
                    .agents_by_protocol
                    .with_label_values(&[v])
                    .dec();
            }
            None => self.metrics.screens_connected.dec(),
        }
    }
}

/// The result label of an answer: `ok` for 2xx and 3xx, else its code.
pub fn result_of(status: axum::http::StatusCode) -> String {
    if status.is_success() || status.is_redirection() {
        "ok".to_owned()
    } else {
        status.as_u16().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_while_they_live() {
        let m = Metrics::new(Some(WriterStats::default()));
        let a = m.agent_connected(1);
        let b = m.agent_connected(u32::MAX);
        let s = m.screen_connected();
        assert_eq!(m.agents_connected.get(), 2);
        drop(a);
        drop(s);
        let text = m.render();
        assert!(text.contains("clubhall_agents_connected 1\n"), "{text}");
        assert!(
            text.contains("clubhall_agents_by_protocol{protocol_version=\"1\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("clubhall_agents_by_protocol{protocol_version=\"newer\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("clubhall_hall_screens_connected 0\n"),
            "{text}"
        );
        assert!(text.contains("clubhall_commits_total 0\n"), "{text}");
        drop(b);
    }
}
