//! The `chain_*` tables: PostgreSQL's only (see `store::chain`).

use crate::store::chain::*;
use crate::store::sql::{Result, Sql};

crate::from_row!(OutboxRow { id, origin, body });

/// The database server's clock in unix milliseconds.
const NOW_MS: &str = "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)";

impl<D: Sql> Chain for D {
    fn append_outbox(&mut self, origin: &str, body: &str) -> Result<i64> {
        self.insert(
            &format!("INSERT INTO chain_outbox (at, origin, body) VALUES ({NOW_MS}, ?, ?)"),
            crate::args![origin, body],
        )
    }

    fn outbox_after(&mut self, id: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        self.all(
            "SELECT id, origin, body FROM chain_outbox WHERE id > ? ORDER BY id LIMIT ?",
            crate::args![id, limit],
        )
    }

    fn outbox_last(&mut self) -> Result<i64> {
        self.first("SELECT COALESCE(MAX(id), 0) FROM chain_outbox", &[])
    }

    fn prune_outbox(&mut self, older_than_ms: i64) -> Result<usize> {
        self.run(
            &format!("DELETE FROM chain_outbox WHERE at < {NOW_MS} - ?"),
            crate::args![older_than_ms],
        )
    }

    fn register_instance(&mut self, instance: &str) -> Result<()> {
        self.run(
            "INSERT INTO chain_instances (id) VALUES (?) \
             ON CONFLICT (id) DO UPDATE SET beat_at = now()",
            crate::args![instance],
        )
        .map(drop)
    }

    fn beat_instance(&mut self, instance: &str) -> Result<bool> {
        self.run(
            "UPDATE chain_instances SET beat_at = now() WHERE id = ?",
            crate::args![instance],
        )
        .map(|n| n > 0)
    }

    fn silent_instances(&mut self, silent_ms: i64) -> Result<Vec<String>> {
        self.all(
            "SELECT id FROM chain_instances \
             WHERE beat_at < now() - CAST(? AS DOUBLE PRECISION) * interval '1 millisecond' \
             ORDER BY id",
            crate::args![silent_ms],
        )
    }

    fn remove_instance(&mut self, instance: &str, silent_ms: Option<i64>) -> Result<Vec<i64>> {
        // Its PCs first: their presence rows go with it (ON DELETE CASCADE).
        let devices = self.all(
            "SELECT device_id FROM chain_presence WHERE instance_id = ? ORDER BY device_id",
            crate::args![instance],
        )?;
        let gone = self.run(
            "DELETE FROM chain_instances WHERE id = ?1 AND (CAST(?2 AS DOUBLE PRECISION) IS NULL \
             OR beat_at < now() - CAST(?2 AS DOUBLE PRECISION) * interval '1 millisecond')",
            crate::args![instance, silent_ms],
        )?;
        Ok(if gone == 0 { Vec::new() } else { devices })
    }

    fn notify(&mut self, channel: &str, payload: &str) -> Result<()> {
        self.run("SELECT pg_notify(?, ?)", crate::args![channel, payload])
            .map(drop)
    }

    fn next_command_id(&mut self) -> Result<i64> {
        self.first("SELECT nextval('chain_command_ids')", &[])
    }

    fn put_presence(&mut self, device_id: i64, instance: &str, since: i64) -> Result<()> {
        self.run(
            "INSERT INTO chain_presence (device_id, instance_id, since) VALUES (?, ?, ?) \
             ON CONFLICT (device_id) DO UPDATE SET instance_id = excluded.instance_id, \
             since = excluded.since",
            crate::args![device_id, instance, since],
        )
        .map(drop)
    }

    fn claim_presence(&mut self, device_id: i64, instance: &str, since: i64) -> Result<bool> {
        let inserted = self.run(
            "INSERT INTO chain_presence (device_id, instance_id, since) VALUES (?, ?, ?) \
             ON CONFLICT (device_id) DO NOTHING",
            crate::args![device_id, instance, since],
        )? > 0;
        Ok(inserted || self.presence_of(device_id)?.as_deref() == Some(instance))
    }

    fn drop_presence(&mut self, device_id: i64, instance: &str) -> Result<bool> {
        self.run(
            "DELETE FROM chain_presence WHERE device_id = ? AND instance_id = ?",
            crate::args![device_id, instance],
        )
        .map(|n| n > 0)
    }

    fn presence_of(&mut self, device_id: i64) -> Result<Option<String>> {
        self.one(
            "SELECT instance_id FROM chain_presence WHERE device_id = ?",
            crate::args![device_id],
        )
    }

    fn all_presence(&mut self) -> Result<Vec<(i64, String)>> {
        self.all(
            "SELECT device_id, instance_id FROM chain_presence ORDER BY device_id",
            &[],
        )
    }
}
