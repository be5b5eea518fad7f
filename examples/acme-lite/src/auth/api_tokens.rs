//! API tokens: long-lived secrets for programs, sent as `Authorization: Bearer`.
//! Shown once at creation; only their SHA-256 is stored. A token may be narrowed when
//! it is created: an expiry, read-only access ([`Scope`]).

use axum::{
    extract::State,
    http::{Method, StatusCode},
};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use time::OffsetDateTime;
use utoipa::{
    ToSchema,
    openapi::{OpenApi, RefOr, Schema},
};
use uuid::Uuid;

use super::{
    extract::{Credential, CurrentUser},
    session::{hash_token, new_token},
    user::User,
};
use crate::{
    AppState,
    db::{Db, DbPool},
    error::{AppError, ErrorBody},
    extract::{AppJson, AppPath},
    name::TOKEN_PREFIX,
    openapi::{AuthErrors, CrossSiteErrors, JsonBodyErrors, ServerErrors},
};

/// How much of a token is kept in clear, to tell tokens apart in a list.
const DISPLAYED_CHARS: usize = TOKEN_PREFIX.len() + 6;
/// `last_used_at` is written at most this often per token.
const TOUCH_INTERVAL: time::Duration = time::Duration::minutes(1);

#[derive(Deserialize, ToSchema)]
pub struct CreateTokenRequest {
    /// What the token is for, such as "CI deploys": 1 to 100 characters once trimmed.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// When the token stops working, in the future; without it the token never expires.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Reads only: any request but GET is refused (403).
    #[serde(default)]
    pub read_only: bool,
}

/// What an API token may reach; a session reaches everything its user may.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, FromRow)]
pub struct Scope {
    /// Reads only: any request but GET is refused.
    pub read_only: bool,
}

impl Scope {
    /// 403 when the scope does not let `method` through. Checked for every request that
    /// needs a caller, before its handler runs.
    pub fn check(&self, method: &Method) -> Result<(), AppError> {
        let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if self.read_only && !reads {
            return Err(AppError::Forbidden("this API token is read-only"));
        }
        Ok(())
    }
}

/// Writes into `openapi` the patterns of a token and of its displayed start, both led by
/// [`TOKEN_PREFIX`], where the token routes put [`CreatedToken`] and [`TokenView`]: a
/// `#[schema(pattern)]` would have to repeat the prefix by hand.
pub fn document_patterns(openapi: &mut OpenApi) {
    let schemas = &mut openapi
        .components
        .as_mut()
        .expect("the token routes add their schemas")
        .schemas;
    // How many characters follow the prefix: `new_token`'s 43, or the 6 displayed.
    let patterned = [
        ("CreatedToken", "token", "{43}"),
        ("TokenView", "prefix", "{6}"),
    ];
    for (schema, property, count) in patterned {
        // The flattened `Scope` makes each an `allOf` of the scope and the token's fields.
        let Some(RefOr::T(Schema::AllOf(all_of))) = schemas.get_mut(schema) else {
            panic!("{schema} is an allOf");
        };
        let field = all_of.items.iter_mut().find_map(|item| match item {
            RefOr::T(Schema::Object(object)) => object.properties.get_mut(property),
            _ => None,
        });
        let Some(RefOr::T(Schema::Object(field))) = field else {
            panic!("{schema} has the field {property}");
        };
        field.pattern = Some(format!("^{TOKEN_PREFIX}[A-Za-z0-9_-]{count}$"));
    }
}

/// A token just created: the only time its secret is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: Uuid,
    pub name: String,
    /// The secret. Store it now: it cannot be shown again.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(flatten)]
    pub scope: Scope,
}

/// A token as listed: no secret, only its first characters.
#[derive(Serialize, ToSchema, FromRow)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the token, such as `acme_lite_Xb3k9Q`.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it stops working; null if never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub scope: Scope,
}

