//! Note resources: the `notes` table, its routes under `/notes`,
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
    db::{self, Db, DbPool},
    error::{AppError, ErrorBody},
    extract::{AppJson, AppPath, AppQuery},
    openapi::{AuthErrors, CrossSiteErrors, JsonBodyErrors, QueryErrors, ServerErrors},
    seed::{Demo, ROWS, Seeded},
};

/// A note, as stored and as clients see it.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Note {
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
    pub pinned: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The body of a create (every required field) or an update (only the fields to change).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NoteInput {
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = String)]
    pub body: Option<Option<String>>,
    #[serde(default, deserialize_with = "absent_or_nullable")]
    #[schema(value_type = bool)]
    pub pinned: Option<Option<bool>>,
}

/// A page of notes, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotePage {
    pub items: Vec<Note>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The validated fields of an input; `None` leaves a field as it is.
#[derive(Debug, Default)]
struct NoteChanges {
    body: Option<String>,
    pinned: Option<bool>,
}

impl NoteChanges {
    /// Checks every field; on create, the required ones must be present.
    fn validate(input: NoteInput, creating: bool) -> Result<Self, AppError> {
        let mut v = Validator::default();
        let changes = Self {
            body: v.value("body", input.body, creating, fields::required_text),
            pinned: v.value("pinned", input.pinned, creating, fields::any),
        };
        v.finish()?;
        Ok(changes)
    }

    /// Applies the changes to a stored row.
    fn apply(self, note: &mut Note) {
        if let Some(body) = self.body {
            note.body = body;
        }
        if let Some(pinned) = self.pinned {
            note.pinned = pinned;
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notes, create_note))
        .routes(routes!(get_note, update_note, delete_note))
}

/// Lists the caller's notes, newest first.
#[utoipa::path(
    get,
    path = "/notes",
    tag = "notes",
    security(("session" = []), ("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of notes", body = NotePage),
        QueryErrors, AuthErrors, ServerErrors,
    )
)]
async fn list_notes(
    State(state): State<AppState>,
    tenant: Tenant,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<NotePage>, AppError> {
    let limit = params.limit()?;
    let rows = list(&tenant, &state.db, params.after()?, limit + 1).await?;
    let (items, next_cursor) = paginate(rows, limit, |note| note.id);
    Ok(AppJson(NotePage { items, next_cursor }))
}

/// Creates a note.
#[utoipa::path(
    post,
    path = "/notes",
    tag = "notes",
    security(("session" = []), ("bearer" = [])),
    request_body = NoteInput,
    responses(
        (status = 201, description = "The new note", body = Note),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        JsonBodyErrors, AuthErrors, CrossSiteErrors, ServerErrors,
    )
)]
async fn create_note(
    State(state): State<AppState>,
    tenant: Tenant,
    AppJson(input): AppJson<NoteInput>,
) -> Result<(StatusCode, AppJson<Note>), AppError> {
    let changes = NoteChanges::validate(input, true)?;
    let mut tx = db::begin_write(&state.db).await?;
    let note = insert(&tenant, &mut tx, changes).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(note)))
}

