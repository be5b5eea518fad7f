//! The API tests: one binary, so the app links once. Each test gets a fresh database
//! and talks to the real app over HTTP.

mod auth;
mod billing;
mod cleanup;
mod client_ip;
mod comments;
mod common;
mod dev;
mod docs;
mod email_verification;
mod health;
mod http;
mod invitations;
mod jobs;
mod logs;
mod members;
mod metrics;
mod migrations;
mod openapi;
mod orgs;
#[cfg(feature = "otel")]
mod otel;
mod overload;
mod password;
mod permissions;
mod projects;
mod rate_limits;
mod routes;
mod seed;
mod sessions;
mod shutdown;
mod tasks;
mod throttling;
mod tokens;
// saas:test-modules
