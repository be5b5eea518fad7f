//! Which address a request is counted against: the TCP peer, or behind trusted
//! proxies the right-most forwarded address that is not one of them.

use reqwest::StatusCode;
use serde_json::json;

use app::db::DbPool;

use crate::common::{TestApp, spawn_app_with};

/// Asks for a password reset with `X-Forwarded-For: forwarded_for` and returns the
/// address the per-IP limit counted the request against.
async fn counted_address(app: &TestApp, forwarded_for: &str) -> String {
    sqlx::query("delete from rate_limits")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app
        .another_client()
        .post(app.url("/auth/password/forgot"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": "someone@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let key: String = sqlx::query_scalar("select key from rate_limits where key like 'auth-ip:%'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    key.trim_start_matches("auth-ip:").to_owned()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address(db: DbPool) {
    // The tests connect from 127.0.0.1, which here is not a trusted proxy.
    let app = spawn_app_with(
        db,
        &[
            ("TRUST_PROXY_HEADERS", "true"),
            ("TRUSTED_PROXIES", "10.0.0.0/8"),
        ],
    )
    .await;

    assert_eq!(counted_address(&app, "203.0.113.7").await, "127.0.0.1");
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn behind_one_trusted_proxy_the_client_is_the_address_it_forwarded(db: DbPool) {
    // TRUSTED_PROXIES defaults to loopback, where the tests connect from.
    let app = spawn_app_with(db, &[("TRUST_PROXY_HEADERS", "true")]).await;

    assert_eq!(counted_address(&app, "203.0.113.7").await, "203.0.113.7");
    // Whatever the client wrote before the proxy's entry is ignored.
    assert_eq!(
        counted_address(&app, "6.6.6.6, 203.0.113.7").await,
        "203.0.113.7"
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn behind_two_trusted_proxies_the_client_is_the_first_untrusted_hop(db: DbPool) {
    let app = spawn_app_with(
        db,
        &[
            ("TRUST_PROXY_HEADERS", "true"),
            ("TRUSTED_PROXIES", "127.0.0.1/32,10.0.0.0/8"),
        ],
    )
    .await;

    assert_eq!(
        counted_address(&app, "6.6.6.6, 198.51.100.9, 10.1.2.3").await,
        "198.51.100.9"
    );
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn ipv6_clients_share_a_limit_across_their_slash_64(db: DbPool) {
    let app = spawn_app_with(
        db,
        &[
            ("TRUST_PROXY_HEADERS", "true"),
            ("AUTH_IP_LIMIT_PER_MINUTE", "2"),
        ],
    )
    .await;
    let forgot = |address: &'static str| {
        app.another_client()
            .post(app.url("/auth/password/forgot"))
            .header("x-forwarded-for", address)
            .json(&json!({ "email": "someone@example.com" }))
            .send()
    };

    let first = forgot("2001:db8:1:2::aaaa").await.unwrap();
    let second = forgot("2001:db8:1:2:ffff::1").await.unwrap();
    let third = forgot("2001:db8:1:2::bbbb").await.unwrap();
    let other_network = forgot("2001:db8:1:3::aaaa").await.unwrap();

    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(other_network.status(), StatusCode::ACCEPTED);
}
