//! The daemon's channel on Unix: a socket in the daemon's state dir. The
//! lock screen talks only to a socket owned by its own account or by root,
//! in a directory nobody else can write: a player cannot put a fake daemon
//! there that says "unlocked".

use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

pub fn default_socket() -> PathBuf {
    PathBuf::from("/var/lib/club-agent/lock.sock")
}

/// Our own (effective) user id, without libc: /proc/self belongs to it.
fn own_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

fn trusted(path: &Path) -> anyhow::Result<()> {
    let Some(me) = own_uid() else {
        return Ok(()); // no /proc (not Linux): the socket's mode guards it
    };
    let sock = std::fs::symlink_metadata(path)
        .with_context(|| format!("no daemon socket at {}", path.display()))?;
    let dir = path.parent().map(std::fs::metadata).transpose()?;
    for (what, m) in [("socket", Some(sock)), ("its directory", dir)] {
        let Some(m) = m else { continue };
        if m.uid() != me && m.uid() != 0 {
            bail!(
                "the daemon's {what} at {} belongs to user {}, not to this account or root",
                path.display(),
                m.uid()
            );
        }
    }
    if let Some(dir) = path.parent() {
        if std::fs::metadata(dir)?.mode() & 0o022 != 0 {
            bail!(
                "{} is writable by others: refusing its socket",
                dir.display()
            );
        }
    }
    Ok(())
}

pub fn connect(path: &Path) -> anyhow::Result<(Box<dyn Read + Send>, Box<dyn Write + Send>)> {
    trusted(path)?;
    let stream =
        UnixStream::connect(path).with_context(|| format!("connecting to {}", path.display()))?;
    let writer = stream.try_clone()?;
    Ok((Box::new(stream), Box::new(writer)))
}
