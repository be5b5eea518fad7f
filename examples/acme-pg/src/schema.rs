//! The binary's migrations against a database's: what `migrate` applies, what a server
//! that does not migrate refuses to start without, and what a database has applied that
//! this binary does not know (a newer release's, after a rollback to an older image).

use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;

use crate::{
    config::Config,
    db::{self, DbConnection, DbPool},
};

/// Attempts at the migrations when one gives up waiting for a lock.
const MIGRATION_ATTEMPTS: u32 = 8;
/// The wait before the second attempt; it doubles with each further one, up to a limit.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(30);

/// The migrations in `migrations/`, embedded at build time. Migrations a database has
/// applied that this binary does not know are no error: after a rollback the previous
/// release runs on the newer schema, which expand → deploy → contract keeps fit for
/// it (README, "Deploy").
pub fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!();
    migrator.set_ignore_missing(true);
    migrator
}

/// How the migrations a database has applied compare with the binary's, each written
/// `<version> <description>`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// The binary's migrations the database has not applied, in order.
    pub pending: Vec<String>,
    /// Migrations the database has applied that the binary does not know.
    pub unknown: Vec<String>,
}

impl Comparison {
    /// Compares the `(version, description)` of each migration a database has applied.
    pub fn of(migrator: &Migrator, applied: &[(i64, String)]) -> Self {
        let pending = migrator
            .iter()
            .filter(|migration| migration.migration_type.is_up_migration())
            .filter(|migration| {
                !applied
                    .iter()
                    .any(|(version, _)| *version == migration.version)
            })
            .map(|migration| format!("{} {}", migration.version, migration.description))
            .collect();
        let unknown = applied
            .iter()
            .filter(|(version, _)| !migrator.version_exists(*version))
            .map(|(version, description)| format!("{version} {description}"))
            .collect();
        Self { pending, unknown }
    }

    /// Logs the migrations the binary does not know, if any.
    pub fn log_unknown(&self) {
        if !self.unknown.is_empty() {
            tracing::warn!(
                unknown = ?self.unknown,
                "the database has applied migrations this binary does not know (a newer \
                 release's); running on it, as expand → deploy → contract allows"
            );
        }
    }
}

/// Applies the pending migrations, retrying with a growing wait when one gives up
/// waiting for a lock (another transaction held the table it alters): the queries
/// behind it were not kept waiting, and the next attempt may find the table free.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let mut wait = FIRST_RETRY;
    let mut attempt = 1;
    loop {
        match db::migrate_once(config).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < MIGRATION_ATTEMPTS && db::gave_up_on_a_lock(&error) => {
                tracing::warn!(
                    attempt,
                    retry_in = ?wait,
                    "a migration gave up waiting for a lock and was rolled back; retrying"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LONGEST_RETRY);
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Applies the pending migrations over `connection`, saying which, after logging those
/// the database has applied that the binary does not know. Each dialect's
/// `db::migrate_once` opens the connection (and on PostgreSQL takes the lock).
pub async fn apply(connection: &mut DbConnection) -> anyhow::Result<()> {
    let migrator = migrator();
    let comparison = Comparison::of(&migrator, &db::applied_migrations(connection).await?);
    comparison.log_unknown();
    if comparison.pending.is_empty() {
        tracing::info!("migrations: none pending");
        return Ok(());
    }
    tracing::info!(pending = ?comparison.pending, "migrations: applying");
    migrator.run(&mut *connection).await?;
    tracing::info!(applied = comparison.pending.len(), "migrations: applied");
    Ok(())
}

/// Refuses a database that lacks some of the binary's migrations, naming them: the
/// code would otherwise fail on the first query that needs them. With
/// `MIGRATE_ON_START=false`, `migrate` must run before a release starts serving.
pub async fn check(pool: &DbPool) -> anyhow::Result<()> {
    let mut connection = pool.acquire().await?;
    let applied = db::applied_migrations(&mut connection)
        .await
        .context("could not read the applied migrations")?;
    let comparison = Comparison::of(&migrator(), &applied);
    comparison.log_unknown();
    if !comparison.pending.is_empty() {
        anyhow::bail!(
            "the database lacks {} of this release's migrations ({}): run the `migrate` \
             command first, or set MIGRATE_ON_START=true",
            comparison.pending.len(),
            comparison.pending.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_and_unknown_migrations_are_told_apart() {
        let migrator = migrator();
        let first = migrator.iter().next().expect("at least one migration");
        let applied = [
            (first.version, first.description.to_string()),
            (99_990_101_000_000, "from a newer release".to_owned()),
        ];
        let comparison = Comparison::of(&migrator, &applied);
        assert_eq!(comparison.unknown, ["99990101000000 from a newer release"]);
        assert_eq!(comparison.pending.len(), migrator.iter().count() - 1);
        assert!(
            !comparison
                .pending
                .iter()
                .any(|pending| pending.starts_with(&format!("{} ", first.version)))
        );
    }
}
