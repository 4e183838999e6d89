use super::{json, required_text, Actor, Service};
use crate::domain::Window;
use crate::error::{Error, Result};
use crate::requests::tariffs::TariffInput;
use crate::store::{self, Conn, TariffFields};
use club_shared::{Event, Minor, Permission, TariffView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Club settings (GET and PUT /settings).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Cancel sessions not started this many minutes after planned start;
    /// null = off. The chain's rule: a club may keep its own (`ClubView`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub no_show_minutes: Option<i64>,
    /// Warn the player this many seconds before the end.
    #[serde(default = "default_warn")]
    #[schema(minimum = 0, maximum = 3600)]
    pub warn_before_end_seconds: i64,
    /// The club's time zone (IANA, e.g. `Europe/Berlin`): tariff windows and
    /// club days follow its clock, daylight saving included.
    #[serde(default = "default_time_zone")]
    #[schema(schema_with = time_zone_schema)]
    pub time_zone: String,
    /// The region (ISO 3166 two-letter code) a phone number typed without
    /// `+` is read in; every number is kept in E.164.
    #[serde(default = "default_region")]
    #[schema(schema_with = crate::phone::region_schema)]
    pub phone_region: String,
    /// Cash and card money (top-ups, refunds paid out) needs the
    /// operator's open shift, so that the till can be reconciled.
    #[serde(default = "default_true")]
    pub require_open_shift: bool,
    /// The page asks for a confirmation before taking more than this
    /// (minor units) in a top-up or a sale; every cash payout is confirmed.
    #[serde(default = "default_confirm_above")]
    #[schema(value_type = i64, minimum = 0, maximum = 1000000000)]
    pub confirm_above: Minor,
}

fn default_confirm_above() -> Minor {
    100_00
}

fn default_true() -> bool {
    true
}

fn default_time_zone() -> String {
    "UTC".into()
}

/// `time_zone` as the document states it: one of the IANA names.
pub fn time_zone_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())))
        .description(Some(
            "The club's time zone (IANA): tariff windows and club days follow its clock.",
        ))
        .build()
}

impl Settings {
    /// The club's time zone (UTC if the stored name is unknown, which a PUT
    /// never lets in).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// The zone that keeps what a fixed offset (the setting before time zones)
/// meant, named so that it stays that offset all year.
pub(crate) fn zone_for_offset(minutes: i64) -> Option<&'static str> {
    let fixed = [
        (0, "UTC"),
        (210, "Asia/Tehran"),
        (270, "Asia/Kabul"),
        (330, "Asia/Kolkata"),
        (345, "Asia/Kathmandu"),
        (390, "Asia/Yangon"),
        (525, "Australia/Eucla"),
        (570, "Australia/Darwin"),
        (-570, "Pacific/Marquesas"),
    ];
    if let Some((_, z)) = fixed.iter().find(|(m, _)| *m == minutes) {
        return Some(z);
    }
    if minutes % 60 != 0 || !(-12..=14).contains(&(minutes / 60)) {
        return None;
    }
    // Etc/GMT names count the other way: UTC+2 is Etc/GMT-2.
    let name = format!("Etc/GMT{:+}", -(minutes / 60));
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .find(|n| *n == name)
}

fn default_region() -> String {
    crate::phone::DEFAULT_REGION.to_owned()
}

fn default_warn() -> i64 {
    300
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            no_show_minutes: None,
            warn_before_end_seconds: default_warn(),
            time_zone: default_time_zone(),
            phone_region: default_region(),
            require_open_shift: true,
            confirm_above: default_confirm_above(),
        }
    }
}

const SETTINGS_KEY: &str = "club";

pub(crate) fn load_settings(c: &mut Conn) -> Result<Settings> {
    let Some(stored) = c.get_setting(SETTINGS_KEY)? else {
        return Ok(Settings::default());
    };
    let value = serde_json::from_str(&stored).map_err(|e| Error::Internal(e.into()))?;
    let (settings, _) = upgrade_settings(value)?;
    Ok(settings)
}

