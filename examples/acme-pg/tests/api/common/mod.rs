//! `spawn_app`: the real app on a free port over a fresh database, and a client per user.

pub mod billing;
pub mod database;
pub mod orgs;
pub mod outbox;
pub mod plans;
pub mod stripe;
pub mod webhooks;

use std::{
    future::Future,
    sync::Once,
    time::{Duration, Instant},
};

pub use database::MIGRATOR;
use outbox::Outbox;
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};
use tracing::{
    Subscriber,
    subscriber::{DefaultGuard, NoSubscriber},
};

use app::{AppState, config::Config, db::DbPool};

pub const PASSWORD: &str = "correct horse battery";

/// A running app and the database behind it.
pub struct TestApp {
    pub address: String,
    pub db: DbPool,
    /// A client with its own cookie jar: one browser.
    pub client: reqwest::Client,
    /// The mail the app sent.
    pub outbox: Outbox,
    /// The app's state, to enqueue jobs and wake its worker as a handler would.
    pub state: AppState,
}

/// Serves the app over `db` on 127.0.0.1, on a port the OS picks.
pub async fn spawn_app(db: DbPool) -> TestApp {
    spawn_app_with(db, &[]).await
}

/// Like [`spawn_app`], with some configuration variables set.
pub async fn spawn_app_with(db: DbPool, vars: &[(&str, &str)]) -> TestApp {
    spawn_app_until(db, vars, std::future::pending()).await.0
}

/// Like [`spawn_app_with`], shutting down when `shutdown` completes; the handle is the
/// server's, which ends when the shutdown has.
pub async fn spawn_app_until(
    db: DbPool,
    vars: &[(&str, &str)],
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (TestApp, JoinHandle<anyhow::Result<()>>) {
    let outbox = Outbox::new();
    let mail_dir = outbox.path().to_str().unwrap().to_owned();
    let mut all_vars = vec![
        ("APP_ENV", "test"),
        ("MAIL_DIR", mail_dir.as_str()),
        // Never polls during a test: a job enqueued without waking the worker stays
        // pending, and the test waiting for its mail fails.
        ("JOB_POLL_SECONDS", "3600"),
    ];
    // The plans are read at start-up, so the file may go when this function returns.
    let plans_dir = tempfile::tempdir().unwrap();
    let plans_file = plans::with_unrestricted_plan(plans_dir.path());
    all_vars.push(("PLANS_FILE", plans_file.as_str()));
    all_vars.extend_from_slice(vars);
    let config = Config::from_vars(all_vars.iter().copied()).expect("test configuration");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
    let address = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(config, db.clone()).expect("app state");
    let server = tokio::spawn(app::serve_on(listener, state.clone(), shutdown));
    let app = TestApp {
        address,
        db,
        client: new_client(),
        outbox,
        state,
    };
    (app, server)
}

/// Serves `app`'s metrics as `METRICS_ADDR` would, on a port the OS picks; the URL of
/// its `/metrics`.
pub async fn serve_metrics(app: &TestApp) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    app::metrics::serve_on(listener, app.state.clone());
    url
}

/// A new pool to the database of `db`, once the app closed `db` as it shut down. Close
/// it before the test returns: sqlx then drops the test's database, which an open
/// PostgreSQL connection would keep.
pub async fn reopen(db: &DbPool) -> DbPool {
    sqlx::pool::PoolOptions::new()
        .connect_with((*db.connect_options()).clone())
        .await
        .expect("reopen the test database")
}

/// Sends what this thread logs to `subscriber` while the guard lives.
///
/// Whether a call site logs is asked once, when it first runs, and kept for every
/// thread. While one test's subscriber is the only one registered, tracing asks only
/// the thread where a call site first runs: a call site that another test's thread
/// (which has no subscriber) reaches first would stay silent for this test too. A
/// global subscriber that takes nothing keeps two registered, so tracing asks them all.
pub fn log_on_this_thread<S>(subscriber: S) -> DefaultGuard
where
    S: Subscriber + Send + Sync + 'static,
{
    static GLOBAL: Once = Once::new();
    GLOBAL.call_once(|| {
        // It fails only where a global subscriber is set already, which does as well.
        let _ = tracing::subscriber::set_global_default(NoSubscriber::default());
    });
    tracing::subscriber::set_default(subscriber)
}

pub fn new_client() -> reqwest::Client {
    app::billing::stripe::install_tls_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("HTTP client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A second browser, with an empty cookie jar.
    pub fn another_client(&self) -> reqwest::Client {
        new_client()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().await.unwrap()
    }

    pub async fn signup_as(&self, client: &reqwest::Client, email: &str) -> Response {
        client
            .post(self.url("/auth/signup"))
            .json(&json!({ "email": email, "password": PASSWORD, "name": "Test User" }))
            .send()
            .await
            .unwrap()
    }

    /// Signs up `email` in this app's main client and returns the user's id.
    pub async fn signup(&self, email: &str) -> String {
        let response = self.signup_as(&self.client, email).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["user"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates an API token for the user signed in on the main client, narrowed by the
    /// fields of `narrowing` (`expires_at`, `read_only`, …); returns the creation body.
    pub async fn create_token(&self, narrowing: Value) -> Value {
        let mut body = json!({ "name": "narrow" });
        let fields = narrowing.as_object().unwrap().clone();
        body.as_object_mut().unwrap().extend(fields);
        let response = self.post("/auth/tokens", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn login_as(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> Response {
        client
            .post(self.url("/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Waits until no job is pending: every mail enqueued so far has been sent.
    pub async fn wait_for_jobs(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pending: i64 =
                sqlx::query_scalar("select count(*) from jobs where state = 'pending'")
                    .fetch_one(&self.db)
                    .await
                    .unwrap();
            if pending == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "{pending} jobs still pending");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("select count(*) from {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.db)
            .await
            .unwrap()
    }
}

/// The session token a response set, read from its `Set-Cookie` header.
pub fn session_token(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("session="))
        .and_then(|rest| rest.split(';').next())
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

/// Asserts the error body's `code` and returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body
}

/// Sends every request at once and returns the responses, in order.
pub async fn send_together(requests: Vec<reqwest::RequestBuilder>) -> Vec<Response> {
    let mut in_flight = tokio::task::JoinSet::new();
    for (index, request) in requests.into_iter().enumerate() {
        in_flight.spawn(async move { (index, request.send().await.unwrap()) });
    }
    let mut responses = in_flight.join_all().await;
    responses.sort_by_key(|(index, _)| *index);
    responses
        .into_iter()
        .map(|(_, response)| response)
        .collect()
}

/// How many of `responses` have `status`.
pub fn count_status(responses: &[Response], status: StatusCode) -> usize {
    responses
        .iter()
        .filter(|response| response.status() == status)
        .count()
}
