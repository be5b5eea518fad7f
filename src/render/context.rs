//! What templates see: plain values, every decision already taken in Rust.

use serde::Serialize;

use crate::{
    spec::features::{Feature, FeatureSet},
    spec::{Database, ProjectSpec},
};

/// The variables a generated app refuses to start without in production, where a
/// default would point at the wrong place: its `config.rs`, `.env.example` and README
/// list them from here.
pub const REQUIRED_IN_PRODUCTION: [&str; 5] = [
    "DATABASE_URL",
    "APP_URL",
    "FRONTEND_URL",
    "SMTP_URL",
    "MAIL_FROM",
];

/// The view of a project that the `app` templates render.
#[derive(Debug, Serialize)]
pub struct ProjectContext {
    pub saas_version: &'static str,
    /// The cargo package and directory name (`acme-api`).
    pub package: String,
    /// The library crate in Rust paths (`acme_api`).
    pub crate_name: String,
    /// The name for people (`Acme Api`).
    pub title: String,
    pub db: DatabaseContext,
    pub features: FeaturesContext,
    /// [`REQUIRED_IN_PRODUCTION`].
    pub required_in_production: &'static [&'static str],
}

/// The database-dependent values templates need.
#[derive(Debug, Serialize)]
pub struct DatabaseContext {
    /// `sqlite` or `postgres`, as written in `saas.toml`.
    pub name: &'static str,
    /// The database's name for people.
    pub title: &'static str,
    /// `DATABASE_URL` when none is set, in development and tests.
    pub default_url: String,
    pub sqlite: bool,
    pub postgres: bool,
}

/// Which features are on.
#[derive(Debug, Serialize)]
pub struct FeaturesContext {
    pub orgs: bool,
    pub rbac: bool,
    pub billing: bool,
    /// The names of the features that are on, as TOML writes a string array.
    pub list: String,
}

impl ProjectContext {
    pub fn new(spec: &ProjectSpec) -> Self {
        let db = match spec.database {
            Database::Sqlite => DatabaseContext {
                name: "sqlite",
                title: "SQLite",
                default_url: "sqlite://data/app.db?mode=rwc".to_owned(),
                sqlite: true,
                postgres: false,
            },
            Database::Postgres => DatabaseContext {
                name: "postgres",
                title: "PostgreSQL",
                default_url: format!(
                    "postgres://postgres@localhost:5432/{}",
                    spec.name.crate_name
                ),
                sqlite: false,
                postgres: true,
            },
        };
        Self {
            saas_version: crate::manifest::THIS_VERSION,
            package: spec.name.package.clone(),
            crate_name: spec.name.crate_name.clone(),
            title: spec.name.title.clone(),
            db,
            features: FeaturesContext::new(&spec.features),
            required_in_production: &REQUIRED_IN_PRODUCTION,
        }
    }
}

impl FeaturesContext {
    pub fn new(features: &FeatureSet) -> Self {
        let names: Vec<String> = features.iter().map(|f| format!("\"{f}\"")).collect();
        Self {
            orgs: features.contains(Feature::Orgs),
            rbac: features.contains(Feature::Rbac),
            billing: features.contains(Feature::Billing),
            list: format!("[{}]", names.join(", ")),
        }
    }
}
