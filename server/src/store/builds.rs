//! Agent builds (the executables agents update themselves to) and the
//! build each PC's agent runs.

use super::db::Result;
use super::Conn;

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

crate::from_row!(AgentBuildRow {
    id,
    platform,
    version,
    sha256,
    size,
    uploaded_at,
    uploaded_by,
    designated_at
});

const COLUMNS: &str =
    "id, platform, version, sha256, size, uploaded_at, uploaded_by, designated_at";

pub fn agent_build_by_sha(c: &mut Conn, sha256: &str) -> Result<Option<AgentBuildRow>> {
    c.one(
        &format!("SELECT {COLUMNS} FROM agent_builds WHERE sha256 = ?"),
        rusqlite::params![sha256],
    )
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
    c.first("INSERT INTO agent_builds (platform, version, sha256, size, bytes, uploaded_at, uploaded_by, designated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", rusqlite::params![platform, version, sha256, bytes.len() as i64, bytes, at, by, at])
}

/// Makes a build the club's build for its platform again.
pub fn designate_agent_build(c: &mut Conn, id: i64, at: i64) -> Result<()> {
    // Strictly after every other designation, even within one millisecond.
    c.run(
        "UPDATE agent_builds SET designated_at = \
         max(?, (SELECT max(designated_at) + 1 FROM agent_builds)) WHERE id = ?",
        rusqlite::params![at, id],
    )
    .map(drop)
}

/// The club's build for `platform`: the one designated last.
pub fn current_agent_build(c: &mut Conn, platform: &str) -> Result<Option<AgentBuildRow>> {
    c.one(
        &format!(
            "SELECT {COLUMNS} FROM agent_builds WHERE platform = ? \
         ORDER BY designated_at DESC, id DESC LIMIT 1"
        ),
        rusqlite::params![platform],
    )
}

pub fn list_agent_builds(c: &mut Conn) -> Result<Vec<AgentBuildRow>> {
    c.all(
        &format!(
            "SELECT {COLUMNS} FROM agent_builds ORDER BY platform, designated_at DESC, id DESC"
        ),
        [],
    )
}

pub fn agent_build_bytes(c: &mut Conn, sha256: &str) -> Result<Option<Vec<u8>>> {
    c.one(
        "SELECT bytes FROM agent_builds WHERE sha256 = ?",
        rusqlite::params![sha256],
    )
}

pub fn device_agent_sha256(c: &mut Conn, device_id: i64) -> Result<Option<String>> {
    c.one(
        "SELECT agent_sha256 FROM devices WHERE id = ?",
        rusqlite::params![device_id],
    )
    .map(Option::flatten)
}

pub fn set_device_agent_sha256(c: &mut Conn, device_id: i64, sha256: &str) -> Result<()> {
    c.run(
        "UPDATE devices SET agent_sha256 = ? WHERE id = ?",
        rusqlite::params![sha256, device_id],
    )
    .map(drop)
}
