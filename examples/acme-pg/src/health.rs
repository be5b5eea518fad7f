//! `GET /health`: is the app up, and does its database answer?

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, error::AppError, extract::AppJson, openapi::ServerErrors};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
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
    sqlx::query("select 1")
        .execute(&state.db)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "health check: database did not answer");
            AppError::Unavailable
        })?;
    Ok(AppJson(Health { status: "ok" }))
}
