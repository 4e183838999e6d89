//! Agent updates: an administrator uploads club-agent builds; the one
//! designated last for a platform is the club's build there. An agent whose
//! hello names another build is offered it (in the welcome, or in the
//! refusal of a protocol too old), downloads it with its device secret,
//! checks its SHA-256 and replaces itself; its next hello tells the server,
//! which audits the change.

use super::{Actor, Service};
use crate::error::{Error, Result};
use crate::store::{self, AgentBuildRow};
use chrono::{DateTime, Utc};
use club_shared::protocol::{AgentBuild, UpdateOffer, AGENT_PLATFORMS, MAX_AGENT_BUILD_BYTES};
use club_shared::Permission;
use serde::Serialize;
use utoipa::ToSchema;

/// Downloads served at once; more wait for a free place (the agent's
/// request is answered 503 after a while and it tries again later).
pub const MAX_DOWNLOADS: usize = 4;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentBuildView {
    pub id: i64,
    /// `linux-x86_64`, `linux-aarch64`, `windows-x86_64` or `windows-aarch64`.
    pub platform: String,
    pub version: String,
    /// Of the executable, lowercase hex.
    pub sha256: String,
    pub size: i64,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: Option<i64>,
    /// The club's build for its platform: agents running another update to it.
    pub current: bool,
}

impl AgentBuildView {
    fn new(r: AgentBuildRow, current: bool) -> Self {
        AgentBuildView {
            id: r.id,
            platform: r.platform,
            version: r.version,
            sha256: r.sha256,
            size: r.size,
            uploaded_at: store::at(r.uploaded_at),
            uploaded_by: r.uploaded_by,
            current,
        }
    }
}

/// The first bytes of an executable for `platform`: ELF on Linux, MZ (a
/// PE's DOS header) on Windows.
fn looks_executable(platform: &str, bytes: &[u8]) -> bool {
    if platform.starts_with("linux-") {
        bytes.starts_with(b"\x7fELF")
    } else {
        bytes.starts_with(b"MZ")
    }
}

