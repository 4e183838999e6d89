//! CPU use over a measurement window, read from /proc.

use crate::server::{proc_stats, TICKS_PER_SECOND};
use anyhow::Context;
use std::time::Instant;

/// CPU time so far: the server's, this process's, and the machine's.
pub struct CpuTicks {
    at: Instant,
    server: u64,
    bench: u64,
    machine_busy: u64,
    machine_all: u64,
}

/// CPU over a window, in % of one core (the machine: % of all cores).
pub struct CpuUse {
    pub server: f64,
    pub bench: f64,
    pub machine_busy: f64,
}

impl CpuTicks {
    pub fn now(server_pid: u32) -> anyhow::Result<CpuTicks> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .context("/proc/stat")?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let all: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
        Ok(CpuTicks {
            at: Instant::now(),
            server: proc_stats(server_pid)?.1,
            bench: proc_stats(std::process::id())?.1,
            machine_busy: all - idle,
            machine_all: all,
        })
    }

    pub fn since(&self, before: &CpuTicks) -> CpuUse {
        let secs = self.at.duration_since(before.at).as_secs_f64().max(1e-9);
        let pct = |a: u64, b: u64| a.saturating_sub(b) as f64 / TICKS_PER_SECOND / secs * 100.0;
        CpuUse {
            server: pct(self.server, before.server),
            bench: pct(self.bench, before.bench),
            machine_busy: self.machine_busy.saturating_sub(before.machine_busy) as f64
                / self.machine_all.saturating_sub(before.machine_all).max(1) as f64
                * 100.0,
        }
    }
}

pub fn open_files_limit() -> String {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".into())
}
