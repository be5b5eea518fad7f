//! Sign-up, login, logout and the caller's own account and sessions.

pub mod api_tokens;
pub mod cross_site;
pub mod email_verification;
pub mod extract;
pub mod hashing;
pub mod one_time;
pub mod password;
pub mod session;
pub mod user;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{AppendHeaders, IntoResponse},
};
use serde::{Deserialize, Serialize};
use utoipa::{
    Modify, ToSchema,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{
    extract::CurrentUser,
    user::{Email, Password, UserName, UserView},
};
use crate::{
    AppState,
    client_ip::ClientIp,
    db,
    error::{AppError, ErrorBody, FieldErrors, ResultExt},
    extract::AppJson,
    jobs::{self, Job},
    openapi::{AuthErrors, CrossSiteErrors, JsonBodyErrors, RateLimitErrors, ServerErrors},
    rate_limit,
};

pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(session::list_sessions))
        .routes(routes!(session::revoke_session))
        .routes(routes!(api_tokens::create_token, api_tokens::list_tokens))
        .routes(routes!(api_tokens::revoke_token))
        .routes(routes!(email_verification::verify_email))
        .routes(routes!(email_verification::resend_verification))
        .routes(routes!(password::forgot_password))
        .routes(routes!(password::reset_password))
        .routes(routes!(password::change_password));
    api_tokens::document_patterns(router.get_openapi_mut());
    router
}

/// The kind of the keys that count attempts at an account's password.
pub const PASSWORD_ATTEMPTS: &str = "password-attempts";

/// Counts an authentication request against the client's per-IP limit.
pub async fn limit_auth_ip(state: &AppState, client: ClientIp) -> Result<(), AppError> {
    let limit = state.config.auth_ip_limit_per_minute;
    let key = format!("auth-ip:{}", client.rate_limit_key());
    rate_limit::hit(state, &key, limit, rate_limit::IP_WINDOW).await
}

/// Counts one attempt at the password of the account at `email` from `client`, before
/// it is checked: beyond the limit the answer is 429 whatever the password. Counting
/// first makes the limit hold for attempts made in parallel, which would all pass a
/// count read before the (slow) password check. Emails of no account are counted the
/// same way, so the throttle reveals nothing.
///
/// Attempts are counted per account and client address: guesses from one address slow
/// down that address only, so nobody can lock the owner out from where they sign in.
/// What this trades: each address gets its own guesses at an account, which the per-IP
/// limit on authentication routes caps across all accounts. A completed password reset
/// clears the account's counts from every address.
pub async fn count_password_attempt(
    state: &AppState,
    email: &str,
    client: ClientIp,
) -> Result<String, AppError> {
    let key = format!(
        "{}:{}",
        rate_limit::account_key(PASSWORD_ATTEMPTS, email),
        client.rate_limit_key()
    );
    rate_limit::hit(
        state,
        &key,
        state.config.auth_account_failure_limit,
        rate_limit::ACCOUNT_FAILURE_WINDOW,
    )
    .await?;
    Ok(key)
}

