//! Extractors that answer a malformed request with our error body instead of axum's text.

use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Query, Request, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::AppError;

/// A JSON body in, or a JSON body out.
///
/// A body that is not JSON is a 400; JSON that does not fit `T` (a field missing, of the
/// wrong type, or an unknown enum value) is a 422 naming the field and what it accepts.
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        // axum checks the content type and the size and parses the JSON; reading the
        // parsed value into `T` here keeps the path to the field that does not fit.
        let Json(value) = Json::<serde_json::Value>::from_request(request, state).await?;
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(misfit)
    }
}

/// JSON that does not fit the body's type: 422 on the field, or 400 when the body as a
/// whole is of the wrong kind (an array where an object belongs).
fn misfit(error: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = error.path().to_string();
    let message = error.inner().to_string();
    // serde reports a missing field at the object that lacks it.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    match (path.as_str(), missing) {
        (".", Some(field)) => AppError::invalid(field, "is required"),
        (_, Some(field)) => AppError::invalid(format!("{path}.{field}"), "is required"),
        (".", None) => AppError::BadRequest(format!("the body does not fit: {message}")),
        (_, None) => AppError::invalid(path, message),
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::BytesRejection(bytes)
                if bytes.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Self::PayloadTooLarge
            }
            // JSON that does not parse: the message says where, not our internals.
            other => Self::BadRequest(other.body_text()),
        }
    }
}

/// A path parameter; one that does not parse names nothing that exists, so it is a 404.
pub struct AppPath<T>(pub T);

impl<S, T> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| AppError::NotFound)
    }
}

/// A query string; one that does not parse is a 400 with our error body.
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| AppError::BadRequest(rejection.body_text()))
    }
}
