//! The commands of the app's binary: serving, applying the migrations, the
//! development aids `seed` and `routes`, and the container's `healthcheck`. A command
//! is one variant, its lines of [`USAGE`] and one arm in each match.

use std::fmt;

use anyhow::Context;

use crate::{
    config::{Config, Environment},
    db::{self, DbPool},
    healthcheck, route_list, schema, seed, telemetry,
};

/// What `help` prints, and an unknown command after its error.
pub const USAGE: &str = "\
Usage: cargo run [-- <command>]

Commands:
  (none)   serve the API on BIND_ADDR (first applying the pending migrations,
           unless MIGRATE_ON_START=false)
  migrate  apply the pending migrations and exit (a release command, a Kubernetes Job)
  seed     make a demo account with a few rows of every resource (not in production)
  routes   list every route with the permission it needs and what it does
  healthcheck
           exit 0 if the server on BIND_ADDR answers GET /health/live, else 1
  help     print this
";

/// A command of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Serve,
    Migrate,
    Seed,
    Routes,
    Healthcheck,
    Help,
}

/// Arguments that name no command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCommand(pub Vec<String>);

impl fmt::Display for UnknownCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: unknown command `{}`\n\n{USAGE}",
            self.0.join(" ")
        )
    }
}

impl Command {
    /// The command `args` name, the program's own name left out.
    pub fn parse<I, S>(args: I) -> Result<Self, UnknownCommand>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        match words[..] {
            [] => Ok(Self::Serve),
            ["migrate"] => Ok(Self::Migrate),
            ["seed"] => Ok(Self::Seed),
            ["routes"] => Ok(Self::Routes),
            ["healthcheck"] => Ok(Self::Healthcheck),
            ["help" | "--help" | "-h"] => Ok(Self::Help),
            _ => Err(UnknownCommand(args)),
        }
    }

    /// Runs the command with the configuration of the environment.
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Serve => {
                let config = Config::from_env().context("invalid configuration")?;
                let telemetry = telemetry::init(&config)?;
                let served = async {
                    let pool = if config.migrate_on_start {
                        open_database(&config).await?
                    } else {
                        let pool = db::connect(&config)
                            .await
                            .context("could not open the database")?;
                        schema::check(&pool).await?;
                        pool
                    };
                    crate::serve(config, pool).await
                }
                .await;
                telemetry.shutdown().await;
                served
            }
            Self::Migrate => {
                let config = Config::from_env().context("invalid configuration")?;
                let telemetry = telemetry::init(&config)?;
                let migrated = schema::migrate(&config)
                    .await
                    .context("could not apply migrations");
                telemetry.shutdown().await;
                migrated
            }
            Self::Seed => {
                // Before anything else, so that production is refused with nothing done.
                seed::refuse_in(Environment::from_env().context("invalid configuration")?)?;
                let config = Config::from_env().context("invalid configuration")?;
                let pool = open_database(&config).await?;
                let report = seed::run(&config, &pool).await?;
                print!("{report}");
                Ok(())
            }
            Self::Routes => {
                print!("{}", route_list::table(&crate::openapi()));
                Ok(())
            }
            Self::Healthcheck => healthcheck::run().await,
            Self::Help => {
                print!("{USAGE}");
                Ok(())
            }
        }
    }
}

/// Applies the pending migrations, then opens the pool, as serving does by default.
async fn open_database(config: &Config) -> anyhow::Result<DbPool> {
    schema::migrate(config)
        .await
        .context("could not apply migrations")?;
    db::connect(config)
        .await
        .context("could not open the database")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_is_one_word_and_anything_else_is_unknown() {
        let none: [&str; 0] = [];
        assert_eq!(Command::parse(none), Ok(Command::Serve));
        assert_eq!(Command::parse(["migrate"]), Ok(Command::Migrate));
        assert_eq!(Command::parse(["seed"]), Ok(Command::Seed));
        assert_eq!(Command::parse(["routes"]), Ok(Command::Routes));
        assert_eq!(Command::parse(["healthcheck"]), Ok(Command::Healthcheck));
        assert_eq!(Command::parse(["--help"]), Ok(Command::Help));
        let unknown = Command::parse(["sed"]).unwrap_err();
        assert!(
            unknown
                .to_string()
                .starts_with("error: unknown command `sed`")
        );
        assert!(unknown.to_string().contains("routes"));
        assert!(Command::parse(["seed", "now"]).is_err());
    }
}
