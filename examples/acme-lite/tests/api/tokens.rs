//! API tokens: created, listed, used as `Authorization: Bearer`, revoked.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use app::{auth::session::hash_token, db::DbPool, name::TOKEN_PREFIX};

use crate::common::{PASSWORD, TestApp, assert_error, spawn_app};

/// Signs up `email` and creates a token named "CI"; returns the creation body.
async fn user_with_token(app: &TestApp, email: &str) -> Value {
    app.signup(email).await;
    let response = app.post("/auth/tokens", &json!({ "name": "CI" })).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_new_token_is_shown_once_and_only_its_hash_is_stored(db: DbPool) {
    let app = spawn_app(db).await;
    let created = user_with_token(&app, "alice@example.com").await;

    let token = created["token"].as_str().unwrap();
    assert!(
        token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_PREFIX.len() + 43,
        "{token}"
    );
    assert_eq!(created["name"], "CI");
    let stored: String = sqlx::query_scalar("select token_hash from api_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, hash_token(token));

    let list = app.get("/auth/tokens").await.text().await.unwrap();
    assert!(!list.contains(token) && !list.contains(&stored), "{list}");
    let list: Vec<Value> = serde_json::from_str(&list).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], created["id"]);
    assert!(token.starts_with(list[0]["prefix"].as_str().unwrap()));
    assert_eq!(list[0]["last_used_at"], Value::Null);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_token_authenticates_as_its_user_on_every_authenticated_route(db: DbPool) {
    let app = spawn_app(db).await;
    let created = user_with_token(&app, "alice@example.com").await;
    let token = created["token"].as_str().unwrap();
    let program = app.another_client();

    for path in ["/auth/me", "/auth/sessions", "/auth/tokens"] {
        let response = program
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let me: Value = program
        .get(app.url("/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["email"], "alice@example.com");
    let resend = program
        .post(app.url("/auth/verify-email/resend"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    let last_used: Option<String> =
        sqlx::query_scalar("select cast(last_used_at as text) from api_tokens")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(last_used.is_some(), "last_used_at is recorded");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_revoked_token_stops_working_at_once(db: DbPool) {
    let app = spawn_app(db).await;
    let created = user_with_token(&app, "alice@example.com").await;
    let token = created["token"].as_str().unwrap();

    let response = app
        .delete(&format!("/auth/tokens/{}", created["id"].as_str().unwrap()))
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("api_tokens").await, 0);
    let me = app
        .another_client()
        .get(app.url("/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_error(me, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn forged_tokens_other_schemes_and_query_strings_are_refused(db: DbPool) {
    let app = spawn_app(db).await;
    let created = user_with_token(&app, "alice@example.com").await;
    let token = created["token"].as_str().unwrap();
    let program = app.another_client();

    for authorization in [
        format!("Bearer {TOKEN_PREFIX}garbage"),
        "Bearer ".to_owned(),
        format!("Basic {token}"),
        format!("Token {token}"),
    ] {
        let response = program
            .get(app.url("/auth/me"))
            .header(header::AUTHORIZATION, authorization)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    let in_query = program
        .get(app.url(&format!("/auth/me?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_error(in_query, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn another_users_token_cannot_be_revoked(db: DbPool) {
    let app = spawn_app(db).await;
    let bobs = user_with_token(&app, "bob@example.com").await;
    let alice = app.another_client();
    app.signup_as(&alice, "alice@example.com").await;

    for id in [
        bobs["id"].as_str().unwrap().to_owned(),
        Uuid::now_v7().to_string(),
        "nope".to_owned(),
    ] {
        let response = alice
            .delete(app.url(&format!("/auth/tokens/{id}")))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(app.count("api_tokens").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_token_needs_a_name(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    for name in ["", "   ", &"x".repeat(101)] {
        let response = app.post("/auth/tokens", &json!({ "name": name })).await;
        let body = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(body["error"]["fields"]["name"].is_array());
    }
    assert_eq!(app.count("api_tokens").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn logging_out_with_a_token_is_refused_and_the_token_keeps_working(db: DbPool) {
    let app = spawn_app(db).await;
    let created = user_with_token(&app, "alice@example.com").await;
    let token = created["token"].as_str().unwrap();
    let program = app.another_client();

    let response = program
        .post(app.url("/auth/logout"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    let me = program
        .get(app.url("/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_token_cannot_create_tokens(db: DbPool) {
    let app = spawn_app(db).await;
    let created = user_with_token(&app, "alice@example.com").await;

    let response = app
        .another_client()
        .post(app.url("/auth/tokens"))
        .bearer_auth(created["token"].as_str().unwrap())
        .json(&json!({ "name": "minted by a token" }))
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("api_tokens").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_password_reset_revokes_every_token_and_a_change_keeps_them(db: DbPool) {
    let app = spawn_app(db).await;
    let created = user_with_token(&app, "alice@example.com").await;
    let token = created["token"].as_str().unwrap();
    let me_with_token = || {
        app.another_client()
            .get(app.url("/auth/me"))
            .bearer_auth(token)
            .send()
    };

    let change = app
        .post(
            "/auth/password/change",
            &json!({ "current_password": PASSWORD, "new_password": "a second passphrase" }),
        )
        .await;
    assert_eq!(change.status(), StatusCode::NO_CONTENT);
    assert_eq!(me_with_token().await.unwrap().status(), StatusCode::OK);
    let notice = app
        .outbox
        .wait_for("alice@example.com", "Your password was changed", 1)
        .await;
    assert!(
        notice[0].text.contains("GET /auth/tokens"),
        "{}",
        notice[0].text
    );

    app.post(
        "/auth/password/forgot",
        &json!({ "email": "alice@example.com" }),
    )
    .await;
    let reset_token = app
        .outbox
        .token("alice@example.com", "Reset your password")
        .await;
    let reset = app
        .post(
            "/auth/password/reset",
            &json!({ "token": reset_token, "password": "a third passphrase" }),
        )
        .await;

    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("api_tokens").await, 0);
    let refused = me_with_token().await.unwrap();
    assert_error(refused, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

/// `method path` sent with `token` and no cookie.
async fn send(app: &TestApp, token: &str, method: Method, path: &str) -> reqwest::Response {
    let request = app.another_client().request(method, app.url(path));
    request.bearer_auth(token).send().await.unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_token_with_an_expiry_works_until_then_and_is_listed_with_it(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let expires_at = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let expires_at = expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let created = app.create_token(json!({ "expires_at": expires_at })).await;
    let token = created["token"].as_str().unwrap();

    let me = send(&app, token, Method::GET, "/auth/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    let list: Vec<Value> = app.get("/auth/tokens").await.json().await.unwrap();
    assert!(list[0]["expires_at"].is_string(), "{list:?}");
    // The same hour written nine hours behind UTC is the same moment.
    let offset = time::UtcOffset::from_hms(-9, 0, 0).unwrap();
    let behind = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let behind = behind
        .to_offset(offset)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let other = app.create_token(json!({ "expires_at": behind })).await;
    let other = other["token"].as_str().unwrap();
    let me = send(&app, other, Method::GET, "/auth/me").await;
    assert_eq!(me.status(), StatusCode::OK);

    // The hour passes.
    let past = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    sqlx::query("update api_tokens set expires_at = $1")
        .bind(past)
        .execute(&app.db)
        .await
        .unwrap();
    let me = send(&app, token, Method::GET, "/auth/me").await;
    assert_error(me, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_token_cannot_be_made_already_expired(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    let body = json!({ "name": "late", "expires_at": "2020-01-01T00:00:00Z" });
    let response = app.post("/auth/tokens", &body).await;

    let error = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(error["error"]["fields"]["expires_at"].is_array(), "{error}");
    assert_eq!(app.count("api_tokens").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_read_only_token_reads_and_changes_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let created = app.create_token(json!({ "read_only": true })).await;
    let token = created["token"].as_str().unwrap();
    assert_eq!(created["read_only"], true);

    for path in ["/auth/me", "/auth/sessions", "/auth/tokens"] {
        let read = send(&app, token, Method::GET, path).await;
        assert_eq!(read.status(), StatusCode::OK, "{path}");
    }
    let own = format!("/auth/tokens/{}", created["id"].as_str().unwrap());
    let revoke = send(&app, token, Method::DELETE, &own).await;
    assert_error(revoke, StatusCode::FORBIDDEN, "forbidden").await;
    let resend = send(&app, token, Method::POST, "/auth/verify-email/resend").await;
    assert_error(resend, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("api_tokens").await, 1);
    // The sign-up's verification mail, and no other.
    assert_eq!(app.count("jobs").await, 1);
}
