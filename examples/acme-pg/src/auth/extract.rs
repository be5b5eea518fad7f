//! `CurrentUser`: the extractor that makes a route require a signed-in caller, by
//! session cookie or by `Authorization: Bearer <api token>`. It also holds an API token
//! to its scope ([`Scope::check`]), so every route that needs a caller keeps it.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, header, request::Parts},
};
use uuid::Uuid;

use super::{
    api_tokens::{self, Scope},
    session,
    user::User,
};
use crate::{AppState, error::AppError};

/// The signed-in caller. A handler that takes it answers 401 to anyone else.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    /// What authenticated this request.
    pub credential: Credential,
    /// What the credential may reach: everything for a session, maybe less for a token.
    pub scope: Scope,
}

/// A session (a browser) or an API token (a program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(Uuid),
    ApiToken(Uuid),
}

impl CurrentUser {
    /// The session behind this request, if it came with a session cookie.
    pub fn session_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Session(id) => Some(id),
            Credential::ApiToken(_) => None,
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // A request that names a token is judged by it alone, never by a cookie beside it.
        let found = match bearer_token(&parts.headers)? {
            Some(token) => api_tokens::authenticate(&state.db, token).await?,
            None => {
                let cookie_name = state.config.session_cookie_name();
                let token = session::token_from_cookies(&parts.headers, cookie_name)
                    .ok_or(AppError::Unauthenticated)?;
                session::authenticate(&state.db, &state.config, token).await?
            }
        };
        let current = found.ok_or(AppError::Unauthenticated)?;
        let route_org = crate::access::route_org_id(parts, state).await?;
        current.scope.check(&parts.method, route_org)?;
        Ok(current)
    }
}

/// The token of an `Authorization: Bearer` header; any other scheme is refused.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| Some(token.trim()))
        .ok_or(AppError::Unauthenticated)
}
