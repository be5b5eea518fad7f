//! Task resources: round trips for every field, validation, tenancy and
//! pagination. Written by `saas add resource`; yours to edit.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use app::{
    access::{Permission, Role},
    db::DbPool,
};

use crate::common::{TestApp, assert_error, send_together, spawn_app};

/// The path of the tasks of the organization `org_id`.
fn collection(org_id: Uuid) -> String {
    format!("/orgs/{org_id}/tasks")
}
/// The fields a create must carry.
const REQUIRED: &[&str] = &["title", "project_id"];
/// The fields that may be null.
const NULLABLE: &[&str] = &["assignee_id"];

/// Rows of other resources that the references point at, and members, of one organization.
struct Parents {
    project_id: String,
    other_project_id: String,
    assignee_id: String,
    other_assignee_id: String,
}

impl Parents {
    /// Creates the referenced rows in `org_id` as the member signed in on `client`.
    async fn create(app: &TestApp, client: &reqwest::Client, org_id: Uuid) -> Self {
        Self {
            project_id: create_project(app, client, org_id).await,
            other_project_id: create_project(app, client, org_id).await,
            assignee_id: new_member(app, org_id).await,
            other_assignee_id: new_member(app, org_id).await,
        }
    }
}

/// Creates one project in `org_id`; returns its id.
async fn create_project(app: &TestApp, client: &reqwest::Client, org_id: Uuid) -> String {
    let n = next_n();
    let body = json!({
        "title": format!("Sample title {n}"),
        "description": format!("Some text about description {n}"),
        "done": true,
        "due_on": format!("2027-01-{:02}", n % 28 + 1),
    });
    create_row(app, client, &format!("/orgs/{org_id}/projects"), &body).await
}

/// Creates a row at `path` and returns its id.
async fn create_row(app: &TestApp, client: &reqwest::Client, path: &str, body: &Value) -> String {
    let response = client.post(app.url(path)).json(body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "creating {path}");
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// A number no earlier call returned: rows made for references never clash on a unique field.
fn next_n() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Makes a new user a member of `org_id`, straight in the database, and returns their id.
/// The user never signs in, so there is no sign-up: however many members a test needs,
/// none of them costs a password hash or counts against the app's sign-up rate limit.
async fn new_member(app: &TestApp, org_id: Uuid) -> String {
    let user_id = Uuid::now_v7();
    sqlx::query(
        "insert into users (id, email, name, password_hash) values ($1, $2, 'Member', '!')",
    )
    .bind(user_id)
    .bind(format!("member-{user_id}@example.com"))
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, 'member')")
        .bind(org_id)
        .bind(user_id)
        .execute(&app.db)
        .await
        .unwrap();
    user_id.to_string()
}

/// A valid body with every field set; `n` varies the values.
fn full_body(n: usize, parents: &Parents) -> Value {
    json!({
        "title": format!("Sample title {n}"),
        "project_id": parents.project_id.clone(),
        "assignee_id": parents.assignee_id.clone(),
    })
}

/// For each field, another valid value.
fn other_values(parents: &Parents) -> Value {
    json!({
        "title": "Another value",
        "project_id": parents.other_project_id.clone(),
        "assignee_id": parents.other_assignee_id.clone(),
    })
}

/// For each field that can be invalid, a value of the right JSON type that is not valid.
fn invalid_values() -> Vec<(&'static str, Value)> {
    vec![
        ("title", json!(12)),
        ("title", json!(" \t ")),
        ("title", json!("x".repeat(256))),
        ("project_id", json!(12)),
        ("project_id", json!("not-a-uuid")),
        ("assignee_id", json!(12)),
        ("assignee_id", json!("not-a-uuid")),
    ]
}

/// Signs up a user, whose personal organization holds the rows; returns the
/// organization's id, the collection's path in it, and what a body needs.
async fn set_up(app: &TestApp) -> (Uuid, String, Parents) {
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    // Plans are not what these tests are about: a plan that allows everything.
    app.give_unrestricted_plan(org_id).await;
    let parents = Parents::create(app, &app.client, org_id).await;
    (org_id, collection(org_id), parents)
}

