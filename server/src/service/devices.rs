//! Editing a PC at the desk (DeviceManage): its name, zone and place in
//! the hall, and whether it takes sessions. A disabled PC's agent is
//! closed out at once.

use super::{json, required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::requests::devices::DevicePatch;
use club_shared::{Event, Permission};

impl Service {
    pub async fn update_device(
        &self,
        actor: &Actor,
        id: i64,
        req: DevicePatch,
    ) -> Result<club_shared::DeviceView> {
        actor.require(Permission::DeviceManage)?;
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let d = tx
                .get_device(id)?
                .ok_or_else(|| Error::not_found("device", id))?;
            actor.in_club(d.club_id, "device", id)?;
            let name = match &req.name {
                Some(n) => required_text("name", n, 60)?,
                None => d.name.clone(),
            };
            let zone_id = req.zone_id.unwrap_or(d.zone_id);
            match tx.zone_club(zone_id)? {
                Some(k) if k == d.club_id => {}
                Some(k) if actor.sees(k) => {
                    return Err(Error::Conflict(format!(
                        "zone_id: zone {zone_id} is in another club; a PC stays in its club \
                         (enroll it again in the other club)"
                    )))
                }
                _ => {
                    return Err(Error::NotFound(format!(
                        "zone_id: zone {zone_id} not found"
                    )))
                }
            }
            for (field, v) in [("x", req.x), ("y", req.y)] {
                if v.is_some_and(|v| !(0..=10_000).contains(&v)) {
                    return Err(Error::bad(field, "must be between 0 and 10000"));
                }
            }
            let before = this.device_view_in(&mut *tx, id)?;
            let enabled = req.enabled.unwrap_or(d.enabled);
            tx.update_device(
                id,
                &name,
                zone_id,
                req.x.unwrap_or(d.x),
                req.y.unwrap_or(d.y),
                enabled,
            )?;
            let view = this.device_view_in(&mut *tx, id)?;
            let mut a = actor.audit("device.update", this.now());
            a.device_id = Some(id);
            a.before = json(&before);
            a.after = json(&view);
            tx.insert_audit(&a)?;
            let mut events = vec![Event::DeviceChanged { device_id: id }];
            if d.enabled && !enabled {
                // A disabled PC's agent is closed out at once.
                events.push(Event::DeviceRevoked { device_id: id });
            }
            Ok((view, events))
        })
        .await
    }
}
