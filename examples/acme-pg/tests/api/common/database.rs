//! The migrations each test's database gets, given only once the PostgreSQL server the
//! tests make their databases on has answered. Without the server every test fails at
//! once and says what is missing, instead of each waiting 30 s for sqlx's pool.

use std::{ops::Deref, str::FromStr, sync::OnceLock, time::Duration};

use sqlx::{
    Connection,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgConnection},
};

/// Every test names it: `#[sqlx::test(migrator = "crate::common::MIGRATOR")]`.
pub static MIGRATOR: CheckedMigrator = CheckedMigrator;

/// The app's migrations, behind a check of `DATABASE_URL`'s server made once per run.
pub struct CheckedMigrator;

impl Deref for CheckedMigrator {
    type Target = Migrator;

    fn deref(&self) -> &Migrator {
        static PROBLEM: OnceLock<Option<String>> = OnceLock::new();
        if let Some(problem) = PROBLEM.get_or_init(find_problem) {
            panic!("{problem}");
        }
        static MIGRATIONS: Migrator = sqlx::migrate!();
        &MIGRATIONS
    }
}

/// What keeps the tests from making their databases, if anything.
fn find_problem() -> Option<String> {
    let Ok(url) = dotenvy::var("DATABASE_URL") else {
        return Some(
            "DATABASE_URL is not set: the tests make their databases on the PostgreSQL \
             server it names. `saas new` wrote it to .env; copy .env.example to .env if it \
             is gone."
                .to_owned(),
        );
    };
    let options = match PgConnectOptions::from_str(&url) {
        Ok(options) => options,
        Err(error) => return Some(format!("DATABASE_URL is not a PostgreSQL URL: {error}")),
    };
    let server = format!("{}:{}", options.get_host(), options.get_port());
    let database = options.get_database().unwrap_or(options.get_username());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the check");
    runtime.block_on(async {
        let connecting = PgConnection::connect_with(&options);
        match tokio::time::timeout(Duration::from_secs(5), connecting).await {
            Ok(Ok(connection)) => {
                connection.close().await.ok();
                None
            }
            Ok(Err(sqlx::Error::Database(error))) if error.code().as_deref() == Some("3D000") => {
                Some(format!(
                    "database `{database}` does not exist on the PostgreSQL server at {server} \
                     (DATABASE_URL). `cargo run` creates it, or run `createdb {database}`; the \
                     tests make their own databases beside it."
                ))
            }
            Ok(Err(error)) => Some(format!(
                "the tests could not reach PostgreSQL at {server} (DATABASE_URL): {error}. \
                 Start PostgreSQL, or point DATABASE_URL in .env at a server you can reach."
            )),
            Err(_) => Some(format!(
                "PostgreSQL at {server} (DATABASE_URL) did not answer within 5 s. Start it, or \
                 point DATABASE_URL in .env at a server you can reach."
            )),
        }
    })
}
