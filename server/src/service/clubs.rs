//! The clubs of a chain. Every hall-side row belongs to one: a zone names
//! it, a PC is its zone's, a session its PC's, a shift its desk's. Staff
//! with a club see and work on that club only; the chain's staff (no club)
//! on every one. A single club is club 1 and needs no configuration.

use super::{json, required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::requests::hall::NewClub;
use crate::store::{self, Conn};
use club_shared::{ClubView, Permission};

/// The club an operation that makes a hall-side row (a zone, a shift)
/// puts it in: the actor's own; for the chain's staff the one they name,
/// or the only one.
pub(crate) fn pick_club(c: &mut Conn, actor: &Actor, requested: Option<i64>) -> Result<i64> {
    match (actor.club(), requested) {
        (Some(mine), None) => Ok(mine),
        (Some(mine), Some(asked)) if asked == mine => Ok(mine),
        (Some(_), Some(asked)) => Err(Error::NotFound(format!("club_id: club {asked} not found"))),
        (None, asked) => {
            let clubs = c.list_clubs()?;
            match asked {
                Some(id) if clubs.iter().any(|k| k.id == id) => Ok(id),
                Some(id) => Err(Error::NotFound(format!("club_id: club {id} not found"))),
                None => match clubs.as_slice() {
                    [only] => Ok(only.id),
                    // The same request fits a single club: the chain's
                    // state is what asks for the club.
                    _ => Err(Error::Conflict(format!(
                        "club_id: the chain has {} clubs; name the one this is for",
                        clubs.len()
                    ))),
                },
            }
        }
    }
}

/// The club a list is narrowed to: the one asked for, and for staff of one
/// club always theirs (another club's rows do not exist for them).
pub(crate) fn narrow(actor: &Actor, requested: Option<i64>, field: &str) -> Result<Option<i64>> {
    match (actor.club(), requested) {
        (None, asked) => Ok(asked),
        (Some(mine), None) => Ok(Some(mine)),
        (Some(mine), Some(asked)) if asked == mine => Ok(Some(mine)),
        (Some(_), Some(asked)) => Err(Error::NotFound(format!("{field}: club {asked} not found"))),
    }
}

/// Whether the actor sees an order: the chain's staff every one, staff of
/// one club those taken in its shifts, for its sessions or by its
/// operators (as `GET /orders` lists them).
pub(crate) fn sees_order(c: &mut Conn, actor: &Actor, o: &store::OrderRow) -> Result<bool> {
    let Some(mine) = actor.club() else {
        return Ok(true);
    };
    if let Some(id) = o.shift_id {
        if c.get_shift(id)?.is_some_and(|h| h.club_id == mine) {
            return Ok(true);
        }
    }
    if let Some(id) = o.session_id {
        if c.get_session(id)?.is_some_and(|s| s.club_id == mine) {
            return Ok(true);
        }
    }
    if let Some(id) = o.operator_id {
        if c.get_operator(id)?.is_some_and(|p| p.club_id == Some(mine)) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn view(k: store::ClubRow) -> ClubView {
    ClubView {
        id: k.id,
        name: k.name,
        time_zone: k.time_zone,
        no_show_minutes: k.no_show_minutes,
    }
}

impl Service {
    /// The clubs the caller sees: every one for the chain's staff, their
    /// own for staff of one club.
    pub async fn list_clubs(&self, actor: &Actor) -> Result<Vec<ClubView>> {
        let mut c = self.store.read().await?;
        Ok(c.list_clubs()?
            .into_iter()
            .filter(|k| actor.sees(k.id))
            .map(view)
            .collect())
    }

    /// A new club of the chain (RoleManage, the chain's staff).
    pub async fn create_club(&self, actor: &Actor, req: NewClub) -> Result<ClubView> {
        actor.require(Permission::RoleManage)?;
        actor.require_chain()?;
        let mut row = club_input(req)?;
        let actor = actor.clone();
        self.run(move |this, tx| {
            let now = this.now();
            row.id = tx.insert_club(&row, store::ms(now))?;
            let club = view(row);
            let mut a = actor.audit("club.create", now);
            a.after = json(&club);
            tx.insert_audit(&a)?;
            Ok((club, vec![]))
        })
        .await
    }

    /// Names a club and sets its clock and no-show rule (RoleManage, the
    /// chain's staff): the whole club as given, a time zone or rule left out
    /// meaning the chain's.
    pub async fn update_club(&self, actor: &Actor, id: i64, req: NewClub) -> Result<ClubView> {
        actor.require(Permission::RoleManage)?;
        actor.require_chain()?;
        let row = store::ClubRow {
            id,
            ..club_input(req)?
        };
        let actor = actor.clone();
        self.run(move |this, tx| {
            let before = tx
                .list_clubs()?
                .into_iter()
                .find(|k| k.id == id)
                .map(view)
                .ok_or_else(|| Error::not_found("club", id))?;
            tx.update_club(&row)?;
            let club = view(row);
            let mut a = actor.audit("club.update", this.now());
            a.before = json(&before);
            a.after = json(&club);
            tx.insert_audit(&a)?;
            Ok((club, vec![]))
        })
        .await
        // Its no-shows may be due at another moment now.
        .inspect(|_| self.schedule_changed().notify_one())
    }
}

/// A club's name, its own time zone and no-show rule, checked (its id is
/// the caller's to set).
fn club_input(req: NewClub) -> Result<store::ClubRow> {
    let name = required_text("name", &req.name, 60)?;
    if req
        .no_show_minutes
        .is_some_and(|m| !(0..=1440).contains(&m))
    {
        return Err(Error::bad(
            "no_show_minutes",
            "must be null (the chain's rule), 0 (none in this club) or 1..1440",
        ));
    }
    if let Some(tz) = &req.time_zone {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::bad(
                "time_zone",
                format!("{tz} is not an IANA time zone (e.g. Europe/Berlin)"),
            ));
        }
    }
    Ok(store::ClubRow {
        id: 0,
        name,
        time_zone: req.time_zone,
        no_show_minutes: req.no_show_minutes,
    })
}

/// The clock of a club: its own time zone, or the chain's.
pub(crate) fn club_tz(c: &mut Conn, club: i64) -> Result<chrono_tz::Tz> {
    match c.club_time_zone(club)? {
        Some(own) => Ok(own.parse().unwrap_or(chrono_tz::UTC)),
        None => Ok(super::tariffs::load_settings(c)?.tz()),
    }
}

/// A club's clock where a tariff window reads it; a session without a
/// window needs none, and its operation reads no club for one (Start and
/// adding time are on the hot path).
pub(crate) fn clock_for(c: &mut Conn, club: i64, windowed: bool) -> Result<chrono_tz::Tz> {
    if windowed {
        club_tz(c, club)
    } else {
        Ok(chrono_tz::UTC)
    }
}
