//! Reading sessions: one session as the page and the API show it, lists,
//! the audit trail.

use super::*;
use crate::error::{Error, Result};
use crate::service::{Actor, Service};
use crate::store::{self, at, at_opt, Conn};
use club_shared::{
    AuditEntryView, BindingView, Permission, PriceCorrectionView, SegmentView, SessionView,
};

/// A page's start: an id, so 1 or more.
fn page_before(before_id: Option<i64>) -> Result<Option<i64>> {
    match before_id {
        Some(b) if b < 1 => Err(Error::bad("before_id", "must be an id (1 or more)")),
        b => Ok(b),
    }
}

/// A page's size: 1..=`max`, `max` when not given.
fn page_limit(field: &str, limit: Option<i64>, max: i64) -> Result<i64> {
    match limit {
        None => Ok(max),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(Error::bad(field, format!("must be 1..{max}"))),
    }
}

pub(crate) fn load_session(c: &mut Conn, id: i64) -> Result<store::SessionRow> {
    c.get_session(id)?
        .ok_or_else(|| Error::not_found("session", id))
}

/// A session the actor works on: another club's does not exist for staff
/// of one club.
pub(crate) fn load_session_for(c: &mut Conn, actor: &Actor, id: i64) -> Result<store::SessionRow> {
    let s = load_session(c, id)?;
    actor.in_club(s.club_id, "session", id)?;
    Ok(s)
}

pub(crate) fn session_view(c: &mut Conn, id: i64) -> Result<SessionView> {
    let s = load_session(c, id)?;
    let segments = c
        .session_segments(id)?
        .into_iter()
        .map(|g| SegmentView {
            id: g.id,
            holding_id: g.holding_id,
            tariff_id: g.tariff_id,
            refund_policy: g.refund_policy,
            tariff_name: g.tariff_name,
            starts_at: at_opt(g.starts_at),
            ends_at: at_opt(g.ends_at),
            closed_at: at_opt(g.closed_at),
            seconds_used: g.seconds_used,
            max_bonus_percent: g.max_bonus_percent,
        })
        .collect();
    let bindings = c
        .session_bindings(id)?
        .into_iter()
        .map(|b| BindingView {
            device_id: b.device_id,
            planned_start_at: at(b.planned_start_at),
            actual_start_at: at_opt(b.actual_start_at),
            actual_end_at: at_opt(b.actual_end_at),
        })
        .collect();
    let price_corrections = c
        .session_price_corrections(id)?
        .into_iter()
        .map(|p| PriceCorrectionView {
            delta: p.delta,
            reason: p.reason,
            operator_id: p.operator_id,
            at: at(p.at),
        })
        .collect();
    Ok(SessionView {
        id: s.id,
        client_id: s.client_id,
        client_name: s.client_name.clone(),
        device_id: s.device_id,
        device_name: s.device_name.clone(),
        club_id: s.club_id,
        status: s.status,
        planned_start_at: at(s.planned_start_at),
        actual_start_at: at_opt(s.actual_start_at),
        actual_end_at: at_opt(s.actual_end_at),
        ends_at: at_opt(s.ends_at),
        cancelled_at: at_opt(s.cancelled_at),
        cancelled_by: s.cancelled_by,
        cancelled_by_login: s.cancelled_by_login.clone(),
        end_kind: s.end_kind.clone(),
        segments,
        bindings,
        price_corrections,
        receipt: s
            .receipt
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        actions: crate::domain::available_actions(s.status, at_opt(s.actual_start_at)),
    })
}

/// The reserved holdings' state, for the audit's before and after.
pub(crate) fn holdings_state(c: &mut Conn, v: &SessionView) -> Result<serde_json::Value> {
    let mut out = Vec::new();
    for g in &v.segments {
        if let Some(h) = c.get_holding(g.holding_id)? {
            out.push(serde_json::json!({
                "holding_id": h.id, "tariff_id": h.tariff_id, "status": h.status,
                "remaining_seconds": h.remaining_seconds, "value_remaining": h.value_remaining,
            }));
        }
    }
    Ok(serde_json::Value::Array(out))
}

impl Service {
    pub async fn session(&self, id: i64) -> Result<SessionView> {
        let mut tx = self.store.snapshot().await?;
        session_view(&mut *tx, id)
    }

    /// A session as the caller sees it: another club's session does not
    /// exist for staff of one club.
    pub async fn session_for(&self, actor: &Actor, id: i64) -> Result<SessionView> {
        let view = self.session(id).await?;
        actor.in_club(view.club_id, "session", id)?;
        Ok(view)
    }

