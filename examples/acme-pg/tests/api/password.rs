//! Forgotten, reset and changed passwords.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sqlx::types::Json;
use time::{Duration, OffsetDateTime};

use app::db::DbPool;

use crate::common::{PASSWORD, TestApp, assert_error, outbox::token_in, session_token, spawn_app};

const RESET_SUBJECT: &str = "Reset your password";
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.another_client()
        .post(app.url("/auth/password/forgot"))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.another_client()
        .post(app.url("/auth/password/reset"))
        .json(&json!({ "token": token, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn reset_tokens(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from one_time_tokens where purpose = 'reset_password'")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn forgot_password_answers_alike_and_mails_only_real_accounts(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    let known = forgot(&app, " ALICE@example.com").await;
    let unknown = forgot(&app, "nobody@example.com").await;

    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    // The request did the same for both: it enqueued a job; the job looks the address up.
    let enqueued: Vec<Json<Value>> = sqlx::query_scalar(
        "select payload from jobs where kind = 'send_password_reset_link' order by id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let emails: Vec<&Value> = enqueued.iter().map(|payload| &payload.0["email"]).collect();
    assert_eq!(
        emails,
        [&json!("alice@example.com"), &json!("nobody@example.com")]
    );
    app.wait_for_jobs().await;
    let messages = app
        .outbox
        .wait_for("alice@example.com", RESET_SUBJECT, 1)
        .await;
    assert!(
        messages[0]
            .text
            .contains("http://localhost:3000/reset-password?token=")
    );
    assert_eq!(
        reset_tokens(&app).await,
        1,
        "nothing is issued for an unknown address"
    );
    assert!(app.outbox.messages_to("nobody@example.com", "").is_empty());
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_reset_link_is_built_from_app_url_never_from_the_request(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    let response = app
        .another_client()
        .post(app.url("/auth/password/forgot"))
        .header("x-forwarded-host", "evil.example")
        .header(header::ORIGIN, "http://localhost:3000")
        .json(&json!({ "email": "alice@example.com" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let messages = app
        .outbox
        .wait_for("alice@example.com", RESET_SUBJECT, 1)
        .await;
    assert!(!messages[0].text.contains("evil.example"));
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_reset_changes_the_password_and_ends_every_session(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let phone = app.another_client();
    app.login_as(&phone, "alice@example.com", PASSWORD).await;
    forgot(&app, "alice@example.com").await;
    let token = app.outbox.token("alice@example.com", RESET_SUBJECT).await;

    let response = reset(&app, &token, NEW_PASSWORD).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "a reset signs nobody in"
    );
    assert_eq!(app.count("sessions").await, 0);
    for client in [&app.client, &phone] {
        let me = client.get(app.url("/auth/me")).send().await.unwrap();
        assert_error(me, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    let old = app
        .login_as(&app.another_client(), "alice@example.com", PASSWORD)
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app
        .login_as(&app.another_client(), "alice@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(new.status(), StatusCode::OK);
    let again = reset(&app, &token, "yet another passphrase").await;
    assert_error(again, StatusCode::GONE, "gone").await;
    app.outbox
        .wait_for("alice@example.com", "Your password was changed", 1)
        .await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_expired_reset_link_is_gone_and_changes_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    forgot(&app, "alice@example.com").await;
    let token = app.outbox.token("alice@example.com", RESET_SUBJECT).await;
    sqlx::query("update one_time_tokens set expires_at = $1 where purpose = 'reset_password'")
        .bind(OffsetDateTime::now_utc() - Duration::seconds(1))
        .execute(&app.db)
        .await
        .unwrap();

    let response = reset(&app, &token, NEW_PASSWORD).await;

    assert_error(response, StatusCode::GONE, "gone").await;
    assert_eq!(app.count("sessions").await, 1);
    let old = app
        .login_as(&app.another_client(), "alice@example.com", PASSWORD)
        .await;
    assert_eq!(old.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn only_the_newest_reset_link_works(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    forgot(&app, "alice@example.com").await;
    let first = app.outbox.token("alice@example.com", RESET_SUBJECT).await;
    forgot(&app, "alice@example.com").await;
    let mails = app
        .outbox
        .wait_for("alice@example.com", RESET_SUBJECT, 2)
        .await;
    let newest = mails
        .iter()
        .map(|mail| token_in(&mail.text))
        .find(|token| *token != first)
        .expect("the second mail has a token of its own");

    let response = reset(&app, &first, NEW_PASSWORD).await;

    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(reset_tokens(&app).await, 1);
    assert_eq!(
        reset(&app, &newest, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    let login = app
        .login_as(&app.another_client(), "alice@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_reset_to_a_too_short_password_is_refused_and_the_link_still_works(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    forgot(&app, "alice@example.com").await;
    let token = app.outbox.token("alice@example.com", RESET_SUBJECT).await;

    let short = reset(&app, &token, "short").await;

    let body = assert_error(short, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["error"]["fields"]["password"].is_array());
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(db: DbPool) {
    let app = spawn_app(db).await;
    let signup = app.signup_as(&app.client, "alice@example.com").await;
    let old_token = session_token(&signup).unwrap();
    let phone = app.another_client();
    app.login_as(&phone, "alice@example.com", PASSWORD).await;
    let change =
        |current: &str| json!({ "current_password": current, "new_password": NEW_PASSWORD });
    let hash_before: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&app.db)
        .await
        .unwrap();

    let wrong = app
        .post("/auth/password/change", &change("not my password"))
        .await;

    let body = assert_error(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["error"]["fields"]["current_password"].is_array());
    let hash_after: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(hash_before, hash_after);

    let right = app.post("/auth/password/change", &change(PASSWORD)).await;

    assert_eq!(right.status(), StatusCode::NO_CONTENT);
    assert!(
        session_token(&right).is_some(),
        "this browser gets a fresh session"
    );
    assert_eq!(app.get("/auth/me").await.status(), StatusCode::OK);
    let phone_me = phone.get(app.url("/auth/me")).send().await.unwrap();
    assert_error(phone_me, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let replay = app
        .another_client()
        .get(app.url("/auth/me"))
        .header(header::COOKIE, format!("session={old_token}"))
        .send()
        .await
        .unwrap();
    assert_error(replay, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let login = app
        .login_as(&app.another_client(), "alice@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}
