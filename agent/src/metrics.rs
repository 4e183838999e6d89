//! Hardware metrics for heartbeats, from sysinfo. Only CPU and memory are
//! refreshed: the process list would cost the player frames.

use club_shared::Metrics;
use sysinfo::System;

pub struct Sampler {
    sys: System,
    /// The network cards' MAC addresses, read once: for waking the PC.
    macs: Vec<String>,
}

impl Sampler {
    pub fn new() -> Self {
        let mut sys = System::new();
        sys.refresh_cpu_usage();
        let macs = sysinfo::Networks::new_with_refreshed_list()
            .values()
            .map(|n| n.mac_address().to_string())
            .filter(|m| m != "00:00:00:00:00:00")
            .collect();
        Sampler { sys, macs }
    }

    /// The PC's metrics now, with the agent's `problems`.
    pub fn sample(&mut self, problems: Vec<String>) -> Metrics {
        self.sys.refresh_cpu_usage();
        self.sys.refresh_memory();
        Metrics {
            cpu_percent: self.sys.global_cpu_usage(),
            memory_used: self.sys.used_memory(),
            memory_total: self.sys.total_memory(),
            uptime_seconds: System::uptime(),
            hostname: System::host_name().unwrap_or_default(),
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_owned()),
            problems,
            macs: self.macs.clone(),
        }
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}
