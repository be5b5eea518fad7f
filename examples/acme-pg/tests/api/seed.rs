//! `cargo run -- seed`: the demo account, reused on a re-run, never in production. Each
//! resource's own tests check its seeded rows.

use reqwest::StatusCode;
use serde_json::Value;

use app::{
    config::Environment,
    db::DbPool,
    seed::{self, DEMO_EMAIL, DEMO_PASSWORD},
};

use crate::common::spawn_app;

async fn demo_users(db: &DbPool) -> i64 {
    sqlx::query_scalar("select count(*) from users where email = $1")
        .bind(DEMO_EMAIL)
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn seeding_twice_makes_one_verified_demo_user(db: DbPool) {
    let app = spawn_app(db).await;

    let first = seed::run(&app.state.config, &app.db).await.unwrap();
    let second = seed::run(&app.state.config, &app.db).await.unwrap();

    assert!(first.user_created);
    assert!(!second.user_created);
    assert_eq!(first.demo.user_id, second.demo.user_id);
    assert_eq!(demo_users(&app.db).await, 1);
    let verified: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select email_verified_at from users where email = $1")
            .bind(DEMO_EMAIL)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(verified.is_some());
    assert!(second.seeded.iter().all(|seeded| seeded.rows == 0));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_printed_password_signs_the_demo_user_in(db: DbPool) {
    let app = spawn_app(db).await;

    let report = seed::run(&app.state.config, &app.db).await.unwrap();
    let printed = report.to_string();
    let response = app.login_as(&app.client, DEMO_EMAIL, DEMO_PASSWORD).await;

    assert!(printed.contains(DEMO_EMAIL) && printed.contains(DEMO_PASSWORD));
    assert!(printed.contains("/auth/login"), "{printed}");
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = app.get("/auth/me").await.json().await.unwrap();
    assert_eq!(me["user"]["email"], DEMO_EMAIL);
    let orgs: Value = app.get("/orgs").await.json().await.unwrap();
    let org_id = report.demo.tenant.org_id.to_string();
    assert!(orgs.to_string().contains(&org_id), "{orgs}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn seeding_is_refused_in_production_with_nothing_written(db: DbPool) {
    let app = spawn_app(db).await;
    let mut config = (*app.state.config).clone();
    config.environment = Environment::Production;

    let error = seed::run(&config, &app.db).await.unwrap_err();

    assert!(error.to_string().contains("APP_ENV=production"), "{error}");
    assert_eq!(demo_users(&app.db).await, 0);
    assert!(seed::refuse_in(Environment::Production).is_err());
    assert!(seed::refuse_in(Environment::Development).is_ok());
}
