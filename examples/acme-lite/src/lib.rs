//! The Acme Lite API: `app()` builds the router that `main` serves and the tests call;
//! `openapi()` is the document it serves at `/openapi.json`.

pub mod auth;
pub mod background;
pub mod cleanup;
pub mod client_ip;
pub mod command;
pub mod config;
pub mod db;
pub mod dev;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod healthcheck;
pub mod jobs;
pub mod links;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod name;
pub mod openapi;
#[cfg(feature = "otel")]
pub mod otel;
pub mod rate_limit;
pub mod resources;
pub mod route_list;
pub mod schema;
pub mod seed;
pub mod telemetry;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;

use axum::{Router, body::Bytes, extract::DefaultBodyLimit, http::header, routing::get};
use tokio::{net::TcpListener, sync::oneshot, time::Instant};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    auth::{SecuritySchemes, cross_site::refuse_cross_site, hashing::PasswordHasher},
    background::BackgroundTasks,
    config::Config,
    db::DbPool,
    error::AppError,
    health::Draining,
    jobs::WorkerHandle,
    mail::Mailer,
    metrics::Metrics,
    openapi::SharedResponses,
};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub config: Arc<Config>,
    pub passwords: PasswordHasher,
    pub mailer: Mailer,
    /// Wakes the job worker after a transaction that enqueued a job commits.
    pub jobs: WorkerHandle,
    /// Set when the instance starts shutting down; readiness answers 503 from then on.
    pub draining: Draining,
    /// What `METRICS_ADDR` serves.
    pub metrics: Metrics,
}

impl AppState {
    /// Fails if the mailer cannot be set up (a bad `SMTP_URL` or `MAIL_FROM`).
    pub fn new(config: Config, db: DbPool) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        Ok(Self {
            db,
            mailer: Mailer::from_config(&config)?,
            passwords: PasswordHasher::new(
                config.password_hash_threads,
                config.password_hash_max_wait,
            ),
            config: Arc::new(config),
            jobs: WorkerHandle::default(),
            draining: Draining::default(),
            metrics,
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = name::TITLE, description = format!("The {} HTTP API.", name::TITLE)),
    modifiers(&SecuritySchemes, &SharedResponses)
)]
struct ApiDoc;

/// The document's head: title, description and version. utoipa takes the license from
/// Cargo.toml, and writes one without a name when the package declares none.
fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.license = doc.info.license.filter(|license| !license.name.is_empty());
    doc
}

/// The routes and the document that describes them, before the state and the middleware.
struct Api {
    router: Router<AppState>,
    openapi: utoipa::openapi::OpenApi,
}

fn api() -> Api {
    let (router, openapi) = OpenApiRouter::with_openapi(api_doc())
        .merge(health::router())
        .merge(auth::router())
        .merge(resources::notes::router())
        // saas:routes
        .split_for_parts();
    Api { router, openapi }
}

/// The OpenAPI document that `/openapi.json` serves: every route, body and status.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().openapi
}

/// Builds the application: every route, the OpenAPI document, and the middleware.
pub fn app(state: AppState) -> Router {
    let Api { router, openapi } = api();
    // Serialized once: the document cannot change while the app runs.
    let openapi = Bytes::from(serde_json::to_vec(&openapi).expect("the OpenAPI document is JSON"));

    let router = router
        .route(
            openapi::DOCUMENT_PATH,
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi) }),
        )
        .merge(dev::router(&state.config))
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refuse_cross_site,
        ))
        .with_state(state.clone())
        .merge(docs::router(state.config.api_docs));
    middleware::around(router, &state.config, &state.metrics)
}

/// Serves the app on `BIND_ADDR` until Ctrl-C or SIGTERM, then shuts down as
/// [`serve_on`] says; and the metrics on `METRICS_ADDR`, if it is set, until the
/// process exits.
pub async fn serve(config: Config, db: DbPool) -> anyhow::Result<()> {
    let address = config.bind_addr;
    let listener = TcpListener::bind(address).await.with_context(|| {
        format!("could not listen on {address}: stop what uses it, or set BIND_ADDR to another")
    })?;
    let url = format!("http://{}", listener.local_addr()?);
    if config.api_docs {
        tracing::info!("listening on {url}; the API reference is at {url}/docs");
    } else {
        tracing::info!("listening on {url}");
    }
    let state = AppState::new(config, db)?;
    if let Some(metrics_listener) = metrics::bind(&state).await? {
        metrics::serve_on(metrics_listener, state.clone());
    }
    serve_on(listener, state, shutdown_signal()).await
}

/// Past the shutdown deadline, how long the worker gets to release the job it gave up
/// and the pool to close its connections; the process then exits whatever is left.
const WIND_DOWN: Duration = Duration::from_secs(1);

/// Serves the app on an already bound listener, and runs the background tasks beside
/// it, until `shutdown` completes; then shuts down in order, within
/// `SHUTDOWN_TIMEOUT_SECONDS` of it:
///
/// 1. readiness (`/health/ready`) answers 503, and for `SHUTDOWN_DELAY_SECONDS`
///    requests are still accepted, while load balancers notice;
/// 2. the server stops accepting and waits for the requests in flight;
/// 3. the job worker stops, finishing the job in hand, or releasing it at the deadline
///    so that it runs again;
/// 4. the database pool closes.
///
/// Requests still in flight at the deadline are abandoned.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let background = BackgroundTasks::start(&state);
    let (db, config, draining) = (
        state.db.clone(),
        state.config.clone(),
        state.draining.clone(),
    );
    // Connect info gives handlers the client's address, for rate limits.
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let (stop_accepting, accepting_stopped) = oneshot::channel::<()>();
    let mut server = tokio::spawn(
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                accepting_stopped.await.ok();
            })
            .into_future(),
    );

    tokio::select! {
        () = shutdown => {}
        served = &mut server => {
            // The server failed before any signal.
            background.stop(Instant::now(), Instant::now() + WIND_DOWN).await?;
            served.context("the server panicked")??;
            anyhow::bail!("the server stopped on its own");
        }
    }
    let deadline = Instant::now() + config.shutdown_timeout;
    draining.start();
    tracing::info!(
        delay = ?config.shutdown_delay,
        timeout = ?config.shutdown_timeout,
        "shutting down: readiness answers 503; still accepting requests during the delay"
    );
    tokio::time::sleep(config.shutdown_delay).await;

    tracing::info!("shutting down: no new connections; finishing the requests in flight");
    stop_accepting.send(()).ok();
    match tokio::time::timeout_at(deadline, &mut server).await {
        Ok(served) => served.context("the server panicked")??,
        Err(_) => {
            server.abort();
            tracing::warn!("shutting down: requests still in flight at the deadline are abandoned");
        }
    }

    // The worker ran until now, for the jobs that the last requests enqueued.
    tracing::info!("shutting down: stopping the job worker");
    let exit_by = deadline + WIND_DOWN;
    background.stop(deadline, exit_by).await?;

    tracing::info!("shutting down: closing the database pool");
    if tokio::time::timeout_at(exit_by, db.close()).await.is_err() {
        tracing::warn!("shutting down: database connections still in use are dropped");
    }
    tracing::info!("shut down");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c()
            .await
            .expect("failed to listen for Ctrl-C");
    };
    #[cfg(unix)]
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("failed to listen for SIGTERM")
            .recv()
            .await;
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
