//! Domain resources: one module each, written by `saas add resource` and yours to edit.
//!
//! Every query on a resource table takes the [`Tenant`] first, so no query can be
//! written without saying whose rows it touches; another tenant's row is simply not
//! found (404).

pub mod comments;
pub mod fields;
pub mod projects;
pub mod tasks;
// saas:resource-modules

/// The resource tables, for plan limits: `config/plans.toml` may only limit these.
// One table a line, as `saas add resource` writes and `saas remove resource` removes them.
#[rustfmt::skip]
pub const TABLES: &[&str] = &[
    "projects",
    "tasks",
    "comments",
    // saas:resource-tables
];

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::{Deserialize, Deserializer};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    AppState,
    access::{Actor, Permission},
    db::Db,
    error::AppError,
};

/// Whose rows a request may touch: the organization of the route's `{org_id}`, reached
/// through the caller's membership of it (anyone else gets 404).
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    pub org_id: Uuid,
    /// The caller's membership, for permission checks.
    pub actor: Actor,
}

impl Tenant {
    /// 403 unless the caller's role has `permission` (the table is in `access.rs`).
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        self.actor.require(permission)
    }

    /// Whether `user_id` is a member of the organization: what a column naming a user
    /// (an assignee, say) must be. Call it in the transaction that writes the column:
    /// it locks the membership until the transaction ends, so a removal running at the
    /// same time waits and then releases the row (see [`release_member`]).
    pub async fn has_member<'e>(
        &self,
        executor: impl sqlx::Executor<'e, Database = Db>,
        user_id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let sql = "select user_id from memberships where org_id = $1 and user_id = $2 for share";
        let member: Option<Uuid> = sqlx::query_scalar(sql)
            .bind(self.org_id)
            .bind(user_id)
            .fetch_optional(executor)
            .await?;
        Ok(member.is_some())
    }
}

/// Every member column of the resources, as (table, column, whether it is required).
// One column a line, as `saas add resource` writes and `saas remove resource` removes them.
#[rustfmt::skip]
pub const MEMBER_COLUMNS: &[(&str, &str, bool)] = &[
    ("tasks", "assignee_id", false),
    // saas:member-columns
];

/// What a membership leaves in the organization's rows when it ends, in the transaction
/// that deletes it: every optional member column naming the user is cleared, and every
/// required one (which cannot be empty) passes to `successor`.
pub async fn release_member(
    tx: &mut sqlx::Transaction<'static, Db>,
    org_id: Uuid,
    user_id: Uuid,
    successor: Uuid,
) -> Result<(), sqlx::Error> {
    let now = time::OffsetDateTime::now_utc();
    for (table, column, required) in MEMBER_COLUMNS {
        // Names from the list above, never from a request.
        let sql = format!(
            "update {table} set {column} = $3, updated_at = $4 where org_id = $1 and {column} = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org_id)
            .bind(user_id)
            .bind(required.then_some(successor))
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        Ok(Self {
            org_id: actor.org_id,
            actor,
        })
    }
}

/// The query of a list request: `?limit=N&cursor=C`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many items to return, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
}

impl ListParams {
    /// The page size; one outside 1 to 100 is a 400, as the OpenAPI document says.
    pub fn limit(&self) -> Result<i64, AppError> {
        match self.limit.unwrap_or(20) {
            limit @ 1..=100 => Ok(i64::from(limit)),
            _ => Err(AppError::BadRequest("limit must be 1 to 100".to_owned())),
        }
    }

    /// The id the page starts after; a cursor we did not hand out is a 400.
    pub fn after(&self) -> Result<Option<Uuid>, AppError> {
        self.cursor
            .as_deref()
            .map(|cursor| {
                cursor
                    .parse()
                    .map_err(|_| AppError::BadRequest("invalid cursor".to_owned()))
            })
            .transpose()
    }
}

/// Splits `rows` (fetched with `limit + 1`) into a page and the cursor of the next one.
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: i64,
    id: impl Fn(&T) -> Uuid,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|row| id(row).to_string());
    (rows, next)
}

/// For PATCH bodies: an absent field is `None`, `null` is `Some(None)`.
pub fn absent_or_nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
