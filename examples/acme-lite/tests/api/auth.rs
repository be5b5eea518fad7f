//! Sign-up, login, logout and `me`.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use time::OffsetDateTime;

use app::{auth::session::hash_token, db::DbPool};

use crate::common::{PASSWORD, assert_error, session_token, spawn_app, spawn_app_with};

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn signup_creates_the_account_and_signs_it_in(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app.signup_as(&app.client, " Alice@Example.COM ").await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(
        !cookie.contains("Secure"),
        "test cookies travel over plain HTTP"
    );
    let token = session_token(&response).unwrap();
    assert_eq!(token.len(), 43);
    let body: Value = response.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["name"], "Test User");
    assert_eq!(user["email_verified_at"], Value::Null);
    assert!(user.get("password_hash").is_none());
    OffsetDateTime::parse(
        user["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();

    let (email, hash): (String, String) = sqlx::query_as("select email, password_hash from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(email, "alice@example.com");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let stored: String = sqlx::query_scalar("select token_hash from sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        stored,
        hash_token(&token),
        "only the token's SHA-256 is stored"
    );

    let me: Value = app.get("/auth/me").await.json().await.unwrap();
    assert_eq!(me["user"], body["user"]);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn signup_with_a_taken_email_is_a_conflict_whatever_its_case(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    let response = app
        .signup_as(&app.another_client(), "  ALICE@example.com")
        .await;

    assert_error(response, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("sessions").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn signup_with_invalid_fields_names_each_and_creates_nothing(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app
        .post(
            "/auth/signup",
            &json!({ "email": "not-an-email", "password": "short", "name": "  " }),
        )
        .await;

    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields = body["error"]["fields"].as_object().unwrap();
    let mut names: Vec<_> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["email", "name", "password"]);
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn passwords_must_be_8_to_128_characters(db: DbPool) {
    let app = spawn_app(db).await;
    let attempt = |email: &str, password: String| json!({ "email": email, "password": password, "name": "Pat" });

    let too_short = app
        .post("/auth/signup", &attempt("a@example.com", "x".repeat(7)))
        .await;
    let too_long = app
        .post("/auth/signup", &attempt("b@example.com", "x".repeat(129)))
        .await;
    let shortest = app
        .post("/auth/signup", &attempt("c@example.com", "x".repeat(8)))
        .await;
    let longest = app
        .another_client()
        .post(app.url("/auth/signup"))
        .json(&attempt("d@example.com", "é".repeat(128)))
        .send()
        .await
        .unwrap();

    assert_error(
        too_short,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_error(
        too_long,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(shortest.status(), StatusCode::CREATED);
    assert_eq!(longest.status(), StatusCode::CREATED);
    assert_eq!(app.count("users").await, 2);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn fifty_concurrent_signups_with_one_email_create_one_account(db: DbPool) {
    // All fifty come from one address: lift the per-IP limit for this test. Fifty
    // password hashes queue for the cores; on a loaded machine that takes longer than
    // the default wait, and overload is not what this test is about.
    let app = spawn_app_with(
        db,
        &[
            ("AUTH_IP_LIMIT_PER_MINUTE", "1000"),
            ("PASSWORD_HASH_MAX_WAIT_MS", "120000"),
        ],
    )
    .await;

    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let request = app
            .another_client()
            .post(app.url("/auth/signup"))
            .json(&json!({ "email": "race@example.com", "password": PASSWORD, "name": "Racer" }));
        attempts.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = attempts.join_all().await;

    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 49), "{statuses:?}");
    assert_eq!(app.count("users").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn login_starts_a_new_session_beside_the_others(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let laptop = app.another_client();

    let response = app.login_as(&laptop, "ALICE@example.com", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    let token = session_token(&response).expect("a session cookie");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(app.count("sessions").await, 2);
    let me = laptop.get(app.url("/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let stored: i64 = sqlx::query_scalar("select count(*) from sessions where token_hash = $1")
        .bind(hash_token(&token))
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn unknown_email_and_wrong_password_get_the_same_answer(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let stranger = app.another_client();

    let wrong_password = app
        .login_as(&stranger, "alice@example.com", "not the password")
        .await;
    let unknown_email = app
        .login_as(&stranger, "nobody@example.com", PASSWORD)
        .await;

    for response in [wrong_password, unknown_email] {
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        let body = assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        assert_eq!(body["error"]["message"], "invalid email or password");
    }
    assert_eq!(app.count("sessions").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_password_is_compared_exactly_as_typed(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    for attempt in [format!(" {PASSWORD}"), PASSWORD.to_uppercase()] {
        let response = app
            .login_as(&app.another_client(), "alice@example.com", &attempt)
            .await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn logging_in_again_replaces_the_session_the_browser_held(db: DbPool) {
    let app = spawn_app(db).await;
    let signup = app.signup_as(&app.client, "alice@example.com").await;
    let first_token = session_token(&signup).unwrap();

    let login = app
        .login_as(&app.client, "alice@example.com", PASSWORD)
        .await;

    let second_token = session_token(&login).unwrap();
    assert_ne!(first_token, second_token);
    assert_eq!(app.count("sessions").await, 1);
    let replay = app
        .another_client()
        .get(app.url("/auth/me"))
        .header(header::COOKIE, format!("session={first_token}"))
        .send()
        .await
        .unwrap();
    assert_error(replay, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn logout_revokes_the_session_in_the_database(db: DbPool) {
    let app = spawn_app(db).await;
    let signup = app.signup_as(&app.client, "alice@example.com").await;
    let token = session_token(&signup).unwrap();

    let response = app
        .client
        .post(app.url("/auth/logout"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    assert_eq!(app.count("sessions").await, 0);
    let replay = app
        .another_client()
        .get(app.url("/auth/me"))
        .header(header::COOKIE, format!("session={token}"))
        .send()
        .await
        .unwrap();
    assert_error(replay, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn authenticated_routes_refuse_a_missing_or_forged_session(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let stranger = app.another_client();

    for cookie in [
        None,
        Some("session="),
        Some("session=' OR 1=1--"),
        Some("session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        for (method, path) in [
            ("GET", "/auth/me"),
            ("GET", "/auth/sessions"),
            ("POST", "/auth/logout"),
        ] {
            let mut request = stranger.request(method.parse().unwrap(), app.url(path));
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            let response = request.send().await.unwrap();
            assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        }
    }
    assert_eq!(app.count("sessions").await, 1);
}
