//! The API tests: one binary, so the app links once. Each test gets a fresh database
//! and talks to the real app over HTTP.

mod auth;
mod common;
mod health;
mod http;
// saas:test-modules
