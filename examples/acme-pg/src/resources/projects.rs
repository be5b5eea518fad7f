//! Project resources: the `projects` table, its routes under `/orgs/{org_id}/projects`,
//! and its queries. Written by `saas add resource`; yours to edit.

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::FromRow;
use time::{Date, OffsetDateTime};
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
    error::{AppError, ErrorBody},
    extract::{AppJson, AppPath, AppQuery},
    openapi::{JsonBodyErrors, QueryErrors, ServerErrors},
    seed::{Demo, Seeded},
};

/// A project, as stored and as clients see it.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub done: bool,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<Date>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The body of a create (every required field) or an update (only the fields to change).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProjectInput {
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = String, max_length = 255)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = bool)]
    pub done: Option<Option<bool>>,
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<Option<String>>,
}

/// A page of projects, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectPage {
    pub items: Vec<Project>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The validated fields of an input; `None` leaves a field as it is.
#[derive(Debug, Default)]
struct ProjectChanges {
    title: Option<String>,
    description: Option<Option<String>>,
    done: Option<bool>,
    due_on: Option<Option<Date>>,
}

impl ProjectChanges {
    /// Checks every field; on create, the required ones must be present.
    fn validate(input: ProjectInput, creating: bool) -> Result<Self, AppError> {
        let mut v = Validator::default();
        let changes = Self {
            title: v.value("title", input.title, creating, fields::required_string),
            description: v.nullable("description", input.description, fields::any),
            done: v.value("done", input.done, creating, fields::any),
            due_on: v.nullable("due_on", input.due_on, fields::date),
        };
        v.finish()?;
        Ok(changes)
    }

