//! Writing what the domain decided ([`Posting`]s), in order, and nothing
//! more: the service makes no money decisions of its own.

use crate::domain::Posting;
use crate::error::Result;
use crate::store::{Conn, NewLedger, NewValueMovement};

/// Who and what the postings are for.
pub(crate) struct PostingContext {
    pub at: i64,
    pub client_id: i64,
    pub session_id: Option<i64>,
    pub operator_id: Option<i64>,
}

/// Writes `postings`; answers whether a client's balance changed.
pub(crate) fn write_postings(
    c: &mut Conn,
    ctx: &PostingContext,
    postings: &[Posting],
) -> Result<bool> {
    let mut balance_changed = false;
    for p in postings {
        match *p {
            Posting::Holding {
                holding_id,
                remaining_seconds,
                value_remaining,
                status,
            } => c.update_holding(holding_id, remaining_seconds, value_remaining, status)?,
            Posting::SegmentClosed {
                segment_id,
                seconds_used,
                amount,
            } => c.close_segment(segment_id, ctx.at, seconds_used, amount)?,
            Posting::Value {
                holding_id,
                segment_id,
                kind,
                seconds,
                amount,
            } => {
                let m = NewValueMovement {
                    at: ctx.at,
                    holding_id,
                    session_id: ctx.session_id,
                    segment_id,
                    kind: kind.as_str(),
                    seconds,
                    amount,
                };
                c.insert_value_movement(&m)?
            }
            Posting::Ledger {
                account,
                amount,
                kind,
            } => {
                let e = NewLedger {
                    at: ctx.at,
                    client_id: ctx.client_id,
                    account,
                    amount,
                    kind,
                    order_id: None,
                    session_id: ctx.session_id,
                    operator_id: ctx.operator_id,
                };
                c.insert_ledger(&e)?;
                balance_changed = true;
            }
        }
    }
    Ok(balance_changed)
}
