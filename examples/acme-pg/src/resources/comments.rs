//! Comment resources: the `comments` table, its routes under `/orgs/{org_id}/comments`,
//! and its queries. Written by `saas add resource`; yours to edit.

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::FromRow;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    ListParams, Tenant, absent_or_nullable,
    fields::{self, Validator},
    paginate,
};
use crate::{
    AppState,
    access::{MemberErrors, Permission, PermissionErrors},
    db::{self, Db, DbPool},
    error::{AppError, ErrorBody, FieldErrors},
    extract::{AppJson, AppPath, AppQuery},
    openapi::{JsonBodyErrors, QueryErrors, ServerErrors},
    seed::{Demo, Seeded},
};

/// A comment, as stored and as clients see it.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Comment {
    pub id: Uuid,
    pub org_id: Uuid,
    pub body: String,
    pub task_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The body of a create (every required field) or an update (only the fields to change).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CommentInput {
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = String)]
    pub body: Option<Option<String>>,
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = String, format = Uuid)]
    pub task_id: Option<Option<String>>,
}

/// A page of comments, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentPage {
    pub items: Vec<Comment>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The validated fields of an input; `None` leaves a field as it is.
#[derive(Debug, Default)]
struct CommentChanges {
    body: Option<String>,
    task_id: Option<Uuid>,
}

impl CommentChanges {
    /// Checks every field; on create, the required ones must be present.
    fn validate(input: CommentInput, creating: bool) -> Result<Self, AppError> {
        let mut v = Validator::default();
        let changes = Self {
            body: v.value("body", input.body, creating, fields::required_text),
            task_id: v.value("task_id", input.task_id, creating, fields::uuid),
        };
        v.finish()?;
        Ok(changes)
    }

    /// Applies the changes to a stored row.
    fn apply(self, comment: &mut Comment) {
        if let Some(body) = self.body {
            comment.body = body;
        }
        if let Some(task_id) = self.task_id {
            comment.task_id = task_id;
        }
    }

    /// A reference must name a row of the same tenant; anything else is a 422.
    async fn check_references(
        &self,
        tenant: &Tenant,
        tx: &mut sqlx::Transaction<'static, Db>,
    ) -> Result<(), AppError> {
        let mut v = Validator::default();
        if let Some(id) = self.task_id
            && super::tasks::find(tenant, &mut **tx, id).await?.is_none()
        {
            v.reject::<()>(
                "task_id",
                "must be the id of one of this organization's tasks",
            );
        }
        v.finish()
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_comments, create_comment))
        .routes(routes!(get_comment, update_comment, delete_comment))
}

