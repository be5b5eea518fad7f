//! One error type for every handler, and the JSON body every error answers with.

use std::collections::BTreeMap;

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;

/// What went wrong with each invalid field, by field name (a path such as `items[0].name`
/// for a nested one).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// An error a handler returns; it becomes a status and an [`ErrorBody`].
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    /// What needs a verified email address (accepting and sending invitations), asked
    /// of an account that has not verified its own.
    #[error(
        "verify your email address first: follow the link mailed to you, or ask for a new one at POST /auth/verify-email/resend"
    )]
    EmailNotVerified,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("{0}")]
    Gone(&'static str),
    #[error("request body is larger than the limit")]
    PayloadTooLarge,
    #[error("expected a body with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("some fields are invalid")]
    Validation(FieldErrors),
    /// Creating a row beyond the plan's limit; the message names the limit and a plan
    /// that allows more.
    #[error("{0}")]
    PlanLimitReached(String),
    /// A route behind a plan feature the plan lacks; the message names the feature and
    /// a plan that includes it.
    #[error("{0}")]
    FeatureNotInPlan(String),
    /// Billing needs a setting that is missing; the message names it.
    #[error("{0}")]
    BillingNotConfigured(String),
    /// Stripe refused a call or could not be reached; the cause goes to the log.
    #[error("{0}")]
    BillingProvider(String),
    /// Deleting an organization whose subscription would go on charging.
    #[error(
        "the organization's subscription renews: cancel it in the billing portal, then delete the organization"
    )]
    SubscriptionRenews,
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("the service is unavailable; try again shortly")]
    Unavailable,
    /// Too much work of one kind at once (password hashing, a locked database).
    #[error("the service is busy; try again shortly")]
    Busy,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A validation error for a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(field.into(), vec![message.into()])]))
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::EmailNotVerified => (StatusCode::FORBIDDEN, "email_not_verified"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Gone(_) => (StatusCode::GONE, "gone"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::PlanLimitReached(_) => (StatusCode::PAYMENT_REQUIRED, "plan_limit_reached"),
            Self::FeatureNotInPlan(_) => (StatusCode::PAYMENT_REQUIRED, "feature_not_in_plan"),
            Self::BillingNotConfigured(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "billing_not_configured")
            }
            Self::BillingProvider(_) => (StatusCode::BAD_GATEWAY, "billing_provider_error"),
            Self::SubscriptionRenews => (StatusCode::CONFLICT, "subscription_renews"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            // The database is out of reach: no connection within the acquire timeout,
            // or one that broke under the request. The client may retry.
            Self::Unavailable
            | Self::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_),
            ) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Self::Database(error) if db::is_busy(error) => {
                (StatusCode::SERVICE_UNAVAILABLE, "busy")
            }
            Self::Database(_) | Self::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }

    /// Logs a server error and returns what the client may see of it: its status's name.
    fn log_and_hide(&self, status: StatusCode) -> String {
        // The cause goes to the log, never to the client. Overload is expected under
        // load and says so; anything else is a fault to look at.
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = ?self, "request refused: overloaded");
        } else {
            tracing::error!(error = ?self, "request failed");
        }
        status.canonical_reason().unwrap_or("error").to_owned()
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine-readable `code`, a message for people, and per-field problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, Vec<String>>>)]
    pub fields: Option<FieldErrors>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            // Names a variable to set, never its value: the operator needs to see it.
            Self::BillingNotConfigured(missing) => {
                tracing::warn!(%missing, "request refused: billing is not configured");
                missing.clone()
            }
            Self::BillingProvider(cause) => {
                tracing::error!(%cause, "a Stripe call failed");
                "the payment provider could not complete the request; try again shortly".to_owned()
            }
            _ if status.is_server_error() => self.log_and_hide(status),
            _ => self.to_string(),
        };
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            // Waiting does not help until someone sets the missing variable.
            Self::BillingNotConfigured(_) => None,
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        };
        let fields = match self {
            Self::Validation(fields) => Some(fields),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                fields,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

/// Turns the database's unique-constraint violations into the error a client should see.
pub trait ResultExt<T> {
    /// Maps a unique violation to `error`; every other error passes through unchanged.
    fn on_unique_violation(self, error: AppError) -> Result<T, AppError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique_violation(self, error: AppError) -> Result<T, AppError> {
        self.map_err(|source| match &source {
            sqlx::Error::Database(db_error) if db_error.is_unique_violation() => error,
            _ => AppError::Database(source),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_out_of_reach_is_503_unavailable() {
        let broken = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        for error in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(broken),
        ] {
            assert_eq!(
                AppError::Database(error).status_and_code(),
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            );
        }
    }
}
