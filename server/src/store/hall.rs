use super::Conn;
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct ZoneRow {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, FromRow)]
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

const DEVICE_COLUMNS: &str = "SELECT id, name, zone_id, x, y, enabled, \
     secret_hash IS NOT NULL AS enrolled, hostname, last_seen_at, metrics FROM devices";

pub async fn insert_zone(c: &mut Conn, name: &str) -> sqlx::Result<i64> {
    sqlx::query("INSERT INTO zones (name) VALUES (?)")
        .bind(name)
        .execute(c)
        .await
        .map(|r| r.last_insert_rowid())
}

pub async fn list_zones(c: &mut Conn) -> sqlx::Result<Vec<ZoneRow>> {
    sqlx::query_as("SELECT id, name FROM zones ORDER BY id")
        .fetch_all(c)
        .await
}

pub async fn zone_exists(c: &mut Conn, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM zones WHERE id = ?)")
        .bind(id)
        .fetch_one(c)
        .await
}

pub async fn insert_device(
    c: &mut Conn,
    name: &str,
    zone_id: i64,
    x: i64,
    y: i64,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query("INSERT INTO devices (name, zone_id, x, y, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(name)
        .bind(zone_id)
        .bind(x)
        .bind(y)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.last_insert_rowid())
}

pub async fn list_devices(c: &mut Conn) -> sqlx::Result<Vec<DeviceRow>> {
    sqlx::query_as(&format!("{DEVICE_COLUMNS} ORDER BY zone_id, id"))
        .fetch_all(c)
        .await
}

pub async fn get_device(c: &mut Conn, id: i64) -> sqlx::Result<Option<DeviceRow>> {
    sqlx::query_as(&format!("{DEVICE_COLUMNS} WHERE id = ?"))
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn device_by_secret(c: &mut Conn, secret_hash: &str) -> sqlx::Result<Option<DeviceRow>> {
    sqlx::query_as(&format!(
        "{DEVICE_COLUMNS} WHERE secret_hash = ? AND enabled = 1"
    ))
    .bind(secret_hash)
    .fetch_optional(c)
    .await
}

pub async fn device_secret_hash(c: &mut Conn, device_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT secret_hash FROM devices WHERE id = ? AND enabled = 1")
        .bind(device_id)
        .fetch_optional(c)
        .await
        .map(Option::flatten)
}

pub async fn insert_enrollment_code(
    c: &mut Conn,
    device_id: i64,
    code_hash: &str,
    expires_at: i64,
) -> sqlx::Result<()> {
    // A fresh code replaces any unused one for the same PC.
    sqlx::query("DELETE FROM enrollment_codes WHERE device_id = ? AND used_at IS NULL")
        .bind(device_id)
        .execute(&mut *c)
        .await?;
    sqlx::query("INSERT INTO enrollment_codes (code_hash, device_id, expires_at) VALUES (?, ?, ?)")
        .bind(code_hash)
        .bind(device_id)
        .bind(expires_at)
        .execute(c)
        .await
        .map(drop)
}

/// Marks an unused, unexpired code used and answers its device.
pub async fn redeem_enrollment_code(
    c: &mut Conn,
    code_hash: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE enrollment_codes SET used_at = ? \
         WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING device_id",
    )
    .bind(now)
    .bind(code_hash)
    .bind(now)
    .fetch_optional(c)
    .await
}

pub async fn set_device_secret(
    c: &mut Conn,
    device_id: i64,
    secret_hash: &str,
    hostname: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE devices SET secret_hash = ?, hostname = ? WHERE id = ?")
        .bind(secret_hash)
        .bind(hostname)
        .bind(device_id)
        .execute(c)
        .await
        .map(drop)
}

/// The last published desired state of a device: (seq, JSON).
pub async fn desired_state(
    c: &mut Conn,
    device_id: i64,
) -> sqlx::Result<Option<(i64, Option<String>)>> {
    sqlx::query_as("SELECT desired_seq, desired_state FROM devices WHERE id = ?")
        .bind(device_id)
        .fetch_optional(c)
        .await
}

/// Publishes a new desired state; answers its sequence number.
pub async fn bump_desired_state(c: &mut Conn, device_id: i64, state: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "UPDATE devices SET desired_seq = desired_seq + 1, desired_state = ? WHERE id = ? \
         RETURNING desired_seq",
    )
    .bind(state)
    .bind(device_id)
    .fetch_one(c)
    .await
}

/// Publishes a desired state under a sequence number above both the
/// stored one and `above` (what a re-enrolled agent last applied, from an
/// earlier database); answers the new number.
pub async fn raise_desired_state(
    c: &mut Conn,
    device_id: i64,
    above: i64,
    state: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "UPDATE devices SET desired_seq = MAX(desired_seq, ?) + 1, desired_state = ? \
         WHERE id = ? RETURNING desired_seq",
    )
    .bind(above)
    .bind(state)
    .bind(device_id)
    .fetch_one(c)
    .await
}

pub async fn record_device_seen(
    c: &mut Conn,
    device_id: i64,
    at: i64,
    metrics: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE devices SET last_seen_at = ?, metrics = COALESCE(?, metrics) WHERE id = ?")
        .bind(at)
        .bind(metrics)
        .bind(device_id)
        .execute(c)
        .await
        .map(drop)
}

pub async fn update_device(
    c: &mut Conn,
    id: i64,
    name: &str,
    zone_id: i64,
    x: i64,
    y: i64,
    enabled: bool,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE devices SET name = ?, zone_id = ?, x = ?, y = ?, enabled = ? WHERE id = ?")
        .bind(name)
        .bind(zone_id)
        .bind(x)
        .bind(y)
        .bind(enabled)
        .bind(id)
        .execute(c)
        .await
        .map(drop)
}

/// When the agent last connected to this PC said it started (unix ms).
pub async fn agent_started_at(c: &mut Conn, device_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT agent_started_at FROM devices WHERE id = ?")
        .bind(device_id)
        .fetch_optional(c)
        .await
        .map(Option::flatten)
}

pub async fn set_agent_started_at(c: &mut Conn, device_id: i64, at: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE devices SET agent_started_at = ? WHERE id = ?")
        .bind(at)
        .bind(device_id)
        .execute(c)
        .await
        .map(drop)
}
