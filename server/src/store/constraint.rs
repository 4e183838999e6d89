//! The schema's uniqueness rules, by name. A violation is answered as the
//! rule it broke (what the desk reads comes from here), never by turning
//! the database's message into prose. PostgreSQL reports a constraint's
//! name; SQLite reports only the indexed columns (`table.column, …`),
//! which are matched here exactly against the schema, one rule each.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    RoleName,
    OperatorLogin,
    ZoneName,
    DeviceName,
    DeviceSecret,
    EnrollmentCode,
    TariffName,
    ClientPhone,
    OneRunningSessionPerDevice,
    SegmentPosition,
    OneOpenShiftPerOperator,
    AgentBuild,
    ClubName,
}

impl Constraint {
    pub const ALL: [Constraint; 13] = [
        Self::RoleName,
        Self::OperatorLogin,
        Self::ZoneName,
        Self::DeviceName,
        Self::DeviceSecret,
        Self::EnrollmentCode,
        Self::TariffName,
        Self::ClientPhone,
        Self::OneRunningSessionPerDevice,
        Self::SegmentPosition,
        Self::OneOpenShiftPerOperator,
        Self::AgentBuild,
        Self::ClubName,
    ];

    /// Its name in the schema (PostgreSQL's naming for a column's UNIQUE:
    /// `{table}_{column}_key`; the named indexes by their own names).
    pub fn name(self) -> &'static str {
        match self {
            Self::RoleName => "roles_name_key",
            Self::OperatorLogin => "operators_login_key",
            Self::ZoneName => "zones_club_id_name_key",
            Self::DeviceName => "devices_club_id_name_key",
            Self::DeviceSecret => "devices_secret_hash_key",
            Self::EnrollmentCode => "enrollment_codes_pkey",
            Self::TariffName => "tariffs_name_key",
            Self::ClientPhone => "clients_phone_key",
            Self::OneRunningSessionPerDevice => "sessions_one_running_per_device",
            Self::SegmentPosition => "segments_session_id_position_key",
            Self::OneOpenShiftPerOperator => "shifts_one_open_per_operator",
            Self::AgentBuild => "agent_builds_sha256_key",
            Self::ClubName => "clubs_name_key",
        }
    }

    /// The columns SQLite names when it is broken.
    fn sqlite_columns(self) -> &'static str {
        match self {
            Self::RoleName => "roles.name",
            Self::OperatorLogin => "operators.login",
            Self::ZoneName => "zones.club_id, zones.name",
            Self::DeviceName => "devices.club_id, devices.name",
            Self::DeviceSecret => "devices.secret_hash",
            Self::EnrollmentCode => "enrollment_codes.code_hash",
            Self::TariffName => "tariffs.name",
            Self::ClientPhone => "clients.phone",
            Self::OneRunningSessionPerDevice => "sessions.device_id",
            Self::SegmentPosition => "segments.session_id, segments.position",
            Self::OneOpenShiftPerOperator => "shifts.operator_id",
            Self::AgentBuild => "agent_builds.sha256",
            Self::ClubName => "clubs.name",
        }
    }

    /// The rule PostgreSQL names.
    pub fn from_name(name: &str) -> Option<Constraint> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The rule behind SQLite's report of a UNIQUE or PRIMARY KEY violation
    /// (`UNIQUE constraint failed: devices.name`).
    pub fn from_sqlite(message: &str) -> Option<Constraint> {
        let columns = message
            .strip_prefix("UNIQUE constraint failed: ")
            .or_else(|| message.strip_prefix("PRIMARY KEY constraint failed: "))?;
        Self::ALL
            .into_iter()
            .find(|c| c.sqlite_columns() == columns)
    }

    /// What the desk is told.
    pub fn message(self) -> &'static str {
        match self {
            Self::RoleName => "a role with this name already exists",
            Self::OperatorLogin => "an operator with this login already exists",
            Self::ZoneName => "a zone with this name already exists in this club",
            Self::DeviceName => "a PC with this name already exists in this club",
            Self::DeviceSecret | Self::EnrollmentCode => {
                "a new code or secret collided with an existing one; try again"
            }
            Self::TariffName => "a tariff with this name already exists",
            Self::ClientPhone => "a client with this phone number already exists",
            Self::OneRunningSessionPerDevice => "the PC already has a running session",
            Self::SegmentPosition => "the session changed meanwhile; try again",
            Self::OneOpenShiftPerOperator => "this operator already has an open shift",
            Self::AgentBuild => "this agent build is already kept",
            Self::ClubName => "a club with this name already exists",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::Sql;
    use crate::store::Store;

    /// Each rule broken for real on this schema: SQLite's report of it is
    /// matched to that rule, and to no other.
    #[tokio::test]
    async fn every_rule_broken_on_the_real_schema_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(&dir).await;
        let tx = store.write().await.unwrap();
        let setup = [
            "INSERT INTO roles (id, name, permissions) VALUES (100, 'R', '[]')",
            "INSERT INTO operators (id, login, password_hash, role_id, created_at) VALUES (100, 'op', 'x', 100, 0)",
            "INSERT INTO zones (id, name) VALUES (100, 'Z')",
            "INSERT INTO devices (id, name, zone_id, x, y, secret_hash, created_at) VALUES (100, 'PC', 100, 0, 0, 's', 0)",
            "INSERT INTO enrollment_codes (code_hash, device_id, expires_at) VALUES ('c', 100, 0)",
            "INSERT INTO tariffs (id, name, duration_seconds, price, refund_policy, created_at, updated_at) VALUES (100, 'T', 60, 0, 'burn', 0, 0)",
            "INSERT INTO clients (id, name, phone, created_at) VALUES (100, 'C', '+1', 0)",
            "INSERT INTO holdings (id, client_id, tariff_id, total_seconds, remaining_seconds, price_paid, value_remaining, purchased_at, status) VALUES (100, 100, 100, 60, 60, 0, 0, 0, 'available')",
            "INSERT INTO sessions (id, client_id, device_id, status, planned_start_at, created_at) VALUES (100, 100, 100, 'ACTIVE', 0, 0)",
            "INSERT INTO segments (session_id, position, holding_id, tariff_id, reserved_seconds, refund_policy) VALUES (100, 0, 100, 100, 60, 'burn')",
            "INSERT INTO shifts (operator_id, opened_at) VALUES (100, 0)",
            "INSERT INTO agent_builds (platform, version, sha256, size, bytes, uploaded_at, designated_at) VALUES ('linux-x86_64', '1', 'h', 1, x'00', 0, 0)",
        ];
        for sql in setup {
            tx.db()
                .run(sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let breaking = [
            (Constraint::RoleName, "INSERT INTO roles (name, permissions) VALUES ('R', '[]')"),
            (Constraint::OperatorLogin, "INSERT INTO operators (login, password_hash, role_id, created_at) VALUES ('op', 'x', 100, 0)"),
            (Constraint::ZoneName, "INSERT INTO zones (name) VALUES ('Z')"),
            (Constraint::DeviceName, "INSERT INTO devices (name, zone_id, x, y, created_at) VALUES ('PC', 100, 0, 0, 0)"),
            (Constraint::DeviceSecret, "INSERT INTO devices (name, zone_id, x, y, secret_hash, created_at) VALUES ('PC2', 100, 0, 0, 's', 0)"),
            (Constraint::EnrollmentCode, "INSERT INTO enrollment_codes (code_hash, device_id, expires_at) VALUES ('c', 100, 0)"),
            (Constraint::TariffName, "INSERT INTO tariffs (name, duration_seconds, price, refund_policy, created_at, updated_at) VALUES ('T', 60, 0, 'burn', 0, 0)"),
            (Constraint::ClientPhone, "INSERT INTO clients (name, phone, created_at) VALUES ('D', '+1', 0)"),
            (Constraint::OneRunningSessionPerDevice, "INSERT INTO sessions (client_id, device_id, status, planned_start_at, created_at) VALUES (100, 100, 'STARTED', 0, 0)"),
            (Constraint::SegmentPosition, "INSERT INTO segments (session_id, position, holding_id, tariff_id, reserved_seconds, refund_policy) VALUES (100, 0, 100, 100, 60, 'burn')"),
            (Constraint::OneOpenShiftPerOperator, "INSERT INTO shifts (operator_id, opened_at) VALUES (100, 1)"),
            (Constraint::AgentBuild, "INSERT INTO agent_builds (platform, version, sha256, size, bytes, uploaded_at, designated_at) VALUES ('linux-x86_64', '2', 'h', 1, x'00', 0, 0)"),
            (Constraint::ClubName, "INSERT INTO clubs (name, created_at) VALUES ('Club', 0)"),
        ];
        assert_eq!(
            breaking.len(),
            Constraint::ALL.len(),
            "every rule is broken once"
        );
        for (rule, sql) in breaking {
            // The store answers the rule itself, as every backend does.
            match tx.db().run(sql, &[]).expect_err(sql) {
                crate::store::Error::Constraint(broken) => assert_eq!(broken, rule, "{sql}"),
                e => panic!("{sql}: {e}"),
            }
        }
        for c in Constraint::ALL {
            assert_eq!(Constraint::from_name(c.name()), Some(c));
        }
    }
}
