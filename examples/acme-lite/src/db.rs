//! The connection pool, migrations, and how write transactions begin.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::{
    Transaction,
    migrate::MigrateError,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

use crate::config::Config;

/// The database this app was generated for.
pub type Db = sqlx::Sqlite;
/// A pool of connections to [`Db`].
pub type DbPool = SqlitePool;

/// Opens the pool described by the configuration, creating the database file if needed.
pub async fn connect(config: &Config) -> anyhow::Result<DbPool> {
    let options = SqliteConnectOptions::from_str(config.database_url.expose_secret())
        .context("DATABASE_URL is not a valid SQLite URL")?
        .create_if_missing(true)
        // Readers do not block the writer, nor the writer readers.
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL loses at most the last transactions on power loss, never integrity.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    if let Some(directory) = options.get_filename().parent() {
        std::fs::create_dir_all(directory)
            .with_context(|| format!("could not create {}", directory.display()))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(config.database_acquire_timeout)
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Applies the migrations in `migrations/` that this database has not run yet.
pub async fn migrate(pool: &DbPool) -> Result<(), MigrateError> {
    sqlx::migrate!().run(pool).await
}

/// Begins a transaction that will write.
///
/// SQLite allows one writer at a time. A transaction begun the default (deferred)
/// way that reads and then writes fails at once with "database is locked" when
/// another writer got there first, without waiting for the busy timeout.
/// `BEGIN IMMEDIATE` takes the write lock up front, so writers queue instead.
pub async fn begin_write(pool: &DbPool) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Whether `error` means another writer held the database for longer than the busy
/// timeout: SQLITE_BUSY or SQLITE_LOCKED, in any of their extended forms. The request
/// is answered 503 `busy` with `Retry-After`, as the write may well succeed a moment later.
pub fn is_busy(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    let primary = error
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .map(|code| code & 0xff);
    matches!(primary, Some(5 | 6))
}
