//! What every route shares: error bodies, limits, headers, the OpenAPI document.

use std::{collections::BTreeSet, time::Duration};

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use app::{config::Config, db::DbPool};

use crate::common::{PASSWORD, TestApp, assert_error, spawn_app, spawn_app_with};

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_body_that_is_not_json_is_415_and_changes_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    let body = r#"{"email":"a@example.com","password":"long enough","name":"A"}"#;

    let response = app
        .client
        .post(app.url("/auth/signup"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();

    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn json_that_does_not_parse_or_is_not_an_object_is_400(db: DbPool) {
    let app = spawn_app(db).await;

    let malformed = app
        .client
        .post(app.url("/auth/signup"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    let an_array = app.post("/auth/signup", &json!(["a@example.com"])).await;

    assert_error(malformed, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_error(an_array, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_field_of_the_wrong_type_or_missing_is_422_naming_it(db: DbPool) {
    let app = spawn_app(db).await;

    let wrong_type = app
        .post(
            "/auth/signup",
            &json!({ "email": 42, "password": "long enough", "name": "A" }),
        )
        .await;
    let missing = app
        .post(
            "/auth/signup",
            &json!({ "email": "a@example.com", "name": "A" }),
        )
        .await;

    let wrong_type = assert_error(
        wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let accepts = wrong_type["error"]["fields"]["email"][0].as_str().unwrap();
    assert!(accepts.contains("expected a string"), "{wrong_type}");
    let missing = assert_error(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        missing["error"]["fields"],
        json!({ "password": ["is required"] })
    );
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_body_over_the_limit_is_413(db: DbPool) {
    let app = spawn_app(db).await;
    let name = "x".repeat(1024 * 1024);

    let response = app
        .post(
            "/auth/signup",
            &json!({ "email": "a@example.com", "password": "long enough", "name": name }),
        )
        .await;

    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn unknown_routes_and_methods_answer_with_the_error_body(db: DbPool) {
    let app = spawn_app(db).await;

    assert_error(
        app.get("/no/such/route").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.delete("/auth/me").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_response_carries_the_security_headers_and_a_request_id(db: DbPool) {
    let app = spawn_app(db).await;

    let responses = [
        app.get("/health").await,
        app.get("/auth/me").await,
        app.get("/nowhere").await,
        app.delete("/health").await,
        app.post("/auth/login", &json!({ "email": 1 })).await,
    ];

    for response in responses {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(headers["cache-control"], "no-store");
        assert!(!headers["x-request-id"].is_empty());
        // Plain HTTP here (APP_URL is http://localhost:3000): no HSTS.
        assert!(!headers.contains_key("strict-transport-security"));
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_exhausted_connection_pool_is_503_not_a_hung_request(db: DbPool) {
    let connect_options = db.connect_options();
    let small_pool = sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(200))
        .connect_with((*connect_options).clone())
        .await
        .unwrap();
    let app = spawn_app(small_pool).await;
    app.signup("alice@example.com").await;
    let _held = app.db.acquire().await.unwrap();

    let response = app.get("/auth/me").await;

    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_openapi_document_describes_the_built_in_routes(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app.get("/openapi.json").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let operations: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    // Resources added later check their own routes; these are always there.
    let always = [
        "GET /health",
        "POST /auth/signup",
        "POST /auth/login",
        "POST /auth/logout",
        "GET /auth/me",
        "GET /auth/sessions",
        "DELETE /auth/sessions/{id}",
        "POST /auth/tokens",
        "GET /auth/tokens",
        "DELETE /auth/tokens/{id}",
        "POST /auth/verify-email",
        "POST /auth/verify-email/resend",
        "POST /auth/password/forgot",
        "POST /auth/password/reset",
        "POST /auth/password/change",
    ];
    for operation in always {
        assert!(
            operations.contains(operation),
            "{operation} is not documented"
        );
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_database_failure_is_an_opaque_500_and_rolls_back(db: DbPool) {
    let app = spawn_app(db).await;
    // Sabotage: sign-up writes the user, then fails to write the session.
    sqlx::query("drop table sessions")
        .execute(&app.db)
        .await
        .unwrap();

    let response = app
        .post(
            "/auth/signup",
            &json!({ "email": "a@example.com", "password": "long enough", "name": "A" }),
        )
        .await;

    let body = assert_error(response, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    assert_eq!(body["error"]["message"], "Internal Server Error");
    assert!(
        !body.to_string().contains("sessions"),
        "internals leaked: {body}"
    );
    assert_eq!(
        app.count("users").await,
        0,
        "the user insert was rolled back"
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn cross_site_browser_requests_are_refused_and_change_nothing(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let create = |headers: &[(&'static str, &'static str)]| {
        let mut request = app
            .client
            .post(app.url("/auth/tokens"))
            .json(&json!({ "name": "x" }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };

    let cross_site = create(&[("sec-fetch-site", "cross-site")]).await.unwrap();
    let foreign_origin = create(&[("origin", "https://evil.example")]).await.unwrap();

    assert_error(cross_site, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(foreign_origin, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("api_tokens").await, 0);
    let same_origin = create(&[
        ("sec-fetch-site", "same-origin"),
        ("origin", "http://localhost:3000"),
    ])
    .await
    .unwrap();
    let no_browser_headers = create(&[]).await.unwrap();
    assert_eq!(same_origin.status(), StatusCode::CREATED);
    assert_eq!(no_browser_headers.status(), StatusCode::CREATED);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_sibling_subdomain_is_another_origin_and_refused(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;

    let response = app
        .client
        .post(app.url("/auth/tokens"))
        .header("origin", "http://admin.localhost:3000")
        .header("sec-fetch-site", "same-site")
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("api_tokens").await, 0);
}

/// A preflight from `origin` for a JSON POST to `path`.
async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

/// A response header as text; empty when absent.
fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    let value = response.headers().get(name);
    value.map_or("", |value| value.to_str().unwrap())
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_allowed_origin_gets_credentialed_cors_and_passes_the_cross_site_check(db: DbPool) {
    let frontend = "http://localhost:5173";
    let sibling = "http://admin.localhost:5173";
    let app = spawn_app_with(db, &[("CORS_ALLOWED_ORIGINS", frontend)]).await;
    app.signup("alice@example.com").await;
    let post = |origin: &'static str| {
        app.client
            .post(app.url("/auth/tokens"))
            .header("origin", origin)
            .header("sec-fetch-site", "same-site")
            .json(&json!({ "name": origin }))
            .send()
    };

    let allowed = preflight(&app, "/auth/tokens", frontend).await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(header(&allowed, "access-control-allow-origin"), frontend);
    assert_eq!(header(&allowed, "access-control-allow-credentials"), "true");
    let methods = header(&allowed, "access-control-allow-methods");
    assert!(methods.contains("POST"), "{methods}");
    let headers = header(&allowed, "access-control-allow-headers");
    assert!(headers.contains("content-type"), "{headers}");
    let refused = preflight(&app, "/auth/tokens", sibling).await;
    assert_eq!(header(&refused, "access-control-allow-origin"), "");

    let created = post(frontend).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(header(&created, "access-control-allow-origin"), frontend);
    assert_eq!(header(&created, "access-control-allow-credentials"), "true");
    let refused = post(sibling).await.unwrap();
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("api_tokens").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn without_allowed_origins_no_page_elsewhere_gets_a_cors_answer(db: DbPool) {
    let app = spawn_app(db).await;

    let response = preflight(&app, "/auth/signup", "http://localhost:5173").await;

    assert_eq!(header(&response, "access-control-allow-origin"), "");
    assert_eq!(header(&response, "access-control-allow-credentials"), "");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_cross_site_sign_up_creates_no_account(db: DbPool) {
    let app = spawn_app(db).await;

    let response = app
        .client
        .post(app.url("/auth/signup"))
        .header("origin", "https://evil.example")
        .json(&json!({ "email": "a@example.com", "password": "long enough", "name": "A" }))
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn bearer_requests_are_not_judged_by_their_origin(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    let created: Value = app
        .post("/auth/tokens", &json!({ "name": "ci" }))
        .await
        .json()
        .await
        .unwrap();

    let response = app
        .another_client()
        .post(app.url("/auth/verify-email/resend"))
        .bearer_auth(created["token"].as_str().unwrap())
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_origin_check_compares_origins_whatever_the_path_and_case_of_app_url(db: DbPool) {
    let app = spawn_app_with(db, &[("APP_URL", "https://App.Example.com/console/")]).await;
    let signup = |origin: &'static str, email: &'static str| {
        app.another_client()
            .post(app.url("/auth/signup"))
            .header("origin", origin)
            .json(&json!({ "email": email, "password": PASSWORD, "name": "A" }))
            .send()
    };

    let ours = signup("https://app.example.com", "a@example.com")
        .await
        .unwrap();
    let theirs = signup("https://app.example.com.evil.example", "b@example.com")
        .await
        .unwrap();

    assert_eq!(ours.status(), StatusCode::CREATED);
    assert_error(theirs, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("users").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_address_in_use_stops_start_up_naming_it_and_bind_addr(db: DbPool) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let vars = [("APP_ENV", "test"), ("BIND_ADDR", address.as_str())];
    let config = Config::from_vars(vars).unwrap();

    let error = app::serve(config, db).await.unwrap_err();

    let message = format!("{error:#}");
    assert!(message.contains(&address), "{message}");
    assert!(message.contains("BIND_ADDR"), "{message}");
}
