//! The platform edge: windows, grabs and hooks per display system, and the
//! local channel's transport. Everything above this module is the same on
//! every platform (STYLE 19).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod x11;
#[cfg(unix)]
pub use unix::{connect, default_socket};
#[cfg(unix)]
pub use x11::{open, Event};

#[cfg(windows)]
mod pipe;
#[cfg(windows)]
mod win32;
#[cfg(windows)]
pub use pipe::{connect, default_socket};
#[cfg(windows)]
pub use win32::{open, Event};