/// Creates an API token for the caller. Only a signed-in session can: a token that
/// could mint tokens would let one leaked token outlive its own revocation.
#[utoipa::path(
    post,
    path = "/auth/tokens",
    tag = "auth",
    security(("session" = [])),
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "The token, shown this once", body = CreatedToken),
        (status = 422, description = "A missing or invalid field", body = ErrorBody),
        JsonBodyErrors, AuthErrors, CrossSiteErrors, ServerErrors,
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    current: CurrentUser,
    AppJson(request): AppJson<CreateTokenRequest>,
) -> Result<(StatusCode, AppJson<CreatedToken>), AppError> {
    if current.session_id().is_none() {
        return Err(AppError::Forbidden(
            "API tokens are created from a signed-in session, not with another token",
        ));
    }
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid("name", "must be 1 to 100 characters"));
    }
    let created_at = OffsetDateTime::now_utc();
    // Stored in UTC, as every other time is.
    let expires_at = request
        .expires_at
        .map(|at| at.to_offset(time::UtcOffset::UTC));
    if expires_at.is_some_and(|at| at <= created_at) {
        return Err(AppError::invalid("expires_at", "must be in the future"));
    }
    let scope = Scope {
        read_only: request.read_only,
    };
    let token = format!("{TOKEN_PREFIX}{}", new_token());
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into api_tokens
             (id, user_id, name, prefix, token_hash, created_at, expires_at, read_only)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(current.user.id)
    .bind(name)
    .bind(&token[..DISPLAYED_CHARS])
    .bind(hash_token(&token))
    .bind(created_at)
    .bind(expires_at)
    .bind(scope.read_only)
    .execute(&state.db)
    .await?;
    tracing::info!(user_id = %current.user.id, token_id = %id, ?scope, "API token created");
    let created = CreatedToken {
        id,
        name: name.to_owned(),
        token,
        created_at,
        expires_at,
        scope,
    };
    Ok((StatusCode::CREATED, AppJson(created)))
}

/// Deletes every API token of a user: after a password reset, which assumes the
/// account was in someone else's hands.
pub async fn delete_all<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from api_tokens where user_id = $1")
        .bind(user_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Lists the caller's API tokens, newest first, without their secrets.
#[utoipa::path(
    get,
    path = "/auth/tokens",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller's tokens", body = Vec<TokenView>),
        AuthErrors, ServerErrors,
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<AppJson<Vec<TokenView>>, AppError> {
    let tokens = sqlx::query_as(
        "select id, name, prefix, created_at, last_used_at, expires_at, read_only
         from api_tokens where user_id = $1 order by id desc",
    )
    .bind(current.user.id)
    .fetch_all(&state.db)
    .await?;
    Ok(AppJson(tokens))
}

/// Revokes one of the caller's API tokens; it stops working at once.
#[utoipa::path(
    delete,
    path = "/auth/tokens/{id}",
    tag = "auth",
    security(("session" = []), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The token's id")),
    responses(
        (status = 204, description = "The token is revoked"),
        (status = 404, description = "The caller has no such token", body = ErrorBody),
        AuthErrors, CrossSiteErrors, ServerErrors,
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    current: CurrentUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode, AppError> {
    let deleted = sqlx::query("delete from api_tokens where id = $1 and user_id = $2")
        .bind(id)
        .bind(current.user.id)
        .execute(&state.db)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(user_id = %current.user.id, token_id = %id, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(FromRow)]
struct TokenWithUser {
    token_id: Uuid,
    last_used_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
    #[sqlx(flatten)]
    scope: Scope,
    #[sqlx(flatten)]
    user: User,
}

/// The user behind an API token, if the token exists and has not expired; its
/// `last_used_at` moves on.
pub async fn authenticate(db: &DbPool, token: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    let found: Option<TokenWithUser> = sqlx::query_as(
        "select t.id as token_id, t.last_used_at, t.expires_at, t.read_only,
                u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.created_at
         from api_tokens t join users u on u.id = t.user_id
         where t.token_hash = $1",
    )
    .bind(hash_token(token))
    .fetch_optional(db)
    .await?;
    // Compared here, not in SQL: SQLite would compare the stored text.
    let Some(found) = found.filter(|found| found.expires_at.is_none_or(|at| now < at)) else {
        return Ok(None);
    };
    if found
        .last_used_at
        .is_none_or(|at| now - at > TOUCH_INTERVAL)
    {
        sqlx::query("update api_tokens set last_used_at = $1 where id = $2")
            .bind(now)
            .bind(found.token_id)
            .execute(db)
            .await?;
    }
    Ok(Some(CurrentUser {
        user: found.user,
        credential: Credential::ApiToken(found.token_id),
        scope: found.scope,
    }))
}
