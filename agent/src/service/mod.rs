//! `club-agent service install|uninstall|start|stop|status`: the daemon as
//! a service the player cannot switch off, started at boot and restarted
//! whenever it ends. On Windows a LocalSystem service (the service manager's
//! failure actions restart it, also after an exit that was no crash); on
//! Linux root's systemd unit with `Restart=always`, beside a user unit for
//! the lock screen in the player's graphical session.

/// The service's name on both systems.
pub const NAME: &str = "club-agent";

#[cfg(unix)]
mod systemd;
#[cfg(unix)]
pub use systemd::{install, start, status, stop, uninstall, InstallArgs};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{dispatch, install, start, status, stop, uninstall};
