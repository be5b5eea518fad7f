//! Server-side sessions: random tokens in a cookie, only their SHA-256 in the database.

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    api_tokens::Scope,
    extract::{Credential, CurrentUser},
    user::User,
};
use crate::{
    AppState,
    config::{Config, Environment},
    db::{Db, DbPool},
    error::{AppError, ErrorBody},
    extract::{AppJson, AppPath},
    openapi::{AuthErrors, CrossSiteErrors, ServerErrors},
};

/// `last_seen_at` is written at most this often per session, not on every request.
const TOUCH_INTERVAL: time::Duration = time::Duration::minutes(1);
/// Longer User-Agent headers are cut to this many characters before they are stored.
const MAX_USER_AGENT_CHARS: usize = 256;

/// The random bytes of a token: 256 bits.
const TOKEN_BYTES: usize = 32;
/// The length of a token as [`new_token`] writes it: base64url without padding.
pub const TOKEN_LENGTH: usize = (TOKEN_BYTES * 4).div_ceil(3);

/// A new random token (sessions, and every token the app mails): [`TOKEN_BYTES`]
/// random bytes, base64url, [`TOKEN_LENGTH`] characters.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The hex SHA-256 of a token: what the database keeps instead of the token.
pub fn hash_token(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(token.as_bytes()) {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Stores a new session for `user_id` and returns its token, which exists nowhere else.
pub async fn create<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    user_id: Uuid,
    headers: &HeaderMap,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
    let now = OffsetDateTime::now_utc();
    sqlx::query(
        "insert into sessions (id, user_id, token_hash, user_agent, created_at, last_seen_at)
         values ($1, $2, $3, $4, $5, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(hash_token(&token))
    .bind(user_agent)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(token)
}

/// A session joined with its user, as one query reads them.
#[derive(FromRow)]
struct SessionWithUser {
    session_id: Uuid,
    session_created_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
    #[sqlx(flatten)]
    user: User,
}

/// Whether a session started at `created_at` and last used at `last_seen_at` has ended.
fn has_expired(
    config: &Config,
    now: OffsetDateTime,
    created_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
) -> bool {
    now - last_seen_at > config.session_idle || now - created_at > config.session_max_age
}

/// The user behind a session token, if the session exists and has not expired.
///
/// An expired session is deleted on sight; a live one has its `last_seen_at` moved on.
pub async fn authenticate(
    db: &DbPool,
    config: &Config,
    token: &str,
) -> Result<Option<CurrentUser>, sqlx::Error> {
    let found: Option<SessionWithUser> = sqlx::query_as(
        "select s.id as session_id, s.created_at as session_created_at, s.last_seen_at,
                u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.created_at
         from sessions s join users u on u.id = s.user_id
         where s.token_hash = $1",
    )
    .bind(hash_token(token))
    .fetch_optional(db)
    .await?;
    let Some(found) = found else {
        return Ok(None);
    };

    let now = OffsetDateTime::now_utc();
    if has_expired(config, now, found.session_created_at, found.last_seen_at) {
        delete(db, found.session_id).await?;
        return Ok(None);
    }
    if now - found.last_seen_at > TOUCH_INTERVAL {
        sqlx::query("update sessions set last_seen_at = $1 where id = $2")
            .bind(now)
            .bind(found.session_id)
            .execute(db)
            .await?;
    }
    Ok(Some(CurrentUser {
        user: found.user,
        credential: Credential::Session(found.session_id),
        scope: Scope::default(),
    }))
}

/// Deletes one session; a no-op if it is already gone.
pub async fn delete(db: &DbPool, session_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where id = $1")
        .bind(session_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes every session of a user: after a password reset or change.
pub async fn delete_all<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where user_id = $1")
        .bind(user_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// The session token carried by the request's cookie, if any.
pub fn token_from_cookies<'h>(headers: &'h HeaderMap, cookie_name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find_map(|(name, value)| (name == cookie_name).then_some(value))
}

/// The `Set-Cookie` value that hands `token` to the browser.
pub fn session_cookie(config: &Config, token: &str) -> HeaderValue {
    let max_age = config.session_max_age.as_secs();
    cookie(config, token, max_age)
}

/// The `Set-Cookie` value that makes the browser forget its session cookie.
pub fn clearing_cookie(config: &Config) -> HeaderValue {
    cookie(config, "", 0)
}

fn cookie(config: &Config, value: &str, max_age: u64) -> HeaderValue {
    let name = config.session_cookie_name();
    let secure = match config.environment {
        Environment::Production => "; Secure",
        Environment::Development | Environment::Test => "",
    };
    let cookie =
        format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}");
    HeaderValue::try_from(cookie).expect("cookie built from base64url and fixed text")
}

/// One of the caller's sessions, without its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    pub user_agent: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

#[derive(FromRow)]
struct SessionRow {
    id: Uuid,
    created_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
    user_agent: Option<String>,
}

/// Lists the caller's live sessions, newest first.
#[utoipa::path(
    get,
    path = "/auth/sessions",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller's sessions", body = Vec<SessionView>),
        AuthErrors, ServerErrors,
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<AppJson<Vec<SessionView>>, AppError> {
    // Ids are UUIDv7, so their order is creation order.
    let rows: Vec<SessionRow> = sqlx::query_as(
        "select id, created_at, last_seen_at, user_agent from sessions
         where user_id = $1 order by id desc",
    )
    .bind(current.user.id)
    .fetch_all(&state.db)
    .await?;
    let now = OffsetDateTime::now_utc();
    let sessions = rows
        .into_iter()
        .filter(|row| !has_expired(&state.config, now, row.created_at, row.last_seen_at))
        .map(|row| SessionView {
            current: Some(row.id) == current.session_id(),
            id: row.id,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            user_agent: row.user_agent,
        })
        .collect();
    Ok(AppJson(sessions))
}

/// Signs one of the caller's sessions out, such as a lost laptop's.
#[utoipa::path(
    delete,
    path = "/auth/sessions/{id}",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 204, description = "The session is revoked"),
        (status = 404, description = "The caller has no such session", body = ErrorBody),
        AuthErrors, CrossSiteErrors, ServerErrors,
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    current: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode, AppError> {
    let deleted = sqlx::query("delete from sessions where id = $1 and user_id = $2")
        .bind(id)
        .bind(current.user.id)
        .execute(&state.db)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let token = new_token();
        assert_eq!(token.len(), 43);
        assert_eq!(TOKEN_LENGTH, 43);
        assert_ne!(token, new_token());
    }

    #[test]
    fn the_stored_hash_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_production_cookie_is_host_prefixed_and_secure() {
        let config = Config::from_vars([
            ("APP_ENV", "production"),
            ("APP_URL", "https://app.example"),
            ("FRONTEND_URL", "https://app.example"),
            ("DATABASE_URL", "postgres://db.internal/app"),
            ("MAIL_FROM", "App <hello@app.example>"),
            ("SMTP_URL", "smtps://user:secret@smtp.app.example"),
        ])
        .unwrap();
        let cookie = session_cookie(&config, "abc");
        assert_eq!(
            cookie,
            "__Host-session=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=43200; Secure"
        );
        assert!(!cookie.to_str().unwrap().contains("Domain"));
        let cleared = clearing_cookie(&config);
        assert!(cleared.to_str().unwrap().starts_with("__Host-session=; "));
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; session=abc; x=y"),
        );
        assert_eq!(token_from_cookies(&headers, "session"), Some("abc"));
        assert_eq!(token_from_cookies(&headers, "__Host-session"), None);
    }
}
