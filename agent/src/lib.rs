//! club-agent: one WebSocket to the club server, the lock state of this PC,
//! a lock screen on loopback with a Start button, hardware metrics, and the
//! offline failsafe. The binary is a thin shell over [`run`]; tests and the
//! server's demo run the same code.

pub mod backoff;
pub mod http;
pub mod metrics;
mod runtime;
pub mod state;
mod ui;

pub use runtime::{run, AgentHandle, AgentOptions, Clock, LocalStatus, StatusSession};
