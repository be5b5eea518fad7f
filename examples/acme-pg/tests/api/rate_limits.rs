//! Rate limits on authentication: per client IP, and per account for failed logins.

use reqwest::{Response, StatusCode, header};
use serde_json::json;

use app::db::DbPool;

use crate::common::{PASSWORD, TestApp, assert_error, spawn_app_with};

async fn login_from(
    app: &TestApp,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Response {
    let mut request = app
        .another_client()
        .post(app.url("/auth/login"))
        .json(&json!({ "email": email, "password": password }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

/// Moves every rate-limit window back, as if `seconds` had passed.
async fn let_time_pass(app: &TestApp, seconds: i64) {
    sqlx::query("update rate_limits set window_start = window_start - $1")
        .bind(seconds)
        .execute(&app.db)
        .await
        .unwrap();
}

async fn assert_rate_limited(response: Response, max_wait: u64) {
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=max_wait).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_per_ip_limit_answers_429_until_its_window_ends(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_IP_LIMIT_PER_MINUTE", "3")]).await;

    for _ in 0..3 {
        let response = login_from(&app, "nobody@example.com", PASSWORD, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(
        login_from(&app, "nobody@example.com", PASSWORD, None).await,
        60,
    )
    .await;
    let signup = app
        .signup_as(&app.another_client(), "new@example.com")
        .await;
    assert_rate_limited(signup, 60).await;
    assert_eq!(
        app.count("users").await,
        0,
        "a refused sign-up creates nothing"
    );

    let_time_pass(&app, 60).await;
    let response = login_from(&app, "nobody@example.com", PASSWORD, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_IP_LIMIT_PER_MINUTE", "2")]).await;
    let addresses = ["203.0.113.1", "203.0.113.2", "203.0.113.3"];

    let mut statuses = Vec::new();
    for address in addresses {
        statuses.push(
            login_from(&app, "nobody@example.com", PASSWORD, Some(address))
                .await
                .status(),
        );
    }

    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(db: DbPool) {
    let app = spawn_app_with(
        db,
        &[
            ("AUTH_IP_LIMIT_PER_MINUTE", "2"),
            ("TRUST_PROXY_HEADERS", "true"),
        ],
    )
    .await;

    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        // A client may put anything first; the proxy's last entry is the one believed.
        let chain = format!("198.51.100.9, {address}");
        let response = login_from(&app, "nobody@example.com", PASSWORD, Some(&chain)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn failed_logins_throttle_the_account_for_a_while_not_forever(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_ACCOUNT_FAILURE_LIMIT", "3")]).await;
    app.signup("alice@example.com").await;
    app.signup_as(&app.another_client(), "bob@example.com")
        .await;

    for attempt in 0..3 {
        let address = format!("203.0.113.{attempt}");
        let response =
            login_from(&app, "alice@example.com", "wrong password", Some(&address)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits: the attacker cannot tell it was right.
    assert_rate_limited(
        login_from(&app, "alice@example.com", PASSWORD, None).await,
        15 * 60,
    )
    .await;
    let bob = login_from(&app, "bob@example.com", PASSWORD, None).await;
    assert_eq!(
        bob.status(),
        StatusCode::OK,
        "other accounts are not affected"
    );

    let_time_pass(&app, 15 * 60).await;
    let later = login_from(&app, "alice@example.com", PASSWORD, None).await;
    assert_eq!(later.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_unknown_address_is_throttled_like_a_real_one(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_ACCOUNT_FAILURE_LIMIT", "2")]).await;

    for _ in 0..2 {
        let response = login_from(&app, "nobody@example.com", "wrong password", None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    assert_rate_limited(
        login_from(&app, "nobody@example.com", "wrong password", None).await,
        15 * 60,
    )
    .await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_successful_login_clears_the_failures(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_ACCOUNT_FAILURE_LIMIT", "2")]).await;
    app.signup("alice@example.com").await;

    login_from(&app, "alice@example.com", "wrong password", None).await;
    assert_eq!(
        login_from(&app, "alice@example.com", PASSWORD, None)
            .await
            .status(),
        StatusCode::OK
    );
    login_from(&app, "alice@example.com", "wrong password", None).await;

    assert_eq!(
        login_from(&app, "alice@example.com", PASSWORD, None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn forgot_password_is_limited_per_address(db: DbPool) {
    let app = spawn_app_with(db, &[("AUTH_IP_LIMIT_PER_MINUTE", "100")]).await;

    for _ in 0..5 {
        let response = app
            .post(
                "/auth/password/forgot",
                &json!({ "email": "nobody@example.com" }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }

    let response = app
        .post(
            "/auth/password/forgot",
            &json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_rate_limited(response, 3600).await;
}
