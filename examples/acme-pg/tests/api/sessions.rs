//! Sessions: their lifetime, and the caller's list of them.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use app::{auth::session::hash_token, db::DbPool};

use crate::common::{PASSWORD, TestApp, assert_error, session_token, spawn_app};

/// How far from a limit the tests probe: well above the time a request takes on a
/// loaded machine, well below any mistake in the limit that matters.
const MARGIN: Duration = Duration::seconds(20);

/// Sets the one session's `created_at` and `last_seen_at`.
async fn age_session(app: &TestApp, created_at: OffsetDateTime, last_seen_at: OffsetDateTime) {
    sqlx::query("update sessions set created_at = $1, last_seen_at = $2")
        .bind(created_at)
        .bind(last_seen_at)
        .execute(&app.db)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_session_idle_just_under_its_limit_lives_and_just_over_it_expires(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let idle = Duration::try_from(app.state.config.session_idle).unwrap();
    let now = OffsetDateTime::now_utc();

    age_session(&app, now - idle, now - idle + MARGIN).await;
    assert_eq!(app.get("/auth/me").await.status(), StatusCode::OK);

    let now = OffsetDateTime::now_utc();
    age_session(&app, now - idle, now - idle - MARGIN).await;
    let response = app.get("/auth/me").await;

    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(app.count("sessions").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_session_ends_at_its_absolute_lifetime_however_active(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let lifetime = Duration::try_from(app.state.config.session_max_age).unwrap();
    let now = OffsetDateTime::now_utc();

    age_session(&app, now - lifetime + MARGIN, now - Duration::seconds(1)).await;
    assert_eq!(app.get("/auth/me").await.status(), StatusCode::OK);

    let now = OffsetDateTime::now_utc();
    age_session(&app, now - lifetime - MARGIN, now - Duration::seconds(1)).await;
    let response = app.get("/auth/me").await;

    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn last_seen_at_is_written_at_most_once_a_minute(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let set_last_seen = |at: OffsetDateTime| {
        let db = app.db.clone();
        async move {
            sqlx::query("update sessions set last_seen_at = $1")
                .bind(at)
                .execute(&db)
                .await
                .unwrap();
        }
    };
    let last_seen = || async {
        sqlx::query_scalar::<_, OffsetDateTime>("select last_seen_at from sessions")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };

    // Whole seconds: PostgreSQL keeps microseconds, and the value must round-trip exactly.
    let recently = (OffsetDateTime::now_utc() - Duration::seconds(45))
        .replace_nanosecond(0)
        .unwrap();
    set_last_seen(recently).await;
    assert_eq!(app.get("/auth/me").await.status(), StatusCode::OK);
    assert_eq!(last_seen().await, recently, "touched again within a minute");

    let a_minute_ago = OffsetDateTime::now_utc() - Duration::seconds(75);
    set_last_seen(a_minute_ago).await;
    assert_eq!(app.get("/auth/me").await.status(), StatusCode::OK);
    assert!(last_seen().await > recently, "not touched after a minute");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_session_list_shows_the_callers_sessions_without_secrets(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let phone = app.another_client();
    let login = phone
        .post(app.url("/auth/login"))
        .header(header::USER_AGENT, "Phone/1.0")
        .json(&json!({ "email": "alice@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let phone_token = session_token(&login).unwrap();
    app.signup_as(&app.another_client(), "bob@example.com")
        .await;

    let response = app.get("/auth/sessions").await;

    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.contains(&phone_token) && !text.contains(&hash_token(&phone_token)));
    let sessions: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(sessions.len(), 2, "Bob's session is not Alice's business");
    assert_eq!(sessions[0]["user_agent"], "Phone/1.0", "newest first");
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["current"], true);
    for key in ["id", "created_at", "last_seen_at"] {
        assert!(sessions[0][key].is_string(), "{key} missing");
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn revoking_another_of_ones_sessions_signs_that_browser_out(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let phone = app.another_client();
    app.login_as(&phone, "alice@example.com", PASSWORD).await;
    let sessions: Vec<Value> = app.get("/auth/sessions").await.json().await.unwrap();
    let phone_session = sessions.iter().find(|s| s["current"] == false).unwrap();

    let response = app
        .delete(&format!(
            "/auth/sessions/{}",
            phone_session["id"].as_str().unwrap()
        ))
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let me = phone.get(app.url("/auth/me")).send().await.unwrap();
    assert_error(me, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(app.get("/auth/me").await.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn another_users_session_cannot_be_revoked(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let bob = app.another_client();
    app.signup_as(&bob, "bob@example.com").await;
    let bobs_sessions: Vec<Value> = bob
        .get(app.url("/auth/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bobs_session = bobs_sessions[0]["id"].as_str().unwrap();

    for id in [
        bobs_session.to_owned(),
        Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
    ] {
        let response = app.delete(&format!("/auth/sessions/{id}")).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(app.count("sessions").await, 2);
    assert_eq!(
        bob.get(app.url("/auth/me")).send().await.unwrap().status(),
        StatusCode::OK
    );
}
