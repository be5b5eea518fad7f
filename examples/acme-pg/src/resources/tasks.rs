//! Task resources: the `tasks` table, its routes under `/orgs/{org_id}/tasks`,
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

/// A task, as stored and as clients see it.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Task {
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    pub project_id: Uuid,
    pub assignee_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The body of a create (every required field) or an update (only the fields to change).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TaskInput {
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = String, max_length = 255)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = String, format = Uuid)]
    pub project_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assignee_id: Option<Option<String>>,
}

/// A page of tasks, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<Task>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The validated fields of an input; `None` leaves a field as it is.
#[derive(Debug, Default)]
struct TaskChanges {
    title: Option<String>,
    project_id: Option<Uuid>,
    assignee_id: Option<Option<Uuid>>,
}

impl TaskChanges {
    /// Checks every field; on create, the required ones must be present.
    fn validate(input: TaskInput, creating: bool) -> Result<Self, AppError> {
        let mut v = Validator::default();
        let changes = Self {
            title: v.value("title", input.title, creating, fields::required_string),
            project_id: v.value("project_id", input.project_id, creating, fields::uuid),
            assignee_id: v.nullable("assignee_id", input.assignee_id, fields::uuid),
        };
        v.finish()?;
        Ok(changes)
    }

    /// Applies the changes to a stored row.
    fn apply(self, task: &mut Task) {
        if let Some(title) = self.title {
            task.title = title;
        }
        if let Some(project_id) = self.project_id {
            task.project_id = project_id;
        }
        if let Some(assignee_id) = self.assignee_id {
            task.assignee_id = assignee_id;
        }
    }

    /// A reference must name a row of the same tenant; anything else is a 422.
    async fn check_references(
        &self,
        tenant: &Tenant,
        tx: &mut sqlx::Transaction<'static, Db>,
    ) -> Result<(), AppError> {
        let mut v = Validator::default();
        if let Some(id) = self.project_id
            && super::projects::find(tenant, &mut **tx, id)
                .await?
                .is_none()
        {
            v.reject::<()>(
                "project_id",
                "must be the id of one of this organization's projects",
            );
        }
        if let Some(Some(id)) = self.assignee_id
            && !tenant.has_member(&mut **tx, id).await?
        {
            v.reject::<()>(
                "assignee_id",
                "must be the id of a member of this organization",
            );
        }
        v.finish()
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task, update_task, delete_task))
}

/// Lists the caller's tasks, newest first.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/tasks",
    tag = "tasks",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::TasksRead.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ListParams),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 402, description = "The plan does not include reports (`feature_not_in_plan`)", body = ErrorBody),
        QueryErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn list_tasks(
    State(state): State<AppState>,
    tenant: Tenant,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<TaskPage>, AppError> {
    tenant.require(Permission::TasksRead)?;
    require_plan(&state, &tenant).await?;
    let limit = params.limit()?;
    let rows = list(&tenant, &state.db, params.after()?, limit + 1).await?;
    let (items, next_cursor) = paginate(rows, limit, |task| task.id);
    Ok(AppJson(TaskPage { items, next_cursor }))
}

/// Creates a task.
#[utoipa::path(
    post,
    path = "/orgs/{org_id}/tasks",
    tag = "tasks",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::TasksCreate.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id")),
    request_body = TaskInput,
    responses(
        (status = 201, description = "The new task", body = Task),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 402, description = "The plan allows no more tasks, or does not include reports (`plan_limit_reached`, `feature_not_in_plan`)", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn create_task(
    State(state): State<AppState>,
    tenant: Tenant,
    AppJson(input): AppJson<TaskInput>,
) -> Result<(StatusCode, AppJson<Task>), AppError> {
    tenant.require(Permission::TasksCreate)?;
    require_plan(&state, &tenant).await?;
    let changes = TaskChanges::validate(input, true)?;
    let mut tx = db::begin_write(&state.db).await?;
    // With a limit in some plan, the owner's billing row stays locked until commit, so
    // concurrent creates count one after the other and none slips past the limit.
    if state.billing.limits("tasks") {
        let plan = state.billing.lock_plan(&mut tx, tenant.org_id).await?;
        let used = count(&tenant, &mut tx).await?;
        state.billing.check_limit(plan, "tasks", used)?;
    }
    changes.check_references(&tenant, &mut tx).await?;
    let task = insert(&tenant, &mut tx, changes).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(task)))
}

