//! What the clock does on its own besides starting and ending sessions:
//! no-show release (a club setting, off by default), holding expiry by the
//! tariff's expiration policy, and bulk cancel for a hall that failed.

use super::clients::balance_event;
use super::postings::{write_postings, PostingContext};
use super::sessions::holding_state;
use super::tariffs::{load_settings, Settings};
use super::{required_text, Actor, Pass, Service};
use crate::domain::expiry_postings;
use crate::error::{Error, Result};
use crate::requests::housekeeping::BulkCancel;
use crate::store::{self, at};
use chrono::{DateTime, Utc};
use club_shared::{Event, HoldingStatus, Permission, SessionStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// One session's outcome in a bulk cancel.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub session_id: i64,
    pub ok: bool,
    /// The status after the attempt, when the session exists.
    pub status: Option<SessionStatus>,
    pub error: Option<crate::error::ErrorDetail>,
}

const BULK_LIMIT: usize = 500;

impl Service {
    /// Cancels each session it can, each in its own transaction with its
    /// own refund-policy outcome, audit entry and agent update.
    pub async fn bulk_cancel(&self, actor: &Actor, req: BulkCancel) -> Result<Vec<BulkResult>> {
        actor.require(Permission::SessionDelete)?;
        let reason = required_text("reason", &req.reason, 500)?;
        if req.session_ids.is_empty() || req.session_ids.len() > BULK_LIMIT {
            return Err(Error::bad(
                "session_ids",
                format!("give 1 to {BULK_LIMIT} ids"),
            ));
        }
        let mut ids = req.session_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let result = self.cancel_session(actor, id, Some(reason.clone())).await;
            out.push(match result {
                Ok(view) => BulkResult {
                    session_id: id,
                    ok: true,
                    status: Some(view.status),
                    error: None,
                },
                Err(e @ Error::Internal(_)) => return Err(e),
                Err(e) => BulkResult {
                    session_id: id,
                    ok: false,
                    status: self.session_for(actor, id).await.ok().map(|s| s.status),
                    error: Some(crate::error::ErrorDetail {
                        code: e.code().into(),
                        message: e.to_string(),
                    }),
                },
            });
        }
        Ok(out)
    }

    /// Cancels, as the system, sessions nobody started `no_show_minutes`
    /// after their planned start, in each club whose rule is on (its own,
    /// or the chain's).
    pub async fn release_no_shows(&self, now: DateTime<Utc>) -> Result<Pass> {
        let due = {
            let mut c = self.store.read().await?;
            let chain = load_settings(&mut *c)?.no_show_minutes;
            c.due_no_shows(chain, store::ms(now))?
        };
        let mut pass = Pass::default();
        for (id, minutes) in due {
            let reason = format!("no-show: not started {minutes} minutes after the planned start");
            let result = self.cancel_session(&Actor::System, id, Some(reason)).await;
            pass.count("no-show", id, result.map(|_| true));
        }
        Ok(pass)
    }

    /// Expires holdings past their validity, by their tariff's expiration
    /// policy: burned, or converted to bonus pro rata. A holding a live
    /// session holds is left until the session lets go of it.
    pub async fn expire_holdings(&self, now: DateTime<Utc>) -> Result<Pass> {
        let due = {
            let mut c = self.store.read().await?;
            c.due_expiries(store::ms(now))?
        };
        let mut pass = Pass::default();
        for id in due {
            pass.count("holding expiry", id, self.expire_holding(id, now).await);
        }
        Ok(pass)
    }

    async fn expire_holding(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let t = store::ms(now);
        self.run(move |_, tx| {
            let Some(h) = tx.get_holding(id)? else {
                return Ok((false, Vec::new()));
            };
            if h.status != HoldingStatus::Available || h.valid_until.is_none_or(|v| v > t) {
                return Ok((false, Vec::new()));
            }
            let tariff = tx
                .get_tariff(h.tariff_id)?
                .ok_or_else(|| Error::not_found("tariff", h.tariff_id))?;
            let policy = tariff.expiration_policy;
            let expiry = expiry_postings(id, holding_state(&h), policy);
            let ctx = PostingContext {
                at: t,
                client_id: h.client_id,
                session_id: None,
                operator_id: None,
            };
            write_postings(&mut *tx, &ctx, &expiry.postings)?;
            let (bonus, voided) = (expiry.bonus, expiry.voided);
            // The client's holdings changed, whatever the policy: screens showing
            // the client refresh on this.
            let events = vec![balance_event(&mut *tx, h.client_id)?];
            let mut a = Actor::System.audit("holding.expire", now);
            a.client_id = Some(h.client_id);
            a.before = Some(serde_json::json!({
                "holding_id": id, "status": h.status, "remaining_seconds": h.remaining_seconds,
                "value_remaining": h.value_remaining, "valid_until": store::at_opt(h.valid_until),
            }));
            a.after = Some(serde_json::json!({
                "status": "expired", "policy": policy, "bonus": bonus, "burned": voided,
            }));
            tx.insert_audit(&a)?;

            Ok((true, events))
        })
        .await
    }
}

