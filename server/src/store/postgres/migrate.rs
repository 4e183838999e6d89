//! PostgreSQL's migrations, embedded in the binary and applied in order,
//! each in its own transaction with its record, by one server at a time
//! (an advisory lock: servers of a chain may start together). A database a
//! newer server migrated is refused, not guessed at.

use tokio_postgres::Client;

/// Every migration: its version, name and SQL. Merged migrations are never
/// edited; a change is a new file here and its twin for SQLite.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "club",
        include_str!("../../../migrations/postgres/0001_club.sql"),
    ),
    (
        2,
        "chain",
        include_str!("../../../migrations/postgres/0002_chain.sql"),
    ),
    (
        3,
        "clubs",
        include_str!("../../../migrations/postgres/0003_clubs.sql"),
    ),
    (
        4,
        "club no-show",
        include_str!("../../../migrations/postgres/0004_club_no_show.sql"),
    ),
];

/// The lock the migrating server holds.
const MIGRATION_LOCK: i64 = 0x436c_7562_4d69_6772; // "ClubMigr"

pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies what is missing; answers the versions applied now.
pub async fn run(client: &Client, now_ms: i64) -> anyhow::Result<Vec<i64>> {
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .await?;
    let done = apply(client, now_ms).await;
    client
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .await?;
    done
}

async fn apply(client: &Client, now_ms: i64) -> anyhow::Result<Vec<i64>> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
             name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await?;
    let applied: Vec<i64> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(unknown) = applied.iter().find(|v| **v > latest()) {
        anyhow::bail!(
            "the database has schema version {unknown}, newer than this server knows ({}): \
             run the newer server, or restore a backup this one made",
            latest()
        );
    }
    let mut done = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        client.batch_execute("BEGIN").await?;
        let step = async {
            client.batch_execute(sql).await?;
            client
                .execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    &[version, name, &now_ms],
                )
                .await
        };
        match step.await {
            Ok(_) => client.batch_execute("COMMIT").await?,
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                anyhow::bail!("migration {version} ({name}) failed: {e}");
            }
        }
        done.push(*version);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_the_postgres_migrations_folder_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let numbers: Vec<i64> = files.iter().map(|f| f[..4].parse().unwrap()).collect();
        assert_eq!(numbers, MIGRATIONS.iter().map(|m| m.0).collect::<Vec<_>>());
    }
}
