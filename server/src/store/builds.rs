//! Agent builds (the executables agents update themselves to) and the
//! build each PC's agent runs.

use super::Result;

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