async fn create(app: &TestApp, base: &str, body: &Value) -> Value {
    let response = app.post(base, body).await;
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
async fn a_task_round_trips_through_create_get_list_update_and_delete(db: DbPool) {
    let app = spawn_app(db).await;
    let (org_id, base, parents) = set_up(&app).await;
    let body = full_body(0, &parents);

    let created = create(&app, &base, &body).await;

    for (field, value) in fields_of(&body) {
        assert_eq!(&created[field], value, "{field}");
    }
    assert_eq!(created["org_id"], org_id.to_string());
    for key in ["id", "created_at", "updated_at"] {
        assert!(created[key].is_string(), "{key}");
    }
    let path = format!("{base}/{}", created["id"].as_str().unwrap());
    let fetched: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(fetched, created);
    let page: Value = app.get(&base).await.json().await.unwrap();
    assert_eq!(page["items"], json!([created]));

    let mut expected = created.clone();
    for (field, value) in fields_of(&other_values(&parents)) {
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
    assert_eq!(app.count("tasks").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn optional_fields_may_be_left_out_and_cleared(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, base, parents) = set_up(&app).await;
    let mut body = full_body(0, &parents);
    for field in NULLABLE {
        body.as_object_mut().unwrap().remove(*field);
    }

    let created = create(&app, &base, &body).await;

    for field in NULLABLE {
        assert_eq!(created[field], Value::Null, "{field}");
    }
    let full = create(&app, &base, &full_body(1, &parents)).await;
    let path = format!("{base}/{}", full["id"].as_str().unwrap());
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
    let (_, base, parents) = set_up(&app).await;

    for field in REQUIRED {
        let mut body = full_body(0, &parents);
        body.as_object_mut().unwrap().remove(*field);
        let response = app.post(&base, &body).await;
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
    assert_eq!(app.count("tasks").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn invalid_values_are_422_and_change_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, base, parents) = set_up(&app).await;
    let created = create(&app, &base, &full_body(0, &parents)).await;
    let path = format!("{base}/{}", created["id"].as_str().unwrap());

    for (field, value) in invalid_values() {
        let mut body = full_body(1, &parents);
        body[field] = value.clone();
        let on_create = app.post(&base, &body).await;
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
    assert_eq!(app.count("tasks").await, 1);
    assert_eq!(app.get(&path).await.json::<Value>().await.unwrap(), created);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_read_only_token_lists_tasks_and_creates_none(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, base, parents) = set_up(&app).await;
    let created = app.create_token(json!({ "read_only": true })).await;
    let token = created["token"].as_str().unwrap();
    let program = app.another_client();

    let listed = program
        .get(app.url(&base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let body = full_body(0, &parents);
    let refused = program
        .post(app.url(&base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("tasks").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_route_needs_a_signed_in_user(db: DbPool) {
    let app = spawn_app(db).await;
    let base = collection(Uuid::now_v7());
    let item = format!("{base}/{}", Uuid::now_v7());
    let body = json!({});

    assert_error(
        app.get(&base).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.post(&base, &body).await,
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
async fn an_outsider_gets_404_on_every_route_and_changes_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, base, parents) = set_up(&app).await;
    let created = create(&app, &base, &full_body(0, &parents)).await;
    let path = format!("{base}/{}", created["id"].as_str().unwrap());
    let mallory = app.another_client();
    app.signup_as(&mallory, "mallory@example.com").await;
    let mallory_org = app
        .personal_org(app.user_id("mallory@example.com").await)
        .await;
    app.give_unrestricted_plan(mallory_org).await;
    // The same id under mallory's own organization, where she is a member.
    let smuggled = format!(
        "{}/{}",
        collection(mallory_org),
        created["id"].as_str().unwrap()
    );

    for item in [&path, &smuggled] {
        let get = mallory.get(app.url(item)).send().await.unwrap();
        let patch = mallory
            .patch(app.url(item))
            .json(&other_values(&parents))
            .send()
            .await
            .unwrap();
        let delete = mallory.delete(app.url(item)).send().await.unwrap();
        for response in [get, patch, delete] {
            assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
    let list = mallory.get(app.url(&base)).send().await.unwrap();
    assert_error(list, StatusCode::NOT_FOUND, "not_found").await;
    let post = mallory
        .post(app.url(&base))
        .json(&full_body(1, &parents))
        .send()
        .await
        .unwrap();
    assert_error(post, StatusCode::NOT_FOUND, "not_found").await;

    assert_eq!(app.count("tasks").await, 1);
    assert_eq!(app.get(&path).await.json::<Value>().await.unwrap(), created);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn deleting_the_organization_deletes_its_tasks_and_no_others(db: DbPool) {
    let app = spawn_app(db).await;
    let (org_id, base, parents) = set_up(&app).await;
    create(&app, &base, &full_body(0, &parents)).await;
    let kept: Value = app
        .post("/orgs", &json!({ "name": "Kept" }))
        .await
        .json()
        .await
        .unwrap();
    let kept_id: Uuid = kept["id"].as_str().unwrap().parse().unwrap();
    app.give_unrestricted_plan(kept_id).await;
    let kept_parents = Parents::create(&app, &app.client, kept_id).await;
    let kept_row = create(&app, &collection(kept_id), &full_body(1, &kept_parents)).await;

    let response = app.delete(&format!("/orgs/{org_id}")).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("tasks").await, 1);
    let path = format!(
        "{}/{}",
        collection(kept_id),
        kept_row["id"].as_str().unwrap()
    );
    assert_eq!(
        app.get(&path).await.json::<Value>().await.unwrap(),
        kept_row
    );
}

/// What one role may do to tasks, route by route; with `rbac`, from
/// the permission table.
struct Allowed {
    read: bool,
    create: bool,
    update: bool,
    delete: bool,
}

impl Allowed {
    /// By the permission each route's OpenAPI operation names (`x-permission`, as `cargo
    /// run -- routes` lists it) and the table: so a handler whose check and document
    /// disagree fails the test below.
    fn of(role: Option<Role>) -> Self {
        let document = serde_json::to_value(app::openapi()).unwrap();
        let allows = |method: &str, path: &str| {
            let needs = document["paths"][path][method]["x-permission"].as_str();
            role.is_some_and(|role| {
                Permission::ALL
                    .iter()
                    .any(|permission| Some(permission.as_str()) == needs && permission.allows(role))
            })
        };
        let (collection, item) = ("/orgs/{org_id}/tasks", "/orgs/{org_id}/tasks/{id}");
        Self {
            read: allows("get", collection) && allows("get", item),
            create: allows("post", collection),
            update: allows("patch", item),
            delete: allows("delete", item),
        }
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn each_role_gets_what_the_permission_table_allows_and_nothing_changes_on_refusal(
    db: DbPool,
) {
    let app = spawn_app(db).await;
    let (org_id, base, parents) = set_up(&app).await;
    let outsider = app.another_client();
    app.signup_as(&outsider, "outsider@example.com").await;
    let callers = [
        ("owner", Some(Role::Owner), app.client.clone()),
        (
            "admin",
            Some(Role::Admin),
            app.add_member(org_id, "admin@example.com", "admin").await,
        ),
        (
            "member",
            Some(Role::Member),
            app.add_member(org_id, "member@example.com", "member").await,
        ),
        ("outsider", None, outsider),
    ];

    for (n, (caller, role, client)) in callers.into_iter().enumerate() {
        let allowed = Allowed::of(role);
        // A member without the permission is refused; anyone else does not see the org.
        let refusal = if role.is_some() {
            (StatusCode::FORBIDDEN, "forbidden")
        } else {
            (StatusCode::NOT_FOUND, "not_found")
        };
        let existing = create(&app, &base, &full_body(10 * n, &parents)).await;
        let item = format!("{base}/{}", existing["id"].as_str().unwrap());
        let count = app.count("tasks").await;

        let list = client.get(app.url(&base)).send().await.unwrap();
        if let Some(page) = outcome(
            list,
            allowed.read,
            StatusCode::OK,
            refusal,
            &format!("{caller} lists"),
        )
        .await
        {
            assert!(
                page["items"].as_array().unwrap().contains(&existing),
                "{caller} lists"
            );
        }
        let get = client.get(app.url(&item)).send().await.unwrap();
        if let Some(fetched) = outcome(
            get,
            allowed.read,
            StatusCode::OK,
            refusal,
            &format!("{caller} gets"),
        )
        .await
        {
            assert_eq!(fetched, existing, "{caller} gets");
        }

        let post = client
            .post(app.url(&base))
            .json(&full_body(10 * n + 1, &parents))
            .send()
            .await
            .unwrap();
        outcome(
            post,
            allowed.create,
            StatusCode::CREATED,
            refusal,
            &format!("{caller} creates"),
        )
        .await;
        let created = i64::from(allowed.create);
        assert_eq!(
            app.count("tasks").await,
            count + created,
            "{caller} creates"
        );

        let patch = client
            .patch(app.url(&item))
            .json(&other_values(&parents))
            .send()
            .await
            .unwrap();
        outcome(
            patch,
            allowed.update,
            StatusCode::OK,
            refusal,
            &format!("{caller} updates"),
        )
        .await;
        let stored: Value = app.get(&item).await.json().await.unwrap();
        assert_eq!(
            stored == existing,
            !allowed.update,
            "{caller} updates: {stored}"
        );

        let delete = client.delete(app.url(&item)).send().await.unwrap();
        outcome(
            delete,
            allowed.delete,
            StatusCode::NO_CONTENT,
            refusal,
            &format!("{caller} deletes"),
        )
        .await;
        let after = app.get(&item).await.status();
        assert_eq!(
            after,
            if allowed.delete {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            },
            "{caller} deletes"
        );
    }
}

/// Asserts that `response` is `success` if the caller `may`, and otherwise the refusal
/// (status and error code); returns the body of a success that has one.
async fn outcome(
    response: reqwest::Response,
    may: bool,
    success: StatusCode,
    (refused, code): (StatusCode, &str),
    what: &str,
) -> Option<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if may {
        assert_eq!(status, success, "{what}: {body}");
        return Some(body);
    }
    assert_eq!(status, refused, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    None
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_reference_to_another_organizations_row_or_member_is_422_and_changes_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, base, parents) = set_up(&app).await;
    let created = create(&app, &base, &full_body(0, &parents)).await;
    let path = format!("{base}/{}", created["id"].as_str().unwrap());
    let mallory = app.another_client();
    app.signup_as(&mallory, "mallory@example.com").await;
    let mallory_org = app
        .personal_org(app.user_id("mallory@example.com").await)
        .await;
    app.give_unrestricted_plan(mallory_org).await;
    let foreign = Parents::create(&app, &mallory, mallory_org).await;

    let mut body = full_body(1, &parents);
    body["project_id"] = json!(foreign.project_id);
    let on_create = app.post(&base, &body).await;
    let error = assert_error(
        on_create,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(error["error"]["fields"]["project_id"].is_array(), "{error}");
    let on_update = patch(&app, &path, &json!({ "project_id": foreign.project_id })).await;
    assert_error(
        on_update,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut body = full_body(1, &parents);
    body["assignee_id"] = json!(foreign.assignee_id);
    let on_create = app.post(&base, &body).await;
    let error = assert_error(
        on_create,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        error["error"]["fields"]["assignee_id"].is_array(),
        "{error}"
    );
    let on_update = patch(&app, &path, &json!({ "assignee_id": foreign.assignee_id })).await;
    assert_error(
        on_update,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.count("tasks").await, 1);
    assert_eq!(app.get(&path).await.json::<Value>().await.unwrap(), created);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn pagination_walks_every_task_once_newest_first(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, base, parents) = set_up(&app).await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(create(&app, &base, &full_body(n, &parents)).await["id"].clone());
    }
    created.reverse();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("{base}?limit=2&cursor={cursor}"),
            None => format!("{base}?limit=2"),
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
    let (_, base, _) = set_up(&app).await;

    for query in [
        "?cursor=not-a-cursor",
        "?limit=many",
        "?limit=-1",
        "?limit=0",
        "?limit=101",
    ] {
        let response = app.get(&format!("{base}{query}")).await;
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_openapi_document_describes_the_tasks_routes(db: DbPool) {
    let app = spawn_app(db).await;

    let document: Value = app.get("/openapi.json").await.json().await.unwrap();

    let base = "/orgs/{org_id}/tasks";
    let item = format!("{base}/{{id}}");
    for (path, methods) in [
        (base, &["get", "post"][..]),
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
    let (_, base, parents) = set_up(&app).await;
    let other = other_values(&parents);

    for n in 0..10 {
        let created = create(&app, &base, &full_body(n, &parents)).await;
        let path = format!("{base}/{}", created["id"].as_str().unwrap());
        let responses = send_together(vec![
            app.client
                .patch(app.url(&path))
                .json(&json!({ "title": other["title"] })),
            app.client
                .patch(app.url(&path))
                .json(&json!({ "project_id": other["project_id"] })),
        ])
        .await;

        assert!(
            responses
                .iter()
                .all(|response| response.status() == StatusCode::OK)
        );
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(
            stored["title"], other["title"],
            "round {n}: an update was lost"
        );
        assert_eq!(
            stored["project_id"], other["project_id"],
            "round {n}: an update was lost"
        );
        assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_task_deleted_during_an_update_is_404_never_500(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, base, parents) = set_up(&app).await;

    for n in 0..10 {
        let created = create(&app, &base, &full_body(n, &parents)).await;
        let path = format!("{base}/{}", created["id"].as_str().unwrap());
        let responses = send_together(vec![
            app.client
                .patch(app.url(&path))
                .json(&other_values(&parents)),
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
async fn a_reference_deleted_during_a_create_is_422_never_500(db: DbPool) {
    let app = spawn_app(db).await;
    let (org_id, base, _) = set_up(&app).await;

    for n in 0..10 {
        let parents = Parents::create(&app, &app.client, org_id).await;
        let mut requests = vec![
            app.client
                .post(app.url(&base))
                .json(&full_body(n, &parents)),
        ];
        requests.push(
            app.client
                .delete(app.url(&format!("/orgs/{org_id}/projects/{}", parents.project_id))),
        );
        let responses = send_together(requests).await;

        let create = responses[0].status();
        assert!(
            create == StatusCode::CREATED || create == StatusCode::UNPROCESSABLE_ENTITY,
            "round {n}: {create}"
        );
        assert!(
            responses[1..]
                .iter()
                .all(|response| response.status() == StatusCode::NO_CONTENT)
        );
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_removed_member_is_cleared_from_their_tasks_or_leaves_them_to_the_remover(db: DbPool) {
    let app = spawn_app(db).await;
    let (org_id, base, parents) = set_up(&app).await;
    let created = create(&app, &base, &full_body(0, &parents)).await;
    let path = format!("{base}/{}", created["id"].as_str().unwrap());

    let removed = app
        .delete(&format!("/orgs/{org_id}/members/{}", parents.assignee_id))
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);

    let after: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(after["assignee_id"], Value::Null, "{after}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_task_written_while_the_member_is_removed_never_names_a_non_member(db: DbPool) {
    let app = spawn_app(db).await;
    let (org_id, base, parents) = set_up(&app).await;
    let remove = |member: &str| {
        app.client
            .delete(app.url(&format!("/orgs/{org_id}/members/{member}")))
    };

    for n in 0..10 {
        // One member is named by a create, another by an update, each raced by their removal.
        let (creating, updating) = (
            new_member(&app, org_id).await,
            new_member(&app, org_id).await,
        );
        let mut create_body = full_body(2 * n, &parents);
        let mut update_body = full_body(2 * n + 1, &parents);
        create_body["assignee_id"] = json!(creating);
        update_body["assignee_id"] = json!(updating);
        let existing = create(&app, &base, &update_body).await;
        let path = format!("{base}/{}", existing["id"].as_str().unwrap());
        let requests = vec![
            app.client.post(app.url(&base)).json(&create_body),
            remove(&creating),
            app.client.patch(app.url(&path)).json(&update_body),
            remove(&updating),
        ];
        let responses = send_together(requests).await;

        let (create, update) = (responses[0].status(), responses[2].status());
        assert!(
            create == StatusCode::CREATED || create == StatusCode::UNPROCESSABLE_ENTITY,
            "round {n}: {create}"
        );
        assert!(
            update == StatusCode::OK || update == StatusCode::UNPROCESSABLE_ENTITY,
            "round {n}: {update}"
        );
        assert_eq!(responses[1].status(), StatusCode::NO_CONTENT, "round {n}");
        assert_eq!(responses[3].status(), StatusCode::NO_CONTENT, "round {n}");
        for removed in [&creating, &updating] {
            let naming: i64 =
                sqlx::query_scalar("select count(*) from tasks where assignee_id = $1")
                    .bind(removed.parse::<Uuid>().unwrap())
                    .fetch_one(&app.db)
                    .await
                    .unwrap();
            assert_eq!(naming, 0, "round {n}: a task names a removed member");
        }
    }
}

/// The billing owner of the rows (the organization) and the path of its billing.
fn billing_of(org_id: Uuid) -> (Uuid, String) {
    (org_id, format!("/orgs/{org_id}/billing"))
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_route_needs_a_plan_with_reports(db: DbPool) {
    let app = spawn_app(db).await;
    let (org_id, base, parents) = set_up(&app).await;
    let (owner, _) = billing_of(org_id);
    let created = create(&app, &base, &full_body(0, &parents)).await;
    let path = format!("{base}/{}", created["id"].as_str().unwrap());
    let plans = &app.state.billing.plans;
    let without = plans
        .iter()
        .find(|plan| !plan.includes("reports"))
        .expect("some plan in config/plans.toml lacks reports");
    let with = plans.first_including("reports").unwrap();
    app.give_plan(owner, &without.id).await;

    let responses = [
        app.get(&base).await,
        app.post(&base, &full_body(1, &parents)).await,
        app.get(&path).await,
        patch(&app, &path, &other_values(&parents)).await,
        app.delete(&path).await,
    ];
    for response in responses {
        let body = assert_error(
            response,
            StatusCode::PAYMENT_REQUIRED,
            "feature_not_in_plan",
        )
        .await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("reports") && message.contains(&with.name),
            "{body}"
        );
    }

    app.give_plan(owner, &with.id).await;
    assert_eq!(app.count("tasks").await, 1);
    assert_eq!(app.get(&path).await.json::<Value>().await.unwrap(), created);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn seeding_makes_tasks_for_the_demo_account_once(db: DbPool) {
    let app = spawn_app(db).await;
    let made = |report: &app::seed::Report| {
        let seeded = report.seeded.iter().find(|seeded| seeded.table == "tasks");
        seeded.map(|seeded| seeded.rows)
    };

    let first = app::seed::run(&app.state.config, &app.db).await.unwrap();
    let second = app::seed::run(&app.state.config, &app.db).await.unwrap();

    // Three, or fewer where the demo account's plan allows fewer.
    let expected = first.demo.rows("tasks");
    assert_eq!(made(&first), Some(expected));
    assert_eq!(made(&second), Some(0));
    let stored: i64 = sqlx::query_scalar("select count(*) from tasks where org_id = $1")
        .bind(first.demo.tenant.org_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, i64::try_from(expected).unwrap());
}
