//! Cancelling sessions in bulk.

use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkCancel {
    /// 1 to 500 sessions; each is cancelled or fails on its own.
    #[schema(min_items = 1, max_items = 500)]
    pub session_ids: Vec<i64>,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}
