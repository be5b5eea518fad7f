//! The API tests: one binary, so the app links once. Each test gets a fresh database
//! and talks to the real app over HTTP.

mod auth;
mod cleanup;
mod client_ip;
mod common;
mod dev;
mod docs;
mod email_verification;
mod health;
mod http;
mod jobs;
mod logs;
mod metrics;
mod migrations;
mod notes;
mod openapi;
#[cfg(feature = "otel")]
mod otel;
mod overload;
mod password;
mod rate_limits;
mod routes;
mod seed;
mod sessions;
mod shutdown;
mod throttling;
mod tokens;
// saas:test-modules
