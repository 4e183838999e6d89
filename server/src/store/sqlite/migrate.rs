//! The schema's migrations, embedded in the binary and applied in order,
//! each in its own transaction with its record. A database a newer server
//! migrated (a version this binary does not have) is refused, not guessed
//! at. Databases migrated before this runner kept their record in
//! `_sqlx_migrations`; it is carried over once.

use super::db::Db;
use crate::store::sql::Sql;

/// Every migration: its version, name and SQL. Merged migrations are never
/// edited; a change is a new file, added here.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "core", include_str!("../../../migrations/0001_core.sql")),
    (
        2,
        "agent state",
        include_str!("../../../migrations/0002_agent_state.sql"),
    ),
    (
        3,
        "closed segments are final",
        include_str!("../../../migrations/0003_closed_segments_are_final.sql"),
    ),
    (
        4,
        "shifts and orders",
        include_str!("../../../migrations/0004_shifts_and_orders.sql"),
    ),
    (
        5,
        "indexes for scheduler and orders",
        include_str!("../../../migrations/0005_indexes_for_scheduler_and_orders.sql"),
    ),
    (
        6,
        "operators can be disabled",
        include_str!("../../../migrations/0006_operators_can_be_disabled.sql"),
    ),
    (
        7,
        "agent started at",
        include_str!("../../../migrations/0007_agent_started_at.sql"),
    ),
    (
        8,
        "agent builds",
        include_str!("../../../migrations/0008_agent_builds.sql"),
    ),
    (
        9,
        "shift cash",
        include_str!("../../../migrations/0009_shift_cash.sql"),
    ),
    (
        10,
        "live sessions by device",
        include_str!("../../../migrations/0010_live_sessions_by_device.sql"),
    ),
    (
        11,
        "clubs",
        include_str!("../../../migrations/0011_clubs.sql"),
    ),
    (
        12,
        "club no-show",
        include_str!("../../../migrations/0012_club_no_show.sql"),
    ),
];

/// The newest schema version this server knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies what is missing; answers the versions applied now.
pub fn run(db: &Db, now_ms: i64) -> anyhow::Result<Vec<i64>> {
    db.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, \
         name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )?;
    carry_over_sqlx_record(db, now_ms)?;
    let applied: Vec<i64> = db.all(
        "SELECT version FROM schema_migrations ORDER BY version",
        &[],
    )?;
    if let Some(unknown) = applied.iter().find(|v| **v > latest()) {
        anyhow::bail!(
            "the database has schema version {unknown}, newer than this server's {}: \
             run the server that wrote it, or restore a backup",
            latest()
        );
    }
    // Foreign keys are off while migrations run, as SQLite's way of
    // making a table again needs (a column's UNIQUE cannot be dropped), and
    // each migration's references are checked before it commits. The
    // setting cannot change inside a transaction: it is set around them.
    let enforced: i64 = db.first("PRAGMA foreign_keys", &[])?;
    db.batch("PRAGMA foreign_keys = OFF")?;
    let done = apply(db, &applied, now_ms);
    if enforced == 1 {
        db.batch("PRAGMA foreign_keys = ON")?;
    }
    done
}

/// Each migration not yet `applied`, in its own transaction.
fn apply(db: &Db, applied: &[i64], now_ms: i64) -> anyhow::Result<Vec<i64>> {
    let mut done = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        db.batch("BEGIN IMMEDIATE")?;
        let applied = db.batch(sql).and_then(|()| {
            let broken: Option<String> = db.one(
                "SELECT \"table\" || ' -> ' || parent FROM pragma_foreign_key_check LIMIT 1",
                &[],
            )?;
            if let Some(broken) = broken {
                return Err(crate::store::Error::Other(format!(
                    "a reference without its row: {broken}"
                )));
            }
            db.run(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                crate::args![version, name, now_ms],
            )
        });
        match applied {
            Ok(_) => db.batch("COMMIT")?,
            Err(e) => {
                let _ = db.batch("ROLLBACK");
                anyhow::bail!("migration {version} ({name}) failed: {e}");
            }
        }
        done.push(*version);
    }
    Ok(done)
}

