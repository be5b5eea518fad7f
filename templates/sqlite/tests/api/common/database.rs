//! The migrations each test's database gets. sqlx makes every test a database file of
//! its own, so the tests need no server.

use sqlx::migrate::Migrator;

/// Every test names it: `#[sqlx::test(migrator = "crate::common::MIGRATOR")]`.
pub static MIGRATOR: Migrator = sqlx::migrate!();
