use super::Conn;
use club_shared::{ExpirationPolicy, RefundPolicy};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct TariffRow {
    pub id: i64,
    pub name: String,
    pub duration_seconds: i64,
    pub price: i64,
    #[sqlx(try_from = "String")]
    pub refund_policy: RefundPolicy,
    pub max_bonus_percent: Option<i64>,
    pub validity_days: Option<i64>,
    #[sqlx(try_from = "String")]
    pub expiration_policy: ExpirationPolicy,
    pub window_start_minute: Option<i64>,
    pub window_end_minute: Option<i64>,
    pub active: bool,
}

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

pub async fn insert_tariff(c: &mut Conn, t: &TariffFields<'_>, now: i64) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO tariffs (name, duration_seconds, price, refund_policy, max_bonus_percent, \
         validity_days, expiration_policy, window_start_minute, window_end_minute, active, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(t.name)
    .bind(t.duration_seconds)
    .bind(t.price)
    .bind(t.refund_policy.as_str())
    .bind(t.max_bonus_percent)
    .bind(t.validity_days)
    .bind(t.expiration_policy.as_str())
    .bind(t.window_start_minute)
    .bind(t.window_end_minute)
    .bind(t.active)
    .bind(now)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.last_insert_rowid())
}

pub async fn update_tariff(
    c: &mut Conn,
    id: i64,
    t: &TariffFields<'_>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tariffs SET name = ?, duration_seconds = ?, price = ?, refund_policy = ?, \
         max_bonus_percent = ?, validity_days = ?, expiration_policy = ?, \
         window_start_minute = ?, window_end_minute = ?, active = ?, updated_at = ? WHERE id = ?",
    )
    .bind(t.name)
    .bind(t.duration_seconds)
    .bind(t.price)
    .bind(t.refund_policy.as_str())
    .bind(t.max_bonus_percent)
    .bind(t.validity_days)
    .bind(t.expiration_policy.as_str())
    .bind(t.window_start_minute)
    .bind(t.window_end_minute)
    .bind(t.active)
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(drop)
}

pub async fn set_tariff_zones(c: &mut Conn, tariff_id: i64, zone_ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM tariff_zones WHERE tariff_id = ?")
        .bind(tariff_id)
        .execute(&mut *c)
        .await?;
    for z in zone_ids {
        sqlx::query("INSERT INTO tariff_zones (tariff_id, zone_id) VALUES (?, ?)")
            .bind(tariff_id)
            .bind(z)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

pub async fn tariff_zones(c: &mut Conn, tariff_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT zone_id FROM tariff_zones WHERE tariff_id = ? ORDER BY zone_id")
        .bind(tariff_id)
        .fetch_all(c)
        .await
}

pub async fn get_tariff(c: &mut Conn, id: i64) -> sqlx::Result<Option<TariffRow>> {
    sqlx::query_as(&format!("{TARIFF_COLUMNS} WHERE id = ?"))
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn list_tariffs(c: &mut Conn) -> sqlx::Result<Vec<TariffRow>> {
    sqlx::query_as(&format!("{TARIFF_COLUMNS} ORDER BY id"))
        .fetch_all(c)
        .await
}
