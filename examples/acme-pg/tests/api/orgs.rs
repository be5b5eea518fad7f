//! Organizations: the personal one from sign-up, creation, listing, reading, renaming,
//! and deletion with everything the organization owned.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use app::db::DbPool;

use crate::common::{
    TestApp, assert_error, count_status, send_together, spawn_app, spawn_app_with,
};

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn signing_up_creates_a_personal_organization_the_user_owns(db: DbPool) {
    let app = spawn_app(db).await;
    let (user_id, org_id) = app.signup_with_org("alice@example.com").await;

    assert_eq!(app.count("organizations").await, 1);
    assert_eq!(
        app.memberships(org_id).await,
        [(user_id, "owner".to_owned())]
    );
    let me: Value = app.get("/auth/me").await.json().await.unwrap();
    assert_eq!(me["user"]["id"], json!(user_id));
    assert_eq!(
        me["memberships"],
        json!([{ "org_id": org_id, "org_name": "Test User", "role": "owner" }])
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_refused_sign_up_creates_no_organization(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let response = app
        .signup_as(&app.another_client(), "ALICE@example.com")
        .await;

    assert_error(response, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.count("organizations").await, 1);
    assert_eq!(app.count("memberships").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_new_organization_is_owned_by_its_creator_and_listed_with_the_role(db: DbPool) {
    let app = spawn_app(db).await;
    let (user_id, personal) = app.signup_with_org("alice@example.com").await;

    let response = app.post("/orgs", &json!({ "name": "  Acme Corp " })).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        (&created["name"], &created["slug"], &created["role"]),
        (&json!("Acme Corp"), &json!("acme-corp"), &json!("owner"))
    );
    assert!(created["created_at"].is_string());
    let org_id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app.memberships(org_id).await,
        [(user_id, "owner".to_owned())]
    );

    let listed: Vec<Value> = app.get("/orgs").await.json().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [personal.to_string(), org_id.to_string()]);
    assert!(listed.iter().all(|org| org["role"] == "owner"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn organizations_beyond_the_hourly_limit_are_429_even_when_created_at_once(db: DbPool) {
    let app = spawn_app_with(db, &[("ORGS_PER_USER_PER_HOUR", "3")]).await;
    let (_, personal) = app.signup_with_org("alice@example.com").await;

    let responses = send_together(
        (0..8)
            .map(|n| {
                app.client
                    .post(app.url("/orgs"))
                    .json(&json!({ "name": format!("Org {n}") }))
            })
            .collect(),
    )
    .await;

    assert_eq!(count_status(&responses, StatusCode::CREATED), 3);
    for response in responses
        .into_iter()
        .filter(|response| response.status() != StatusCode::CREATED)
    {
        assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }
    // The personal organization of the sign-up does not count against the limit.
    assert_eq!(app.count("organizations").await, 4);
    assert!(org_name(&app, personal).await.is_some());
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn organizations_with_the_same_name_get_different_slugs(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    let first: Value = app
        .post("/orgs", &json!({ "name": "Acme" }))
        .await
        .json()
        .await
        .unwrap();
    let second: Value = app
        .post("/orgs", &json!({ "name": "ACME" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["slug"], "acme");
    let slug = second["slug"].as_str().unwrap();
    assert!(
        slug.starts_with("acme-") && slug.len() == "acme-".len() + 6,
        "{slug}"
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_invalid_name_is_refused_and_creates_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;

    for name in ["   ", &"x".repeat(101)] {
        let response = app.post("/orgs", &json!({ "name": name })).await;
        let body = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(body["error"]["fields"]["name"].is_array(), "{body}");
        let response = app
            .patch(&format!("/orgs/{org_id}"), &json!({ "name": name }))
            .await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    assert_eq!(app.count("organizations").await, 1);
    assert_eq!(org_name(&app, org_id).await.as_deref(), Some("Test User"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_organization_is_read_with_the_callers_role_and_permissions(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    let member = app.add_member(org_id, "bob@example.com", "member").await;

    let response = member
        .get(app.url(&format!("/orgs/{org_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let org: Value = response.json().await.unwrap();
    assert_eq!(
        (&org["id"], &org["role"]),
        (&json!(org_id), &json!("member"))
    );
    let permissions = org["permissions"].as_array().unwrap();
    assert!(permissions.contains(&json!("org:read")), "{org}");
    assert!(!permissions.contains(&json!("org:delete")), "{org}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_outsider_gets_404_for_an_organization_that_exists(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    let outsider = app.another_client();
    app.signup_as(&outsider, "mallory@example.com").await;

    for org in [org_id, Uuid::now_v7()] {
        let response = outsider
            .get(app.url(&format!("/orgs/{org}")))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let response = outsider
        .get(app.url("/orgs/not-a-uuid"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn org_routes_need_a_signed_in_caller(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    let anonymous = app.another_client();

    for path in [
        "/orgs".to_owned(),
        format!("/orgs/{org_id}"),
        format!("/orgs/{org_id}/members"),
    ] {
        let response = anonymous.get(app.url(&path)).send().await.unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn deleting_an_organization_removes_its_data_and_nothing_of_other_orgs(db: DbPool) {
    let app = spawn_app(db).await;
    let (alice, doomed) = app.signup_with_org("alice@example.com").await;
    let other: Value = app
        .post("/orgs", &json!({ "name": "Kept" }))
        .await
        .json()
        .await
        .unwrap();
    let kept: Uuid = other["id"].as_str().unwrap().parse().unwrap();
    app.add_member(doomed, "bob@example.com", "member").await;
    let bob = app.user_id("bob@example.com").await;
    sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, 'member')")
        .bind(kept)
        .bind(bob)
        .execute(&app.db)
        .await
        .unwrap();
    invite(&app, doomed, "carol@example.com").await;
    invite(&app, kept, "carol@example.com").await;
    app.give_plan(doomed, "pro").await;
    app.give_plan(kept, "pro").await;
    let kept_before = app.memberships(kept).await;

    let response = app.delete(&format!("/orgs/{doomed}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(org_name(&app, doomed).await, None);
    assert!(app.memberships(doomed).await.is_empty());
    assert_eq!(invitations_of(&app, doomed).await, 0);
    assert_eq!(org_name(&app, kept).await.as_deref(), Some("Kept"));
    assert_eq!(app.memberships(kept).await, kept_before);
    assert_eq!(invitations_of(&app, kept).await, 1);
    assert_eq!(billing_accounts_of(&app, doomed).await, 0);
    assert_eq!(billing_accounts_of(&app, kept).await, 1);
    // People are not the organization's data: both accounts remain.
    assert_eq!(app.count("users").await, 2);
    assert_eq!(app.role_in(kept, alice).await.as_deref(), Some("owner"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_organization_whose_subscription_renews_is_not_deleted_until_it_is_cancelled(
    db: DbPool,
) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    app.give_plan(org_id, "pro").await;
    let set_subscription = |cancel_at_period_end: bool| {
        sqlx::query(
            "update billing_accounts
             set stripe_subscription_id = 'sub_renewing', cancel_at_period_end = $2
             where owner_id = $1",
        )
        .bind(org_id)
        .bind(cancel_at_period_end)
        .execute(&app.db)
    };
    set_subscription(false).await.unwrap();

    let refused = app.delete(&format!("/orgs/{org_id}")).await;

    let body = assert_error(refused, StatusCode::CONFLICT, "subscription_renews").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("billing portal"), "{body}");
    assert!(org_name(&app, org_id).await.is_some());
    assert_eq!(billing_accounts_of(&app, org_id).await, 1);

    // Cancelled at the end of its period, it charges no more: the organization may go.
    set_subscription(true).await.unwrap();
    let deleted = app.delete(&format!("/orgs/{org_id}")).await;

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(org_name(&app, org_id).await, None);
    assert_eq!(billing_accounts_of(&app, org_id).await, 0);
}

pub async fn org_name(app: &TestApp, org_id: Uuid) -> Option<String> {
    sqlx::query_scalar("select name from organizations where id = $1")
        .bind(org_id)
        .fetch_optional(&app.db)
        .await
        .unwrap()
}

async fn billing_accounts_of(app: &TestApp, org_id: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from billing_accounts where owner_id = $1")
        .bind(org_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn invite(app: &TestApp, org_id: Uuid, email: &str) {
    let now = OffsetDateTime::now_utc();
    sqlx::query(
        "insert into invitations (id, org_id, email, role, token_hash, created_at, expires_at)
         values ($1, $2, $3, 'member', $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(org_id)
    .bind(email)
    .bind(Uuid::now_v7().to_string())
    .bind(now)
    .bind(now + time::Duration::days(7))
    .execute(&app.db)
    .await
    .unwrap();
}

async fn invitations_of(app: &TestApp, org_id: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from invitations where org_id = $1")
        .bind(org_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The organization's name, read with the session.
async fn name_of(app: &TestApp, org_id: Uuid) -> Value {
    let response = app.get(&format!("/orgs/{org_id}")).await;
    let org: Value = response.json().await.unwrap();
    org["name"].clone()
}

/// `method path` with `token`, no cookie, and a body that renames.
async fn send(app: &TestApp, token: &str, method: Method, path: &str) -> Response {
    let request = app.another_client().request(method, app.url(path));
    let body = json!({ "name": "Renamed" });
    request.bearer_auth(token).json(&body).send().await.unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_token_limited_to_one_organization_reaches_no_other(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, own) = app.signup_with_org("alice@example.com").await;
    let other = app.post("/orgs", &json!({ "name": "Other" })).await;
    let other: Value = other.json().await.unwrap();
    let other: Uuid = other["id"].as_str().unwrap().parse().unwrap();
    let created = app.create_token(json!({ "org_id": own })).await;
    let token = created["token"].as_str().unwrap();
    let (own_path, other_path) = (format!("/orgs/{own}"), format!("/orgs/{other}"));

    let read = send(&app, token, Method::GET, &own_path).await;
    assert_eq!(read.status(), StatusCode::OK);
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let response = send(&app, token, method, &other_path).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(name_of(&app, other).await, "Other");
    let listed = send(&app, token, Method::GET, "/orgs").await;
    let listed: Vec<Value> = listed.json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], json!(own));
    let me = send(&app, token, Method::GET, "/auth/me").await;
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1, "{me}");
    // Another organization's id spelled with escapes is still that organization.
    let escaped = format!("/orgs/{}/members", other.to_string().replace('-', "%2D"));
    let members = send(&app, token, Method::GET, &escaped).await;
    assert_error(members, StatusCode::NOT_FOUND, "not_found").await;
    // Outside organizations it only reads: no new organization.
    let created = send(&app, token, Method::POST, "/orgs").await;
    assert_error(created, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("organizations").await, 2);
    let renamed = send(&app, token, Method::PATCH, &own_path).await;
    assert_eq!(renamed.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_token_cannot_be_limited_to_an_organization_of_someone_else(db: DbPool) {
    let app = spawn_app(db).await;
    let bob = app.another_client();
    app.signup_as(&bob, "bob@example.com").await;
    let bobs = app.personal_org(app.user_id("bob@example.com").await).await;
    app.signup_with_org("alice@example.com").await;

    let body = json!({ "name": "sneaky", "org_id": bobs });
    let response = app.post("/auth/tokens", &body).await;

    let error = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(error["error"]["fields"]["org_id"].is_array(), "{error}");
    assert_eq!(app.count("api_tokens").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_read_only_token_cannot_change_an_organization(db: DbPool) {
    let app = spawn_app(db).await;
    let (_, org_id) = app.signup_with_org("alice@example.com").await;
    let before = name_of(&app, org_id).await;
    let narrowing = json!({ "read_only": true, "org_id": org_id });
    let created = app.create_token(narrowing).await;
    let token = created["token"].as_str().unwrap();

    let renamed = app
        .another_client()
        .patch(app.url(&format!("/orgs/{org_id}")))
        .bearer_auth(token)
        .json(&json!({ "name": "Renamed" }))
        .send()
        .await
        .unwrap();

    assert_error(renamed, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(name_of(&app, org_id).await, before);
}
