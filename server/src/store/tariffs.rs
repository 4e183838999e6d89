use super::db::Result;
use super::Conn;
use club_shared::{ExpirationPolicy, RefundPolicy};

#[derive(Debug, Clone)]
pub struct TariffRow {
    pub id: i64,
    pub name: String,
    pub duration_seconds: i64,
    pub price: i64,
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
    pub validity_days: Option<i64>,
    pub expiration_policy: ExpirationPolicy,
    pub window_start_minute: Option<i64>,
    pub window_end_minute: Option<i64>,
    pub active: bool,
}

crate::from_row!(TariffRow {
    id,
    name,
    duration_seconds,
    price,
    refund_policy,
    max_bonus_percent,
    validity_days,
    expiration_policy,
    window_start_minute,
    window_end_minute,
    active
});

/// The writable fields of a tariff.
#[derive(Debug, Clone)]
pub struct TariffFields<'a> {
    pub name: &'a str,
    pub duration_seconds: i64,
    pub price: i64,
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
    pub validity_days: Option<i64>,
    pub expiration_policy: ExpirationPolicy,
    pub window_start_minute: Option<i64>,
    pub window_end_minute: Option<i64>,
    pub active: bool,
}

const TARIFF_COLUMNS: &str = "SELECT id, name, duration_seconds, price, refund_policy, \
     max_bonus_percent, validity_days, expiration_policy, window_start_minute, \
     window_end_minute, active FROM tariffs";

pub fn insert_tariff(c: &mut Conn, t: &TariffFields<'_>, now: i64) -> Result<i64> {
    c.insert(
        "INSERT INTO tariffs (name, duration_seconds, price, refund_policy, max_bonus_percent, \
         validity_days, expiration_policy, window_start_minute, window_end_minute, active, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rusqlite::params![
            t.name,
            t.duration_seconds,
            t.price,
            t.refund_policy.as_str(),
            t.max_bonus_percent,
            t.validity_days,
            t.expiration_policy.as_str(),
            t.window_start_minute,
            t.window_end_minute,
            t.active,
            now,
            now
        ],
    )
}

pub fn update_tariff(c: &mut Conn, id: i64, t: &TariffFields<'_>, now: i64) -> Result<()> {
    c.run(
        "UPDATE tariffs SET name = ?, duration_seconds = ?, price = ?, refund_policy = ?, \
         max_bonus_percent = ?, validity_days = ?, expiration_policy = ?, \
         window_start_minute = ?, window_end_minute = ?, active = ?, updated_at = ? WHERE id = ?",
        rusqlite::params![
            t.name,
            t.duration_seconds,
            t.price,
            t.refund_policy.as_str(),
            t.max_bonus_percent,
            t.validity_days,
            t.expiration_policy.as_str(),
            t.window_start_minute,
            t.window_end_minute,
            t.active,
            now,
            id
        ],
    )
    .map(drop)
}

pub fn set_tariff_zones(c: &mut Conn, tariff_id: i64, zone_ids: &[i64]) -> Result<()> {
    c.run(
        "DELETE FROM tariff_zones WHERE tariff_id = ?",
        rusqlite::params![tariff_id],
    )?;
    for z in zone_ids {
        c.run(
            "INSERT INTO tariff_zones (tariff_id, zone_id) VALUES (?, ?)",
            rusqlite::params![tariff_id, z],
        )?;
    }
    Ok(())
}

pub fn tariff_zones(c: &mut Conn, tariff_id: i64) -> Result<Vec<i64>> {
    c.all(
        "SELECT zone_id FROM tariff_zones WHERE tariff_id = ? ORDER BY zone_id",
        rusqlite::params![tariff_id],
    )
}

pub fn get_tariff(c: &mut Conn, id: i64) -> Result<Option<TariffRow>> {
    c.one(
        &format!("{TARIFF_COLUMNS} WHERE id = ?"),
        rusqlite::params![id],
    )
}

pub fn list_tariffs(c: &mut Conn) -> Result<Vec<TariffRow>> {
    c.all(&format!("{TARIFF_COLUMNS} ORDER BY id"), [])
}