    /// Applies the changes to a stored row.
    fn apply(self, project: &mut Project) {
        if let Some(title) = self.title {
            project.title = title;
        }
        if let Some(description) = self.description {
            project.description = description;
        }
        if let Some(done) = self.done {
            project.done = done;
        }
        if let Some(due_on) = self.due_on {
            project.due_on = due_on;
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
}

/// Lists the caller's projects, newest first.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/projects",
    tag = "projects",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::ProjectsRead.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ListParams),
    responses(
        (status = 200, description = "A page of projects", body = ProjectPage),
        QueryErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn list_projects(
    State(state): State<AppState>,
    tenant: Tenant,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<ProjectPage>, AppError> {
    tenant.require(Permission::ProjectsRead)?;
    let limit = params.limit()?;
    let rows = list(&tenant, &state.db, params.after()?, limit + 1).await?;
    let (items, next_cursor) = paginate(rows, limit, |project| project.id);
    Ok(AppJson(ProjectPage { items, next_cursor }))
}

/// Creates a project.
#[utoipa::path(
    post,
    path = "/orgs/{org_id}/projects",
    tag = "projects",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::ProjectsCreate.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id")),
    request_body = ProjectInput,
    responses(
        (status = 201, description = "The new project", body = Project),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 402, description = "The plan allows no more projects (`plan_limit_reached`)", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn create_project(
    State(state): State<AppState>,
    tenant: Tenant,
    AppJson(input): AppJson<ProjectInput>,
) -> Result<(StatusCode, AppJson<Project>), AppError> {
    tenant.require(Permission::ProjectsCreate)?;
    let changes = ProjectChanges::validate(input, true)?;
    let mut tx = db::begin_write(&state.db).await?;
    // With a limit in some plan, the owner's billing row stays locked until commit, so
    // concurrent creates count one after the other and none slips past the limit.
    if state.billing.limits("projects") {
        let plan = state.billing.lock_plan(&mut tx, tenant.org_id).await?;
        let used = count(&tenant, &mut tx).await?;
        state.billing.check_limit(plan, "projects", used)?;
    }
    let project = insert(&tenant, &mut tx, changes).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(project)))
}

/// One of the caller's projects.
#[utoipa::path(
    get,
    path = "/orgs/{org_id}/projects/{id}",
    tag = "projects",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::ProjectsRead.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The project's id")),
    responses(
        (status = 200, description = "The project", body = Project),
        (status = 404, description = "No such project for this caller", body = ErrorBody),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn get_project(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
) -> Result<AppJson<Project>, AppError> {
    tenant.require(Permission::ProjectsRead)?;
    let project = find(&tenant, &state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(AppJson(project))
}

/// Changes the given fields of a project; the others stay as they are.
#[utoipa::path(
    patch,
    path = "/orgs/{org_id}/projects/{id}",
    tag = "projects",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::ProjectsUpdate.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The project's id")),
    request_body = ProjectInput,
    responses(
        (status = 200, description = "The updated project", body = Project),
        (status = 404, description = "No such project for this caller", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        JsonBodyErrors, MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn update_project(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
    AppJson(input): AppJson<ProjectInput>,
) -> Result<AppJson<Project>, AppError> {
    tenant.require(Permission::ProjectsUpdate)?;
    let changes = ProjectChanges::validate(input, false)?;
    let mut tx = db::begin_write(&state.db).await?;
    let mut project = find_for_update(&tenant, &mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    changes.apply(&mut project);
    let project = update(&tenant, &mut tx, &project).await?;
    tx.commit().await?;
    Ok(AppJson(project))
}

/// Deletes a project.
#[utoipa::path(
    delete,
    path = "/orgs/{org_id}/projects/{id}",
    tag = "projects",
    security(("session" = []), ("bearer" = [])),
    extensions(("x-permission" = json!(Permission::ProjectsDelete.as_str()))),
    params(("org_id" = Uuid, Path, description = "The organization's id"), ("id" = Uuid, Path, description = "The project's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such project for this caller", body = ErrorBody),
        MemberErrors, PermissionErrors, ServerErrors,
    )
)]
async fn delete_project(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath((_org_id, id)): AppPath<(Uuid, Uuid)>,
) -> Result<StatusCode, AppError> {
    tenant.require(Permission::ProjectsDelete)?;
    if !delete(&tenant, &state.db, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's projects after the id `after`, newest first.
pub async fn list(
    tenant: &Tenant,
    db: &DbPool,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Project>, sqlx::Error> {
    // Two statements, not one with `($2 is null or id < $2)`: with the `or`, the index
    // cannot start at the cursor, and a page deep in the list reads every row before it.
    // The limit is cast because SQLite prepares a statement again each time a bare
    // `limit $n` is bound, to plan for its value.
    match after {
        None => {
            sqlx::query_as(
                "select id, org_id, title, description, done, due_on, created_at, updated_at
                 from projects
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
                "select id, org_id, title, description, done, due_on, created_at, updated_at
                 from projects
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

/// The tenant's project `id`, if it has one.
pub async fn find<'e>(
    tenant: &Tenant,
    executor: impl sqlx::Executor<'e, Database = Db>,
    id: Uuid,
) -> Result<Option<Project>, sqlx::Error> {
    sqlx::query_as(
        "select id, org_id, title, description, done, due_on, created_at, updated_at
         from projects where id = $1 and org_id = $2",
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
) -> Result<Option<Project>, sqlx::Error> {
    sqlx::query_as(
        "select id, org_id, title, description, done, due_on, created_at, updated_at
         from projects where id = $1 and org_id = $2
         for update",
    )
    .bind(id)
    .bind(tenant.org_id)
    .fetch_optional(&mut **tx)
    .await
}

/// How many projects the tenant has: what a plan limit counts.
async fn count(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from projects where org_id = $1")
        .bind(tenant.org_id)
        .fetch_one(&mut **tx)
        .await
}

async fn insert(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    changes: ProjectChanges,
) -> Result<Project, AppError> {
    let project = sqlx::query_as(
        "insert into projects (id, org_id, title, description, done, due_on, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $7)
         returning id, org_id, title, description, done, due_on, created_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.org_id)
    .bind(changes.title)
    .bind(changes.description.flatten())
    .bind(changes.done)
    .bind(changes.due_on.flatten())
    .bind(OffsetDateTime::now_utc())
    .fetch_one(&mut **tx)
    .await?;

    Ok(project)
}

async fn update(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    project: &Project,
) -> Result<Project, AppError> {
    let project: Option<Project> = sqlx::query_as(
        "update projects
         set title = $3, description = $4, done = $5, due_on = $6, updated_at = $7
         where id = $1 and org_id = $2
         returning id, org_id, title, description, done, due_on, created_at, updated_at",
    )
    .bind(project.id)
    .bind(tenant.org_id)
    .bind(&project.title)
    .bind(&project.description)
    .bind(project.done)
    .bind(project.due_on)
    .bind(OffsetDateTime::now_utc())
    .fetch_optional(&mut **tx)
    .await?;

    project.ok_or(AppError::NotFound)
}

/// Deletes the tenant's project `id`; whether there was one.
pub async fn delete(tenant: &Tenant, db: &DbPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("delete from projects where id = $1 and org_id = $2")
        .bind(id)
        .bind(tenant.org_id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

/// Makes sample projects for the demo account of `cargo run -- seed`, unless it
/// has some already.
pub async fn seed(demo: &Demo, db: &DbPool) -> anyhow::Result<Seeded> {
    let tenant = &demo.tenant;
    if !list(tenant, db, None, 1).await?.is_empty() {
        return Ok(Seeded {
            table: "projects",
            rows: 0,
        });
    }
    let rows = demo.rows("projects");
    let mut tx = db::begin_write(db).await?;
    for n in 1..=rows {
        let input: ProjectInput = serde_json::from_value(json!({
            "title": format!("Sample title {n}"),
            "description": format!("Some text about description {n}"),
            "done": true,
            "due_on": format!("2027-01-{:02}", n % 28 + 1),
        }))?;
        insert(tenant, &mut tx, ProjectChanges::validate(input, true)?).await?;
    }
    tx.commit().await?;
    Ok(Seeded {
        table: "projects",
        rows,
    })
}
