//! The agent as systemd units: root's system service for the daemon
//! (`Restart=always`, the device secret in a 0700 state dir) and a user
//! unit for the lock screen in the player's graphical session. The unit
//! files are the repository's own (`packaging/linux`), built into the
//! binary so that what is installed is what the tests verify.

use super::NAME;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

const AGENT_UNIT: &str = include_str!("../../../packaging/linux/club-agent.service");
const LOCK_UNIT: &str = include_str!("../../../packaging/linux/club-lock.service");

/// `club-agent service install` on Linux.
#[derive(clap::Args, Clone, Debug)]
pub struct InstallArgs {
    /// The account that plays: its graphical session shows the lock screen,
    /// and only it may use the lock channel.
    #[arg(long, default_value = "player")]
    pub player: String,
    /// Install under this directory and start nothing: for images and tests.
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// Where each file goes, under `root`.
struct Paths {
    bin: PathBuf,
    agent_unit: PathBuf,
    drop_in: PathBuf,
    lock_unit: PathBuf,
}

impl Paths {
    fn under(root: &Path) -> Paths {
        Paths {
            bin: root.join("usr/local/bin"),
            agent_unit: root.join("etc/systemd/system/club-agent.service"),
            drop_in: root.join("etc/systemd/system/club-agent.service.d/player.conf"),
            lock_unit: root.join("etc/systemd/user/club-lock.service"),
        }
    }
}

/// An account name as useradd allows it; nothing that could break out of
/// the unit file's line.
fn valid_account(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn systemctl(args: &[&str]) -> anyhow::Result<()> {
    let status = std::process::Command::new("systemctl")
        .args(args)
        .status()
        .context("running systemctl (is this a systemd system?)")?;
    if !status.success() {
        bail!("systemctl {} failed: {status}", args.join(" "));
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Copies `name` from beside this executable into `bin`, unless it is that
/// file already: through a temporary file and a rename, so that a running
/// copy is replaced whole.
fn copy_beside(name: &str, bin: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let exe = std::env::current_exe().context("finding club-agent's own path")?;
    let from = exe.with_file_name(name);
    let to = bin.join(name);
    if !from.exists() {
        bail!(
            "{} is missing: club-agent and club-lock go together",
            from.display()
        );
    }
    if to.exists() && std::fs::canonicalize(&from)? == std::fs::canonicalize(&to)? {
        return Ok(());
    }
    std::fs::create_dir_all(bin).with_context(|| format!("creating {}", bin.display()))?;
    let tmp = bin.join(format!(".{name}.new"));
    std::fs::copy(&from, &tmp).with_context(|| format!("copying {}", from.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, &to).with_context(|| format!("installing {}", to.display()))
}

pub fn install(args: &InstallArgs) -> anyhow::Result<()> {
    if !valid_account(&args.player) {
        bail!("--player {:?} is not an account name", args.player);
    }
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if args.root.is_none() {
        crate::state::uid_of(&args.player).with_context(|| {
            format!("the player's account {} must exist (--player)", args.player)
        })?;
    }
    let paths = Paths::under(&root);
    for name in ["club-agent", "club-lock"] {
        copy_beside(name, &paths.bin)?;
    }
    write(&paths.agent_unit, AGENT_UNIT)?;
    write(
        &paths.drop_in,
        &format!(
            "[Service]\nEnvironment=CLUB_LOCK_SCREEN_USER={}\n",
            args.player
        ),
    )?;
    write(&paths.lock_unit, LOCK_UNIT)?;
    if args.root.is_some() {
        println!(
            "Installed the units under {}; started nothing.",
            root.display()
        );
        return Ok(());
    }
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", "--now", NAME])?;
    systemctl(&["--global", "enable", "club-lock"])?;
    println!(
        "Installed and started {NAME} (restarted whenever it ends); club-lock starts in {}'s graphical session.",
        args.player
    );
    Ok(())
}

/// Stops and removes the units; the binaries and the state dir (the device
/// secret) are kept.
pub fn uninstall() -> anyhow::Result<()> {
    systemctl(&["disable", "--now", NAME])?;
    systemctl(&["--global", "disable", "club-lock"])?;
    let paths = Paths::under(Path::new("/"));
    for f in [&paths.agent_unit, &paths.drop_in, &paths.lock_unit] {
        match std::fs::remove_file(f) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", f.display()))
            }
            _ => {}
        }
    }
    if let Some(dir) = paths.drop_in.parent() {
        let _ = std::fs::remove_dir(dir);
    }
    systemctl(&["daemon-reload"])?;
    println!("Removed the {NAME} units. /var/lib/club-agent (the device secret) is kept.");
    Ok(())
}

pub fn start() -> anyhow::Result<()> {
    systemctl(&["start", NAME])
}

pub fn stop() -> anyhow::Result<()> {
    systemctl(&["stop", NAME])
}

/// systemctl's own report and exit code (0 running, 3 stopped).
pub fn status() -> anyhow::Result<()> {
    let status = std::process::Command::new("systemctl")
        .args(["status", "--no-pager", NAME])
        .status()
        .context("running systemctl (is this a systemd system?)")?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_account_names_go_into_the_unit() {
        for ok in ["player", "gamer_01", "club.player", "p-2"] {
            assert!(valid_account(ok), "{ok}");
        }
        for bad in [
            "",
            "-rf",
            "a b",
            "x\nExecStart=/bin/sh",
            "p;q",
            &"a".repeat(33),
        ] {
            assert!(!valid_account(bad), "{bad:?}");
        }
    }
}
