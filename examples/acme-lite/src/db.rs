//! The connection pool, migrations, and how write transactions begin.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::{
    Connection, Transaction,
    sqlite::{
        SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
        SqliteSynchronous,
    },
};

use crate::{config::Config, schema};

/// The database this app was generated for.
pub type Db = sqlx::Sqlite;
/// A pool of connections to [`Db`].
pub type DbPool = SqlitePool;
/// One connection to [`Db`].
pub type DbConnection = SqliteConnection;

/// How every connection opens the database, creating the file (and its directory) if
/// needed.
fn connect_options(config: &Config) -> anyhow::Result<SqliteConnectOptions> {
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
    Ok(options)
}

/// Opens the pool described by the configuration, creating the database file if needed.
pub async fn connect(config: &Config) -> anyhow::Result<DbPool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(config.database_acquire_timeout)
        .connect_with(connect_options(config)?)
        .await?;
    Ok(pool)
}

/// Applies the migrations in `migrations/` that this database has not run yet, over a
/// connection of their own. A migration that waits past the busy timeout for another
/// writer fails, and [`schema::migrate`] retries it.
pub async fn migrate_once(config: &Config) -> anyhow::Result<()> {
    let mut connection = SqliteConnection::connect_with(&connect_options(config)?).await?;
    let result = schema::apply(&mut connection).await;
    connection.close().await.ok();
    result
}

/// The `(version, description)` of each migration the database has applied; none when
/// it never ran any.
pub async fn applied_migrations(
    connection: &mut SqliteConnection,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar(
        "select exists (select 1 from sqlite_master where type = 'table' and name = '_sqlx_migrations')",
    )
    .fetch_one(&mut *connection)
    .await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "select version, description from _sqlx_migrations where success order by version",
    )
    .fetch_all(&mut *connection)
    .await
}

/// Whether a migration failed because another writer held the database past the busy
/// timeout.
pub fn gave_up_on_a_lock(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<sqlx::Error>().is_some_and(is_busy))
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
