//! The Prometheus metrics: served apart from the API, labelled by route template and
//! never by raw path, with the pool and the job queue read at scrape time.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use app::{
    AppState,
    config::Config,
    db::{self, DbPool},
    jobs::{self, Job},
    mail::Mail,
};

use crate::common::{PASSWORD, TestApp, serve_metrics, spawn_app, spawn_app_with};

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of the sample `series` (a name and its labels, as the text writes them).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

async fn login(app: &TestApp) -> StatusCode {
    app.another_client()
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "nobody@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .status()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_metrics_count_requests_by_route_and_status_and_rate_limit_refusals(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_IP_LIMIT_PER_MINUTE", "1")]).await;
    let metrics = serve_metrics(&app).await;

    for _ in 0..2 {
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    }
    assert_eq!(login(&app).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app).await, StatusCode::TOO_MANY_REQUESTS);
    let text = scrape(&metrics).await;

    let requests = |labels: &str| {
        sample(
            &text,
            &format!("http_request_duration_seconds_count{labels}"),
        )
    };
    assert_eq!(
        requests(r#"{method="GET",route="/health",status="200"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        requests(r#"{method="POST",route="/auth/login",status="401"}"#),
        Some(1.0)
    );
    assert_eq!(
        requests(r#"{method="POST",route="/auth/login",status="429"}"#),
        Some(1.0)
    );
    let health_sum = sample(
        &text,
        r#"http_request_duration_seconds_sum{method="GET",route="/health",status="200"}"#,
    );
    assert!(health_sum.unwrap() > 0.0, "{text}");
    assert_eq!(
        sample(&text, r#"rate_limit_refusals_total{limit="auth-ip"}"#),
        Some(1.0)
    );
    assert!(
        sample(&text, "db_pool_connections").unwrap() >= 1.0,
        "{text}"
    );
    assert!(sample(&text, "db_pool_idle_connections").is_some());
    assert_eq!(sample(&text, "jobs_pending"), Some(0.0));
    assert_eq!(sample(&text, "jobs_failed"), Some(0.0));
    assert_eq!(sample(&text, "jobs_oldest_due_age_seconds"), Some(0.0));
    assert!(text.ends_with("# EOF\n"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn route_labels_are_route_templates_never_raw_paths(db: DbPool) {
    let app = spawn_app(db).await;
    let metrics = serve_metrics(&app).await;

    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let mut statuses = Vec::new();
    for id in &ids {
        let response = app.delete(&format!("/auth/sessions/{id}")).await;
        statuses.push(response.status());
        let unknown = app.get(&format!("/no-such-page/{id}")).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    }
    let text = scrape(&metrics).await;

    // Every session id answers alike (no one is signed in), under one series.
    assert!(statuses.iter().all(|status| *status == statuses[0]));
    let session = [
        r#"http_request_duration_seconds_count{method="DELETE",route="/auth/sessions/{id}",status=""#,
        statuses[0].as_str(),
        r#""}"#,
    ]
    .concat();
    assert_eq!(sample(&text, &session), Some(5.0), "{text}");
    let unmatched =
        r#"http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(sample(&text, unmatched), Some(5.0), "{text}");
    for id in &ids {
        assert!(!text.contains(&id.to_string()), "{text}");
    }
    assert!(!text.contains("no-such-page"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_api_does_not_serve_the_metrics(db: DbPool) {
    let app = spawn_app(db).await;
    serve_metrics(&app).await;

    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_job_gauges_are_read_from_the_queue_at_scrape_time(db: DbPool) {
    // No worker runs: the jobs stay as the test leaves them.
    let config = Config::from_vars([("APP_ENV", "test")]).unwrap();
    let state = AppState::new(config, db.clone()).unwrap();
    let mut tx = db::begin_write(&db).await.unwrap();
    let mut ids = Vec::new();
    for to in [
        "late@example.com",
        "failed@example.com",
        "later@example.com",
    ] {
        let mail = Mail::notice(to, "Hello", "From a job.");
        ids.push(jobs::enqueue(&mut tx, Job::SendMail(mail)).await.unwrap());
    }
    tx.commit().await.unwrap();
    let now = OffsetDateTime::now_utc();
    let set_run_at = |id: Uuid, run_at: OffsetDateTime| {
        sqlx::query("update jobs set run_at = $1 where id = $2")
            .bind(run_at)
            .bind(id)
            .execute(&db)
    };
    set_run_at(ids[0], now - Duration::from_secs(90))
        .await
        .unwrap();
    sqlx::query("update jobs set state = 'failed' where id = $1")
        .bind(ids[1])
        .execute(&db)
        .await
        .unwrap();
    set_run_at(ids[2], now + Duration::from_secs(3600))
        .await
        .unwrap();

    let text = state.metrics.render(&state).await.unwrap();

    assert_eq!(sample(&text, "jobs_pending"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "jobs_failed"), Some(1.0));
    let age = sample(&text, "jobs_oldest_due_age_seconds").unwrap();
    assert!((90.0..120.0).contains(&age), "{text}");
}
