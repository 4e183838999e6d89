use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// Money in minor units (cents). Never a float.
pub type Minor = i64;

/// An amount as people read it, in major units: `12345` is "123.45",
/// `-5` is "-0.05". Messages that name an amount use this.
pub fn major(amount: Minor) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let a = amount.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod major_tests {
    #[test]
    fn amounts_read_in_major_units() {
        assert_eq!(super::major(12345), "123.45");
        assert_eq!(super::major(5), "0.05");
        assert_eq!(super::major(-5), "-0.05");
        assert_eq!(super::major(0), "0.00");
        assert_eq!(super::major(i64::MIN), "-92233720368547758.08");
    }
}

/// The life of a session; see DESIGN.md "The session state machine".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Pending,
    Active,
    Started,
    Ended,
    Cancelled,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 5] = [
        Self::Pending,
        Self::Active,
        Self::Started,
        Self::Ended,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Active => "ACTIVE",
            Self::Started => "STARTED",
            Self::Ended => "ENDED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Order along the state machine; a status never moves to a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Active => 1,
            Self::Started => 2,
            Self::Ended | Self::Cancelled => 3,
        }
    }

    /// PENDING, ACTIVE and STARTED hold their device.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Pending | Self::Active | Self::Started)
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to unused tariff time on a cancel or a manual end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundPolicy {
    KeepBalance,
    ConvertToBonus,
    Burn,
}

impl RefundPolicy {
    pub const ALL: [RefundPolicy; 3] = [Self::KeepBalance, Self::ConvertToBonus, Self::Burn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeepBalance => "keep_balance",
            Self::ConvertToBonus => "convert_to_bonus",
            Self::Burn => "burn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// What happens to a holding when its validity period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExpirationPolicy {
    #[default]
    Burn,
    ConvertToBonus,
}

impl ExpirationPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Burn => "burn",
            Self::ConvertToBonus => "convert_to_bonus",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "burn" => Some(Self::Burn),
            "convert_to_bonus" => Some(Self::ConvertToBonus),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Card => "card",
        }
    }
}

/// Which balance a ledger entry moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    Money,
    Bonus,
}

impl Account {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Money => "money",
            Self::Bonus => "bonus",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "money" => Some(Self::Money),
            "bonus" => Some(Self::Bonus),
            _ => None,
        }
    }
}

/// Where a bought holding of tariff time stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldingStatus {
    /// Time left to use (queued for a session or not).
    Available,
    /// A session's segment is using it now.
    InUse,
    UsedUp,
    Expired,
}

impl HoldingStatus {
    pub const ALL: [HoldingStatus; 4] = [Self::Available, Self::InUse, Self::UsedUp, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::InUse => "in_use",
            Self::UsedUp => "used_up",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// A stored name that is none of an enum's values: the row cannot be read
/// (never taken for some default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.what, self.value)
    }
}

impl std::error::Error for UnknownValue {}

/// `TryFrom<String>` through `parse`: how rows are decoded into enums.
macro_rules! decoded_from_text {
    ($($t:ident: $what:literal),* $(,)?) => {$(
        impl TryFrom<String> for $t {
            type Error = UnknownValue;
            fn try_from(value: String) -> Result<Self, UnknownValue> {
                $t::parse(&value).ok_or(UnknownValue { what: $what, value })
            }
        }
    )*};
}

decoded_from_text!(
    SessionStatus: "session status",
    RefundPolicy: "refund policy",
    ExpirationPolicy: "expiration policy",
    Account: "ledger account",
    HoldingStatus: "holding status",
);

/// Staff permissions, as named in API.md.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Permission {
    SessionCreate,
    SessionStart,
    SessionEnd,
    SessionDelete,
    SessionEdit,
    ClientManage,
    BalanceTopUp,
    TariffManage,
    DeviceManage,
    RoleManage,
    ReportView,
    OrderRefund,
    ShiftManage,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Self::SessionCreate,
        Self::SessionStart,
        Self::SessionEnd,
        Self::SessionDelete,
        Self::SessionEdit,
        Self::ClientManage,
        Self::BalanceTopUp,
        Self::TariffManage,
        Self::DeviceManage,
        Self::RoleManage,
        Self::ReportView,
        Self::OrderRefund,
        Self::ShiftManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionCreate => "SessionCreate",
            Self::SessionStart => "SessionStart",
            Self::SessionEnd => "SessionEnd",
            Self::SessionDelete => "SessionDelete",
            Self::SessionEdit => "SessionEdit",
            Self::ClientManage => "ClientManage",
            Self::BalanceTopUp => "BalanceTopUp",
            Self::TariffManage => "TariffManage",
            Self::DeviceManage => "DeviceManage",
            Self::RoleManage => "RoleManage",
            Self::ReportView => "ReportView",
            Self::OrderRefund => "OrderRefund",
            Self::ShiftManage => "ShiftManage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The built-in roles and what each holds on a new database.
pub mod builtin_roles {
    use super::Permission::{self, *};

    pub const OWNER: &str = "Owner";
    pub const ADMINISTRATOR: &str = "Administrator";
    pub const CASHIER: &str = "Cashier";

    pub fn owner() -> Vec<Permission> {
        Permission::ALL.to_vec()
    }

    pub fn administrator() -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| *p != RoleManage)
            .collect()
    }

    pub fn cashier() -> Vec<Permission> {
        vec![
            SessionCreate,
            SessionStart,
            SessionEnd,
            ClientManage,
            BalanceTopUp,
            ReportView,
            ShiftManage,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn permissions_serialize_as_api_names() {
        for p in Permission::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn built_in_roles_match_the_api_contract() {
        assert_eq!(builtin_roles::owner().len(), 13);
        assert!(!builtin_roles::administrator().contains(&Permission::RoleManage));
        assert!(builtin_roles::administrator().contains(&Permission::SessionDelete));
        assert!(!builtin_roles::cashier().contains(&Permission::SessionDelete));
        assert!(!builtin_roles::cashier().contains(&Permission::SessionEdit));
    }
}
