//! Email verification: the mail sent at sign-up, the token it carries, and resends.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use app::{auth::session::hash_token, db::DbPool};

use crate::common::{assert_error, spawn_app};

const SUBJECT: &str = "Confirm your email address";

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn sign_up_mails_a_link_that_verifies_the_address_once(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    let messages = app.outbox.wait_for("alice@example.com", SUBJECT, 1).await;
    let text = &messages[0].text;
    assert!(
        text.contains("http://localhost:3000/verify-email?token="),
        "{text}"
    );
    let token = app.outbox.token("alice@example.com", SUBJECT).await;
    let stored: String = sqlx::query_scalar("select token_hash from one_time_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        stored,
        hash_token(&token),
        "only the token's hash is stored"
    );

    let stranger = app.another_client();
    let response = stranger
        .post(app.url("/auth/verify-email"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let me: Value = app.get("/auth/me").await.json().await.unwrap();
    assert!(me["user"]["email_verified_at"].is_string(), "{me}");
    let again = stranger
        .post(app.url("/auth/verify-email"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_error(again, StatusCode::GONE, "gone").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_expired_verification_link_is_gone_and_verifies_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let token = app.outbox.token("alice@example.com", SUBJECT).await;
    sqlx::query("update one_time_tokens set expires_at = $1")
        .bind(OffsetDateTime::now_utc() - Duration::seconds(1))
        .execute(&app.db)
        .await
        .unwrap();

    let response = app
        .post("/auth/verify-email", &json!({ "token": token }))
        .await;

    assert_error(response, StatusCode::GONE, "gone").await;
    let me: Value = app.get("/auth/me").await.json().await.unwrap();
    assert_eq!(me["user"]["email_verified_at"], Value::Null);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_unknown_verification_token_is_not_found(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app
        .post("/auth/verify-email", &json!({ "token": "made-up" }))
        .await;

    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_resend_mails_a_new_link_and_the_old_one_stops_working(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let first = app.outbox.token("alice@example.com", SUBJECT).await;

    let response = app
        .client
        .post(app.url("/auth/verify-email/resend"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let messages = app.outbox.wait_for("alice@example.com", SUBJECT, 2).await;
    let tokens: Vec<String> = messages
        .iter()
        .map(|m| crate::common::outbox::token_in(&m.text))
        .collect();
    let second = tokens
        .into_iter()
        .find(|token| *token != first)
        .expect("a new token");
    let old = app
        .post("/auth/verify-email", &json!({ "token": first }))
        .await;
    assert_error(old, StatusCode::NOT_FOUND, "not_found").await;
    let new = app
        .post("/auth/verify-email", &json!({ "token": second }))
        .await;
    assert_eq!(new.status(), StatusCode::NO_CONTENT);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_verified_address_gets_no_new_link(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let token = app.outbox.token("alice@example.com", SUBJECT).await;
    app.post("/auth/verify-email", &json!({ "token": token }))
        .await;

    let response = app
        .client
        .post(app.url("/auth/verify-email/resend"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.wait_for_jobs().await;
    assert_eq!(app.count("jobs").await, 1, "only the sign-up's mail");
    let unused: i64 =
        sqlx::query_scalar("select count(*) from one_time_tokens where used_at is null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(unused, 0, "no new token was issued");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn resending_needs_a_signed_in_user(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app
        .client
        .post(app.url("/auth/verify-email/resend"))
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}
