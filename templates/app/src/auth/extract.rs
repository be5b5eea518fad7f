//! `CurrentUser`: the extractor that makes a route require a signed-in caller.

use axum::{extract::FromRequestParts, http::request::Parts};
use uuid::Uuid;

use super::{session, user::User};
use crate::{AppState, error::AppError};

/// The signed-in caller. A handler that takes it answers 401 to anyone else.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    /// The session that authenticated this request.
    pub session_id: Uuid,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = session::token_from_cookies(&parts.headers, state.config.session_cookie_name())
            .ok_or(AppError::Unauthenticated)?;
        session::authenticate(&state.db, &state.config, token)
            .await?
            .ok_or(AppError::Unauthenticated)
    }
}
