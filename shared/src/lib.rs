//! Types that cross a wire in Clubhall: statuses, permissions, the views the
//! REST API and the hall feed send, and the in-process events. No I/O here.
//!
//! Money is always an `i64` in minor units (cents); times are UTC.

pub mod events;
pub mod hall;
pub mod lock;
pub mod metrics;
pub mod protocol;
pub mod tls;
pub mod types;
pub mod views;

pub use events::Event;
pub use types::*;
pub use views::*;