/// One of the caller's notes.
#[utoipa::path(
    get,
    path = "/notes/{id}",
    tag = "notes",
    security(("session" = []), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The note's id")),
    responses(
        (status = 200, description = "The note", body = Note),
        (status = 404, description = "No such note for this caller", body = ErrorBody),
        AuthErrors, ServerErrors,
    )
)]
async fn get_note(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath(id): AppPath<Uuid>,
) -> Result<AppJson<Note>, AppError> {
    let note = find(&tenant, &state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(AppJson(note))
}

/// Changes the given fields of a note; the others stay as they are.
#[utoipa::path(
    patch,
    path = "/notes/{id}",
    tag = "notes",
    security(("session" = []), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The note's id")),
    request_body = NoteInput,
    responses(
        (status = 200, description = "The updated note", body = Note),
        (status = 404, description = "No such note for this caller", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        JsonBodyErrors, AuthErrors, CrossSiteErrors, ServerErrors,
    )
)]
async fn update_note(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath(id): AppPath<Uuid>,
    AppJson(input): AppJson<NoteInput>,
) -> Result<AppJson<Note>, AppError> {
    let changes = NoteChanges::validate(input, false)?;
    let mut tx = db::begin_write(&state.db).await?;
    let mut note = find_for_update(&tenant, &mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    changes.apply(&mut note);
    let note = update(&tenant, &mut tx, &note).await?;
    tx.commit().await?;
    Ok(AppJson(note))
}

/// Deletes a note.
#[utoipa::path(
    delete,
    path = "/notes/{id}",
    tag = "notes",
    security(("session" = []), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The note's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such note for this caller", body = ErrorBody),
        AuthErrors, CrossSiteErrors, ServerErrors,
    )
)]
async fn delete_note(
    State(state): State<AppState>,
    tenant: Tenant,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode, AppError> {
    if !delete(&tenant, &state.db, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's notes after the id `after`, newest first.
pub async fn list(
    tenant: &Tenant,
    db: &DbPool,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Note>, sqlx::Error> {
    // Two statements, not one with `($2 is null or id < $2)`: with the `or`, the index
    // cannot start at the cursor, and a page deep in the list reads every row before it.
    // The limit is cast because SQLite prepares a statement again each time a bare
    // `limit $n` is bound, to plan for its value.
    match after {
        None => {
            sqlx::query_as(
                "select id, user_id, body, pinned, created_at, updated_at
                 from notes
                 where user_id = $1
                 order by id desc
                 limit cast($2 as bigint)",
            )
            .bind(tenant.user_id)
            .bind(limit)
            .fetch_all(db)
            .await
        }
        Some(after) => {
            sqlx::query_as(
                "select id, user_id, body, pinned, created_at, updated_at
                 from notes
                 where user_id = $1 and id < $2
                 order by id desc
                 limit cast($3 as bigint)",
            )
            .bind(tenant.user_id)
            .bind(after)
            .bind(limit)
            .fetch_all(db)
            .await
        }
    }
}

/// The tenant's note `id`, if it has one.
pub async fn find<'e>(
    tenant: &Tenant,
    executor: impl sqlx::Executor<'e, Database = Db>,
    id: Uuid,
) -> Result<Option<Note>, sqlx::Error> {
    sqlx::query_as(
        "select id, user_id, body, pinned, created_at, updated_at
         from notes where id = $1 and user_id = $2",
    )
    .bind(id)
    .bind(tenant.user_id)
    .fetch_optional(executor)
    .await
}

/// Like [`find`], and the row stays locked until the transaction ends, so that two
/// concurrent updates apply one after the other instead of one overwriting the other.
async fn find_for_update(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    id: Uuid,
) -> Result<Option<Note>, sqlx::Error> {
    // SQLite has no row locks: the write transaction (`BEGIN IMMEDIATE`) already
    // holds the whole database, so reading within it is enough.
    find(tenant, &mut **tx, id).await
}

async fn insert(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    changes: NoteChanges,
) -> Result<Note, AppError> {
    let note = sqlx::query_as(
        "insert into notes (id, user_id, body, pinned, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $5)
         returning id, user_id, body, pinned, created_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.user_id)
    .bind(changes.body)
    .bind(changes.pinned)
    .bind(OffsetDateTime::now_utc())
    .fetch_one(&mut **tx)
    .await?;

    Ok(note)
}

async fn update(
    tenant: &Tenant,
    tx: &mut sqlx::Transaction<'static, Db>,
    note: &Note,
) -> Result<Note, AppError> {
    let note: Option<Note> = sqlx::query_as(
        "update notes
         set body = $3, pinned = $4, updated_at = $5
         where id = $1 and user_id = $2
         returning id, user_id, body, pinned, created_at, updated_at",
    )
    .bind(note.id)
    .bind(tenant.user_id)
    .bind(&note.body)
    .bind(note.pinned)
    .bind(OffsetDateTime::now_utc())
    .fetch_optional(&mut **tx)
    .await?;

    note.ok_or(AppError::NotFound)
}

/// Deletes the tenant's note `id`; whether there was one.
pub async fn delete(tenant: &Tenant, db: &DbPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("delete from notes where id = $1 and user_id = $2")
        .bind(id)
        .bind(tenant.user_id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

/// Makes sample notes for the demo account of `cargo run -- seed`, unless it
/// has some already.
pub async fn seed(demo: &Demo, db: &DbPool) -> anyhow::Result<Seeded> {
    let tenant = &demo.tenant;
    if !list(tenant, db, None, 1).await?.is_empty() {
        return Ok(Seeded {
            table: "notes",
            rows: 0,
        });
    }
    let rows = ROWS;
    let mut tx = db::begin_write(db).await?;
    for n in 1..=rows {
        let input: NoteInput = serde_json::from_value(json!({
            "body": format!("Some text about body {n}"),
            "pinned": true,
        }))?;
        insert(tenant, &mut tx, NoteChanges::validate(input, true)?).await?;
    }
    tx.commit().await?;
    Ok(Seeded {
        table: "notes",
        rows,
    })
}