    pub async fn list_sessions(&self, actor: &Actor, q: SessionQuery) -> Result<Vec<SessionView>> {
        actor.require(Permission::ReportView)?;
        let club = crate::service::clubs::narrow(actor, q.club_id, "club_id")?;
        let (from, to) = self.range(q.from, q.to, q.day, club).await?;
        let mut tx = self.store.snapshot().await?;
        let filter = store::SessionFilter {
            status: q.status,
            client_id: q.client_id,
            device_id: q.device_id,
            operator_id: q.operator_id,
            club_id: club,
            from: from.map(store::ms),
            to: to.map(store::ms),
            before_id: page_before(q.before_id)?,
            limit: page_limit("limit", q.limit, 500)?,
        };
        let mut out = Vec::new();
        for s in tx.list_sessions(&filter)? {
            out.push(session_view(&mut *tx, s.id)?);
        }
        Ok(out)
    }

    /// Every session the filters match, page after page, at most `cap`.
    pub async fn all_sessions(
        &self,
        actor: &Actor,
        mut q: SessionQuery,
        cap: usize,
    ) -> Result<Vec<SessionView>> {
        let page = q.limit.unwrap_or(500);
        let mut out = Vec::new();
        loop {
            let got = self.list_sessions(actor, q.clone()).await?;
            let last = got.last().map(|s| s.id);
            let full = got.len() as i64 == page;
            out.extend(got);
            match last {
                Some(id) if full && out.len() < cap => q.before_id = Some(id),
                _ => break,
            }
        }
        out.truncate(cap);
        Ok(out)
    }

    /// The audit trail; staff of one club read their club's entries.
    pub async fn audit(&self, actor: &Actor, mut q: AuditQuery) -> Result<Vec<AuditEntryView>> {
        actor.require(Permission::ReportView)?;
        q.club_id = crate::service::clubs::narrow(actor, q.club_id, "club_id")?;
        self.audit_entries(q).await
    }

    /// A report's time range: `from` and `to`, within the club day `day`
    /// when one is given: on `club`'s clock, or the chain's.
    async fn range(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        day: Option<chrono::NaiveDate>,
        club: Option<i64>,
    ) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
        let Some(day) = day else {
            return Ok((from, to));
        };
        let tz = match club {
            Some(k) => {
                let mut c = self.store.read().await?;
                crate::service::clubs::club_tz(&mut *c, k)?
            }
            None => self.settings().await?.tz(),
        };
        let (start, end) = crate::domain::club_day(tz, day);
        Ok((
            Some(from.map_or(start, |f| f.max(start))),
            Some(to.map_or(end, |t| t.min(end))),
        ))
    }

    pub(crate) async fn audit_entries(&self, q: AuditQuery) -> Result<Vec<AuditEntryView>> {
        let (from, to) = self.range(q.from, q.to, q.day, q.club_id).await?;
        let mut c = self.store.read().await?;
        let filter = store::AuditFilter {
            session_id: q.session_id,
            operator_id: q.operator_id,
            club_id: q.club_id,
            from: from.map(store::ms),
            to: to.map(store::ms),
            before_id: page_before(q.before_id)?,
            limit: page_limit("limit", q.limit, 1000)?,
        };
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Ok(c.list_audit(&filter)?
            .into_iter()
            .map(|a| AuditEntryView {
                id: a.id,
                at: at(a.at),
                operator_id: a.operator_id,
                actor: a.actor,
                kind: a.kind,
                session_id: a.session_id,
                device_id: a.device_id,
                client_id: a.client_id,
                operator_login: a.operator_login,
                device_name: a.device_name,
                client_name: a.client_name,
                before: parse(a.before),
                after: parse(a.after),
                reason: a.reason,
            })
            .collect())
    }

    /// A session's audit trail, for those who may read reports
    /// (ReportView); empty for anyone else.
    pub async fn session_audit(
        &self,
        actor: &Actor,
        session_id: i64,
    ) -> Result<Vec<AuditEntryView>> {
        if actor.require(Permission::ReportView).is_err() {
            return Ok(Vec::new());
        }
        self.audit_entries(AuditQuery {
            session_id: Some(session_id),
            ..AuditQuery::default()
        })
        .await
    }

    pub async fn live_sessions_of_client(&self, client_id: i64) -> Result<Vec<SessionView>> {
        let mut tx = self.store.snapshot().await?;
        let mut out = Vec::new();
        for s in tx.live_sessions(None)? {
            if s.client_id == client_id {
                out.push(session_view(&mut *tx, s.id)?);
            }
        }
        Ok(out)
    }
}
