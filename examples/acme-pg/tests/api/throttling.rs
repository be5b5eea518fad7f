//! Throttles that must hold when requests race: attempts on one account's password
//! are counted before the password is checked, and the keys they are counted by
//! stay small whatever the client sends.

use reqwest::StatusCode;
use serde_json::json;

use acme_pg::db::DbPool;

use crate::common::{PASSWORD, TestApp, count_status, send_together, spawn_app_with};

/// The per-IP limit out of the way, and a small per-account one.
const LIMITS: &[(&str, &str)] = &[
    ("AUTH_IP_LIMIT_PER_MINUTE", "1000"),
    ("AUTH_ACCOUNT_FAILURE_LIMIT", "10"),
];

fn wrong_login(app: &TestApp, email: &str) -> reqwest::RequestBuilder {
    app.another_client()
        .post(app.url("/auth/login"))
        .json(&json!({ "email": email, "password": "not the password" }))
}

#[sqlx::test]
async fn parallel_wrong_passwords_get_no_more_checks_than_the_limit(db: DbPool) {
    let app = spawn_app_with(db, LIMITS).await;
    app.signup("alice@example.com").await;

    let responses = send_together(
        (0..40)
            .map(|_| wrong_login(&app, "alice@example.com"))
            .collect(),
    )
    .await;

    let refused = count_status(&responses, StatusCode::UNAUTHORIZED);
    let throttled = count_status(&responses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused, 10, "each 401 is one password checked");
    assert_eq!(throttled, 30);
    let login = app
        .login_as(&app.another_client(), "alice@example.com", PASSWORD)
        .await;
    assert_eq!(login.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[sqlx::test]
async fn parallel_wrong_current_passwords_are_throttled_like_logins(db: DbPool) {
    let app = spawn_app_with(db, LIMITS).await;
    app.signup("alice@example.com").await;
    let hash_before: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&app.db)
        .await
        .unwrap();

    let body = json!({ "current_password": "a wrong guess", "new_password": "a new passphrase" });
    let responses = send_together(
        (0..25)
            .map(|_| {
                app.client
                    .post(app.url("/auth/password/change"))
                    .json(&body)
            })
            .collect(),
    )
    .await;

    assert_eq!(
        count_status(&responses, StatusCode::UNPROCESSABLE_ENTITY),
        10
    );
    assert_eq!(count_status(&responses, StatusCode::TOO_MANY_REQUESTS), 15);
    let hash_after: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(hash_before, hash_after);
}

#[sqlx::test]
async fn account_keys_stay_small_whatever_the_email_sent(db: DbPool) {
    let app = spawn_app_with(db, LIMITS).await;
    let huge = format!("{}@example.com", "x".repeat(100_000));

    let login = wrong_login(&app, &huge).send().await.unwrap();
    let forgot = app
        .post("/auth/password/forgot", &json!({ "email": huge }))
        .await;

    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(forgot.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let longest: i64 =
        sqlx::query_scalar("select cast(max(length(key)) as bigint) from rate_limits")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(longest <= 100, "a rate-limit key of {longest} bytes");
    let keys: Vec<String> = sqlx::query_scalar("select key from rate_limits")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(
        keys.iter().all(|key| !key.contains("example.com")),
        "{keys:?}"
    );
}

#[sqlx::test]
async fn reset_and_verify_email_are_limited_per_ip(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_IP_LIMIT_PER_MINUTE", "3")]).await;
    let reset = json!({ "token": "no-such-token", "password": "long enough" });
    let verify = json!({ "token": "no-such-token" });

    let mut statuses = Vec::new();
    for _ in 0..2 {
        statuses.push(app.post("/auth/password/reset", &reset).await.status());
    }
    statuses.push(app.post("/auth/verify-email", &verify).await.status());
    statuses.push(app.post("/auth/verify-email", &verify).await.status());
    statuses.push(app.post("/auth/password/reset", &reset).await.status());

    let not_found = StatusCode::NOT_FOUND;
    let limited = StatusCode::TOO_MANY_REQUESTS;
    assert_eq!(
        statuses,
        [not_found, not_found, not_found, limited, limited]
    );
}
