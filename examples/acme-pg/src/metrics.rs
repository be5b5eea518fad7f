//! Prometheus metrics, served on `METRICS_ADDR` apart from the API (off when unset):
//! requests by route and status, rate-limit refusals, Stripe calls, the database pool
//! and the job queue.
//!
//! Labels only take values the code names: a request's route is the template it
//! matched (`/auth/sessions/{id}`), never the path it asked for, so one client cannot
//! grow the series without bound.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::State,
    http::{Method, header},
    response::IntoResponse,
    routing::get,
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Registry, Unit},
};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::{AppState, error::AppError, jobs};

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The metrics of one app; cheap to clone, every clone counts into the same series.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    rate_limit_refusals: Family<LimitLabels, Counter>,
    stripe_calls: Family<StripeLabels, Counter>,
    pool_connections: Gauge,
    pool_idle_connections: Gauge,
    jobs_pending: Gauge,
    jobs_failed: Gauge,
    jobs_oldest_due_age: Gauge<f64, std::sync::atomic::AtomicU64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StripeLabels {
    outcome: &'static str,
}

/// 5 ms to about 10 s: `/health` at the bottom, a password hash in the middle, a
/// request that waited on the database's timeouts at the top.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let metrics = Self {
            requests: Family::new_with_constructor(request_histogram),
            rate_limit_refusals: Family::default(),
            stripe_calls: Family::default(),
            pool_connections: Gauge::default(),
            pool_idle_connections: Gauge::default(),
            jobs_pending: Gauge::default(),
            jobs_failed: Gauge::default(),
            jobs_oldest_due_age: Gauge::default(),
            registry: Arc::new(Registry::default()),
        };
        registry.register_with_unit(
            "http_request_duration",
            "HTTP requests by method, matched route and status, and how long they took",
            Unit::Seconds,
            metrics.requests.clone(),
        );
        registry.register(
            "rate_limit_refusals",
            "Requests refused with 429 by a rate limit, by limit",
            metrics.rate_limit_refusals.clone(),
        );
        registry.register(
            "stripe_calls",
            "Calls to Stripe by outcome: ok, refused (an error answer) or unreachable",
            metrics.stripe_calls.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Connections the database pool holds, idle or in use",
            metrics.pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Connections the database pool holds that no request is using",
            metrics.pool_idle_connections.clone(),
        );
        registry.register(
            "jobs_pending",
            "Jobs not yet done or failed, those running included",
            metrics.jobs_pending.clone(),
        );
        registry.register(
            "jobs_failed",
            "Jobs that failed every attempt and will not run again",
            metrics.jobs_failed.clone(),
        );
        registry.register_with_unit(
            "jobs_oldest_due_age",
            "How long the job waiting longest since it became due has waited; 0 when none",
            Unit::Seconds,
            metrics.jobs_oldest_due_age.clone(),
        );
        Self {
            registry: Arc::new(registry),
            ..metrics
        }
    }

    /// Counts a request answered with `status` after `latency`; `route` is the route it
    /// matched, or [`UNMATCHED`].
    pub fn observe_request(&self, method: &Method, route: &str, status: u16, latency: Duration) {
        let labels = RequestLabels {
            method: method_label(method),
            route: route.to_owned(),
            status,
        };
        self.requests
            .get_or_create(&labels)
            .observe(latency.as_secs_f64());
    }

    /// Counts a request refused by the rate limit `limit` (the part of its key before
    /// the first `:`, such as `auth-ip`).
    pub fn count_rate_limit_refusal(&self, limit: &str) {
        let labels = LimitLabels {
            limit: limit.to_owned(),
        };
        self.rate_limit_refusals.get_or_create(&labels).inc();
    }

    /// Counts a call to Stripe: `ok`, `refused` (Stripe answered an error) or
    /// `unreachable` (no answer, or one that did not parse).
    pub fn count_stripe_call(&self, outcome: &'static str) {
        self.stripe_calls
            .get_or_create(&StripeLabels { outcome })
            .inc();
    }

    /// The metrics in the OpenMetrics text format, the pool and the job queue read now.
    pub async fn render(&self, state: &AppState) -> Result<String, AppError> {
        self.pool_connections.set(i64::from(state.db.size()));
        self.pool_idle_connections
            .set(i64::try_from(state.db.num_idle()).unwrap_or(i64::MAX));
        let queue = jobs::stats(&state.db).await?;
        self.jobs_pending.set(queue.pending);
        self.jobs_failed.set(queue.failed);
        self.jobs_oldest_due_age
            .set(queue.oldest_due_age.as_secs_f64());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|error| AppError::Internal(error.into()))?;
        Ok(text)
    }
}

/// The method as a label: the standard ones by name, any other as `OTHER`, so that
/// made-up methods cannot add series.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    STANDARD
        .into_iter()
        .find(|standard| *standard == method.as_str())
        .unwrap_or("OTHER")
}

/// The router of the metrics address: `GET /metrics` and nothing else.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let text = state.metrics.render(&state).await?;
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], text))
}

/// Binds `METRICS_ADDR`, if it is set.
pub async fn bind(state: &AppState) -> anyhow::Result<Option<TcpListener>> {
    let Some(address) = state.config.metrics_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(address).await.with_context(|| {
        format!("could not listen on {address}: stop what uses it, or set METRICS_ADDR to another")
    })?;
    tracing::info!("metrics at http://{}/metrics", listener.local_addr()?);
    Ok(Some(listener))
}

/// Serves the metrics on `listener` until the process exits.
pub fn serve_on(listener: TcpListener, state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router(state)).await {
            tracing::error!(%error, "the metrics server stopped");
        }
    })
}
