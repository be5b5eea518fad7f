//! Development aids: every mailed link opens a page that names the API call completing
//! it, links lead to `FRONTEND_URL` when it is set, `GET /dev/mail` lists the outbox
//! unencoded, and production serves none of it.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use app::{db::DbPool, links::MailedLink};

use crate::common::{TestApp, outbox::token_in, spawn_app, spawn_app_with};

const VERIFY: &str = "Confirm your email address";

/// The path and query of the first link in `text` that starts with `base`.
fn link_path(text: &str, base: &str) -> String {
    let start = text.find(base).expect("a link to the base") + base.len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_mailed_link_opens_a_page_naming_the_call_that_completes_it(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let mail = app.outbox.wait_for("alice@example.com", VERIFY, 1).await;
    let token = token_in(&mail[0].text);

    let path = link_path(&mail[0].text, "http://localhost:3000");
    let page = app
        .another_client()
        .get(app.url(&path))
        .send()
        .await
        .unwrap();

    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let page = page.text().await.unwrap();
    assert!(
        page.contains("POST http://localhost:3000/auth/verify-email"),
        "{page}"
    );
    let body = json!({ "token": token }).to_string();
    assert!(page.contains(&body), "{page}");
    // The call the page names does what the link is for.
    let response = app
        .another_client()
        .post(app.url("/auth/verify-email"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_mailed_link_has_a_page_and_its_call_is_in_the_api(db: DbPool) {
    let app = spawn_app(db).await;
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    let token = "A".repeat(43);
    for link in MailedLink::ALL {
        let route = link.completion().route;
        assert!(
            document["paths"][route]["post"].is_object(),
            "{route} is no POST route of the API"
        );
        let path = format!("{}?token={token}", link.page());
        let page = app.get(&path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let page = page.text().await.unwrap();
        assert!(page.contains(route), "{path}: {page}");
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_page_refuses_a_malformed_token_and_never_shows_it(db: DbPool) {
    let app = spawn_app(db).await;

    let page = app.get("/verify-email?token=%3Cscript%3Ealert(1)").await;

    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let page = page.text().await.unwrap();
    assert!(!page.contains("script"), "{page}");
    assert_eq!(
        app.get("/verify-email").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn links_lead_to_the_frontend_url_when_it_is_set(db: DbPool) {
    let frontend = "https://app.example.com";
    let app = spawn_app_with(db, &[("FRONTEND_URL", frontend)]).await;
    app.signup("alice@example.com").await;

    let mail = app.outbox.wait_for("alice@example.com", VERIFY, 1).await;

    let path = link_path(&mail[0].text, frontend);
    assert!(path.starts_with("/verify-email?token="), "{path}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_outbox_lists_the_newest_mail_first_with_links_that_can_be_copied(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let token = app.outbox.token("alice@example.com", VERIFY).await;
    let response = app
        .post(
            "/auth/password/forgot",
            &json!({ "email": "alice@example.com" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    // A mail job is done once its copy for the list is in place.
    app.wait_for_jobs().await;

    let response = app.get("/dev/mail").await;

    assert_eq!(response.status(), StatusCode::OK);
    let outbox: Value = response.json().await.unwrap();
    let messages = outbox["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{outbox}");
    assert_eq!(messages[0]["subject"], "Reset your password");
    assert_eq!(messages[1]["subject"], VERIFY);
    assert_eq!(messages[1]["to"], "alice@example.com");
    let link = format!("http://localhost:3000/verify-email?token={token}\n");
    assert!(
        messages[1]["text"].as_str().unwrap().contains(&link),
        "{outbox}"
    );
}

/// Asks `app` for every development page; each must be 404.
async fn assert_no_development_page(app: &TestApp) {
    let page = format!("/verify-email?token={}", "A".repeat(43));
    for path in ["/dev/mail".to_owned(), page] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn production_serves_no_development_page(db: DbPool) {
    let app = spawn_app_with(
        db,
        &[
            ("APP_ENV", "production"),
            ("APP_URL", "https://api.example.com"),
            ("FRONTEND_URL", "https://example.com"),
            ("DATABASE_URL", "postgres://unused.example.com/app"),
            ("MAIL_FROM", "Acme <hello@example.com>"),
            // Never reached: nothing here sends mail.
            ("SMTP_URL", "smtp://127.0.0.1:9"),
        ],
    )
    .await;

    assert_no_development_page(&app).await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn outside_production_a_public_address_serves_no_development_page(db: DbPool) {
    // A staging server left on the default APP_ENV: /dev/mail would hand out tokens.
    let app = spawn_app_with(db, &[("BIND_ADDR", "0.0.0.0:3000")]).await;

    assert_no_development_page(&app).await;
}
