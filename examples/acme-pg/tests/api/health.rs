//! `GET /health`, `/health/live` and `/health/ready`, and the binary's `healthcheck`
//! command that the image's health check runs; how they answer while the app shuts
//! down is in `shutdown`.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::{Value, json};

use app::db::DbPool;

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

/// Runs the binary's `healthcheck` with `BIND_ADDR=bind_addr`, as the image's health
/// check runs it.
async fn healthcheck(bind_addr: String) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))))
            .arg("healthcheck")
            .env("BIND_ADDR", bind_addr)
            .env_remove("PORT")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_healthcheck_command_passes_while_the_app_serves_without_its_database(db: DbPool) {
    let app = spawn_app(db).await;
    app.db.close().await;
    // The image listens on 0.0.0.0: the command reaches it over loopback.
    let port = app.address.rsplit(':').next().unwrap();

    let output = healthcheck(format!("0.0.0.0:{port}")).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_healthcheck_command_fails_when_nothing_listens(_db: DbPool) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);

    let output = healthcheck(address.to_string()).await;

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stderr);
    assert!(printed.contains("could not connect"), "{printed}");
}