fn valid_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 40
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Service {
    /// The one place for an upload's bytes (DeviceManage): taken before its
    /// body is read, so that nobody else holds 64 MiB of memory with it.
    pub fn agent_build_upload_slot(
        &self,
        actor: &Actor,
    ) -> Result<tokio::sync::OwnedSemaphorePermit> {
        actor.require(Permission::DeviceManage)?;
        actor.require_chain()?;
        self.build_uploads.clone().try_acquire_owned().map_err(|_| {
            Error::Busy("another agent build is being uploaded; try again shortly".into())
        })
    }

    /// Keeps a club-agent build and makes it the club's build for its
    /// platform (DeviceManage). The same build uploaded again is made the
    /// club's build again (a rollback). Answers the build, and whether it
    /// is new.
    pub async fn upload_agent_build(
        &self,
        actor: &Actor,
        platform: &str,
        version: &str,
        bytes: Vec<u8>,
    ) -> Result<(bool, AgentBuildView)> {
        actor.require(Permission::DeviceManage)?;
        actor.require_chain()?;
        if !AGENT_PLATFORMS.contains(&platform) {
            return Err(Error::bad(
                "platform",
                format!("must be one of {}", AGENT_PLATFORMS.join(", ")),
            ));
        }
        if !valid_version(version) {
            return Err(Error::bad(
                "version",
                "1 to 40 letters, digits, '.', '-', '+' or '_'",
            ));
        }
        if bytes.len() > MAX_AGENT_BUILD_BYTES {
            return Err(Error::bad(
                "body",
                format!("a build is at most {} MiB", MAX_AGENT_BUILD_BYTES >> 20),
            ));
        }
        if !looks_executable(platform, &bytes) {
            return Err(Error::bad(
                "body",
                format!("not a {platform} executable (the club-agent binary itself)"),
            ));
        }
        let (sha256, bytes) = tokio::task::spawn_blocking(move || {
            let sha = club_shared::tls::sha256_hex(&bytes);
            (sha, bytes)
        })
        .await
        .map_err(|e| Error::Internal(e.into()))?;
        let now = store::ms(self.now());
        let mut tx = self.store.write().await?;
        let (created, id) = match tx.agent_build_by_sha(&sha256)? {
            Some(existing) if existing.platform != platform => {
                return Err(Error::Conflict(format!(
                    "this build is already kept for {}",
                    existing.platform
                )))
            }
            Some(existing) => {
                tx.designate_agent_build(existing.id, now)?;
                (false, existing.id)
            }
            None => (
                true,
                tx.insert_agent_build(
                    platform,
                    version,
                    &sha256,
                    &bytes,
                    now,
                    actor.operator_id(),
                )?,
            ),
        };
        let row = tx
            .agent_build_by_sha(&sha256)?
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("the build just kept is gone")))?;
        let mut a = actor.audit(
            if created {
                "agent_build.uploaded"
            } else {
                "agent_build.designated"
            },
            self.now(),
        );
        a.after = Some(serde_json::json!({
            "id": id, "platform": platform, "version": row.version, "sha256": sha256, "size": row.size,
        }));
        tx.insert_audit(&a)?;
        tx.commit().await?;
        Ok((created, AgentBuildView::new(row, true)))
    }

    /// Every build kept, the club's build for each platform first
    /// (DeviceManage).
    pub async fn agent_builds(&self, actor: &Actor) -> Result<Vec<AgentBuildView>> {
        actor.require(Permission::DeviceManage)?;
        let mut c = self.store.read().await?;
        let rows = c.list_agent_builds()?;
        let mut seen = std::collections::HashSet::new();
        Ok(rows
            .into_iter()
            .map(|r| {
                let current = seen.insert(r.platform.clone());
                AgentBuildView::new(r, current)
            })
            .collect())
    }

    /// A build's bytes, for an enrolled agent. At most [`MAX_DOWNLOADS`]
    /// at once: a PC that finds no place within 10 s is told to come back.
    pub async fn agent_build_download(
        &self,
        sha256: &str,
    ) -> Result<(tokio::sync::OwnedSemaphorePermit, Vec<u8>)> {
        if !is_sha256_hex(sha256) {
            return Err(Error::bad("sha256", "64 lowercase hex digits"));
        }
        let permit = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.build_downloads.clone().acquire_owned(),
        )
        .await
        .map_err(|_| Error::Busy("other PCs are downloading; try again shortly".into()))?
        .map_err(|e| Error::Internal(e.into()))?;
        let mut c = self.store.read().await?;
        let bytes = c
            .agent_build_bytes(sha256)?
            .ok_or_else(|| Error::NotFound("no such agent build".into()))?;
        Ok((permit, bytes))
    }

    /// The club's build for the agent's platform, when the agent runs
    /// another.
    pub async fn update_offer(&self, build: &AgentBuild) -> Result<Option<UpdateOffer>> {
        if !AGENT_PLATFORMS.contains(&build.platform.as_str()) {
            return Ok(None);
        }
        let mut c = self.store.read().await?;
        let current = c.current_agent_build(&build.platform)?;
        Ok(current
            .filter(|b| b.sha256 != build.sha256)
            .map(|b| UpdateOffer {
                version: b.version,
                sha256: b.sha256,
                size: b.size as u64,
            }))
    }

    /// The build a PC's agent said it runs: a change from the last one is
    /// an update (or a rollback), audited as `agent.updated`.
    pub async fn agent_build_seen(&self, device_id: i64, build: &AgentBuild) -> Result<()> {
        if !is_sha256_hex(&build.sha256) {
            return Err(Error::bad("build.sha256", "64 lowercase hex digits"));
        }
        if !AGENT_PLATFORMS.contains(&build.platform.as_str()) {
            return Err(Error::bad(
                "build.platform",
                "not a platform builds are kept for",
            ));
        }
        let known = {
            let mut c = self.store.read().await?;
            c.device_agent_sha256(device_id)?
        };
        if known.as_deref() == Some(build.sha256.as_str()) {
            return Ok(());
        }
        let mut tx = self.store.write().await?;
        let previous = tx.device_agent_sha256(device_id)?;
        if previous.as_deref() == Some(build.sha256.as_str()) {
            return Ok(());
        }
        tx.set_device_agent_sha256(device_id, &build.sha256)?;
        if let Some(previous) = previous {
            let before = tx.agent_build_by_sha(&previous)?;
            let after = tx.agent_build_by_sha(&build.sha256)?;
            let mut a = Actor::Agent { device_id }.audit("agent.updated", self.now());
            a.device_id = Some(device_id);
            a.before = Some(serde_json::json!({
                "sha256": previous, "version": before.map(|b| b.version),
            }));
            a.after = Some(serde_json::json!({
                "sha256": build.sha256, "version": after.map(|b| b.version),
                "platform": build.platform,
            }));
            tx.insert_audit(&a)?;
        }
        tx.commit().await?;
        Ok(())
    }
}
