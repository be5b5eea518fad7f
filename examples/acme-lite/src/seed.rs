//! `cargo run -- seed`: a demo account with a few rows of every resource, so that a new
//! developer has something to look at. Never in production.
//!
//! A re-run reuses the account and makes rows only of resources that have none, so after
//! `saas add resource` it seeds the new resource and changes nothing else.

use std::fmt;

use anyhow::Context;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    auth::{
        hashing::PasswordHasher,
        user::{self, Email, User},
    },
    config::{Config, Environment},
    db::{self, DbPool},
    resources::Tenant,
};

/// The demo user's email address.
pub const DEMO_EMAIL: &str = "demo@example.com";
/// The demo user's password: printed, and so for development only.
pub const DEMO_PASSWORD: &str = "demo-password";
/// How many rows of each resource seeding makes.
pub const ROWS: usize = 3;
/// Where the printed `curl` keeps the demo user's session cookie.
const COOKIE_JAR: &str = concat!("/tmp/", env!("CARGO_PKG_NAME"), ".cookies");

/// The demo account that seeded rows belong to.
#[derive(Debug, Clone)]
pub struct Demo {
    pub user_id: Uuid,
    /// Whose rows the resources' `seed` functions make.
    pub tenant: Tenant,
}

/// What one resource's `seed` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    pub table: &'static str,
    /// How many rows it made: none when the demo account had some already.
    pub rows: usize,
}

/// What a seed made or found.
#[derive(Debug)]
pub struct Report {
    pub demo: Demo,
    /// Whether this run made the demo user (or found it from an earlier run).
    pub user_created: bool,
    /// Each resource, in the order they were added.
    pub seeded: Vec<Seeded>,
    /// Where the app is served (`APP_URL`), and whether it serves `/docs`.
    pub app_url: String,
    pub api_docs: bool,
}

/// Refuses in production: the demo password is public.
pub fn refuse_in(environment: Environment) -> anyhow::Result<()> {
    anyhow::ensure!(
        environment != Environment::Production,
        "seed refuses to run with APP_ENV=production: it makes an account whose password \
         it prints; seed a development database instead"
    );
    Ok(())
}

/// Makes (or finds) the demo account, then seeds every resource that has no rows in it.
pub async fn run(config: &Config, db: &DbPool) -> anyhow::Result<Report> {
    refuse_in(config.environment)?;
    let (user, user_created) = demo_user(config, db).await?;
    let demo = Demo {
        user_id: user.id,
        tenant: Tenant { user_id: user.id },
    };
    // Parents before children: each resource's line comes after those it references.
    #[rustfmt::skip]
    let seeded = vec![
        crate::resources::notes::seed(&demo, db).await?,
        // saas:seeds
    ];
    Ok(Report {
        demo,
        user_created,
        seeded,
        app_url: config.app_url.clone(),
        api_docs: config.api_docs,
    })
}

/// The demo user, verified, and whether it was made now.
async fn demo_user(config: &Config, db: &DbPool) -> anyhow::Result<(User, bool)> {
    let email = Email::parse(DEMO_EMAIL).expect("a valid address");
    if let Some(user) = user::find_by_email(db, &email).await? {
        return Ok((user, false));
    }
    let password_hash =
        PasswordHasher::new(config.password_hash_threads, config.password_hash_max_wait)
            .hash(DEMO_PASSWORD.to_owned().into())
            .await?;
    let mut tx = db::begin_write(db).await?;
    let user: User = sqlx::query_as(
        "insert into users (id, email, name, password_hash, email_verified_at)
         values ($1, $2, $3, $4, $5)
         returning id, email, name, password_hash, email_verified_at, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(email.as_str())
    .bind("Demo")
    .bind(password_hash)
    .bind(OffsetDateTime::now_utc())
    .fetch_one(&mut *tx)
    .await
    .context("could not make the demo user")?;
    tx.commit().await?;
    Ok((user, true))
}

impl fmt::Display for Report {
    /// What was made, and how to sign in and look at it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.app_url;
        let made = if self.user_created {
            "made now"
        } else {
            "there already"
        };
        writeln!(
            f,
            "Demo user: {DEMO_EMAIL}, password {DEMO_PASSWORD} ({made})"
        )?;
        for seeded in &self.seeded {
            match seeded.rows {
                0 => writeln!(f, "  {}: has rows already, left as they are", seeded.table)?,
                rows => writeln!(f, "  {}: {rows} rows made", seeded.table)?,
            }
        }
        if self.seeded.is_empty() {
            writeln!(
                f,
                "No resources yet: add one with `saas add resource`, then seed again."
            )?;
        }
        let credentials = serde_json::json!({ "email": DEMO_EMAIL, "password": DEMO_PASSWORD });
        writeln!(
            f,
            "\nSign in (curl keeps the session cookie in {COOKIE_JAR}):"
        )?;
        writeln!(
            f,
            "  curl -i -c {COOKIE_JAR} -H 'content-type: application/json' -d '{credentials}' {url}/auth/login"
        )?;
        if self.api_docs {
            writeln!(f, "The API reference: {url}/docs")
        } else {
            writeln!(
                f,
                "The API reference is off: set API_DOCS=true to serve it at {url}/docs"
            )
        }
    }
}
