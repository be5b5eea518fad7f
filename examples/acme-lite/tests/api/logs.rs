//! The log: one INFO line per request, JSON in production with the service and its
//! version, and panics as ERROR lines of the same log.

use std::{
    io,
    sync::{Arc, Mutex},
};

use axum::{Router, routing::get};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

use app::{
    config::{Config, Environment},
    db::DbPool,
    metrics::Metrics,
    middleware, telemetry,
};

use crate::common::{log_on_this_thread, new_client, spawn_app};

/// What the app logged while the guard of [`Log::capture`] lived, on this thread: the
/// tests' runtime has one thread, so the app's tasks too.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Log {
    /// Logs as `environment` does, at the default level, into a new `Log`.
    fn capture(environment: Environment) -> (Self, DefaultGuard) {
        let log = Self::default();
        let writer = log.clone();
        let subscriber =
            telemetry::subscriber(environment, EnvFilter::new("info"), false, move || {
                writer.clone()
            });
        (log, log_on_this_thread(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Each line, as JSON.
    fn json_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect()
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_request_is_one_info_line_with_its_route_status_latency_and_id(db: DbPool) {
    let (log, guard) = Log::capture(Environment::Production);
    let app = spawn_app(db).await;
    let session = Uuid::now_v7();

    let response = app
        .client
        .delete(app.url(&format!("/auth/sessions/{session}")))
        .header("x-request-id", "request-to-follow")
        .send()
        .await
        .unwrap();
    // A failed assertion below then prints, rather than going into the log.
    drop(guard);

    let status = response.status().as_u16();
    let lines: Vec<Value> = log
        .json_lines()
        .into_iter()
        .filter(|line| line["span"]["request_id"] == "request-to-follow")
        .filter(|line| line["message"] == "request")
        .collect();
    assert_eq!(lines.len(), 1, "{}", log.text());
    let line = &lines[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["service"], env!("CARGO_PKG_NAME"));
    assert_eq!(line["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(line["span"]["method"], "DELETE");
    assert_eq!(line["span"]["route"], "/auth/sessions/{id}");
    assert_eq!(line["status"], status);
    assert!(line["latency_ms"].as_f64().unwrap() > 0.0, "{line}");
    // The route, never the path: a path may carry an id or a token.
    assert!(!log.text().contains(&session.to_string()));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn outside_production_the_request_line_is_text(db: DbPool) {
    let (log, guard) = Log::capture(Environment::Development);
    let app = spawn_app(db).await;

    let response = app.get("/no-such-page").await;
    drop(guard);

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let request_id = response.headers()["x-request-id"].to_str().unwrap();
    let text = log.text();
    let line = text
        .lines()
        .find(|line| line.contains(request_id))
        .unwrap_or_else(|| panic!("no line of {request_id}: {text}"));
    assert!(line.contains(" INFO "), "{line}");
    assert!(
        line.contains("request{method=GET route=unmatched request_id="),
        "{line}"
    );
    assert!(line.contains(" request status=404 latency_ms="), "{line}");
}

#[tokio::test]
async fn a_panic_in_a_handler_is_an_error_line_of_the_log() {
    async fn boom() -> &'static str {
        panic!("the handler broke")
    }
    let (log, guard) = Log::capture(Environment::Production);
    telemetry::log_panics();
    let config = Config::from_vars([("APP_ENV", "test")]).unwrap();
    let router = middleware::around(
        Router::new().route("/boom", get(boom)),
        &config,
        &Metrics::new(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/boom", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, router).into_future());

    let response = new_client().get(url).send().await.unwrap();
    // The panic hook logs to the subscriber in place: a failed assertion below then
    // prints, rather than going into the log.
    drop(guard);

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = response.headers()["x-request-id"].to_str().unwrap();
    let lines = log.json_lines();
    let of_request = |message: &str| {
        lines
            .iter()
            .find(|line| line["span"]["request_id"] == request_id && line["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} line: {}", log.text()))
    };
    let panic = of_request("panicked");
    assert_eq!(panic["level"], "ERROR");
    assert_eq!(panic["panic"], "the handler broke");
    assert!(
        panic["location"].as_str().unwrap().contains("logs.rs"),
        "{panic}"
    );
    assert_eq!(panic["span"]["route"], "/boom");
    assert_eq!(of_request("request")["status"], 500);
}
