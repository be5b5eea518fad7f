//! The benchmark's floor: the three routes the benchmark loads, doing per request the
//! work a generated app must do (find the API token's user by the token's SHA-256,
//! check the caller's membership of the organization, run the scoped query) and
//! nothing more. It serves the database a generated app made (its schema and rows).
//!
//! Usage: DATABASE_URL=… BIND_ADDR=127.0.0.1:3001 floor

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    routing::get,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

#[cfg(all(feature = "sqlite", not(feature = "postgres")))]
type Db = sqlx::Sqlite;
#[cfg(feature = "postgres")]
type Db = sqlx::Postgres;

type Pool = sqlx::Pool<Db>;

#[derive(Serialize, sqlx::FromRow)]
struct Project {
    id: Uuid,
    org_id: Uuid,
    title: String,
    done: bool,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

#[derive(Serialize)]
struct Page {
    items: Vec<Project>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<i64>,
    cursor: Option<Uuid>,
}

#[derive(Deserialize)]
struct NewProject {
    title: String,
    done: bool,
}

type Answer<T> = Result<T, StatusCode>;

fn fail(_: sqlx::Error) -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

/// The caller's user id, if they are a member of `org_id`.
async fn member(db: &Pool, headers: &HeaderMap, org_id: Uuid) -> Answer<Uuid> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hash = String::with_capacity(64);
    for byte in Sha256::digest(token.as_bytes()) {
        hash.push(char::from(HEX[usize::from(byte >> 4)]));
        hash.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    let user_id: Uuid = sqlx::query_scalar(
        "select u.id from api_tokens t join users u on u.id = t.user_id where t.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(db)
    .await
    .map_err(fail)?
    .ok_or(StatusCode::UNAUTHORIZED)?;
    let role: Option<String> =
        sqlx::query_scalar("select role from memberships where org_id = $1 and user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(db)
            .await
            .map_err(fail)?;
    role.map(|_| user_id).ok_or(StatusCode::NOT_FOUND)
}

async fn list(
    State(db): State<Pool>,
    headers: HeaderMap,
    Path(org_id): Path<Uuid>,
    Query(params): Query<ListParams>,
) -> Answer<Json<Page>> {
    member(&db, &headers, org_id).await?;
    let limit = params.limit.unwrap_or(20).clamp(1, 100);
    let mut items: Vec<Project> = match params.cursor {
        None => {
            sqlx::query_as(
                "select id, org_id, title, done, created_at, updated_at
                 from projects where org_id = $1 order by id desc limit cast($2 as bigint)",
            )
            .bind(org_id)
            .bind(limit + 1)
            .fetch_all(&db)
            .await
        }
        Some(cursor) => {
            sqlx::query_as(
                "select id, org_id, title, done, created_at, updated_at
                 from projects where org_id = $1 and id < $2 order by id desc limit cast($3 as bigint)",
            )
            .bind(org_id)
            .bind(cursor)
            .bind(limit + 1)
            .fetch_all(&db)
            .await
        }
    }
    .map_err(fail)?;
    let mut next_cursor = None;
    if items.len() as i64 > limit {
        items.truncate(limit as usize);
        next_cursor = items.last().map(|project| project.id.to_string());
    }
    Ok(Json(Page { items, next_cursor }))
}

async fn get_one(
    State(db): State<Pool>,
    headers: HeaderMap,
    Path((org_id, id)): Path<(Uuid, Uuid)>,
) -> Answer<Json<Project>> {
    member(&db, &headers, org_id).await?;
    let project: Option<Project> = sqlx::query_as(
        "select id, org_id, title, done, created_at, updated_at
         from projects where id = $1 and org_id = $2",
    )
    .bind(id)
    .bind(org_id)
    .fetch_optional(&db)
    .await
    .map_err(fail)?;
    project.map(Json).ok_or(StatusCode::NOT_FOUND)
}

async fn create(
    State(db): State<Pool>,
    headers: HeaderMap,
    Path(org_id): Path<Uuid>,
    Json(input): Json<NewProject>,
) -> Answer<(StatusCode, Json<Project>)> {
    member(&db, &headers, org_id).await?;
    let now = OffsetDateTime::now_utc();
    let project: Project = sqlx::query_as(
        "insert into projects (id, org_id, title, done, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $5)
         returning id, org_id, title, done, created_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(org_id)
    .bind(input.title)
    .bind(input.done)
    .bind(now)
    .fetch_one(&db)
    .await
    .map_err(fail)?;
    Ok((StatusCode::CREATED, Json(project)))
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names the app's database");
    let bind = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let connections = std::env::var("DATABASE_MAX_CONNECTIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(4);
    let options: <<Db as sqlx::Database>::Connection as sqlx::Connection>::Options =
        url.parse().expect("DATABASE_URL parses");
    // As the generated app opens SQLite (the file is already in WAL mode).
    #[cfg(all(feature = "sqlite", not(feature = "postgres")))]
    let options = options
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(5))
        .foreign_keys(true);
    let db = sqlx::pool::PoolOptions::<Db>::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .expect("the database answers");
    let app = Router::new()
        .route("/orgs/{org_id}/projects", get(list).post(create))
        .route("/orgs/{org_id}/projects/{id}", get(get_one))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(&bind).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
