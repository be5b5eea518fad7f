//! The OpenAPI document states every status an operation can answer and every
//! constraint the API enforces; these tests read it as a client generator would.

use reqwest::StatusCode;
use serde_json::{Value, json};

use app::db::DbPool;

use crate::common::{assert_error, spawn_app};

/// The operations that count against a rate limit.
const RATE_LIMITED: &[&str] = &[
    "POST /auth/signup",
    "POST /auth/login",
    "POST /auth/verify-email",
    "POST /auth/verify-email/resend",
    "POST /auth/password/forgot",
    "POST /auth/password/reset",
    "POST /auth/password/change",
    "POST /invitations/accept",
];

/// The whole document, as client generators read it, kept in
/// `tests/api/snapshots/openapi.snap`. A change to any route, body or status
/// fails here with a diff; when the change is meant, accept it with
/// `INSTA_UPDATE=always cargo test openapi` (or `cargo insta review`) and commit the
/// snapshot with it. `saas add resource` and `saas remove resource` update it themselves.
#[test]
fn the_api_is_the_one_on_record() {
    let document = serde_json::to_value(app::openapi()).unwrap();
    // Named `openapi.snap`, whatever the test crate is called.
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("openapi", serde_json::to_string_pretty(&document).unwrap());
    });
}

async fn document(db: DbPool) -> Value {
    let app = spawn_app(db).await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The statuses that an operation's guards can answer, whatever its handler does.
/// Stripe's webhook reads its body as bytes whatever the content type, and is outside
/// the cross-site check: Stripe is no browser, and signs each request.
const WEBHOOKS: &[&str] = &["POST /billing/webhook"];

fn statuses_from_guards(operation_name: &str, path: &str, operation: &Value) -> Vec<&'static str> {
    let webhook = WEBHOOKS.contains(&operation_name);
    let mut statuses = vec!["500", "503"];
    if operation.get("requestBody").is_some() {
        statuses.extend(["400", "413"]);
        if !webhook {
            // 422: a field missing or of the wrong type, whatever else the route checks.
            statuses.extend(["415", "422"]);
        }
    }
    let reads_query = operation["parameters"]
        .as_array()
        .is_some_and(|parameters| parameters.iter().any(|p| p["in"] == "query"));
    if reads_query {
        statuses.push("400");
    }
    if !operation_name.starts_with("GET ") && !webhook {
        statuses.push("403");
    }
    if operation.get("security").is_some() {
        statuses.push("401");
    }
    if path.contains('{') {
        statuses.push("404");
    }
    if RATE_LIMITED.contains(&operation_name) {
        statuses.push("429");
    }
    statuses
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn every_operation_documents_every_status_its_guards_can_answer(db: DbPool) {
    let document = document(db).await;
    let shared = document["components"]["responses"].as_object().unwrap();

    let mut missing = Vec::new();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let name = format!("{} {path}", method.to_uppercase());
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    let placeholder = ["{", parameter["name"].as_str().unwrap(), "}"].concat();
                    assert!(
                        path.contains(&placeholder),
                        "{name}: {parameter} is not in the path"
                    );
                }
            }
            let responses = operation["responses"].as_object().unwrap();
            for status in statuses_from_guards(&name, path, operation) {
                match responses.get(status) {
                    None => missing.push(format!("{name}: {status}")),
                    Some(response) => {
                        if let Some(target) = response["$ref"].as_str() {
                            let component = target.trim_start_matches("#/components/responses/");
                            assert!(
                                shared.contains_key(component),
                                "{name}: {target} is missing"
                            );
                        }
                    }
                }
            }
        }
    }

    assert!(operations >= 15, "only {operations} operations documented");
    assert!(
        missing.is_empty(),
        "undocumented statuses:\n{}",
        missing.join("\n")
    );
    for retried in ["RateLimited", "Unavailable"] {
        assert!(shared[retried]["headers"]["Retry-After"].is_object());
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_documented_sign_up_constraints_are_the_enforced_ones(db: DbPool) {
    let document = document(db.clone()).await;
    let fields = &document["components"]["schemas"]["SignupRequest"]["properties"];
    assert_eq!(fields["email"]["format"], "email");
    assert_eq!(fields["email"]["maxLength"], 254);
    assert_eq!(fields["name"]["minLength"], 1);
    assert_eq!(fields["name"]["maxLength"], 100);
    let min = fields["password"]["minLength"].as_u64().unwrap() as usize;
    let max = fields["password"]["maxLength"].as_u64().unwrap() as usize;
    assert_eq!((min, max), (8, 128));

    // One character past each documented bound is refused.
    let app = spawn_app(db).await;
    for password in ["p".repeat(min - 1), "é".repeat(max + 1)] {
        let response = app
            .post(
                "/auth/signup",
                &json!({ "email": "a@example.com", "password": password, "name": "A" }),
            )
            .await;
        let body = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(body["error"]["fields"]["password"].is_array(), "{body}");
    }
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn tokens_and_new_passwords_are_documented_with_their_formats(db: DbPool) {
    let document = document(db).await;
    let schemas = &document["components"]["schemas"];
    let token = r"^[A-Za-z0-9_-]{43}$";

    assert_eq!(
        schemas["VerifyEmailRequest"]["properties"]["token"]["pattern"],
        token
    );
    assert_eq!(
        schemas["ResetPasswordRequest"]["properties"]["token"]["pattern"],
        token
    );
    for (schema, field) in [
        ("ResetPasswordRequest", "password"),
        ("ChangePasswordRequest", "new_password"),
    ] {
        let password = &schemas[schema]["properties"][field];
        assert_eq!(
            (&password["minLength"], &password["maxLength"]),
            (&json!(8), &json!(128))
        );
    }
    assert_eq!(
        schemas["ForgotPasswordRequest"]["properties"]["email"]["format"],
        "email"
    );
    assert_eq!(
        schemas["CreateTokenRequest"]["properties"]["name"]["maxLength"],
        100
    );
}
