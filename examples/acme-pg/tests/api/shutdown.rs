//! Shutting down (on SIGTERM or Ctrl-C; here when a channel says so): readiness fails
//! first while requests are still served, then the server stops accepting and waits for
//! the requests in flight until the deadline, and the pool closes. The job worker's
//! part is in `jobs`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::sync::oneshot;

use app::db::DbPool;

use crate::common::{TestApp, assert_error, spawn_app_until};

/// A pool of one connection to the database of `db`, whose users wait up to `wait` for
/// it: a test that holds the connection keeps every request that needs it waiting.
async fn pool_of_one(db: &DbPool, wait: Duration) -> DbPool {
    sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .acquire_timeout(wait)
        .connect_with((*db.connect_options()).clone())
        .await
        .unwrap()
}

/// Waits until the app has begun shutting down.
async fn wait_for_draining(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app.state.draining.is_draining() {
        assert!(
            Instant::now() < deadline,
            "the app did not begin shutting down"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn after_the_signal_readiness_fails_while_requests_are_served_for_the_delay(db: DbPool) {
    let pool = pool_of_one(&db, Duration::from_secs(60)).await;
    let (signal, shutdown) = oneshot::channel::<()>();
    let vars = [("SHUTDOWN_DELAY_SECONDS", "5")];
    let (app, server) = spawn_app_until(pool, &vars, async {
        shutdown.await.ok();
    })
    .await;
    let held = app.db.acquire().await.unwrap();
    let in_flight = tokio::spawn(app.client.get(app.url("/health")).send());

    signal.send(()).unwrap();
    wait_for_draining(&app).await;

    let ready = app.get("/health/ready").await;
    assert_error(ready, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    // New connections are still accepted during the delay, and liveness answers.
    let live = app.another_client().get(app.url("/health/live")).send();
    assert_eq!(live.await.unwrap().status(), StatusCode::OK);
    drop(held);
    let in_flight = in_flight.await.unwrap().unwrap();
    assert_eq!(in_flight.status(), StatusCode::OK);

    let stopped = tokio::time::timeout(Duration::from_secs(30), server).await;
    stopped.expect("the server stops").unwrap().unwrap();
    assert!(app.db.is_closed());
    let after = app.another_client().get(app.url("/health/live")).send();
    assert!(after.await.is_err(), "the server still accepts connections");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_request_still_running_at_the_deadline_does_not_hold_up_the_shutdown(db: DbPool) {
    // The request below would wait five minutes for the connection this test holds.
    let pool = pool_of_one(&db, Duration::from_secs(300)).await;
    let (signal, shutdown) = oneshot::channel::<()>();
    let vars = [
        ("SHUTDOWN_DELAY_SECONDS", "1"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "2"),
    ];
    let (app, server) = spawn_app_until(pool, &vars, async {
        shutdown.await.ok();
    })
    .await;
    let _held = app.db.acquire().await.unwrap();
    let stuck = tokio::spawn(app.client.get(app.url("/health")).send());

    signal.send(()).unwrap();

    let stopped = tokio::time::timeout(Duration::from_secs(60), server).await;
    stopped
        .expect("the server stops at the deadline, not when the request ends")
        .unwrap()
        .unwrap();
    assert!(app.db.is_closed());
    // Abandoned: it never got the connection, and the pool it waited on is closed.
    if let Ok(response) = stuck.await.unwrap() {
        assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    }
}
