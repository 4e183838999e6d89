use super::{Conn, Result};

#[derive(Debug, Clone)]
pub struct ZoneRow {
    pub id: i64,
    pub name: String,
}

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

/// What the store keeps of hall, as every backend answers it.
pub trait Hall {
    fn insert_zone(&mut self, name: &str) -> Result<i64>;
    fn list_zones(&mut self) -> Result<Vec<ZoneRow>>;
    fn zone_exists(&mut self, id: i64) -> Result<bool>;
    fn insert_device(&mut self, name: &str, zone_id: i64, x: i64, y: i64, now: i64) -> Result<i64>;
    fn list_devices(&mut self) -> Result<Vec<DeviceRow>>;
    fn get_device(&mut self, id: i64) -> Result<Option<DeviceRow>>;
    fn device_by_secret(&mut self, secret_hash: &str) -> Result<Option<DeviceRow>>;
    fn device_secret_hash(&mut self, device_id: i64) -> Result<Option<String>>;
    fn insert_enrollment_code(
        &mut self,
        device_id: i64,
        code_hash: &str,
        expires_at: i64,
    ) -> Result<()>;
    /// Marks an unused, unexpired code used and answers its device.
    fn redeem_enrollment_code(&mut self, code_hash: &str, now: i64) -> Result<Option<i64>>;
    fn set_device_secret(
        &mut self,
        device_id: i64,
        secret_hash: &str,
        hostname: &str,
    ) -> Result<()>;
    /// The last published desired state of a device: (seq, JSON).
    fn desired_state(&mut self, device_id: i64) -> Result<Option<(i64, Option<String>)>>;
    /// Publishes a new desired state; answers its sequence number.
    fn bump_desired_state(&mut self, device_id: i64, state: &str) -> Result<i64>;
    /// Publishes a desired state under a sequence number above both the
    /// stored one and `above` (what a re-enrolled agent last applied, from an
    /// earlier database); answers the new number.
    fn raise_desired_state(&mut self, device_id: i64, above: i64, state: &str) -> Result<i64>;
    fn record_device_seen(&mut self, device_id: i64, at: i64, metrics: Option<&str>) -> Result<()>;
    fn update_device(
        &mut self,
        id: i64,
        name: &str,
        zone_id: i64,
        x: i64,
        y: i64,
        enabled: bool,
    ) -> Result<()>;
    /// When the agent last connected to this PC said it started (unix ms).
    fn agent_started_at(&mut self, device_id: i64) -> Result<Option<i64>>;
    fn set_agent_started_at(&mut self, device_id: i64, at: i64) -> Result<()>;
}

pub fn insert_zone(c: &mut Conn, name: &str) -> Result<i64> {
    c.insert_zone(name)
}

pub fn list_zones(c: &mut Conn) -> Result<Vec<ZoneRow>> {
    c.list_zones()
}

pub fn zone_exists(c: &mut Conn, id: i64) -> Result<bool> {
    c.zone_exists(id)
}

pub fn insert_device(
    c: &mut Conn,
    name: &str,
    zone_id: i64,
    x: i64,
    y: i64,
    now: i64,
) -> Result<i64> {
    c.insert_device(name, zone_id, x, y, now)
}

pub fn list_devices(c: &mut Conn) -> Result<Vec<DeviceRow>> {
    c.list_devices()
}

pub fn get_device(c: &mut Conn, id: i64) -> Result<Option<DeviceRow>> {
    c.get_device(id)
}

pub fn device_by_secret(c: &mut Conn, secret_hash: &str) -> Result<Option<DeviceRow>> {
    c.device_by_secret(secret_hash)
}

pub fn device_secret_hash(c: &mut Conn, device_id: i64) -> Result<Option<String>> {
    c.device_secret_hash(device_id)
}

pub fn insert_enrollment_code(
    c: &mut Conn,
    device_id: i64,
    code_hash: &str,
    expires_at: i64,
) -> Result<()> {
    c.insert_enrollment_code(device_id, code_hash, expires_at)
}

/// Marks an unused, unexpired code used and answers its device.
pub fn redeem_enrollment_code(c: &mut Conn, code_hash: &str, now: i64) -> Result<Option<i64>> {
    c.redeem_enrollment_code(code_hash, now)
}

pub fn set_device_secret(
    c: &mut Conn,
    device_id: i64,
    secret_hash: &str,
    hostname: &str,
) -> Result<()> {
    c.set_device_secret(device_id, secret_hash, hostname)
}

/// The last published desired state of a device: (seq, JSON).
pub fn desired_state(c: &mut Conn, device_id: i64) -> Result<Option<(i64, Option<String>)>> {
    c.desired_state(device_id)
}

/// Publishes a new desired state; answers its sequence number.
pub fn bump_desired_state(c: &mut Conn, device_id: i64, state: &str) -> Result<i64> {
    c.bump_desired_state(device_id, state)
}

/// Publishes a desired state under a sequence number above both the
/// stored one and `above` (what a re-enrolled agent last applied, from an
/// earlier database); answers the new number.
pub fn raise_desired_state(c: &mut Conn, device_id: i64, above: i64, state: &str) -> Result<i64> {
    c.raise_desired_state(device_id, above, state)
}

pub fn record_device_seen(
    c: &mut Conn,
    device_id: i64,
    at: i64,
    metrics: Option<&str>,
) -> Result<()> {
    c.record_device_seen(device_id, at, metrics)
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
    c.update_device(id, name, zone_id, x, y, enabled)
}

/// When the agent last connected to this PC said it started (unix ms).
pub fn agent_started_at(c: &mut Conn, device_id: i64) -> Result<Option<i64>> {
    c.agent_started_at(device_id)
}

pub fn set_agent_started_at(c: &mut Conn, device_id: i64, at: i64) -> Result<()> {
    c.set_agent_started_at(device_id, at)
}