/// A database the sqlx runner migrated: its successful versions become
/// this runner's record (once; the old table is left as it is).
fn carry_over_sqlx_record(db: &Db, now_ms: i64) -> crate::store::Result<()> {
    let has_old: Option<i64> = db.one(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        &[],
    )?;
    let has_new: Option<i64> = db.one("SELECT 1 FROM schema_migrations LIMIT 1", &[])?;
    if has_old.is_none() || has_new.is_some() {
        return Ok(());
    }
    db.run(
        "INSERT INTO schema_migrations (version, name, applied_at) \
         SELECT version, description, ? FROM _sqlx_migrations WHERE success",
        crate::args![now_ms],
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Db {
        Db::new(rusqlite::Connection::open_in_memory().unwrap())
    }

    #[test]
    fn every_migration_applies_once_in_order() {
        let db = memory();
        let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(
            all,
            (1..=latest()).collect::<Vec<_>>(),
            "numbered without gaps"
        );
        assert_eq!(run(&db, 1).unwrap(), all);
        assert!(run(&db, 2).unwrap().is_empty(), "nothing twice");
    }

    #[test]
    fn a_single_clubs_rows_go_to_club_1_and_its_staff_keep_every_club() {
        let db = memory();
        db.batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)").unwrap();
        for (version, name, sql) in &MIGRATIONS[..10] {
            db.batch(sql).unwrap();
            db.run(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)",
                crate::args![version, name],
            )
            .unwrap();
        }
        db.batch(
            "INSERT INTO roles (name, permissions) VALUES ('Owner', '[]'); \
             INSERT INTO operators (login, password_hash, role_id, created_at) \
                 VALUES ('owner', 'x', 1, 0); \
             INSERT INTO zones (name) VALUES ('Main'); \
             INSERT INTO devices (name, zone_id, x, y, created_at) VALUES ('PC-1', 1, 0, 0, 0); \
             INSERT INTO shifts (operator_id, opened_at) VALUES (1, 0);",
        )
        .unwrap();
        db.batch("PRAGMA foreign_keys = ON").unwrap();
        assert_eq!(run(&db, 1).unwrap(), vec![11, 12]);
        let enforced: i64 = db.first("PRAGMA foreign_keys", &[]).unwrap();
        assert_eq!(
            enforced, 1,
            "foreign keys are enforced again after migrating"
        );
        let clubs: Vec<(i64, String)> = db
            .all("SELECT id, name FROM clubs", &[])
            .unwrap()
            .into_iter()
            .map(|(id, name): (i64, String)| (id, name))
            .collect();
        assert_eq!(clubs, vec![(1, "Club".to_owned())]);
        let zone: Option<i64> = db.one("SELECT club_id FROM zones", &[]).unwrap();
        let shift: Option<i64> = db.one("SELECT club_id FROM shifts", &[]).unwrap();
        let operator: Option<Option<i64>> = db.one("SELECT club_id FROM operators", &[]).unwrap();
        assert_eq!((zone, shift, operator), (Some(1), Some(1), Some(None)));
        let pcs_by_club: Option<i64> = db.one("SELECT club_id FROM devices", &[]).unwrap();
        assert_eq!(pcs_by_club, Some(1));
        // Names are unique within a club: another club has its own "Main"
        // and "PC-1"; the same club cannot have two.
        db.batch(
            "INSERT INTO clubs (id, name, created_at) VALUES (2, 'North', 0); \
             INSERT INTO zones (name, club_id) VALUES ('Main', 2); \
             INSERT INTO devices (name, zone_id, club_id, x, y, created_at) \
                 VALUES ('PC-1', 2, 2, 0, 0, 0);",
        )
        .unwrap();
        assert!(db
            .run("INSERT INTO zones (name, club_id) VALUES ('Main', 2)", &[])
            .is_err());
        // A zone of no club is refused.
        assert!(db
            .run(
                "INSERT INTO zones (name, club_id) VALUES ('Nowhere', 7)",
                &[]
            )
            .is_err());
        assert!(db.run("DELETE FROM clubs", &[]).is_err());
    }

    #[test]
    fn every_file_in_the_migrations_folder_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            // PostgreSQL's are in a folder of their own.
            .filter(|f| f.ends_with(".sql"))
            .collect();
        files.sort();
        let numbers: Vec<i64> = files.iter().map(|f| f[..4].parse().unwrap()).collect();
        assert_eq!(numbers, MIGRATIONS.iter().map(|m| m.0).collect::<Vec<_>>());
    }

    #[test]
    fn a_database_from_a_newer_server_is_refused() {
        let db = memory();
        run(&db, 1).unwrap();
        db.run(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)",
            crate::args![latest() + 1],
        )
        .unwrap();
        let e = run(&db, 2).unwrap_err().to_string();
        assert!(e.contains("newer than this server's"), "{e}");
    }

    #[test]
    fn the_old_runners_record_is_carried_over() {
        let db = memory();
        db.batch(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB, execution_time BIGINT);",
        )
        .unwrap();
        // The schema of version 1 is there already, as the old runner left it.
        db.batch(MIGRATIONS[0].2).unwrap();
        db.run(
            "INSERT INTO _sqlx_migrations (version, description, success) VALUES (1, 'core', 1)",
            &[],
        )
        .unwrap();
        assert_eq!(run(&db, 1).unwrap(), (2..=latest()).collect::<Vec<_>>());
    }
}