/// Declares how callers authenticate, for the OpenAPI document.
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("session"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(Deserialize, ToSchema)]
pub struct SignupRequest {
    /// Compared trimmed and case-insensitively.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// 1 to 100 characters once trimmed.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
pub struct UserEnvelope {
    pub user: UserView,
}

/// Creates an account and signs it in.
#[utoipa::path(
    post,
    path = "/auth/signup",
    tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up; the response sets the session cookie", body = UserEnvelope),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        JsonBodyErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
async fn signup(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    AppJson(request): AppJson<SignupRequest>,
) -> Result<impl IntoResponse, AppError> {
    limit_auth_ip(&state, client).await?;
    let mut errors = FieldErrors::new();
    let mut reject = |field: &str, message: &str| {
        errors.insert(field.to_owned(), vec![message.to_owned()]);
    };
    let email = Email::parse(&request.email).map_err(|e| reject("email", e));
    let name = UserName::parse(&request.name).map_err(|e| reject("name", e));
    let password = Password::parse(request.password).map_err(|e| reject("password", e));
    let (Ok(email), Ok(name), Ok(password)) = (email, name, password) else {
        return Err(AppError::Validation(errors));
    };

    let password_hash = state.passwords.hash(password.0).await?;
    let mut tx = db::begin_write(&state.db).await?;
    // The unique index on email decides between concurrent sign-ups, not a prior select.
    let user: user::User = sqlx::query_as(
        "insert into users (id, email, name, password_hash) values ($1, $2, $3, $4)
         returning id, email, name, password_hash, email_verified_at, created_at",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(email.as_str())
    .bind(name.as_str())
    .bind(password_hash)
    .fetch_one(&mut *tx)
    .await
    .on_unique_violation(AppError::Conflict(
        "an account with this email already exists",
    ))?;
    let token = session::create(&mut *tx, user.id, &headers).await?;
    // The verification mail exists if and only if the account does.
    let verification = Job::SendVerificationLink {
        user_id: user.id,
        email: user.email.clone(),
    };
    jobs::enqueue(&mut tx, verification).await?;
    tx.commit().await?;
    state.jobs.wake();

    tracing::info!(user_id = %user.id, "signed up");
    Ok((
        StatusCode::CREATED,
        AppendHeaders([(
            header::SET_COOKIE,
            session::session_cookie(&state.config, &token),
        )]),
        AppJson(UserEnvelope { user: user.into() }),
    ))
}

/// Signs in with email and password, starting a new session.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the response sets a new session cookie", body = UserEnvelope),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 422, description = "A field is missing or of the wrong type", body = ErrorBody),
        JsonBodyErrors, CrossSiteErrors, RateLimitErrors, ServerErrors,
    )
)]
async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    AppJson(request): AppJson<LoginRequest>,
) -> Result<impl IntoResponse, AppError> {
    limit_auth_ip(&state, client).await?;
    let attempts_key = count_password_attempt(&state, &request.email, client).await?;

    // A malformed email cannot match an account; it gets the same answer as a wrong one.
    let user = match Email::parse(&request.email) {
        Ok(email) => user::find_by_email(&state.db, &email).await?,
        Err(_) => None,
    };
    let hash = user.as_ref().map(|user| user.password_hash.clone());
    let matches = state
        .passwords
        .verify(request.password.into(), hash)
        .await?;
    let Some(user) = user.filter(|_| matches) else {
        tracing::info!(ip = %client.0, "login refused");
        return Err(AppError::InvalidCredentials);
    };
    rate_limit::reset(&state.db, &attempts_key).await?;

    // A session the browser already held is replaced, never reused (no session fixation).
    if let Some(old_token) =
        session::token_from_cookies(&headers, state.config.session_cookie_name())
    {
        sqlx::query("delete from sessions where token_hash = $1")
            .bind(session::hash_token(old_token))
            .execute(&state.db)
            .await?;
    }
    let token = session::create(&state.db, user.id, &headers).await?;

    tracing::info!(user_id = %user.id, "logged in");
    Ok((
        AppendHeaders([(
            header::SET_COOKIE,
            session::session_cookie(&state.config, &token),
        )]),
        AppJson(UserEnvelope { user: user.into() }),
    ))
}

/// Ends the current session.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked and the cookie cleared"),
        (status = 400, description = "Authenticated by an API token, not a session", body = ErrorBody),
        AuthErrors, CrossSiteErrors, ServerErrors,
    )
)]
async fn logout(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, AppError> {
    let session_id = current.session_id().ok_or(AppError::BadRequest(
        "an API token is revoked with DELETE /auth/tokens/{id}, not by logging out".to_owned(),
    ))?;
    session::delete(&state.db, session_id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, session::clearing_cookie(&state.config))]),
    ))
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserEnvelope),
        AuthErrors, ServerErrors,
    )
)]
async fn me(current: CurrentUser) -> AppJson<UserEnvelope> {
    AppJson(UserEnvelope {
        user: current.user.into(),
    })
}
