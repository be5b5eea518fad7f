//! `GET /health`, `/health/live` and `/health/ready`; how they answer while the app
//! shuts down is in `shutdown`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use acme_lite::db::DbPool;

use crate::common::{assert_error, spawn_app};

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn health_is_ok_when_the_database_answers(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app.get("/health").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "status": "ok" })
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn health_is_503_when_the_database_is_gone(db: DbPool) {
    let app = spawn_app(db).await;
    app.db.close().await;

    let response = app.get("/health").await;

    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn liveness_answers_without_the_database(db: DbPool) {
    let app = spawn_app(db).await;
    app.db.close().await;

    let response = app.get("/health/live").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "status": "ok" })
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn readiness_is_ok_when_the_database_answers(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app.get("/health/ready").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "status": "ok" })
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn readiness_is_503_when_the_database_does_not_answer(db: DbPool) {
    let app = spawn_app(db).await;
    app.db.close().await;

    let response = app.get("/health/ready").await;

    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
}
