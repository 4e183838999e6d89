use super::enrollment::{AgentCommands, ENROLLMENT_TTL_HOURS};
use super::{json, required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::requests::hall::{NewDevice, NewZone};
use crate::secrets;
use crate::store::{self, at_opt, Conn};
use club_shared::{
    DeviceSession, DeviceView, Event, HallSnapshot, Permission, PlannedSegment, SessionStatus,
    ZoneView,
};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDevice {
    #[serde(flatten)]
    pub device: DeviceView,
    /// One-time code for `club-agent enroll`; valid for 24 hours.
    pub enrollment_code: String,
    pub enrollment_expires_at: chrono::DateTime<chrono::Utc>,
    /// When the server serves TLS: the SHA-256 of its certificate, for
    /// `club-agent enroll --server-cert-sha256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cert_sha256: Option<String>,
    /// What to run on the PC: the enroll command, and the Linux and Windows
    /// installers (packaging/linux/install-agent.sh,
    /// packaging/windows/install-agent.ps1) that also set up the service.
    /// Made from the address the desk reached the server at.
    #[serde(flatten)]
    pub commands: Option<AgentCommands>,
}

impl Service {
    /// The zones the caller sees (their club's, or every club's).
    pub async fn list_zones(&self, actor: &Actor) -> Result<Vec<ZoneView>> {
        let mut c = self.store.read().await?;
        Ok(c.list_zones()?
            .into_iter()
            .filter(|z| actor.sees(z.club_id))
            .map(zone_view)
            .collect())
    }

    pub async fn create_zone(&self, actor: &Actor, req: NewZone) -> Result<ZoneView> {
        actor.require(Permission::DeviceManage)?;
        let name = required_text("name", &req.name, 60)?;
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let club_id = super::clubs::pick_club(&mut *tx, actor, req.club_id)?;
            let id = tx.insert_zone(&name, club_id)?;
            let view = ZoneView { id, name, club_id };
            let mut a = actor.audit("zone.create", this.now());
            a.after = json(&view);
            tx.insert_audit(&a)?;
            let events = vec![];
            Ok((view, events))
        })
        .await
    }

    pub async fn create_device(&self, actor: &Actor, req: NewDevice) -> Result<CreatedDevice> {
        actor.require(Permission::DeviceManage)?;
        let name = required_text("name", &req.name, 60)?;
        for (field, v) in [("x", req.x), ("y", req.y)] {
            if !(0..=10_000).contains(&v) {
                return Err(Error::bad(field, "must be between 0 and 10000"));
            }
        }
        let now = self.now();
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            if !tx.zone_club(req.zone_id)?.is_some_and(|k| actor.sees(k)) {
                return Err(Error::NotFound(format!(
                    "zone_id: zone {} not found",
                    req.zone_id
                )));
            }
            let id = tx.insert_device(&name, req.zone_id, req.x, req.y, store::ms(now))?;
            let code = secrets::enrollment_code();
            let expires = now + chrono::Duration::hours(ENROLLMENT_TTL_HOURS);
            tx.insert_enrollment_code(id, &secrets::digest(&code), store::ms(expires))?;
            let device = this.device_view_in(&mut *tx, id)?;
            let mut a = actor.audit("device.create", now);
            a.device_id = Some(id);
            a.after = json(&device);
            tx.insert_audit(&a)?;
            let events = vec![Event::DeviceChanged { device_id: id }];
            Ok((
                CreatedDevice {
                    device,
                    enrollment_code: code,
                    enrollment_expires_at: expires,
                    server_cert_sha256: this.server_cert_sha256(),
                    commands: None,
                },
                events,
            ))
        })
        .await
    }

    pub async fn device(&self, id: i64) -> Result<DeviceView> {
        let mut tx = self.store.snapshot().await?;
        self.device_view_in(&mut *tx, id)
    }

    /// A PC as the caller sees it: another club's PC does not exist for
    /// staff of one club.
    pub async fn device_for(&self, actor: &Actor, id: i64) -> Result<DeviceView> {
        let view = self.device(id).await?;
        actor.in_club(view.club_id, "device", id)?;
        Ok(view)
    }

    pub async fn list_devices(&self, actor: &Actor) -> Result<Vec<DeviceView>> {
        Ok(self.hall_of(actor.club()).await?.devices)
    }

    /// Every club's hall.
    pub async fn hall(&self) -> Result<HallSnapshot> {
        self.hall_of(None).await
    }

    /// One club's hall, or every club's (None).
    pub async fn hall_of(&self, club: Option<i64>) -> Result<HallSnapshot> {
        let mut tx = self.store.snapshot().await?;
        let sees = |k: i64| club.is_none_or(|c| c == k);
        let zones = tx
            .list_zones()?
            .into_iter()
            .filter(|z| sees(z.club_id))
            .map(zone_view)
            .collect();
        let live = tx.live_sessions(None)?;
        let mut device_sessions = Vec::with_capacity(live.len());
        for s in live.iter().filter(|s| sees(s.club_id)) {
            device_sessions.push((s.device_id, device_session(&mut *tx, s)?));
        }
        let devices = tx
            .list_devices()?
            .into_iter()
            .filter(|d| sees(d.club_id))
            .map(|d| {
                let device_id = d.id;
                let mine = device_sessions
                    .iter()
                    .filter(move |(id, _)| *id == device_id)
                    .map(|(_, s)| s);
                self.device_view(d, mine)
            })
            .collect();
        Ok(HallSnapshot {
            at: self.now(),
            zones,
            devices,
        })
    }

    pub(crate) fn device_view_in(&self, c: &mut Conn, id: i64) -> Result<DeviceView> {
        let d = c
            .get_device(id)?
            .ok_or_else(|| Error::not_found("device", id))?;
        let mut sessions = Vec::new();
        for s in c.live_sessions(Some(id))? {
            sessions.push(device_session(c, &s)?);
        }
        Ok(self.device_view(d, sessions.iter()))
    }

    fn device_view<'a>(
        &self,
        d: store::DeviceRow,
        sessions: impl Iterator<Item = &'a DeviceSession>,
    ) -> DeviceView {
        let (mut running, mut reservations) = (None, Vec::new());
        for s in sessions {
            match s.status {
                SessionStatus::Pending => reservations.push(s.clone()),
                _ => running = Some(s.clone()),
            }
        }
        let mut view = DeviceView {
            id: d.id,
            name: d.name,
            zone_id: d.zone_id,
            club_id: d.club_id,
            x: d.x,
            y: d.y,
            enabled: d.enabled,
            enrolled: d.enrolled,
            online: false,
            last_seen_at: at_opt(d.last_seen_at),
            metrics: d.metrics.and_then(|m| serde_json::from_str(&m).ok()),
            session: running,
            reservations,
            command: None,
            alerts: Vec::new(),
        };
        self.apply_presence(&mut view);
        view
    }

    /// Lays the live presence (kept in memory, see `device_presence`) over
    /// a PC's view; what the database last stored stands where it is silent.
    pub fn apply_presence(&self, view: &mut DeviceView) {
        let presence = self.presence(view.id);
        view.online = presence.online;
        view.last_seen_at = presence.last_seen_at.or(view.last_seen_at);
        view.metrics = presence.metrics.or(view.metrics.take());
        view.command = self.command(view.id);
        let playing = view
            .session
            .as_ref()
            .is_some_and(|s| s.status == SessionStatus::Started);
        view.alerts
            .retain(|a| a != club_shared::OFFLINE_WHILE_PLAYING);
        if playing && view.enrolled && !view.online {
            view.alerts.push(club_shared::OFFLINE_WHILE_PLAYING.into());
        }
    }
}