/// One of the caller's tasks.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/tasks/{id}",
    tag = "tasks",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::TasksRead.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The task", body = Task),
        (status = 404, description = "No such task for this caller", body = ErrorBody),
        (status = 402, description = "The plan does not include reports (`feature_not_in_plan`)", body = ErrorBody),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn get_task(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
) -> Result<AppJson<Task>, AppError> {
    tenant.require(Permission::TasksRead)?;
    require_plan(&state, &tenant).await?;
    let task = find(&tenant, &state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(AppJson(task))
}

/// Changes the given fields of a task; the others stay as they are.
#[utoipa::path(
    patch,
    path = "/orgs/{org_id}/tasks/{id}",
    tag = "tasks",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::TasksUpdate.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The task's id")),
    request_body = TaskInput,
    responses(
        (status = 200, description = "The updated task", body = Task),
        (status = 404, description = "No such task for this caller", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 402, description = "The plan does not include reports (`feature_not_in_plan`)", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn update_task(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
    AppJson(input): AppJson<TaskInput>,
) -> Result<AppJson<Task>, AppError> {
    tenant.require(Permission::TasksUpdate)?;
    require_plan(&state, &tenant).await?;
    let changes = TaskChanges::validate(input, false)?;
    let mut tx = db::begin_write(&state.db).await?;
    // A row that is not the tenant's is 404 whatever the body names. Then the checks,
    // before the row is locked: a member check holds the membership, and a removal
    // takes the membership before the rows it releases, so both lock in one order.
    if find(&tenant, &mut *tx, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    changes.check_references(&tenant, &mut tx).await?;
    let mut task = find_for_update(&tenant, &mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    changes.apply(&mut task);
    let task = update(&tenant, &mut tx, &task).await?;
    tx.commit().await?;
    Ok(AppJson(task))
}

/// Deletes a task.
#[utoipa::path(
    delete,
    path = "/orgs/{org_id}/tasks/{id}",
    tag = "tasks",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::TasksDelete.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The task's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such task for this caller", body = ErrorBody),
        (status = 402, description = "The plan does not include reports (`feature_not_in_plan`)", body = ErrorBody),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn delete_task(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    tenant.require(Permission::TasksDelete)?;
    require_plan(&state, &tenant).await?;
    if !delete(&tenant, &state.db, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Every route needs a plan that includes `reports`: 402 `feature_not_in_plan` otherwise.
async fn require_plan(state: &AppState, tenant: &Tenant) -> Result<(), AppError> {
    state
        .billing
        .require_feature(&state.db, tenant.org_id, "reports")
        .await
}

/// The tenant's tasks after the id `after`, newest first.
pub async fn list(
    tenant: &Tenant,
    db: &DbPool,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    // Two statements, not one with `($2 is null or id < $2)`: with the `or`, the index
    // cannot start at the cursor, and a page deep in the list reads every row before it.
    // The limit is cast because SQLite prepares a statement again each time a bare
    // `limit $n` is bound, to plan for its value.
    match after {
        None => {
            sqlx::query_as(
                "select id, org_id, title, project_id, assignee_id, created_at, updated_at
                 from tasks
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
                "select id, org_id, title, project_id, assignee_id, created_at, updated_at
                 from tasks
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

/// The tenant's task `id`, if it has one.
pub async fn find<'e>(
    tenant: &Tenant,
    executor: impl sqlx::Executor<'e, Database = Db>,
    id: Uuid,
) -> Result<Option<Task>, sqlx::Error> {
    sqlx::query_as(
        "select id, org_id, title, project_id, assignee_id, created_at, updated_at
         from tasks where id = $1 and org_id = $2",
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
) -> Result<Option<Task>, sqlx::Error> {
    sqlx::query_as(
        "select id, org_id, title, project_id, assignee_id, created_at, updated_at
         from tasks where id = $1 and org_id = $2
         for update",
    )
    .bind(id)
    .bind(tenant.org_id)
    .fetch_optional(&mut **tx)
    .await
}

/// How many tasks the tenant has: what a plan limit counts.
async fn count(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from tasks where org_id = $1")
        .bind(tenant.org_id)
        .fetch_one(&mut **tx)
        .await
}

async fn insert(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    changes: TaskChanges,
) -> Result<Task, AppError> {
    let task = sqlx::query_as(
        "insert into tasks (id, org_id, title, project_id, assignee_id, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $6)
         returning id, org_id, title, project_id, assignee_id, created_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.org_id)
    .bind(changes.title)
    .bind(changes.project_id)
    .bind(changes.assignee_id.flatten())
    .bind(OffsetDateTime::now_utc())
    .fetch_one(&mut **tx)
    .await
    .map_err(write_error)?;

    Ok(task)
}

async fn update(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    task: &Task,
) -> Result<Task, AppError> {
    let task: Option<Task> = sqlx::query_as(
        "update tasks
         set title = $3, project_id = $4, assignee_id = $5, updated_at = $6
         where id = $1 and org_id = $2
         returning id, org_id, title, project_id, assignee_id, created_at, updated_at",
    )
    .bind(task.id)
    .bind(tenant.org_id)
    .bind(&task.title)
    .bind(task.project_id)
    .bind(task.assignee_id)
    .bind(OffsetDateTime::now_utc())
    .fetch_optional(&mut **tx)
    .await
    .map_err(write_error)?;

    task.ok_or(AppError::NotFound)
}

/// What a failed insert or update means to the client.
fn write_error(error: sqlx::Error) -> AppError {
    match error {
        // A referenced row was deleted while this write ran: as if it never existed.
        sqlx::Error::Database(ref db_error) if db_error.is_foreign_key_violation() => {
            AppError::Validation(FieldErrors::from([
                (
                    "project_id".to_owned(),
                    vec!["must be the id of one of this organization's projects".to_owned()],
                ),
                (
                    "assignee_id".to_owned(),
                    vec!["must be the id of a member of this organization".to_owned()],
                ),
            ]))
        }
        error => AppError::Database(error),
    }
}

/// Deletes the tenant's task `id`; whether there was one.
pub async fn delete(tenant: &Tenant, db: &DbPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("delete from tasks where id = $1 and org_id = $2")
        .bind(id)
        .bind(tenant.org_id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

/// Makes sample tasks for the demo account of `cargo run -- seed`, unless it
/// has some already.
pub async fn seed(demo: &Demo, db: &DbPool) -> anyhow::Result<Seeded> {
    let tenant = &demo.tenant;
    if !list(tenant, db, None, 1).await?.is_empty() {
        return Ok(Seeded {
            table: "tasks",
            rows: 0,
        });
    }
    let project_id = super::projects::list(tenant, db, None, 1)
        .await?
        .first()
        .map(|row| row.id)
        .ok_or_else(|| anyhow::anyhow!("the demo account has no projects to refer to"))?;
    let assignee_id = demo.user_id;
    let rows = demo.rows("tasks");
    let mut tx = db::begin_write(db).await?;
    for n in 1..=rows {
        let input: TaskInput = serde_json::from_value(json!({
            "title": format!("Sample title {n}"),
            "project_id": project_id,
            "assignee_id": assignee_id,
        }))?;
        insert(tenant, &mut tx, TaskChanges::validate(input, true)?).await?;
    }
    tx.commit().await?;
    Ok(Seeded {
        table: "tasks",
        rows,
    })
}
