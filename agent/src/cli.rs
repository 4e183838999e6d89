//! The daemon's run options, shared by `club-agent run` and `club-agent
//! service install` (which registers a service that runs with the same
//! options).

use crate::state::StateDir;
use crate::AgentOptions;
use anyhow::{bail, Context};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_UI_LISTEN: &str = "127.0.0.1:7480";
pub const DEFAULT_HOOK_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_UPDATE_PROBATION_SECONDS: u64 = 120;

#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct RunArgs {
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Where the lock screen listens (loopback).
    #[arg(long, default_value = DEFAULT_UI_LISTEN)]
    pub ui_listen: SocketAddr,
    /// Runs through `sh -c` (`cmd /C` on Windows) when the PC must lock.
    #[arg(long)]
    pub lock_cmd: Option<String>,
    /// Runs when the server unlocks the PC.
    #[arg(long)]
    pub unlock_cmd: Option<String>,
    /// Lock and unlock commands still running after this are killed and
    /// count as failed.
    #[arg(long, default_value_t = DEFAULT_HOOK_TIMEOUT_SECONDS)]
    pub hook_timeout_seconds: u64,
    /// The lock screen to start and keep running. Default: `club-lock`
    /// beside this executable, in a graphical session (DISPLAY or
    /// WAYLAND_DISPLAY set, or on Windows); `none` starts none.
    #[arg(long)]
    pub lock_screen: Option<PathBuf>,
    /// The lock screen's local channel (default: lock.sock in the state
    /// dir; on Windows the named pipe \\.\pipe\clubhall-lock).
    #[arg(long)]
    pub lock_channel: Option<PathBuf>,
    /// Unix: the account (name or uid) whose club-lock may use the lock
    /// channel, when the daemon runs as a system service and club-lock in
    /// the player's graphical session. The socket is given to it.
    #[arg(long)]
    pub lock_screen_user: Option<String>,
    /// When the lock screen is another service's (`--lock-screen none`,
    /// club-lock's user unit): runs whenever none is connected, to start
    /// it again.
    #[arg(long)]
    pub lock_screen_restart_cmd: Option<String>,
    /// Never update this executable to the club's build.
    #[arg(long)]
    pub no_self_update: bool,
    /// A new build the server has not welcomed within this is rolled back.
    #[arg(long, default_value_t = DEFAULT_UPDATE_PROBATION_SECONDS)]
    pub update_probation_seconds: u64,
    /// Runs when the desk reboots the PC.
    #[arg(long, default_value = crate::DEFAULT_REBOOT_CMD)]
    pub reboot_cmd: String,
    /// Runs when the desk shuts the PC down.
    #[arg(long, default_value = crate::DEFAULT_SHUTDOWN_CMD)]
    pub shutdown_cmd: String,
}

