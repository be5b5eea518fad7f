//! The reliability suite: generates the all-features app with two resources, builds it
//! in release mode, runs it on loopback against SQLite and PostgreSQL, and drives it
//! with concurrent clients through races, kills, restarts and database outages. Each
//! scenario prints what it sent and saw, and fails the run if an invariant breaks.
//!
//! Usage: cargo run --release --manifest-path reliability/Cargo.toml --
//!            [--databases sqlite,postgres] [--only NAME,NAME]
//!
//! PostgreSQL: the server at RELIABILITY_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432). Work files go to reliability/work/.

mod app;
mod client;
mod db;
mod scenarios;

use std::time::Instant;

use anyhow::{Context, bail};

use crate::app::{Build, Database};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|i| args.get(i + 1))
            .map(|value| value.split(',').map(str::to_owned).collect::<Vec<_>>())
    };
    let databases = option("--databases")
        .unwrap_or_else(|| vec!["sqlite".to_owned(), "postgres".to_owned()])
        .iter()
        .map(|name| Database::parse(name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let only = option("--only");

    let saas = app::build_saas().context("could not build saas")?;
    let mut failed = Vec::new();
    let mut ran = 0;
    for database in databases {
        let started = Instant::now();
        let build = Build::new(&saas, database).context("could not build the app")?;
        println!(
            "\n== {database}: generated and built in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        for scenario in scenarios::ALL {
            if !scenario.databases.contains(&database) {
                continue;
            }
            if only
                .as_ref()
                .is_some_and(|only| !only.iter().any(|name| name == scenario.name))
            {
                continue;
            }
            ran += 1;
            let started = Instant::now();
            let result = (scenario.run)(build.clone()).await;
            let seconds = started.elapsed().as_secs_f64();
            match result {
                Ok(report) => println!(
                    "ok   {database} {} ({seconds:.1} s): {report}",
                    scenario.name
                ),
                Err(error) => {
                    println!(
                        "FAIL {database} {} ({seconds:.1} s): {error:#}",
                        scenario.name
                    );
                    failed.push(format!("{database} {}", scenario.name));
                }
            }
        }
    }
    if ran == 0 {
        bail!("no scenario matched");
    }
    if !failed.is_empty() {
        bail!(
            "{} of {ran} scenarios failed: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    println!("\nall {ran} scenarios passed");
    Ok(())
}
