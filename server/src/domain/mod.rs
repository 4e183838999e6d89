//! Pure rules: the session state machine, money and tariff arithmetic. No
//! I/O and no clock reads: every time comes in as a parameter.

pub mod close;
pub mod money;
pub mod postings;
pub mod session;
pub mod tariff;

pub use close::*;
pub use money::*;
pub use postings::*;
pub use session::*;
pub use tariff::*;