/// Stored settings as this server reads them: an older `utc_offset_minutes`
/// becomes the `time_zone` that keeps it. Answers whether anything changed.
pub(crate) fn upgrade_settings(mut value: serde_json::Value) -> Result<(Settings, bool)> {
    let mut upgraded = false;
    if let Some(obj) = value.as_object_mut() {
        if let Some(offset) = obj.remove("utc_offset_minutes") {
            upgraded = true;
            if !obj.contains_key("time_zone") {
                let minutes = offset.as_i64().unwrap_or(0);
                let zone = zone_for_offset(minutes).unwrap_or_else(|| {
                    tracing::warn!(
                        minutes,
                        "no time zone keeps this UTC offset; the club's is UTC now"
                    );
                    "UTC"
                });
                obj.insert("time_zone".into(), zone.into());
            }
        }
    }
    let settings = serde_json::from_value(value).map_err(|e| Error::Internal(e.into()))?;
    Ok((settings, upgraded))
}

pub(crate) fn tariff_window(t: &store::TariffRow) -> Option<Window> {
    Window::from_columns(t.window_start_minute, t.window_end_minute)
}

pub(crate) fn tariff_view(c: &mut Conn, t: store::TariffRow) -> Result<TariffView> {
    let zone_ids = c.tariff_zones(t.id)?;
    Ok(TariffView {
        id: t.id,
        name: t.name,
        duration_seconds: t.duration_seconds,
        price: t.price,
        refund_policy: t.refund_policy,
        max_bonus_percent: t.max_bonus_percent,
        validity_days: t.validity_days,
        expiration_policy: t.expiration_policy,
        window_start_minute: t.window_start_minute,
        window_end_minute: t.window_end_minute,
        zone_ids,
        active: t.active,
    })
}

fn validate(t: &TariffInput) -> Result<String> {
    let name = required_text("name", &t.name, 80)?;
    if t.duration_seconds < 1 {
        return Err(Error::bad("duration_seconds", "must be at least 1"));
    }
    if t.duration_seconds > 366 * 86_400 {
        return Err(Error::bad("duration_seconds", "must be at most a year"));
    }
    if !(0..=100_000_000_00).contains(&t.price) {
        return Err(Error::bad("price", "must be zero or more minor units"));
    }
    if let Some(p) = t.max_bonus_percent {
        if !(0..=100).contains(&p) {
            return Err(Error::bad("max_bonus_percent", "must be null or 0..100"));
        }
    }
    if let Some(d) = t.validity_days {
        if !(1..=3650).contains(&d) {
            return Err(Error::bad("validity_days", "must be null or 1..3650"));
        }
    }
    match (t.window_start_minute, t.window_end_minute) {
        (None, None) => {}
        (Some(s), Some(e)) => {
            for (field, v) in [("window_start_minute", s), ("window_end_minute", e)] {
                if !(0..1440).contains(&v) {
                    return Err(Error::bad(
                        field,
                        "must be 0..1439 (minutes after midnight)",
                    ));
                }
            }
            if s == e {
                return Err(Error::bad(
                    "window_end_minute",
                    "must differ from the start",
                ));
            }
        }
        _ => {
            return Err(Error::bad(
                "window_start_minute",
                "give both window_start_minute and window_end_minute, or neither",
            ))
        }
    }
    Ok(name)
}

impl Service {
    pub async fn list_tariffs(&self) -> Result<Vec<TariffView>> {
        let mut tx = self.store.snapshot().await?;
        let mut out = Vec::new();
        for t in tx.list_tariffs()? {
            out.push(tariff_view(&mut *tx, t)?);
        }
        Ok(out)
    }

    pub async fn tariff(&self, id: i64) -> Result<TariffView> {
        let mut tx = self.store.snapshot().await?;
        let t = tx
            .get_tariff(id)?
            .ok_or_else(|| Error::not_found("tariff", id))?;
        tariff_view(&mut *tx, t)
    }