/// Lists the caller's comments, newest first.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/comments",
    tag = "comments",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::CommentsRead.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ListParams),
    responses(
        (status = 200, description = "A page of comments", body = CommentPage),
        QueryErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn list_comments(
    State(state): State<AppState>,
    tenant: Tenant,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<CommentPage>, AppError> {
    tenant.require(Permission::CommentsRead)?;
    let limit = params.limit()?;
    let rows = list(&tenant, &state.db, params.after()?, limit + 1).await?;
    let (items, next_cursor) = paginate(rows, limit, |comment| comment.id);
    Ok(AppJson(CommentPage { items, next_cursor }))
}

/// Creates a comment.
#[utoipa::path(
    post,
    path = "/orgs/{org_id}/comments",
    tag = "comments",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::CommentsCreate.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id")),
    request_body = CommentInput,
    responses(
        (status = 201, description = "The new comment", body = Comment),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 402, description = "The plan allows no more comments (`plan_limit_reached`)", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn create_comment(
    State(state): State<AppState>,
    tenant: Tenant,
    AppJson(input): AppJson<CommentInput>,
) -> Result<(StatusCode, AppJson<Comment>), AppError> {
    tenant.require(Permission::CommentsCreate)?;
    let changes = CommentChanges::validate(input, true)?;
    let mut tx = db::begin_write(&state.db).await?;
    // With a limit in some plan, the owner's billing row stays locked until commit, so
    // concurrent creates count one after the other and none slips past the limit.
    if state.billing.limits("comments") {
        let plan = state.billing.lock_plan(&mut tx, tenant.org_id).await?;
        let used = count(&tenant, &mut tx).await?;
        state.billing.check_limit(plan, "comments", used)?;
    }
    changes.check_references(&tenant, &mut tx).await?;
    let comment = insert(&tenant, &mut tx, changes).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(comment)))
}

/// One of the caller's comments.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/comments/{id}",
    tag = "comments",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::CommentsRead.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The comment's id")),
    responses(
        (status = 200, description = "The comment", body = Comment),
        (status = 404, description = "No such comment for this caller", body = ErrorBody),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn get_comment(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
) -> Result<AppJson<Comment>, AppError> {
    tenant.require(Permission::CommentsRead)?;
    let comment = find(&tenant, &state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(AppJson(comment))
}

/// Changes the given fields of a comment; the others stay as they are.
#[utoipa::path(
    patch,
    path = "/orgs/{org_id}/comments/{id}",
    tag = "comments",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::CommentsUpdate.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The comment's id")),
    request_body = CommentInput,
    responses(
        (status = 200, description = "The updated comment", body = Comment),
        (status = 404, description = "No such comment for this caller", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn update_comment(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
    AppJson(input): AppJson<CommentInput>,
) -> Result<AppJson<Comment>, AppError> {
    tenant.require(Permission::CommentsUpdate)?;
    let changes = CommentChanges::validate(input, false)?;
    let mut tx = db::begin_write(&state.db).await?;
    // A row that is not the tenant's is 404 whatever the body names. Then the checks,
    // before the row is locked: a member check holds the membership, and a removal
    // takes the membership before the rows it releases, so both lock in one order.
    if find(&tenant, &mut *tx, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    changes.check_references(&tenant, &mut tx).await?;
    let mut comment = find_for_update(&tenant, &mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    changes.apply(&mut comment);
    let comment = update(&tenant, &mut tx, &comment).await?;
    tx.commit().await?;
    Ok(AppJson(comment))
}

/// Deletes a comment.
#[utoipa::path(
    delete,
    path = "/orgs/{org_id}/comments/{id}",
    tag = "comments",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::CommentsDelete.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The comment's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such comment for this caller", body = ErrorBody),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn delete_comment(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    tenant.require(Permission::CommentsDelete)?;
    if !delete(&tenant, &state.db, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's comments after the id `after`, newest first.
pub async fn list(
    tenant: &Tenant,
    db: &DbPool,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Comment>, sqlx::Error> {
    // Two statements, not one with `($2 is null or id < $2)`: with the `or`, the index
    // cannot start at the cursor, and a page deep in the list reads every row before it.
    // The limit is cast because SQLite prepares a statement again each time a bare
    // `limit $n` is bound, to plan for its value.
    match after {
        None => {
            sqlx::query_as(
                "select id, org_id, body, task_id, created_at, updated_at
                 from comments
                 where org_id = $1
                 order by id desc
                 limit cast($2 as bigint)",
            )
            .bind(tenant.org_id)
            .bind(limit)
            .fetch_all(db)
            .await
        }
        Some(after) => {
            sqlx::query_as(
                "select id, org_id, body, task_id, created_at, updated_at
                 from comments
                 where org_id = $1 and id < $2
                 order by id desc
                 limit cast($3 as bigint)",
            )
            .bind(tenant.org_id)
            .bind(after)
            .bind(limit)
            .fetch_all(db)
            .await
        }
    }
}

/// The tenant's comment `id`, if it has one.
pub async fn find<'e>(
    tenant: &Tenant,
    executor: impl sqlx::Executor<'e, Database = Db>,
    id: Uuid,
) -> Result<Option<Comment>, sqlx::Error> {
    sqlx::query_as(
        "select id, org_id, body, task_id, created_at, updated_at
         from comments where id = $1 and org_id = $2",
    )
    .bind(id)
    .bind(tenant.org_id)
    .fetch_optional(executor)
    .await
}

/// Like [`find`], and the row stays locked until the transaction ends, so that two
/// concurrent updates apply one after the other instead of one overwriting the other.
async fn find_for_update(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    id: Uuid,
) -> Result<Option<Comment>, sqlx::Error> {
    sqlx::query_as(
        "select id, org_id, body, task_id, created_at, updated_at
         from comments where id = $1 and org_id = $2
         for update",
    )
    .bind(id)
    .bind(tenant.org_id)
    .fetch_optional(&mut **tx)
    .await
}

/// How many comments the tenant has: what a plan limit counts.
async fn count(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from comments where org_id = $1")
        .bind(tenant.org_id)
        .fetch_one(&mut **tx)
        .await
}

async fn insert(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    changes: CommentChanges,
) -> Result<Comment, AppError> {
    let comment = sqlx::query_as(
        "insert into comments (id, org_id, body, task_id, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $5)
         returning id, org_id, body, task_id, created_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.org_id)
    .bind(changes.body)
    .bind(changes.task_id)
    .bind(OffsetDateTime::now_utc())
    .fetch_one(&mut **tx)
    .await
    .map_err(write_error)?;

    Ok(comment)
}

async fn update(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    comment: &Comment,
) -> Result<Comment, AppError> {
    let comment: Option<Comment> = sqlx::query_as(
        "update comments
         set body = $3, task_id = $4, updated_at = $5
         where id = $1 and org_id = $2
         returning id, org_id, body, task_id, created_at, updated_at",
    )
    .bind(comment.id)
    .bind(tenant.org_id)
    .bind(&comment.body)
    .bind(comment.task_id)
    .bind(OffsetDateTime::now_utc())
    .fetch_optional(&mut **tx)
    .await
    .map_err(write_error)?;

    comment.ok_or(AppError::NotFound)
}

/// What a failed insert or update means to the client.
fn write_error(error: sqlx::Error) -> AppError {
    match error {
        // A referenced row was deleted while this write ran: as if it never existed.
        sqlx::Error::Database(ref db_error) if db_error.is_foreign_key_violation() => {
            AppError::Validation(FieldErrors::from([(
                "task_id".to_owned(),
                vec!["must be the id of one of this organization's tasks".to_owned()],
            )]))
        }
        error => AppError::Database(error),
    }
}

/// Deletes the tenant's comment `id`; whether there was one.
pub async fn delete(tenant: &Tenant, db: &DbPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("delete from comments where id = $1 and org_id = $2")
        .bind(id)
        .bind(tenant.org_id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

/// Makes sample comments for the demo account of `cargo run -- seed`, unless it
/// has some already.
pub async fn seed(demo: &Demo, db: &DbPool) -> anyhow::Result<Seeded> {
    let tenant = &demo.tenant;
    if !list(tenant, db, None, 1).await?.is_empty() {
        return Ok(Seeded {
            table: "comments",
            rows: 0,
        });
    }
    let task_id = super::tasks::list(tenant, db, None, 1)
        .await?
        .first()
        .map(|row| row.id)
        .ok_or_else(|| anyhow::anyhow!("the demo account has no tasks to refer to"))?;
    let rows = demo.rows("comments");
    let mut tx = db::begin_write(db).await?;
    for n in 1..=rows {
        let input: CommentInput = serde_json::from_value(json!({
            "body": format!("Some text about body {n}"),
            "task_id": task_id,
        }))?;
        insert(tenant, &mut tx, CommentChanges::validate(input, true)?).await?;
    }
    tx.commit().await?;
    Ok(Seeded {
        table: "comments",
        rows,
    })
}
