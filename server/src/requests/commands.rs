//! Commands to a PC from the desk.

use club_shared::CommandKind;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommand {
    pub kind: CommandKind,
    /// The text to show, for `message` (1 to 500 characters).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub text: Option<String>,
    /// Reboot or shut down even while a session is STARTED on the PC.
    #[serde(default)]
    pub force: bool,
}
