use super::Result;

#[derive(Debug, Clone)]
pub struct ClubRow {
    pub id: i64,
    pub name: String,
    /// Its own clock (IANA); None: the chain's.
    pub time_zone: Option<String>,
    /// Its own no-show rule: minutes of grace, 0 for none; None: the chain's.
    pub no_show_minutes: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ZoneRow {
    pub id: i64,
    pub name: String,
    pub club_id: i64,
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
    /// Its zone's club, for good.
    pub club_id: i64,
}

/// What the store keeps of hall, as every backend answers it.
pub trait Hall {
    /// A new club (its `id` is not read); answers its id.
    fn insert_club(&mut self, club: &ClubRow, now: i64) -> Result<i64>;
    fn list_clubs(&mut self) -> Result<Vec<ClubRow>>;
    /// A club's own time zone; None when it keeps the chain's (or there is
    /// no such club).
    fn club_time_zone(&mut self, id: i64) -> Result<Option<String>>;
    /// Names a club and sets its clock and rules; answers whether it exists.
    fn update_club(&mut self, club: &ClubRow) -> Result<bool>;
    fn insert_zone(&mut self, name: &str, club_id: i64) -> Result<i64>;
    fn list_zones(&mut self) -> Result<Vec<ZoneRow>>;
    /// The club of a zone; None when there is no such zone.
    fn zone_club(&mut self, id: i64) -> Result<Option<i64>>;
    /// A PC in a zone, and so in the zone's club.
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
