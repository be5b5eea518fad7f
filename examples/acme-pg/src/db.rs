//! The connection pool, migrations, and how write transactions begin.

use std::str::FromStr;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::{
    Transaction,
    migrate::{MigrateDatabase, MigrateError},
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
};

use crate::config::{Config, Environment};

/// The database this app was generated for.
pub type Db = sqlx::Postgres;
/// A pool of connections to [`Db`].
pub type DbPool = PgPool;

/// Opens the pool described by the configuration. Outside production a missing
/// database is created, so `cargo run` needs nothing but a running server.
pub async fn connect(config: &Config) -> anyhow::Result<DbPool> {
    let url = config.database_url.expose_secret();
    let options = PgConnectOptions::from_str(url)
        .context("DATABASE_URL is not a valid PostgreSQL URL")?
        // A runaway query is cancelled instead of holding its connection forever.
        .options([("statement_timeout", "30s")]);
    if config.environment != Environment::Production
        && !sqlx::Postgres::database_exists(url).await?
    {
        sqlx::Postgres::create_database(url).await?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        // Past this wait a request is answered 503 rather than left hanging.
        .acquire_timeout(config.database_acquire_timeout)
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Applies the migrations in `migrations/` that this database has not run yet. Several
/// instances starting at once are safe: sqlx holds an advisory lock while migrating.
pub async fn migrate(pool: &DbPool) -> Result<(), MigrateError> {
    sqlx::migrate!().run(pool).await
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
