//! Note resources: round trips for every field, validation, tenancy and
//! pagination. Written by `saas add resource`; yours to edit.

use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use app::db::DbPool;

use crate::common::{TestApp, assert_error, send_together, spawn_app};

const PATH: &str = "/notes";
/// The fields a create must carry.
const REQUIRED: &[&str] = &["body", "pinned"];
/// The fields that may be null.
const NULLABLE: &[&str] = &[];

/// A valid body with every field set; `n` varies the values.
fn full_body(n: usize) -> Value {
    json!({
        "body": format!("Some text about body {n}"),
        "pinned": true,
    })
}

/// For each field, another valid value.
fn other_values() -> Value {
    json!({
        "body": "Other text",
        "pinned": false,
    })
}

/// For each field that can be invalid, a value of the right JSON type that is not valid.
fn invalid_values() -> Vec<(&'static str, Value)> {
    vec![
        ("body", json!(12)),
        ("body", json!(" \t ")),
        ("pinned", json!("yes")),
    ]
}

/// Signs up a user and prepares what a body needs; returns the user's id.
async fn set_up(app: &TestApp) -> (String, ()) {
    (app.signup("alice@example.com").await, ())
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let response = app.post(PATH, body).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

async fn patch(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .patch(app.url(path))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn fields_of(item: &Value) -> &Map<String, Value> {
    item.as_object().unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_note_round_trips_through_create_get_list_update_and_delete(db: DbPool) {
    let app = spawn_app(db).await;
    let (user_id, ()) = set_up(&app).await;
    let body = full_body(0);

    let created = create(&app, &body).await;

    for (field, value) in fields_of(&body) {
        assert_eq!(&created[field], value, "{field}");
    }
    assert_eq!(created["user_id"], user_id.as_str());
    for key in ["id", "created_at", "updated_at"] {
        assert!(created[key].is_string(), "{key}");
    }
    let path = format!("{PATH}/{}", created["id"].as_str().unwrap());
    let fetched: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(fetched, created);
    let page: Value = app.get(PATH).await.json().await.unwrap();
    assert_eq!(page["items"], json!([created]));

    let mut expected = created.clone();
    for (field, value) in fields_of(&other_values()) {
        let response = patch(&app, &path, &json!({ field: value })).await;
        assert_eq!(response.status(), StatusCode::OK, "{field}");
        let updated: Value = response.json().await.unwrap();
        expected[field] = value.clone();
        expected["updated_at"] = updated["updated_at"].clone();
        assert_eq!(updated, expected, "only {field} changed");
    }
    assert_eq!(
        app.get(&path).await.json::<Value>().await.unwrap(),
        expected
    );

    assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.count("notes").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn optional_fields_may_be_left_out_and_cleared(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, ()) = set_up(&app).await;
    let mut body = full_body(0);
    for field in NULLABLE {
        body.as_object_mut().unwrap().remove(*field);
    }

    let created = create(&app, &body).await;

    for field in NULLABLE {
        assert_eq!(created[field], Value::Null, "{field}");
    }
    let full = create(&app, &full_body(1)).await;
    let path = format!("{PATH}/{}", full["id"].as_str().unwrap());
    for field in NULLABLE {
        let response = patch(&app, &path, &json!({ *field: null })).await;
        assert_eq!(response.status(), StatusCode::OK, "{field}");
        let updated: Value = response.json().await.unwrap();
        assert_eq!(updated[field], Value::Null, "{field}");
    }
    let stored: Value = app.get(&path).await.json().await.unwrap();
    for field in NULLABLE {
        assert_eq!(stored[field], Value::Null, "{field} is stored cleared");
    }
    for field in REQUIRED {
        assert_eq!(stored[field], full[field], "{field} is kept");
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn each_missing_required_field_is_422_and_creates_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, ()) = set_up(&app).await;

    for field in REQUIRED {
        let mut body = full_body(0);
        body.as_object_mut().unwrap().remove(*field);
        let response = app.post(PATH, &body).await;
        let error = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            error["error"]["fields"][field].is_array(),
            "{field}: {error}"
        );
    }
    assert_eq!(app.count("notes").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn invalid_values_are_422_and_change_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, ()) = set_up(&app).await;
    let created = create(&app, &full_body(0)).await;
    let path = format!("{PATH}/{}", created["id"].as_str().unwrap());

    for (field, value) in invalid_values() {
        let mut body = full_body(1);
        body[field] = value.clone();
        let on_create = app.post(PATH, &body).await;
        let error = assert_error(
            on_create,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            error["error"]["fields"][field].is_array(),
            "{field}: {error}"
        );
        let on_update = patch(&app, &path, &json!({ field: value })).await;
        assert_error(
            on_update,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    for field in REQUIRED {
        let cleared = patch(&app, &path, &json!({ *field: null })).await;
        assert_error(
            cleared,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    assert_eq!(app.count("notes").await, 1);
    assert_eq!(app.get(&path).await.json::<Value>().await.unwrap(), created);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_read_only_token_lists_notes_and_creates_none(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, ()) = set_up(&app).await;
    let created = app.create_token(json!({ "read_only": true })).await;
    let token = created["token"].as_str().unwrap();
    let program = app.another_client();

    let listed = program
        .get(app.url(PATH))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let body = full_body(0);
    let refused = program
        .post(app.url(PATH))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("notes").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_route_needs_a_signed_in_user(db: DbPool) {
    let app = spawn_app(db).await;
    let item = format!("{PATH}/{}", uuid::Uuid::now_v7());
    let body = json!({});

    assert_error(
        app.get(PATH).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.post(PATH, &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get(&item).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        patch(&app, &item, &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.delete(&item).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn another_users_note_is_not_found_and_left_unchanged(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, ()) = set_up(&app).await;
    let created = create(&app, &full_body(0)).await;
    let path = format!("{PATH}/{}", created["id"].as_str().unwrap());
    let mallory = app.another_client();
    app.signup_as(&mallory, "mallory@example.com").await;

    let get = mallory.get(app.url(&path)).send().await.unwrap();
    let patch = mallory
        .patch(app.url(&path))
        .json(&other_values())
        .send()
        .await
        .unwrap();
    let delete = mallory.delete(app.url(&path)).send().await.unwrap();
    let list: Value = mallory
        .get(app.url(PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    for response in [get, patch, delete] {
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(list["items"], json!([]));
    assert_eq!(app.get(&path).await.json::<Value>().await.unwrap(), created);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn pagination_walks_every_note_once_newest_first(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, ()) = set_up(&app).await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(create(&app, &full_body(n)).await["id"].clone());
    }
    created.reverse();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("{PATH}?limit=2&cursor={cursor}"),
            None => format!("{PATH}?limit=2"),
        };
        let page: Value = app.get(&query).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|item| item["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    assert_eq!(seen, created);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_malformed_cursor_or_limit_is_400(db: DbPool) {
    let app = spawn_app(db).await;
    set_up(&app).await;

    for query in [
        "?cursor=not-a-cursor",
        "?limit=many",
        "?limit=-1",
        "?limit=0",
        "?limit=101",
    ] {
        let response = app.get(&format!("{PATH}{query}")).await;
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_openapi_document_describes_the_notes_routes(db: DbPool) {
    let app = spawn_app(db).await;

    let document: Value = app.get("/openapi.json").await.json().await.unwrap();

    let item = format!("{PATH}/{{id}}");
    for (path, methods) in [
        (PATH, &["get", "post"][..]),
        (item.as_str(), &["get", "patch", "delete"][..]),
    ] {
        for method in methods {
            assert!(
                document["paths"][path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn concurrent_updates_of_different_fields_both_apply(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, ()) = set_up(&app).await;
    let other = other_values();

    for n in 0..10 {
        let created = create(&app, &full_body(n)).await;
        let path = format!("{PATH}/{}", created["id"].as_str().unwrap());
        let responses = send_together(vec![
            app.client
                .patch(app.url(&path))
                .json(&json!({ "body": other["body"] })),
            app.client
                .patch(app.url(&path))
                .json(&json!({ "pinned": other["pinned"] })),
        ])
        .await;

        assert!(
            responses
                .iter()
                .all(|response| response.status() == StatusCode::OK)
        );
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(
            stored["body"], other["body"],
            "round {n}: an update was lost"
        );
        assert_eq!(
            stored["pinned"], other["pinned"],
            "round {n}: an update was lost"
        );
        assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_note_deleted_during_an_update_is_404_never_500(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, ()) = set_up(&app).await;

    for n in 0..10 {
        let created = create(&app, &full_body(n)).await;
        let path = format!("{PATH}/{}", created["id"].as_str().unwrap());
        let responses = send_together(vec![
            app.client.patch(app.url(&path)).json(&other_values()),
            app.client.delete(app.url(&path)),
        ])
        .await;

        let update = responses[0].status();
        assert!(
            update == StatusCode::OK || update == StatusCode::NOT_FOUND,
            "round {n}: {update}"
        );
        assert_eq!(responses[1].status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status(), StatusCode::NOT_FOUND);
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn seeding_makes_notes_for_the_demo_account_once(db: DbPool) {
    let app = spawn_app(db).await;
    let made = |report: &app::seed::Report| {
        let seeded = report.seeded.iter().find(|seeded| seeded.table == "notes");
        seeded.map(|seeded| seeded.rows)
    };

    let first = app::seed::run(&app.state.config, &app.db).await.unwrap();
    let second = app::seed::run(&app.state.config, &app.db).await.unwrap();

    let expected = app::seed::ROWS;
    assert_eq!(made(&first), Some(expected));
    assert_eq!(made(&second), Some(0));
    let stored: i64 = sqlx::query_scalar("select count(*) from notes where user_id = $1")
        .bind(first.demo.tenant.user_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, i64::try_from(expected).unwrap());
    let signed_in = app
        .login_as(&app.client, app::seed::DEMO_EMAIL, app::seed::DEMO_PASSWORD)
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let page: Value = app.get(PATH).await.json().await.unwrap();
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(expected),
        "{page}"
    );
}