fn zone_view(z: store::ZoneRow) -> ZoneView {
    ZoneView {
        id: z.id,
        name: z.name,
        club_id: z.club_id,
    }
}

fn device_session(c: &mut Conn, s: &store::SessionRow) -> Result<DeviceSession> {
    let segments = c.session_segments(s.id)?;
    Ok(DeviceSession {
        id: s.id,
        client_id: s.client_id,
        client_name: s.client_name.clone(),
        status: s.status,
        planned_start_at: store::at(s.planned_start_at),
        actual_start_at: at_opt(s.actual_start_at),
        ends_at: at_opt(s.ends_at),
        tariff_name: segments
            .iter()
            .find(|g| g.closed_at.is_none())
            .or(segments.last())
            .map(|g| g.tariff_name.clone())
            .unwrap_or_default(),
        segments: segments
            .iter()
            .filter(|g| g.closed_at.is_none())
            .map(|g| {
                let span = g.starts_at.zip(g.ends_at);
                PlannedSegment {
                    tariff_name: g.tariff_name.clone(),
                    starts_at: at_opt(g.starts_at),
                    ends_at: at_opt(g.ends_at),
                    seconds: span.map_or(g.reserved_seconds, |(a, b)| (b - a) / 1000),
                }
            })
            .collect(),
        actions: crate::domain::available_actions(s.status, at_opt(s.actual_start_at)),
    })
}
