use crate::store::builds::*;
use crate::store::sql::{Result, Sql};

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

impl<D: Sql> AgentBuilds for D {
    fn agent_build_by_sha(&mut self, sha256: &str) -> Result<Option<AgentBuildRow>> {
        let c = self;
        c.one(
            &format!("SELECT {COLUMNS} FROM agent_builds WHERE sha256 = ?"),
            crate::args![sha256],
        )
    }

    fn insert_agent_build(
        &mut self,
        platform: &str,
        version: &str,
        sha256: &str,
        bytes: &[u8],
        at: i64,
        by: Option<i64>,
    ) -> Result<i64> {
        let c = self;
        c.first("INSERT INTO agent_builds (platform, version, sha256, size, bytes, uploaded_at, uploaded_by, designated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", crate::args![platform, version, sha256, bytes.len() as i64, bytes, at, by, at])
    }

    fn designate_agent_build(&mut self, id: i64, at: i64) -> Result<()> {
        let c = self;
        // Strictly after every other designation, even within one millisecond.
        c.run(
            "UPDATE agent_builds SET designated_at = (SELECT CASE \
         WHEN MAX(designated_at) + 1 > ?1 THEN MAX(designated_at) + 1 ELSE ?1 END \
         FROM agent_builds) WHERE id = ?2",
            crate::args![at, id],
        )
        .map(drop)
    }

    fn current_agent_build(&mut self, platform: &str) -> Result<Option<AgentBuildRow>> {
        let c = self;
        c.one(
            &format!(
                "SELECT {COLUMNS} FROM agent_builds WHERE platform = ? \
         ORDER BY designated_at DESC, id DESC LIMIT 1"
            ),
            crate::args![platform],
        )
    }

    fn list_agent_builds(&mut self) -> Result<Vec<AgentBuildRow>> {
        let c = self;
        c.all(
            &format!(
                "SELECT {COLUMNS} FROM agent_builds ORDER BY platform, designated_at DESC, id DESC"
            ),
            &[],
        )
    }

    fn agent_build_bytes(&mut self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let c = self;
        c.one(
            "SELECT bytes FROM agent_builds WHERE sha256 = ?",
            crate::args![sha256],
        )
    }

    fn device_agent_sha256(&mut self, device_id: i64) -> Result<Option<String>> {
        let c = self;
        c.one(
            "SELECT agent_sha256 FROM devices WHERE id = ?",
            crate::args![device_id],
        )
        .map(Option::flatten)
    }

    fn set_device_agent_sha256(&mut self, device_id: i64, sha256: &str) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE devices SET agent_sha256 = ? WHERE id = ?",
            crate::args![sha256, device_id],
        )
        .map(drop)
    }
}