    /// Creates a tariff (`id` None) or changes one. A change affects future
    /// segments only: open sessions keep the policy they snapshotted.
    pub async fn save_tariff(
        &self,
        actor: &Actor,
        id: Option<i64>,
        req: TariffInput,
    ) -> Result<TariffView> {
        actor.require(Permission::TariffManage)?;
        actor.require_chain()?;
        let name = validate(&req)?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |_, tx| {
            let actor = &actor;
            for z in &req.zone_ids {
                if tx.zone_club(*z)?.is_none() {
                    return Err(Error::NotFound(format!("zone_ids: zone {z} not found")));
                }
            }
            let fields = TariffFields {
                name: &name,
                duration_seconds: req.duration_seconds,
                price: req.price,
                refund_policy: req.refund_policy,
                max_bonus_percent: req.max_bonus_percent,
                validity_days: req.validity_days,
                expiration_policy: req.expiration_policy,
                window_start_minute: req.window_start_minute,
                window_end_minute: req.window_end_minute,
                active: req.active,
            };
            let (id, before) = match id {
                Some(id) => {
                    let old = tx
                        .get_tariff(id)?
                        .ok_or_else(|| Error::not_found("tariff", id))?;
                    let before = tariff_view(&mut *tx, old)?;
                    tx.update_tariff(id, &fields, store::ms(now))?;
                    (id, Some(before))
                }
                None => (tx.insert_tariff(&fields, store::ms(now))?, None),
            };
            tx.set_tariff_zones(id, &req.zone_ids)?;
            let row = tx
                .get_tariff(id)?
                .ok_or_else(|| Error::not_found("tariff", id))?;
            let view = tariff_view(&mut *tx, row)?;
            let kind = if before.is_some() {
                "tariff.update"
            } else {
                "tariff.create"
            };
            let mut a = actor.audit(kind, now);
            a.before = before.as_ref().and_then(json);
            a.after = json(&view);
            tx.insert_audit(&a)?;
            let events = vec![Event::TariffChanged { tariff_id: id }];
            Ok((view, events))
        })
        .await
    }

    pub async fn settings(&self) -> Result<Settings> {
        let mut c = self.store.read().await?;
        load_settings(&mut *c)
    }

    /// Stores settings kept by an older server in this one's shape (a UTC
    /// offset becomes a time zone), audited; answers whether it did.
    pub async fn upgrade_stored_settings(&self) -> Result<bool> {
        let now = self.now();
        self.run(move |_, tx| {
            let Some(stored) = tx.get_setting(SETTINGS_KEY)? else {
                return Ok((false, Vec::new()));
            };
            let before: serde_json::Value =
                serde_json::from_str(&stored).map_err(|e| Error::Internal(e.into()))?;
            let (settings, upgraded) = upgrade_settings(before.clone())?;
            if !upgraded {
                return Ok((false, Vec::new()));
            }
            let value = serde_json::to_string(&settings).map_err(|e| Error::Internal(e.into()))?;
            tx.put_setting(SETTINGS_KEY, &value)?;
            let mut a = Actor::System.audit("settings.upgraded", now);
            a.before = Some(before);
            a.after = json(&settings);
            tx.insert_audit(&a)?;
            Ok((true, Vec::new()))
        })
        .await
    }

    /// The region phone numbers without `+` are read in.
    pub(crate) async fn phone_region(&self) -> Result<phonenumber::country::Id> {
        let region = self.settings().await?.phone_region;
        crate::phone::region(&region).map_err(|why| Error::Internal(anyhow::anyhow!(why)))
    }

    pub async fn put_settings(&self, actor: &Actor, s: Settings) -> Result<Settings> {
        actor.require(Permission::RoleManage)?;
        actor.require_chain()?;
        if let Some(m) = s.no_show_minutes {
            if !(1..=1440).contains(&m) {
                return Err(Error::bad("no_show_minutes", "must be null or 1..1440"));
            }
        }
        if !(0..=super::clients::MAX_TOP_UP).contains(&s.confirm_above) {
            return Err(Error::bad(
                "confirm_above",
                format!(
                    "must be 0..{}",
                    club_shared::major(super::clients::MAX_TOP_UP)
                ),
            ));
        }
        if !(0..=3600).contains(&s.warn_before_end_seconds) {
            return Err(Error::bad("warn_before_end_seconds", "must be 0..3600"));
        }
        if s.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::bad(
                "time_zone",
                format!(
                    "{:?} is not a time zone (an IANA name such as Europe/Berlin)",
                    s.time_zone
                ),
            ));
        }
        let region =
            crate::phone::region(&s.phone_region).map_err(|why| Error::bad("phone_region", why))?;
        let s = Settings {
            phone_region: region.as_ref().to_owned(),
            ..s
        };
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let before = load_settings(&mut *tx)?;
            let value = serde_json::to_string(&s).map_err(|e| Error::Internal(e.into()))?;
            tx.put_setting(SETTINGS_KEY, &value)?;
            let mut a = actor.audit("settings.update", this.now());
            a.before = json(&before);
            a.after = json(&s);
            tx.insert_audit(&a)?;
            let events = vec![];
            Ok((s, events))
        })
        .await
        .inspect(|_| self.schedule_changed().notify_one())
    }
}
