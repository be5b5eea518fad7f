//! Probes for orchestrators and load balancers:
//!
//! - `GET /health/live` (liveness): the process is up and serving. It never asks the
//!   database, so a database outage does not make an orchestrator restart every
//!   instance; use it for the container health check and a liveness probe.
//! - `GET /health/ready` (readiness): the database answers and the instance is not
//!   shutting down. It answers 503 from the moment a shutdown begins, so traffic moves
//!   to other instances before this one stops accepting; use it for a readiness probe
//!   and a load balancer's health check.
//! - `GET /health`: the database answers; what `/health/ready` checks, without the
//!   shutdown, kept for the clients and monitors that already call it.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, error::AppError, extract::AppJson, openapi::ServerErrors};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(liveness))
        .routes(routes!(readiness))
}

/// Whether this instance is shutting down; cheap to clone. Once [`Draining::start`] is
/// called, readiness answers 503 until the process exits.
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the answer is 200.
    pub status: &'static str,
}

/// Checks that the database answers a query.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses(
        (status = 200, description = "The app and its database are up", body = Health),
        ServerErrors,
    )
)]
async fn health(State(state): State<AppState>) -> Result<AppJson<Health>, AppError> {
    database_answers(&state).await?;
    Ok(AppJson(Health { status: "ok" }))
}

/// Liveness: answers while the process serves requests, without asking the database.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    responses(
        (status = 200, description = "The process is up", body = Health),
        ServerErrors,
    )
)]
async fn liveness() -> AppJson<Health> {
    AppJson(Health { status: "ok" })
}

/// Readiness: the database answers and the instance is not shutting down.
///
/// 503 `unavailable` from the start of a shutdown, and while the database does not answer.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "The instance takes requests", body = Health),
        ServerErrors,
    )
)]
async fn readiness(State(state): State<AppState>) -> Result<AppJson<Health>, AppError> {
    if state.draining.is_draining() {
        return Err(AppError::Unavailable);
    }
    database_answers(&state).await?;
    Ok(AppJson(Health { status: "ok" }))
}

async fn database_answers(state: &AppState) -> Result<(), AppError> {
    sqlx::query("select 1")
        .execute(&state.db)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "health check: database did not answer");
            AppError::Unavailable
        })?;
    Ok(())
}
