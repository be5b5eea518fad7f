//! The connection pool, migrations, and how write transactions begin.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::{
    Connection, Transaction,
    migrate::MigrateDatabase,
    postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions},
};

use crate::{
    config::{Config, Environment},
    schema,
};

/// The database this app was generated for.
pub type Db = sqlx::Postgres;
/// A pool of connections to [`Db`].
pub type DbPool = PgPool;
/// One connection to [`Db`].
pub type DbConnection = PgConnection;

/// The advisory lock one migrating instance holds (its session's), so that the others
/// wait here, without a lock timeout, rather than in sqlx's own lock.
const MIGRATION_LOCK: i64 = 0x7361_6173_6d69_6772;

/// Opens the pool described by the configuration. Outside production a missing
/// database is created, so `cargo run` needs nothing but a running server.
pub async fn connect(config: &Config) -> anyhow::Result<DbPool> {
    let url = config.database_url.expose_secret();
    let options =
        PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let options = if config.database_pgbouncer {
        // PgBouncer refuses startup parameters it does not know: `options`, and the
        // `extra_float_digits` sqlx sends. The statement timeout is then the role's.
        options.extra_float_digits(None)
    } else {
        // A runaway query is cancelled instead of holding its connection forever.
        let timeout = format!("{}ms", config.database_statement_timeout.as_millis());
        options.options([("statement_timeout", timeout.as_str())])
    };
    if config.environment != Environment::Production
        && !config.database_pgbouncer
        && !sqlx::Postgres::database_exists(url).await?
    {
        sqlx::Postgres::create_database(url).await?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        // Past this wait a request is answered 503 rather than left hanging.
        .acquire_timeout(config.database_acquire_timeout)
        .max_lifetime(config.database_max_lifetime)
        .idle_timeout(config.database_idle_timeout)
        .connect_with(options)
        .await?;
    check_server(&pool, config).await?;
    Ok(pool)
}

/// Warns of a server setting that will hurt later: a pool too large for the server's
/// connections, or no statement timeout behind PgBouncer.
async fn check_server(pool: &DbPool, config: &Config) -> Result<(), sqlx::Error> {
    if config.database_pgbouncer {
        // PgBouncer passes this to the server, so it shows the role's setting.
        let timeout: String = sqlx::query_scalar("show statement_timeout")
            .fetch_one(pool)
            .await?;
        if timeout == "0" {
            tracing::warn!(
                "no statement_timeout behind PgBouncer: runaway queries hold their \
                 connection; set one for the app's role: \
                 alter role <role> set statement_timeout = '30s'"
            );
        }
        return Ok(());
    }
    let (max, reserved): (i32, i32) = sqlx::query_as(
        "select current_setting('max_connections')::int,
                current_setting('superuser_reserved_connections')::int",
    )
    .fetch_one(pool)
    .await?;
    let available = i64::from(max) - i64::from(reserved);
    let pool_size = i64::from(config.database_max_connections);
    // A rolling deploy runs at least two instances at once, each with its pool and,
    // while it starts, one connection for the migrations.
    if 2 * (pool_size + 1) > available {
        tracing::warn!(
            pool_size,
            max_connections = max,
            superuser_reserved_connections = reserved,
            "DATABASE_MAX_CONNECTIONS is more than half of what the server allows: two \
             instances at once (a rolling deploy) may be refused connections; keep \
             instances × (pool + 1) under max_connections − reserved, or use a pooler"
        );
    }
    Ok(())
}

/// Applies the migrations in `migrations/` that this database has not run yet, over a
/// connection of their own to `DATABASE_DIRECT_URL` (else `DATABASE_URL`): without the
/// statement timeout, which a long migration may outlast, but with
/// `MIGRATION_LOCK_TIMEOUT_SECONDS`, so that a migration waiting for a busy table gives
/// up (and [`schema::migrate`] retries it) instead of stalling every query queued
/// behind its lock. Instances starting at once wait for one another.
pub async fn migrate_once(config: &Config) -> anyhow::Result<()> {
    let (url, name) = match &config.database_direct_url {
        Some(url) => (url.expose_secret(), "DATABASE_DIRECT_URL"),
        None => (config.database_url.expose_secret(), "DATABASE_URL"),
    };
    if config.environment != Environment::Production
        && !sqlx::Postgres::database_exists(url).await?
    {
        sqlx::Postgres::create_database(url).await?;
    }
    let lock_timeout = format!("{}ms", config.migration_lock_timeout.as_millis());
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("{name} is not a valid PostgreSQL URL"))?
        .options([
            ("statement_timeout", "0"),
            ("lock_timeout", lock_timeout.as_str()),
        ]);
    let mut connection = PgConnection::connect_with(&options).await?;
    let result = migrate_over(&mut connection).await;
    // Ending the session releases its locks, whatever happened.
    connection.close().await.ok();
    result
}

async fn migrate_over(connection: &mut PgConnection) -> anyhow::Result<()> {
    let mut waiting = false;
    while !sqlx::query_scalar::<_, bool>("select pg_try_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .fetch_one(&mut *connection)
        .await?
    {
        if !waiting {
            tracing::info!("another instance is applying migrations; waiting for it");
            waiting = true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    schema::apply(connection).await
}

/// The `(version, description)` of each migration the database has applied; none when
/// it never ran any.
pub async fn applied_migrations(
    connection: &mut PgConnection,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null")
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

/// Whether a migration failed because it waited for a lock past the lock timeout.
pub fn gave_up_on_a_lock(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<sqlx::Error>(),
            Some(sqlx::Error::Database(error)) if error.code().as_deref() == Some("55P03")
        )
    })
}

/// Begins a transaction that will write. PostgreSQL needs nothing special here; the
/// function exists so that code reads the same for every database.
pub async fn begin_write(pool: &DbPool) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

/// Whether `error` means the database could not do the work now rather than that the
/// request was wrong: a deadlock or serialization failure, a lock not granted in
/// time, or a statement cancelled by `statement_timeout`. The request is answered 503
/// `busy` with `Retry-After`.
pub fn is_busy(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    matches!(
        error.code().as_deref(),
        Some("40001" | "40P01" | "55P03" | "57014")
    )
}