/// The next moment housekeeping has work, strictly after `after`: a holding
/// expiring, or (with the no-show rule on) a reservation turning into a
/// no-show.
pub(crate) fn next_housekeeping(
    c: &mut store::Conn,
    settings: &Settings,
    after: DateTime<Utc>,
) -> Result<Option<i64>> {
    let expiry = c.next_expiry(store::ms(after))?;
    let no_show = c.next_no_show(settings.no_show_minutes, store::ms(after))?;
    Ok([expiry, no_show].into_iter().flatten().min())
}

// The scheduler's work on sessions: warnings before the end, and what is
// due (activations, natural ends, no-shows).
impl Service {
    /// Announces the warning moments before session ends that fall in
    /// `(after, now]`, so the agents can show them.
    pub async fn announce_warnings(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
        let mut c = self.store.read().await?;
        let warn = warning_offsets_ms(&load_settings(&mut *c)?);
        let due = c.sessions_to_warn(store::ms(after), store::ms(now), &warn)?;
        drop(c);
        if due.is_empty() {
            return Ok(());
        }
        // A transaction of its own: the warning becomes part of each PC's
        // stored desired state.
        let events: Vec<Event> = due
            .into_iter()
            .map(|(session_id, device_id, ends_at)| Event::EndingSoon {
                session_id,
                device_id,
                seconds_left: (ends_at - store::ms(now)).max(0) / 1000,
            })
            .collect();
        let shared = self.store.shared();
        self.run(move |this, tx| {
            if !shared {
                return Ok(((), events));
            }
            // Every server's scheduler announces the same warnings: only
            // the first, which changes the PC's desired state, is heard.
            let now = this.now();
            let mut first = Vec::new();
            for e in events {
                if let Event::EndingSoon { device_id, .. } = &e {
                    if super::agents::desired_changes(tx, *device_id, now)? {
                        first.push(e);
                    }
                }
            }
            Ok(((), first))
        })
        .await
    }
}

impl Service {
    /// Runs everything due at `now`: activations, then natural ends. A
    /// session that cannot move now (a conflict, or a failure, which is
    /// logged) does not stop the others; the pass counts it as left.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<Pass> {
        let due = {
            let mut c = self.store.read().await?;
            c.due_sessions(store::ms(now))?
        };
        let mut pass = Pass::default();
        for (id, status) in due {
            let result = match status.as_str() {
                "PENDING" => self.activate(id).await.map(drop),
                _ => self.end_naturally(id).await.map(drop),
            };
            pass.count("session", id, result.map(|()| true));
        }
        Ok(pass)
    }
}

impl Service {
    /// The next moment the scheduler has work, strictly after `after`
    /// (the instant its last pass ran at: anything due by then was handled
    /// or is waiting for its PC, and the clock may have moved since).
    pub async fn next_deadline(&self, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let mut c = self.store.read().await?;
        let settings = load_settings(&mut *c)?;
        let warn = warning_offsets_ms(&settings);
        let warning = c.next_warning(store::ms(after), &warn)?;
        let work = c.next_deadline(store::ms(after))?;
        let housekeeping = next_housekeeping(&mut *c, &settings, after)?;
        Ok([work, warning, housekeeping]
            .into_iter()
            .flatten()
            .min()
            .map(at))
    }
}

/// How long before a session's end the player is warned, in milliseconds:
/// the club's setting (5 minutes by default) and the last minute.
pub(crate) fn warning_offsets_ms(settings: &super::Settings) -> Vec<i64> {
    let mut v = vec![settings.warn_before_end_seconds * 1000, 60_000];
    v.retain(|w| *w > 0);
    v.dedup();
    v
}
