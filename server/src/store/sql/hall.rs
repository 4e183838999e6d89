use crate::store::hall::*;
use crate::store::sql::{Result, Sql};

crate::from_row!(ClubRow {
    id,
    name,
    time_zone,
    no_show_minutes
});

crate::from_row!(ZoneRow { id, name, club_id });

crate::from_row!(DeviceRow {
    id,
    name,
    zone_id,
    x,
    y,
    enabled,
    enrolled,
    hostname,
    last_seen_at,
    metrics,
    club_id
});

const DEVICE_COLUMNS: &str = "SELECT d.id, d.name, d.zone_id, d.x, d.y, d.enabled, \
     d.secret_hash IS NOT NULL AS enrolled, d.hostname, d.last_seen_at, d.metrics, \
     d.club_id FROM devices d";

impl<D: Sql> Hall for D {
    fn insert_club(&mut self, k: &ClubRow, now: i64) -> Result<i64> {
        let c = self;
        c.insert(
            "INSERT INTO clubs (name, time_zone, no_show_minutes, created_at) VALUES (?, ?, ?, ?)",
            crate::args![k.name, k.time_zone, k.no_show_minutes, now],
        )
    }

    fn list_clubs(&mut self) -> Result<Vec<ClubRow>> {
        let c = self;
        c.all(
            "SELECT id, name, time_zone, no_show_minutes FROM clubs ORDER BY id",
            &[],
        )
    }

    fn club_time_zone(&mut self, id: i64) -> Result<Option<String>> {
        let c = self;
        c.one("SELECT time_zone FROM clubs WHERE id = ?", crate::args![id])
            .map(Option::flatten)
    }

    fn update_club(&mut self, k: &ClubRow) -> Result<bool> {
        let c = self;
        c.run(
            "UPDATE clubs SET name = ?, time_zone = ?, no_show_minutes = ? WHERE id = ?",
            crate::args![k.name, k.time_zone, k.no_show_minutes, k.id],
        )
        .map(|n| n > 0)
    }

    fn insert_zone(&mut self, name: &str, club_id: i64) -> Result<i64> {
        let c = self;
        c.insert(
            "INSERT INTO zones (name, club_id) VALUES (?, ?)",
            crate::args![name, club_id],
        )
    }

    fn list_zones(&mut self) -> Result<Vec<ZoneRow>> {
        let c = self;
        c.all("SELECT id, name, club_id FROM zones ORDER BY id", &[])
    }

    fn zone_club(&mut self, id: i64) -> Result<Option<i64>> {
        let c = self;
        c.one("SELECT club_id FROM zones WHERE id = ?", crate::args![id])
    }

    fn insert_device(&mut self, name: &str, zone_id: i64, x: i64, y: i64, now: i64) -> Result<i64> {
        let c = self;
        c.insert(
            "INSERT INTO devices (name, zone_id, club_id, x, y, created_at) \
             VALUES (?, ?, (SELECT club_id FROM zones WHERE id = ?), ?, ?, ?)",
            crate::args![name, zone_id, zone_id, x, y, now],
        )
    }

    fn list_devices(&mut self) -> Result<Vec<DeviceRow>> {
        let c = self;
        c.all(&format!("{DEVICE_COLUMNS} ORDER BY d.zone_id, d.id"), &[])
    }

    fn get_device(&mut self, id: i64) -> Result<Option<DeviceRow>> {
        let c = self;
        c.one(
            &format!("{DEVICE_COLUMNS} WHERE d.id = ?"),
            crate::args![id],
        )
    }

    fn device_by_secret(&mut self, secret_hash: &str) -> Result<Option<DeviceRow>> {
        let c = self;
        c.one(
            &format!("{DEVICE_COLUMNS} WHERE d.secret_hash = ?"),
            crate::args![secret_hash],
        )
    }

    fn device_secret_hash(&mut self, device_id: i64) -> Result<Option<String>> {
        let c = self;
        c.one(
            "SELECT secret_hash FROM devices WHERE id = ? AND enabled = 1",
            crate::args![device_id],
        )
        .map(Option::flatten)
    }

    fn insert_enrollment_code(
        &mut self,
        device_id: i64,
        code_hash: &str,
        expires_at: i64,
    ) -> Result<()> {
        let c = self;
        // A fresh code replaces any unused one for the same PC.
        c.run(
            "DELETE FROM enrollment_codes WHERE device_id = ? AND used_at IS NULL",
            crate::args![device_id],
        )?;
        c.run(
            "INSERT INTO enrollment_codes (code_hash, device_id, expires_at) VALUES (?, ?, ?)",
            crate::args![code_hash, device_id, expires_at],
        )
        .map(drop)
    }

    fn redeem_enrollment_code(&mut self, code_hash: &str, now: i64) -> Result<Option<i64>> {
        let c = self;
        c.one(
            "UPDATE enrollment_codes SET used_at = ? \
         WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING device_id",
            crate::args![now, code_hash, now],
        )
    }

    fn set_device_secret(
        &mut self,
        device_id: i64,
        secret_hash: &str,
        hostname: &str,
    ) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE devices SET secret_hash = ?, hostname = ? WHERE id = ?",
            crate::args![secret_hash, hostname, device_id],
        )
        .map(drop)
    }

    fn desired_state(&mut self, device_id: i64) -> Result<Option<(i64, Option<String>)>> {
        let c = self;
        c.one(
            "SELECT desired_seq, desired_state FROM devices WHERE id = ?",
            crate::args![device_id],
        )
    }

    fn bump_desired_state(&mut self, device_id: i64, state: &str) -> Result<i64> {
        let c = self;
        c.first(
            "UPDATE devices SET desired_seq = desired_seq + 1, desired_state = ? WHERE id = ? \
         RETURNING desired_seq",
            crate::args![state, device_id],
        )
    }

    fn raise_desired_state(&mut self, device_id: i64, above: i64, state: &str) -> Result<i64> {
        let c = self;
        c.first(
            "UPDATE devices SET desired_seq = \
         CASE WHEN desired_seq > ?1 THEN desired_seq ELSE ?1 END + 1, desired_state = ?2 \
         WHERE id = ?3 RETURNING desired_seq",
            crate::args![above, state, device_id],
        )
    }

    fn record_device_seen(&mut self, device_id: i64, at: i64, metrics: Option<&str>) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE devices SET last_seen_at = ?, metrics = COALESCE(?, metrics) WHERE id = ?",
            crate::args![at, metrics, device_id],
        )
        .map(drop)
    }

    fn update_device(
        &mut self,
        id: i64,
        name: &str,
        zone_id: i64,
        x: i64,
        y: i64,
        enabled: bool,
    ) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE devices SET name = ?, zone_id = ?, x = ?, y = ?, enabled = ? WHERE id = ?",
            crate::args![name, zone_id, x, y, enabled, id],
        )
        .map(drop)
    }

    fn agent_started_at(&mut self, device_id: i64) -> Result<Option<i64>> {
        let c = self;
        c.one(
            "SELECT agent_started_at FROM devices WHERE id = ?",
            crate::args![device_id],
        )
        .map(Option::flatten)
    }

    fn set_agent_started_at(&mut self, device_id: i64, at: i64) -> Result<()> {
        let c = self;
        c.run(
            "UPDATE devices SET agent_started_at = ? WHERE id = ?",
            crate::args![at, device_id],
        )
        .map(drop)
    }
}
