//! The migrations against a database another release has migrated: an older binary
//! (a rollback) runs on a newer schema; a server that does not migrate refuses a
//! database that lacks some of its migrations.

use sqlx::ConnectOptions;

use app::{config::Config, db::DbPool, schema};

/// What the previous release would see after this one's rollback: a migration applied
/// that its binary does not know.
async fn apply_a_newer_release_migration(db: &DbPool) {
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
         values ($1, 'from a newer release', true, $2, 0)",
    )
    .bind(99_990_101_000_000_i64)
    .bind(vec![0_u8; 48])
    .execute(db)
    .await
    .unwrap();
}

/// The configuration of an instance on the test's database.
fn config_for(db: &DbPool) -> Config {
    let url = db.connect_options().to_url_lossy().to_string();
    Config::from_vars([("DATABASE_URL", url.as_str())]).unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_older_binary_migrates_and_serves_a_newer_schema(db: DbPool) {
    apply_a_newer_release_migration(&db).await;

    // sqlx alone refuses: "migration … was previously applied but is missing".
    schema::migrate(&config_for(&db)).await.unwrap();
    schema::check(&db).await.unwrap();

    let recorded: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(recorded as usize, schema::migrator().iter().count() + 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_server_that_does_not_migrate_refuses_a_database_lacking_a_migration(db: DbPool) {
    schema::check(&db).await.unwrap();
    let latest = schema::migrator().iter().last().unwrap().version;
    sqlx::query("delete from _sqlx_migrations where version = $1")
        .bind(latest)
        .execute(&db)
        .await
        .unwrap();

    let error = schema::check(&db).await.unwrap_err().to_string();
    assert!(error.contains(&latest.to_string()), "{error}");
    assert!(error.contains("`migrate`"), "{error}");
}
