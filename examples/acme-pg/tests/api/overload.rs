//! Overload is answered, not queued without bound: 503 `busy` with `Retry-After`
//! when password hashing is saturated or the database stays locked, and costly work
//! only for requests that can succeed.

use reqwest::{Response, StatusCode, header};
use serde_json::json;

use app::db::DbPool;

use crate::common::{PASSWORD, assert_error, count_status, send_together, spawn_app_with};

/// One hashing thread, whatever the machine's cores, no wait at all for it, and no
/// rate limit in the way.
const IMPATIENT_HASHING: &[(&str, &str)] = &[
    ("PASSWORD_HASH_THREADS", "1"),
    ("PASSWORD_HASH_MAX_WAIT_MS", "0"),
    ("AUTH_IP_LIMIT_PER_MINUTE", "1000"),
    ("AUTH_ACCOUNT_FAILURE_LIMIT", "1000"),
];

async fn assert_busy(response: Response) {
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "busy").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn logins_beyond_what_hashing_can_take_are_told_busy(db: DbPool) {
    let app = spawn_app_with(db, IMPATIENT_HASHING).await;
    app.signup("alice@example.com").await;
    let body = json!({ "email": "alice@example.com", "password": "a wrong password" });

    let responses = send_together(
        (0..30)
            .map(|_| {
                app.another_client()
                    .post(app.url("/auth/login"))
                    .json(&body)
            })
            .collect(),
    )
    .await;

    let refused = count_status(&responses, StatusCode::UNAUTHORIZED);
    let busy = count_status(&responses, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused + busy, 30, "nothing but 401 and 503");
    assert!(refused >= 1 && busy >= 1, "{refused} refused, {busy} busy");
    let first_busy = responses
        .into_iter()
        .find(|response| response.status() == StatusCode::SERVICE_UNAVAILABLE)
        .unwrap();
    assert_busy(first_busy).await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn resets_with_bogus_tokens_never_reach_the_hasher(db: DbPool) {
    let app = spawn_app_with(db, IMPATIENT_HASHING).await;
    app.signup("alice@example.com").await;
    let body = json!({ "token": "guessed", "password": "a new passphrase" });

    // Were each of these hashed first, most would find no free permit and be 503.
    let responses = send_together(
        (0..30)
            .map(|_| {
                app.another_client()
                    .post(app.url("/auth/password/reset"))
                    .json(&body)
            })
            .collect(),
    )
    .await;

    assert_eq!(count_status(&responses, StatusCode::NOT_FOUND), 30);
    let login = app
        .login_as(&app.another_client(), "alice@example.com", PASSWORD)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}
