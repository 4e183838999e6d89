//! Agent builds (the executables agents update themselves to) and the
//! build each PC's agent runs.

use super::{Conn, Result};

/// A build without its bytes.
#[derive(Debug, Clone)]
pub struct AgentBuildRow {
    pub id: i64,
    pub platform: String,
    pub version: String,
    pub sha256: String,
    pub size: i64,
    pub uploaded_at: i64,
    pub uploaded_by: Option<i64>,
    pub designated_at: i64,
}

/// What the store keeps of builds, as every backend answers it.
pub trait AgentBuilds {
    fn agent_build_by_sha(&mut self, sha256: &str) -> Result<Option<AgentBuildRow>>;
    fn insert_agent_build(
        &mut self,
        platform: &str,
        version: &str,
        sha256: &str,
        bytes: &[u8],
        at: i64,
        by: Option<i64>,
    ) -> Result<i64>;
    /// Makes a build the club's build for its platform again.
    fn designate_agent_build(&mut self, id: i64, at: i64) -> Result<()>;
    /// The club's build for `platform`: the one designated last.
    fn current_agent_build(&mut self, platform: &str) -> Result<Option<AgentBuildRow>>;
    fn list_agent_builds(&mut self) -> Result<Vec<AgentBuildRow>>;
    fn agent_build_bytes(&mut self, sha256: &str) -> Result<Option<Vec<u8>>>;
    fn device_agent_sha256(&mut self, device_id: i64) -> Result<Option<String>>;
    fn set_device_agent_sha256(&mut self, device_id: i64, sha256: &str) -> Result<()>;
}

pub fn agent_build_by_sha(c: &mut Conn, sha256: &str) -> Result<Option<AgentBuildRow>> {
    c.agent_build_by_sha(sha256)
}

pub fn insert_agent_build(
    c: &mut Conn,
    platform: &str,
    version: &str,
    sha256: &str,
    bytes: &[u8],
    at: i64,
    by: Option<i64>,
) -> Result<i64> {
    c.insert_agent_build(platform, version, sha256, bytes, at, by)
}

/// Makes a build the club's build for its platform again.
pub fn designate_agent_build(c: &mut Conn, id: i64, at: i64) -> Result<()> {
    c.designate_agent_build(id, at)
}

/// The club's build for `platform`: the one designated last.
pub fn current_agent_build(c: &mut Conn, platform: &str) -> Result<Option<AgentBuildRow>> {
    c.current_agent_build(platform)
}

pub fn list_agent_builds(c: &mut Conn) -> Result<Vec<AgentBuildRow>> {
    c.list_agent_builds()
}

pub fn agent_build_bytes(c: &mut Conn, sha256: &str) -> Result<Option<Vec<u8>>> {
    c.agent_build_bytes(sha256)
}

pub fn device_agent_sha256(c: &mut Conn, device_id: i64) -> Result<Option<String>> {
    c.device_agent_sha256(device_id)
}

pub fn set_device_agent_sha256(c: &mut Conn, device_id: i64, sha256: &str) -> Result<()> {
    c.set_device_agent_sha256(device_id, sha256)
}
