//! Throttles that must hold when requests race: attempts on one account's password
//! are counted before the password is checked, per account and client address (so
//! guessing from one address never locks the owner out from another, and a completed
//! reset clears the count), and the keys they are counted by stay small whatever the
//! client sends.

use reqwest::StatusCode;
use serde_json::json;

use app::db::DbPool;

use crate::common::{PASSWORD, TestApp, count_status, send_together, spawn_app_with};

/// Where the guesses come from, and where the owner signs in.
const GUESSER: &str = "203.0.113.7";
const OWNER: &str = "198.51.100.20";

/// The per-IP limit out of the way, and a small per-account one.
const LIMITS: &[(&str, &str)] = &[
    ("AUTH_IP_LIMIT_PER_MINUTE", "1000"),
    ("AUTH_ACCOUNT_FAILURE_LIMIT", "10"),
];

/// `LIMITS`, with the client's address read from `X-Forwarded-For` (the tests connect
/// from 127.0.0.1, a trusted proxy by default).
const BEHIND_A_PROXY: &[(&str, &str)] = &[
    ("AUTH_IP_LIMIT_PER_MINUTE", "1000"),
    ("AUTH_ACCOUNT_FAILURE_LIMIT", "10"),
    ("TRUST_PROXY_HEADERS", "true"),
];

/// A login as `email` with `password` from the client address `from`; its status.
async fn login_from(app: &TestApp, from: &str, email: &str, password: &str) -> StatusCode {
    app.another_client()
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", from)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

/// Eleven wrong guesses at `email` from [`GUESSER`]: one past the limit.
async fn guess_past_the_limit(app: &TestApp, email: &str) {
    for _ in 0..11 {
        login_from(app, GUESSER, email, "not the password").await;
    }
    let right = login_from(app, GUESSER, email, PASSWORD).await;
    assert_eq!(
        right,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser is throttled"
    );
}

fn wrong_login(app: &TestApp, email: &str) -> reqwest::RequestBuilder {
    app.another_client()
        .post(app.url("/auth/login"))
        .json(&json!({ "email": email, "password": "not the password" }))
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
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

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn guesses_from_one_address_never_lock_the_owner_out_from_another(db: DbPool) {
    let app = spawn_app_with(db, BEHIND_A_PROXY).await;
    app.signup("alice@example.com").await;

    guess_past_the_limit(&app, "alice@example.com").await;

    let owner = login_from(&app, OWNER, "alice@example.com", PASSWORD).await;
    assert_eq!(owner, StatusCode::OK);
    let guesser = login_from(&app, GUESSER, "alice@example.com", PASSWORD).await;
    assert_eq!(
        guesser,
        StatusCode::TOO_MANY_REQUESTS,
        "the owner's login clears nothing of the guesser's"
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_completed_password_reset_clears_the_guesses_from_every_address(db: DbPool) {
    let app = spawn_app_with(db, BEHIND_A_PROXY).await;
    app.signup("alice@example.com").await;
    guess_past_the_limit(&app, "alice@example.com").await;
    app.post(
        "/auth/password/forgot",
        &json!({ "email": "alice@example.com" }),
    )
    .await;
    let token = app
        .outbox
        .token("alice@example.com", "Reset your password")
        .await;

    let reset = app
        .post(
            "/auth/password/reset",
            &json!({ "token": token, "password": "a brand new passphrase" }),
        )
        .await;

    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let login = login_from(&app, GUESSER, "alice@example.com", "a brand new passphrase").await;
    assert_eq!(login, StatusCode::OK);
}
