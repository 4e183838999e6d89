use super::db::Result;
use super::Conn;

#[derive(Debug, Clone)]
pub struct ZoneRow {
    pub id: i64,
    pub name: String,
}

crate::from_row!(ZoneRow { id, name });

#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub zone_id: i64,
    pub x: i64,
    pub y: i64,
    pub enabled: bool,
    pub enrolled: bool,
    pub hostname: Option<String>,
    pub last_seen_at: Option<i64>,
    pub metrics: Option<String>,
}

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
    metrics
});

const DEVICE_COLUMNS: &str = "SELECT id, name, zone_id, x, y, enabled, \
     secret_hash IS NOT NULL AS enrolled, hostname, last_seen_at, metrics FROM devices";

pub fn insert_zone(c: &mut Conn, name: &str) -> Result<i64> {
    c.insert(
        "INSERT INTO zones (name) VALUES (?)",
        rusqlite::params![name],
    )
}

pub fn list_zones(c: &mut Conn) -> Result<Vec<ZoneRow>> {
    c.all("SELECT id, name FROM zones ORDER BY id", [])
}

pub fn zone_exists(c: &mut Conn, id: i64) -> Result<bool> {
    c.first(
        "SELECT EXISTS (SELECT 1 FROM zones WHERE id = ?)",
        rusqlite::params![id],
    )
}

pub fn insert_device(
    c: &mut Conn,
    name: &str,
    zone_id: i64,
    x: i64,
    y: i64,
    now: i64,
) -> Result<i64> {
    c.insert(
        "INSERT INTO devices (name, zone_id, x, y, created_at) VALUES (?, ?, ?, ?, ?)",
        rusqlite::params![name, zone_id, x, y, now],
    )
}

pub fn list_devices(c: &mut Conn) -> Result<Vec<DeviceRow>> {
    c.all(&format!("{DEVICE_COLUMNS} ORDER BY zone_id, id"), [])
}

pub fn get_device(c: &mut Conn, id: i64) -> Result<Option<DeviceRow>> {
    c.one(
        &format!("{DEVICE_COLUMNS} WHERE id = ?"),
        rusqlite::params![id],
    )
}

pub fn device_by_secret(c: &mut Conn, secret_hash: &str) -> Result<Option<DeviceRow>> {
    c.one(
        &format!("{DEVICE_COLUMNS} WHERE secret_hash = ? AND enabled = 1"),
        rusqlite::params![secret_hash],
    )
}

pub fn device_secret_hash(c: &mut Conn, device_id: i64) -> Result<Option<String>> {
    c.one(
        "SELECT secret_hash FROM devices WHERE id = ? AND enabled = 1",
        rusqlite::params![device_id],
    )
    .map(Option::flatten)
}

pub fn insert_enrollment_code(
    c: &mut Conn,
    device_id: i64,
    code_hash: &str,
    expires_at: i64,
) -> Result<()> {
    // A fresh code replaces any unused one for the same PC.
    c.run(
        "DELETE FROM enrollment_codes WHERE device_id = ? AND used_at IS NULL",
        rusqlite::params![device_id],
    )?;
    c.run(
        "INSERT INTO enrollment_codes (code_hash, device_id, expires_at) VALUES (?, ?, ?)",
        rusqlite::params![code_hash, device_id, expires_at],
    )
    .map(drop)
}

/// Marks an unused, unexpired code used and answers its device.
pub fn redeem_enrollment_code(c: &mut Conn, code_hash: &str, now: i64) -> Result<Option<i64>> {
    c.one(
        "UPDATE enrollment_codes SET used_at = ? \
         WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING device_id",
        rusqlite::params![now, code_hash, now],
    )
}

pub fn set_device_secret(
    c: &mut Conn,
    device_id: i64,
    secret_hash: &str,
    hostname: &str,
) -> Result<()> {
    c.run(
        "UPDATE devices SET secret_hash = ?, hostname = ? WHERE id = ?",
        rusqlite::params![secret_hash, hostname, device_id],
    )
    .map(drop)
}

/// The last published desired state of a device: (seq, JSON).
pub fn desired_state(c: &mut Conn, device_id: i64) -> Result<Option<(i64, Option<String>)>> {
    c.one(
        "SELECT desired_seq, desired_state FROM devices WHERE id = ?",
        rusqlite::params![device_id],
    )
}

/// Publishes a new desired state; answers its sequence number.
pub fn bump_desired_state(c: &mut Conn, device_id: i64, state: &str) -> Result<i64> {
    c.first(
        "UPDATE devices SET desired_seq = desired_seq + 1, desired_state = ? WHERE id = ? \
         RETURNING desired_seq",
        rusqlite::params![state, device_id],
    )
}

/// Publishes a desired state under a sequence number above both the
/// stored one and `above` (what a re-enrolled agent last applied, from an
/// earlier database); answers the new number.
pub fn raise_desired_state(c: &mut Conn, device_id: i64, above: i64, state: &str) -> Result<i64> {
    c.first(
        "UPDATE devices SET desired_seq = MAX(desired_seq, ?) + 1, desired_state = ? \
         WHERE id = ? RETURNING desired_seq",
        rusqlite::params![above, state, device_id],
    )
}

pub fn record_device_seen(
    c: &mut Conn,
    device_id: i64,
    at: i64,
    metrics: Option<&str>,
) -> Result<()> {
    c.run(
        "UPDATE devices SET last_seen_at = ?, metrics = COALESCE(?, metrics) WHERE id = ?",
        rusqlite::params![at, metrics, device_id],
    )
    .map(drop)
}

pub fn update_device(
    c: &mut Conn,
    id: i64,
    name: &str,
    zone_id: i64,
    x: i64,
    y: i64,
    enabled: bool,
) -> Result<()> {
    c.run(
        "UPDATE devices SET name = ?, zone_id = ?, x = ?, y = ?, enabled = ? WHERE id = ?",
        rusqlite::params![name, zone_id, x, y, enabled, id],
    )
    .map(drop)
}

/// When the agent last connected to this PC said it started (unix ms).
pub fn agent_started_at(c: &mut Conn, device_id: i64) -> Result<Option<i64>> {
    c.one(
        "SELECT agent_started_at FROM devices WHERE id = ?",
        rusqlite::params![device_id],
    )
    .map(Option::flatten)
}

pub fn set_agent_started_at(c: &mut Conn, device_id: i64, at: i64) -> Result<()> {
    c.run(
        "UPDATE devices SET agent_started_at = ? WHERE id = ?",
        rusqlite::params![at, device_id],
    )
    .map(drop)
}
