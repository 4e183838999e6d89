//! What the agent keeps on disk in its state dir: the enrollment (server
//! URL, device id), the secret (readable only by its owner), the last
//! desired state it applied, and the lock-screen address for `start` and
//! `status`.

use anyhow::Context;
use club_shared::protocol::DesiredState;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrollment {
    pub server: String,
    /// Other servers on the same database, tried in turn after `server`
    /// when one does not answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    pub device_id: i64,
    /// The pinned certificate of an https:// server (SHA-256, hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cert_sha256: Option<String>,
}

impl Enrollment {
    /// Every server the agent may connect to, `server` first.
    pub fn servers(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.server.as_str()).chain(self.also.iter().map(String::as_str))
    }
}

/// The last desired state applied, so that a reboot with the server down
/// still knows the session (and stays locked).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Applied {
    pub seq: u64,
    pub desired: DesiredState,
}

#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateDir { dir: dir.into() }
    }

    /// `--state-dir`, or the platform's usual place for a service's state.
    pub fn resolve(arg: Option<PathBuf>) -> Self {
        let dir = arg.unwrap_or_else(|| {
            if cfg!(windows) {
                PathBuf::from(r"C:\ProgramData\Clubhall\agent")
            } else {
                PathBuf::from("/var/lib/club-agent")
            }
        });
        StateDir::new(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn save_enrollment(&self, e: &Enrollment, secret: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        restrict_to_service(&self.dir)?;
        write_private(&self.path("secret"), secret.as_bytes())?;
        // A new enrollment starts the sequence of states afresh (the server
        // may be a new database); the PC still starts locked.
        match std::fs::remove_file(self.path("applied.json")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).context("resetting the applied state");
            }
            _ => {}
        }
        write_atomic(
            &self.path("enrollment.json"),
            &serde_json::to_vec_pretty(e)?,
        )
    }

    pub fn load_enrollment(&self) -> anyhow::Result<(Enrollment, String)> {
        let e: Enrollment = read_json(&self.path("enrollment.json"))
            .context("this PC is not enrolled: run `club-agent enroll` first")?;
        let secret = std::fs::read_to_string(self.path("secret"))
            .context("the device secret is missing: enroll again")?;
        Ok((e, secret.trim().to_owned()))
    }

    pub fn load_applied(&self) -> Applied {
        read_json(&self.path("applied.json")).unwrap_or_default()
    }

    pub fn save_applied(&self, a: &Applied) -> anyhow::Result<()> {
        write_atomic(&self.path("applied.json"), &serde_json::to_vec(a)?)
    }

    pub fn save_ui_addr(&self, addr: std::net::SocketAddr) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        write_atomic(&self.path("ui.addr"), addr.to_string().as_bytes())
    }

    pub fn load_ui_addr(&self) -> anyhow::Result<std::net::SocketAddr> {
        let raw = std::fs::read_to_string(self.path("ui.addr"))
            .context("the agent is not running here (no ui.addr in the state dir)")?;
        raw.trim().parse().context("ui.addr is not an address")
    }
}

/// The state directory is the service's alone. On Unix: mode 0700 (the
/// secret inside is 0600 too). On Windows, where a player can read files
/// under ProgramData by default: an ACL for SYSTEM and Administrators only,
/// inherited by every file in it, set with icacls by their well-known SIDs
/// (S-1-5-18, S-1-5-32-544), so that it holds in every language of Windows.
pub fn restrict_to_service(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", dir.display()))
    }
    #[cfg(windows)]
    {
        let out = std::process::Command::new("icacls")
            .arg(dir)
            .args([
                "/inheritance:r",
                "/grant:r",
                "*S-1-5-18:(OI)(CI)F",
                "/grant:r",
                "*S-1-5-32-544:(OI)(CI)F",
                "/T",
                "/C",
                "/Q",
            ])
            .output()
            .context("running icacls")?;
        anyhow::ensure!(
            out.status.success(),
            "icacls could not make {} private: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }
}

/// A Unix account's uid, from a number or a name in /etc/passwd.
pub fn uid_of(user: &str) -> anyhow::Result<u32> {
    if let Ok(uid) = user.parse() {
        return Ok(uid);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    passwd
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            Some((f.next()?, f.nth(1)?))
        })
        .find(|(name, _)| *name == user)
        .and_then(|(_, uid)| uid.parse().ok())
        .with_context(|| format!("no account named {user}"))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// Write-then-rename, so a crash never leaves half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// The secret: written to a private temporary file (mode 0600 on Unix),
/// flushed to disk, then renamed over the old one and the directory flushed,
/// so that a power cut leaves the old secret or the new one, never half of
/// one and never a file another account could read.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    // A leftover from a crash keeps its mode when reopened: start afresh.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()
        .with_context(|| format!("flushing {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("flushing {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrollment_round_trips_and_the_secret_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::new(dir.path().join("agent"));
        let e = Enrollment {
            server: "http://127.0.0.1:1".into(),
            also: Vec::new(),
            device_id: 4,
            server_cert_sha256: None,
        };
        // An old secret (and a crash's leftover) anyone could read.
        std::fs::create_dir_all(dir.path().join("agent")).unwrap();
        for name in ["secret", "secret.tmp"] {
            std::fs::write(dir.path().join("agent").join(name), "old").unwrap();
        }
        s.save_enrollment(&e, "s3cret").unwrap();
        let (back, secret) = s.load_enrollment().unwrap();
        assert_eq!(back.device_id, 4);
        assert_eq!(secret, "s3cret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("agent/secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(dir.path().join("agent"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                dir_mode & 0o777,
                0o700,
                "the state dir is the service's alone"
            );
        }
    }

    #[test]
    fn enrolling_again_starts_the_sequence_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::new(dir.path());
        let e = Enrollment {
            server: "http://127.0.0.1:1".into(),
            also: Vec::new(),
            device_id: 4,
            server_cert_sha256: None,
        };
        s.save_enrollment(&e, "old").unwrap();
        s.save_applied(&Applied {
            seq: 57,
            desired: DesiredState::default(),
        })
        .unwrap();
        s.save_enrollment(&e, "new").unwrap();
        assert_eq!(s.load_applied().seq, 0);
    }

    #[test]
    fn a_missing_applied_state_means_locked_and_nothing_shown() {
        let dir = tempfile::tempdir().unwrap();
        let a = StateDir::new(dir.path()).load_applied();
        assert_eq!(a.seq, 0);
        assert!(a.desired.session.is_none());
    }
}
