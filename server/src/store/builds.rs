//! Agent builds (the executables agents update themselves to) and the
//! build each PC's agent runs.

use super::Conn;
use sqlx::FromRow;

/// A build without its bytes.
#[derive(Debug, Clone, FromRow)]
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

const COLUMNS: &str =
    "id, platform, version, sha256, size, uploaded_at, uploaded_by, designated_at";

pub async fn agent_build_by_sha(c: &mut Conn, sha256: &str) -> sqlx::Result<Option<AgentBuildRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM agent_builds WHERE sha256 = ?"
    ))
    .bind(sha256)
    .fetch_optional(c)
    .await
}

pub async fn insert_agent_build(
    c: &mut Conn,
    platform: &str,
    version: &str,
    sha256: &str,
    bytes: &[u8],
    at: i64,
    by: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO agent_builds (platform, version, sha256, size, bytes, uploaded_at, uploaded_by, designated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(platform)
    .bind(version)
    .bind(sha256)
    .bind(bytes.len() as i64)
    .bind(bytes)
    .bind(at)
    .bind(by)
    .bind(at)
    .fetch_one(c)
    .await
}

/// Makes a build the club's build for its platform again.
pub async fn designate_agent_build(c: &mut Conn, id: i64, at: i64) -> sqlx::Result<()> {
    // Strictly after every other designation, even within one millisecond.
    sqlx::query(
        "UPDATE agent_builds SET designated_at = \
         max(?, (SELECT max(designated_at) + 1 FROM agent_builds)) WHERE id = ?",
    )
    .bind(at)
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

/// The club's build for `platform`: the one designated last.
pub async fn current_agent_build(
    c: &mut Conn,
    platform: &str,
) -> sqlx::Result<Option<AgentBuildRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM agent_builds WHERE platform = ? \
         ORDER BY designated_at DESC, id DESC LIMIT 1"
    ))
    .bind(platform)
    .fetch_optional(c)
    .await
}

pub async fn list_agent_builds(c: &mut Conn) -> sqlx::Result<Vec<AgentBuildRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM agent_builds ORDER BY platform, designated_at DESC, id DESC"
    ))
    .fetch_all(c)
    .await
}

pub async fn agent_build_bytes(c: &mut Conn, sha256: &str) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT bytes FROM agent_builds WHERE sha256 = ?")
        .bind(sha256)
        .fetch_optional(c)
        .await
}

pub async fn device_agent_sha256(c: &mut Conn, device_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT agent_sha256 FROM devices WHERE id = ?")
        .bind(device_id)
        .fetch_optional(c)
        .await
        .map(Option::flatten)
}

pub async fn set_device_agent_sha256(
    c: &mut Conn,
    device_id: i64,
    sha256: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE devices SET agent_sha256 = ? WHERE id = ?")
        .bind(sha256)
        .bind(device_id)
        .execute(c)
        .await
        .map(drop)
}
