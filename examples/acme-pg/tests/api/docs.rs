//! The API reference at `/docs`: every file it loads comes from the app, under a
//! policy of its own, and `API_DOCS` turns it off.

use reqwest::{StatusCode, header};

use app::db::DbPool;

use crate::common::{spawn_app, spawn_app_with};

/// The `src` and `href` values in `page`.
fn references(page: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| page.split(attribute).skip(1))
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_reference_loads_only_files_the_app_serves(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app.get("/docs").await;

    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("connect-src 'self';"), "{policy}");
    let page = response.text().await.unwrap();
    let files = references(&page);
    assert_eq!(files.len(), 3, "{page}");
    for file in &files {
        assert!(file.starts_with("/docs/"), "{file} is not the app's");
        let response = app.get(file).await;
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        let kind = &response.headers()[header::CONTENT_TYPE];
        let expected = if file.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(
            kind.to_str().unwrap().starts_with(expected),
            "{file}: {kind:?}"
        );
        assert!(!response.bytes().await.unwrap().is_empty(), "{file}");
    }
    // The crate's own page, whose inline script the policy would block, is not served.
    let unwanted = app.get("/docs/swagger-ui").await;
    assert_eq!(unwanted.status(), StatusCode::NOT_FOUND);
    let start = app.get("/docs/start.js").await.text().await.unwrap();
    assert!(start.contains("\"/openapi.json\""), "{start}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_other_answer_keeps_the_apis_strict_policy(db: DbPool) {
    let app = spawn_app(db).await;

    for path in [
        "/health",
        "/openapi.json",
        "/docs/swagger-ui/swagger-ui.css",
    ] {
        let response = app.get(path).await;
        assert_eq!(
            response.headers()[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn api_docs_off_serves_no_reference(db: DbPool) {
    let app = spawn_app_with(db, &[("API_DOCS", "false")]).await;

    for path in [
        "/docs",
        "/docs/start.js",
        "/docs/swagger-ui/swagger-ui-bundle.js",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}
