use crate::store::sql::cache::keep;
use crate::store::sql::{Result, Sql};
use crate::store::tariffs::*;

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

const TARIFF_COLUMNS: &str = "SELECT id, name, duration_seconds, price, refund_policy, \
     max_bonus_percent, validity_days, expiration_policy, window_start_minute, \
     window_end_minute, active FROM tariffs";

impl<D: Sql> Tariffs for D {
    fn insert_tariff(&mut self, t: &TariffFields<'_>, now: i64) -> Result<i64> {
        self.writes_cached();
        let c = self;
        c.insert(
        "INSERT INTO tariffs (name, duration_seconds, price, refund_policy, max_bonus_percent, \
         validity_days, expiration_policy, window_start_minute, window_end_minute, active, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        crate::args![
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

    fn update_tariff(&mut self, id: i64, t: &TariffFields<'_>, now: i64) -> Result<()> {
        self.writes_cached();
        let c = self;
        c.run(
            "UPDATE tariffs SET name = ?, duration_seconds = ?, price = ?, refund_policy = ?, \
         max_bonus_percent = ?, validity_days = ?, expiration_policy = ?, \
         window_start_minute = ?, window_end_minute = ?, active = ?, updated_at = ? WHERE id = ?",
            crate::args![
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

    fn set_tariff_zones(&mut self, tariff_id: i64, zone_ids: &[i64]) -> Result<()> {
        self.writes_cached();
        let c = self;
        c.run(
            "DELETE FROM tariff_zones WHERE tariff_id = ?",
            crate::args![tariff_id],
        )?;
        for z in zone_ids {
            c.run(
                "INSERT INTO tariff_zones (tariff_id, zone_id) VALUES (?, ?)",
                crate::args![tariff_id, z],
            )?;
        }
        Ok(())
    }

    fn tariff_zones(&mut self, tariff_id: i64) -> Result<Vec<i64>> {
        self.cached(
            |m| m.tariff_zones.get(&tariff_id).cloned(),
            |c| {
                c.all(
                    "SELECT zone_id FROM tariff_zones WHERE tariff_id = ? ORDER BY zone_id",
                    crate::args![tariff_id],
                )
            },
            |m, v| keep(&mut m.tariff_zones, tariff_id, v.clone()),
        )
    }

    fn get_tariff(&mut self, id: i64) -> Result<Option<TariffRow>> {
        self.cached(
            |m| m.tariffs.get(&id).cloned(),
            |c| c.one(&format!("{TARIFF_COLUMNS} WHERE id = ?"), crate::args![id]),
            |m, v| keep(&mut m.tariffs, id, v.clone()),
        )
    }

    fn list_tariffs(&mut self) -> Result<Vec<TariffRow>> {
        let c = self;
        c.all(&format!("{TARIFF_COLUMNS} ORDER BY id"), &[])
    }
}
