//! Starts the server: configuration, logging, database, migrations, HTTP.

use anyhow::Context;

use acme_lite::{config::Config, db, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal outside development.
    dotenvy::dotenv().ok();
    let config = Config::from_env().context("invalid configuration")?;
    telemetry::init(&config);

    let pool = db::connect(&config)
        .await
        .context("could not open the database")?;
    db::migrate(&pool)
        .await
        .context("could not apply migrations")?;

    acme_lite::serve(config, pool).await
}