impl RunArgs {
    /// The command-line arguments that give these options back: what a
    /// service is registered to run with.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut out: Vec<OsString> = Vec::new();
        // `--name=value`, one argument: a value that starts with a dash
        // stays a value.
        let mut opt = |name: &str, value: OsString| {
            let mut arg = OsString::from(format!("--{name}="));
            arg.push(value);
            out.push(arg);
        };
        if let Some(d) = &self.state_dir {
            opt("state-dir", d.clone().into());
        }
        opt("ui-listen", self.ui_listen.to_string().into());
        if let Some(c) = &self.lock_cmd {
            opt("lock-cmd", c.into());
        }
        if let Some(c) = &self.unlock_cmd {
            opt("unlock-cmd", c.into());
        }
        opt(
            "hook-timeout-seconds",
            self.hook_timeout_seconds.to_string().into(),
        );
        if let Some(p) = &self.lock_screen {
            opt("lock-screen", p.clone().into());
        }
        if let Some(p) = &self.lock_channel {
            opt("lock-channel", p.clone().into());
        }
        if let Some(u) = &self.lock_screen_user {
            opt("lock-screen-user", u.into());
        }
        if let Some(c) = &self.lock_screen_restart_cmd {
            opt("lock-screen-restart-cmd", c.into());
        }
        opt(
            "update-probation-seconds",
            self.update_probation_seconds.to_string().into(),
        );
        opt("reboot-cmd", self.reboot_cmd.clone().into());
        opt("shutdown-cmd", self.shutdown_cmd.clone().into());
        if self.no_self_update {
            out.push("--no-self-update".into());
        }
        out
    }

    /// The options these arguments give, checked.
    pub fn options(&self) -> anyhow::Result<AgentOptions> {
        if !self.ui_listen.ip().is_loopback() {
            bail!("--ui-listen must be a loopback address: the lock screen is for this PC only");
        }
        let mut opts = AgentOptions::new(StateDir::resolve(self.state_dir.clone()), self.ui_listen);
        opts.lock_cmd = self.lock_cmd.clone();
        opts.unlock_cmd = self.unlock_cmd.clone();
        opts.hook_timeout = std::time::Duration::from_secs(self.hook_timeout_seconds);
        opts.lock_screen = lock_screen_path(self.lock_screen.clone())?;
        opts.lock_screen_restart_cmd = self.lock_screen_restart_cmd.clone();
        opts.reboot_cmd = self.reboot_cmd.clone();
        if !self.no_self_update {
            opts.self_update = Some(crate::update::SelfUpdate {
                exe: std::env::current_exe().context("finding club-agent's own path")?,
                probation: std::time::Duration::from_secs(self.update_probation_seconds),
            });
        }
        opts.shutdown_cmd = self.shutdown_cmd.clone();
        if let Some(path) = &self.lock_channel {
            opts.lock_channel = Some(path.clone());
        }
        opts.lock_screen_uid = match &self.lock_screen_user {
            Some(user) => Some(crate::state::uid_of(user)?),
            None => None,
        };
        Ok(opts)
    }
}

/// `--lock-screen`, or `club-lock` beside this executable when there is a
/// display to show it on.
fn lock_screen_path(arg: Option<PathBuf>) -> anyhow::Result<Option<PathBuf>> {
    match arg {
        Some(p) if p.as_os_str() == "none" => Ok(None),
        Some(p) => Ok(Some(p)),
        None => {
            let graphical = cfg!(windows)
                || std::env::var_os("DISPLAY").is_some()
                || std::env::var_os("WAYLAND_DISPLAY").is_some();
            if !graphical {
                return Ok(None);
            }
            let exe = std::env::current_exe().context("finding club-agent's own path")?;
            let name = format!("club-lock{}", std::env::consts::EXE_SUFFIX);
            Ok(exe.parent().map(|d| d.join(name)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[OsString]) -> RunArgs {
        let argv = std::iter::once(OsString::from("club-agent")).chain(args.iter().cloned());
        Cli::try_parse_from(argv).expect("the arguments parse").run
    }

    #[test]
    fn a_service_runs_with_exactly_the_options_it_was_installed_with() {
        let defaults = parse(&[]);
        assert_eq!(parse(&defaults.to_args()), defaults);
        let every = RunArgs {
            state_dir: Some(r"C:\ProgramData\Clubhall Agent".into()),
            ui_listen: "127.0.0.1:7555".parse().unwrap(),
            lock_cmd: Some("rundll32.exe user32.dll,LockWorkStation".into()),
            unlock_cmd: Some(r#"echo "unlocked" --now"#.into()),
            hook_timeout_seconds: 7,
            lock_screen: Some(r"C:\Program Files\Clubhall\club-lock.exe".into()),
            lock_channel: Some(r"\\.\pipe\clubhall-lock-2".into()),
            lock_screen_user: Some("player".into()),
            lock_screen_restart_cmd: Some(
                "systemctl --user --machine=player@ start club-lock".into(),
            ),
            reboot_cmd: "shutdown /r /t 5".into(),
            shutdown_cmd: "--odd".into(),
            no_self_update: true,
            update_probation_seconds: 9,
        };
        assert_eq!(parse(&every.to_args()), every);
    }

    #[test]
    fn the_lock_screen_page_stays_on_loopback() {
        let mut args = parse(&[]);
        args.ui_listen = "0.0.0.0:7480".parse().unwrap();
        let e = args.options().err().expect("refused");
        assert!(e.to_string().contains("loopback"), "{e}");
    }
}
