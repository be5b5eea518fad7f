//! `POST /billing/webhook` believes only what Stripe signed: every malformed, stale,
//! future, forged or altered delivery is 400 and changes nothing, including the list of
//! processed events.

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use serde_json::Value;

use app::{billing::signature::MAX_SIGNATURES, db::DbPool};

use crate::common::{
    TestApp, assert_error,
    billing::{Account, Owner, spawn_billing_app, spawn_billing_app_with},
    send_together,
    webhooks::{WEBHOOK_SECRET, checkout_completed, now, send, sign, stripe_id, v1},
};

/// An event that links `owner` to `customer` when it is applied, and its raw body.
fn linking_event(owner: &Owner, customer: &str) -> (Value, String) {
    let event = checkout_completed(
        &stripe_id("evt"),
        now() - 10,
        &owner.id.to_string(),
        customer,
        &stripe_id("sub"),
    );
    let body = event.to_string();
    (event, body)
}

/// Asserts a refusal: 400 `bad_request`, the billing rows still `before`, no event recorded.
async fn assert_refused(app: &TestApp, response: Response, before: &[Account], case: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{case}: {body}");
    assert_eq!(app.accounts().await, before, "{case}");
    assert_eq!(app.stripe_events().await, Vec::<String>::new(), "{case}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_correctly_signed_event_is_applied_and_recorded(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let (event, body) = linking_event(&owner, "cus_signed");

    let response = send(&app, &body, Some(&sign(WEBHOOK_SECRET, now(), &body))).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.customer_of(owner.id).await.as_deref(),
        Some("cus_signed")
    );
    assert_eq!(app.stripe_events().await, [event["id"].as_str().unwrap()]);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_malformed_or_missing_signature_header_is_refused(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;
    let (_, body) = linking_event(&owner, "cus_unsigned");
    let t = now();
    let good = v1(WEBHOOK_SECRET, t, &body);

    let cases = [
        ("no header", None),
        ("an empty header", Some(String::new())),
        ("t= only", Some(format!("t={t}"))),
        ("v1= only", Some(format!("v1={good}"))),
        ("only a v0 signature", Some(format!("t={t},v0={good}"))),
        ("an empty v1", Some(format!("t={t},v1="))),
        ("a truncated v1", Some(format!("t={t},v1={}", &good[..63]))),
        (
            "a timestamp that is not a number",
            Some(format!("t=soon,v1={good}")),
        ),
        ("no key=value pairs", Some(good.clone())),
    ];
    for (case, header) in cases {
        let response = send(&app, &body, header.as_deref()).await;
        assert_refused(&app, response, &before, case).await;
    }
    assert_eq!(app.customer_of(owner.id).await, None);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn an_event_signed_with_another_secret_is_refused(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;
    let (_, body) = linking_event(&owner, "cus_forged");

    let header = sign("whsec_someone_else", now(), &body);
    let response = send(&app, &body, Some(&header)).await;

    assert_refused(&app, response, &before, "wrong secret").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_body_changed_by_one_byte_after_signing_is_refused(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;
    let (_, body) = linking_event(&owner, "cus_original0");
    let header = sign(WEBHOOK_SECRET, now(), &body);

    let tampered = body.replace("cus_original0", "cus_original1");
    assert_eq!(tampered.len(), body.len());
    let response = send(&app, &tampered, Some(&header)).await;

    assert_refused(&app, response, &before, "tampered body").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_timestamp_may_be_at_most_300_seconds_old_or_ahead(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;

    // The clock moves on between signing here and checking there, so these stay a few
    // seconds clear of the boundary; the unit tests of `signature.rs` check ±300/±301
    // exactly, with a fixed clock.
    for (case, offset) in [
        ("301 s old", -301),
        ("305 s ahead", 305),
        ("a day old", -86_400),
    ] {
        let (_, body) = linking_event(&owner, "cus_late");
        let header = sign(WEBHOOK_SECRET, now() + offset, &body);
        let response = send(&app, &body, Some(&header)).await;
        assert_refused(&app, response, &before, case).await;
    }

    let (event, body) = linking_event(&owner, "cus_in_time");
    let header = sign(WEBHOOK_SECRET, now() - 295, &body);
    let response = send(&app, &body, Some(&header)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.customer_of(owner.id).await.as_deref(),
        Some("cus_in_time")
    );
    assert_eq!(app.stripe_events().await, [event["id"].as_str().unwrap()]);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn one_good_v1_among_several_is_enough(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let (_, body) = linking_event(&owner, "cus_rotated");
    let t = now();

    let header = format!(
        "t={t},v1={},v0={},v1={}",
        v1("whsec_retired", t, &body),
        v1(WEBHOOK_SECRET, t, &body),
        v1(WEBHOOK_SECRET, t, &body),
    );
    let response = send(&app, &body, Some(&header)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.customer_of(owner.id).await.as_deref(),
        Some("cus_rotated")
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn during_a_secret_rotation_each_configured_secret_verifies(db: DbPool) {
    let app = spawn_billing_app_with(
        db,
        &[("STRIPE_WEBHOOK_SECRET", "whsec_old_one, whsec_new_one")],
    )
    .await;
    let alice = app.new_owner("alice@example.com").await;
    let bob = app.new_owner("bob@example.com").await;

    let (_, body) = linking_event(&alice, "cus_old_secret");
    let response = send(&app, &body, Some(&sign("whsec_old_one", now(), &body))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, body) = linking_event(&bob, "cus_new_secret");
    let response = send(&app, &body, Some(&sign("whsec_new_one", now(), &body))).await;
    assert_eq!(response.status(), StatusCode::OK);

    let carol = app.new_owner("carol@example.com").await;
    let before = app.accounts().await;
    let (_, body) = linking_event(&carol, "cus_test_secret");
    let response = send(&app, &body, Some(&sign(WEBHOOK_SECRET, now(), &body))).await;
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;

    assert_eq!(
        app.customer_of(alice.id).await.as_deref(),
        Some("cus_old_secret")
    );
    assert_eq!(
        app.customer_of(bob.id).await.as_deref(),
        Some("cus_new_secret")
    );
    assert_eq!(app.accounts().await, before);
    assert_eq!(app.stripe_events().await.len(), 2);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_signature_covers_the_raw_bytes_not_the_json_they_parse_to(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;
    let (event, compact) = linking_event(&owner, "cus_reserialised");
    let pretty = serde_json::to_string_pretty(&event).unwrap();
    let t = now();

    let response = send(&app, &pretty, Some(&sign(WEBHOOK_SECRET, t, &compact))).await;
    assert_refused(&app, response, &before, "re-serialised body").await;

    // The same pretty bytes, signed as they are, verify: only the bytes mattered.
    let response = send(&app, &pretty, Some(&sign(WEBHOOK_SECRET, t, &pretty))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.customer_of(owner.id).await.as_deref(),
        Some("cus_reserialised")
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_session_cookie_does_not_stand_in_for_a_signature(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;
    let (_, body) = linking_event(&owner, "cus_cookie");

    let response = owner
        .client
        .post(app.url("/billing/webhook"))
        .header("content-type", "application/json")
        .header("stripe-signature", sign("whsec_wrong", now(), &body))
        .body(body)
        .send()
        .await
        .unwrap();

    assert_refused(&app, response, &before, "signed-in caller, bad signature").await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_webhook_only_takes_post(db: DbPool) {
    let app = spawn_billing_app(db).await;

    let response = app.get("/billing/webhook").await;

    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn without_a_webhook_secret_the_webhook_says_billing_is_not_configured(db: DbPool) {
    let app = spawn_billing_app_with(db, &[("", "STRIPE_WEBHOOK_SECRET")]).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;
    let (_, body) = linking_event(&owner, "cus_unconfigured");

    let response = send(&app, &body, Some(&sign(WEBHOOK_SECRET, now(), &body))).await;

    let error = assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "billing_not_configured",
    )
    .await;
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("STRIPE_WEBHOOK_SECRET"), "{message}");
    assert_eq!(app.accounts().await, before);
    assert_eq!(app.stripe_events().await, Vec::<String>::new());
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn webhooks_need_no_secret_key(db: DbPool) {
    let app = spawn_billing_app_with(db, &[("", "STRIPE_SECRET_KEY")]).await;
    let owner = app.new_owner("alice@example.com").await;
    let (_, body) = linking_event(&owner, "cus_no_api_key");

    let response = send(&app, &body, Some(&sign(WEBHOOK_SECRET, now(), &body))).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.customer_of(owner.id).await.as_deref(),
        Some("cus_no_api_key")
    );
    assert!(app.stripe.requests().is_empty());
}

/// `count` signatures of the right form that match nothing.
fn forged_signatures(count: usize) -> String {
    format!(",v1={}", "0".repeat(64)).repeat(count)
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn thousands_of_signatures_are_refused_without_hashing_each(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let owner = app.new_owner("alice@example.com").await;
    let before = app.accounts().await;
    let (_, body) = linking_event(&owner, "cus_flooded");
    // A large body makes every hash of it cost: 64 KiB of JSON whitespace.
    let body = format!("{body}{}", " ".repeat(64 * 1024));
    let t = now();
    let header = format!(
        "t={t}{},v1={}",
        forged_signatures(2_000),
        v1(WEBHOOK_SECRET, t, &body)
    );

    let started = Instant::now();
    let response = send(&app, &body, Some(&header)).await;
    let took = started.elapsed();

    assert_refused(&app, response, &before, "2,000 signatures").await;
    // Hashing the body once per signature takes seconds here; refusing takes far less.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn health_answers_quickly_during_a_flood_of_bad_signatures(db: DbPool) {
    let app = spawn_billing_app(db).await;
    let body = r#"{"id":"evt_flood","object":"event"}"#.to_owned() + &" ".repeat(64 * 1024);
    // Past the cap, each is refused before its body is hashed; the cap itself is
    // checked by the unit tests of `signature.rs`.
    let header = format!("t={}{}", now(), forged_signatures(MAX_SIGNATURES * 60));
    let flood: Vec<_> = (0..32)
        .map(|_| {
            app.another_client()
                .post(app.url("/billing/webhook"))
                .header("content-type", "application/json")
                .header("stripe-signature", &header)
                .body(body.clone())
        })
        .collect();
    let flooding = tokio::spawn(send_together(flood));

    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
        slowest = slowest.max(started.elapsed());
    }

    let responses = flooding.await.unwrap();
    assert!(
        responses
            .iter()
            .all(|response| response.status() == StatusCode::BAD_REQUEST)
    );
    // Hashing every signature, this flood kept /health waiting for over a minute.
    assert!(slowest < Duration::from_secs(5), "health took {slowest:?}");
    assert_eq!(app.stripe_events().await, Vec::<String>::new());
}
