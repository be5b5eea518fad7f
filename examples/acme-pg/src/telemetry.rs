//! Log output: readable lines in development, JSON in production.

use tracing_subscriber::EnvFilter;

use crate::config::{Config, Environment};

/// Installs the global subscriber; the filter comes from `RUST_LOG` (default `info`).
pub fn init(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt().with_env_filter(filter);
    match config.environment {
        Environment::Production => subscriber.json().init(),
        Environment::Development | Environment::Test => subscriber.init(),
    }
}
