//! Typed configuration, read once from the environment at start-up.

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use secrecy::SecretString;
use url::Url;

use crate::{billing::plans::Plans, client_ip::IpNet, resources};

/// The database used in development and tests when `DATABASE_URL` is not set.
fn default_database_url() -> String {
    let database = crate::name::DATABASE;
    format!("postgres://postgres@localhost:5432/{database}")
}

/// What production refuses to start without: there a default would silently point at
/// the wrong place.
pub const REQUIRED_IN_PRODUCTION: [&str; 5] = [
    "DATABASE_URL",
    "APP_URL",
    "FRONTEND_URL",
    "SMTP_URL",
    "MAIL_FROM",
];

/// Where the app runs; decides cookie names, log format and which settings are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    /// The environment `APP_ENV` names in the process environment, before the rest of
    /// the configuration is read: what a command that must not run in production checks.
    pub fn from_env() -> Result<Self, ConfigError> {
        let app_env = std::env::var("APP_ENV").ok();
        Self::parse(app_env.as_deref().filter(|value| !value.is_empty()))
    }

    /// The environment `APP_ENV` names; unset means development.
    fn parse(app_env: Option<&str>) -> Result<Self, ConfigError> {
        match app_env.unwrap_or("development") {
            "development" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" => Ok(Self::Production),
            other => Err(ConfigError::Invalid {
                name: "APP_ENV",
                value: other.to_owned(),
                reason: "expected development, test or production".to_owned(),
            }),
        }
    }
}

/// Everything the app reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub bind_addr: SocketAddr,
    /// The public address of the app, without a trailing slash; links in mail start with it.
    pub app_url: String,
    /// The origin of `app_url` (scheme, host and port, as browsers write it in `Origin`).
    pub app_origin: String,
    /// Where mailed links lead, without a trailing slash (`FRONTEND_URL`): the frontend
    /// whose pages complete them. Outside production it defaults to `app_url`, whose
    /// development pages say which API call completes each link (`dev`).
    pub frontend_url: String,
    /// Other origins whose pages may call the app with the browser's cookies, such as a
    /// frontend on its own domain (`CORS_ALLOWED_ORIGINS`, comma-separated).
    pub cors_allowed_origins: Vec<String>,
    /// Whether `/docs` serves the interactive API reference (`API_DOCS`; on by default
    /// outside production).
    pub api_docs: bool,
    /// Where Prometheus metrics are served (`METRICS_ADDR`), apart from the API; none
    /// when unset.
    pub metrics_addr: Option<SocketAddr>,
    /// Where traces are sent over OTLP/HTTP (`OTEL_EXPORTER_OTLP_ENDPOINT`, such as
    /// `http://127.0.0.1:4318`), by an app built with the `otel` feature; none when unset.
    pub otel_endpoint: Option<String>,
    /// The `service.name` of the traces (`OTEL_SERVICE_NAME`, default the package's name).
    pub otel_service_name: String,
    pub database_url: SecretString,
    pub database_max_connections: u32,
    /// How long a request waits for a database connection before it is answered with 503.
    pub database_acquire_timeout: Duration,
    /// Where migrations connect (`DATABASE_DIRECT_URL`): the server itself when
    /// `DATABASE_URL` leads through a pooler, as their session lock needs; unset, they
    /// use `DATABASE_URL`.
    pub database_direct_url: Option<SecretString>,
    /// `DATABASE_POOLER=pgbouncer`: `DATABASE_URL` leads through PgBouncer, which
    /// refuses the startup parameters that set the statement timeout.
    pub database_pgbouncer: bool,
    /// A query running longer than this is cancelled (`DATABASE_STATEMENT_TIMEOUT_SECONDS`;
    /// not migrations, and not behind PgBouncer, where the role's setting applies).
    pub database_statement_timeout: Duration,
    /// A connection is closed and replaced once this old, or once idle this long.
    pub database_max_lifetime: Duration,
    pub database_idle_timeout: Duration,
    /// How long a migration waits for a lock on a table before it gives up and is
    /// retried, so that queries do not queue behind its wait.
    pub migration_lock_timeout: Duration,
    /// Whether serving applies the pending migrations first (`MIGRATE_ON_START`). When
    /// not, `migrate` does, and the server refuses a database that lacks some.
    pub migrate_on_start: bool,
    pub body_limit_bytes: usize,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after login, however much it is used.
    pub session_max_age: Duration,
    /// Where mail is written as `.eml` files outside production.
    pub mail_dir: PathBuf,
    /// The SMTP server mail is sent through in production (`smtps://user:pass@host`).
    pub smtp_url: Option<SecretString>,
    /// The `From` of every mail the app sends.
    pub mail_from: String,
    /// Requests per client IP per minute to sign-up, login, forgot-password and resend.
    pub auth_ip_limit_per_minute: u32,
    /// Failed logins per account per 15 minutes before its logins are throttled.
    pub auth_account_failure_limit: u32,
    /// Take the client IP from `X-Forwarded-For`: only behind a proxy you run.
    pub trust_proxy_headers: bool,
    /// The proxies whose `X-Forwarded-For` is believed (with `trust_proxy_headers`).
    pub trusted_proxies: Vec<IpNet>,
    /// Passwords hashed at once, each on its own thread with 19 MiB: one per core unless set.
    pub password_hash_threads: std::num::NonZeroUsize,
    /// How long a request waits to hash a password before it is answered 503 `busy`.
    pub password_hash_max_wait: Duration,
    /// How long an email verification link works.
    pub email_verification_ttl: Duration,
    /// How long a password reset link works.
    pub password_reset_ttl: Duration,
    /// How long an invitation to an organization can be accepted.
    pub invitation_ttl: Duration,
    /// Organizations one user may create per hour.
    pub orgs_per_user_per_hour: u32,
    /// Invitations one organization may send per hour, and one inviter in it: each
    /// mails an address the inviter chose, with the organization's name in it.
    pub invitations_per_org_per_hour: u32,
    pub invitations_per_inviter_per_hour: u32,
    /// How often the job worker looks for jobs that another instance enqueued or left
    /// unfinished; a job enqueued in this instance wakes it at once.
    pub job_poll_interval: Duration,
    /// Attempts at a job before it is marked failed.
    pub job_max_attempts: u32,
    /// The wait before a failed job's first retry; it doubles with each further failure.
    pub job_first_retry: Duration,
    /// How often ended sessions, tokens, rate-limit windows and old jobs are deleted.
    pub cleanup_interval: Duration,
    /// After SIGTERM or Ctrl-C, how long readiness answers 503 while the server still
    /// accepts requests, so that load balancers stop sending any before it stops.
    pub shutdown_delay: Duration,
    /// The whole shutdown, counted from the signal: the delay, the requests in flight
    /// and the job in hand end within it; what is still running then is abandoned.
    pub shutdown_timeout: Duration,
    pub billing: BillingConfig,
}

/// Plans and Stripe. Nothing here is required: without a secret key, checkout and the
/// portal answer 503 `billing_not_configured` and everyone is on the free plan.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// The plans of `PLANS_FILE`, with their prices from `STRIPE_PRICE_<PLAN>`.
    pub plans: Plans,
    pub stripe_secret_key: Option<SecretString>,
    /// Where Stripe calls go; tests point it at a local fake.
    pub stripe_api_base: String,
    /// `STRIPE_WEBHOOK_SECRET`, comma-separated while rolling to a new secret.
    pub webhook_secrets: Vec<SecretString>,
    /// Days `past_due` keeps the paid plan after the first unsettled failed payment,
    /// while Stripe retries.
    pub grace_days: u32,
}

/// A setting that is missing or does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required when APP_ENV=production")]
    RequiredInProduction { name: &'static str },
    #[error("{name}_FILE={path:?} cannot be read: {reason}")]
    SecretFile {
        name: &'static str,
        path: String,
        reason: String,
    },
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("{name} is required when APP_ENV=production and STRIPE_SECRET_KEY is set")]
    RequiredWithStripe { name: String },
    #[error(transparent)]
    Plans(#[from] crate::billing::plans::PlansError),
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the configuration from the given variables; unset ones take their defaults.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self, ConfigError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars = Vars(
            vars.into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        )
        .with_secret_files()?;
        let environment = Environment::parse(vars.get("APP_ENV"))?;
        let production = environment == Environment::Production;
        let required = |name: &'static str, default: &str| {
            debug_assert!(
                REQUIRED_IN_PRODUCTION.contains(&name),
                "{name} is not listed"
            );
            match vars.get(name) {
                Some(value) => Ok(value.to_owned()),
                None if production => Err(ConfigError::RequiredInProduction { name }),
                None => Ok(default.to_owned()),
            }
        };

        let app_url = required("APP_URL", "http://localhost:3000")?;
        let (app_url, app_origin) =
            parse_app_url(&app_url).map_err(|reason| ConfigError::Invalid {
                name: "APP_URL",
                value: app_url.clone(),
                reason,
            })?;
        // The production session cookie is `__Host-` and `Secure`: over http, browsers
        // would drop it and every sign-in would silently fail.
        if production && !app_origin.starts_with("https://") {
            return Err(ConfigError::Invalid {
                name: "APP_URL",
                value: app_url,
                reason: "production needs an https URL: browsers keep its Secure session \
                         cookie only over https"
                    .to_owned(),
            });
        }

        // In production the API serves no pages, so links must lead to a frontend.
        let frontend_url = required("FRONTEND_URL", &app_url)?;
        let (frontend_url, _) =
            parse_app_url(&frontend_url).map_err(|reason| ConfigError::Invalid {
                name: "FRONTEND_URL",
                value: frontend_url.clone(),
                reason,
            })?;

        let shutdown_delay = Duration::from_secs(
            vars.parse("SHUTDOWN_DELAY_SECONDS", if production { "5" } else { "0" })?,
        );
        let shutdown_timeout = Duration::from_secs(vars.parse("SHUTDOWN_TIMEOUT_SECONDS", "25")?);
        // The timeout includes the delay: none left would abandon every request in flight.
        if shutdown_timeout <= shutdown_delay {
            return Err(ConfigError::Invalid {
                name: "SHUTDOWN_TIMEOUT_SECONDS",
                value: shutdown_timeout.as_secs().to_string(),
                reason: format!(
                    "it includes SHUTDOWN_DELAY_SECONDS ({}), so it must be more",
                    shutdown_delay.as_secs()
                ),
            });
        }

        let database_pgbouncer = match vars.get("DATABASE_POOLER").unwrap_or("none") {
            "none" => false,
            "pgbouncer" => true,
            other => {
                return Err(ConfigError::Invalid {
                    name: "DATABASE_POOLER",
                    value: other.to_owned(),
                    reason: "expected none or pgbouncer".to_owned(),
                });
            }
        };
        let database_direct_url: Option<SecretString> = vars
            .get("DATABASE_DIRECT_URL")
            .map(|url| url.to_owned().into());
        // Through PgBouncer's transaction pooling, the migrations' session lock would be
        // held by whichever connection PgBouncer happened to lend.
        if database_pgbouncer && database_direct_url.is_none() {
            return Err(ConfigError::Invalid {
                name: "DATABASE_POOLER",
                value: "pgbouncer".to_owned(),
                reason: "set DATABASE_DIRECT_URL too: migrations connect to the server \
                         itself, not through PgBouncer"
                    .to_owned(),
            });
        }

        Ok(Self {
            environment,
            bind_addr: bind_addr(&vars)?,
            app_url,
            app_origin,
            frontend_url,
            cors_allowed_origins: cors_allowed_origins(vars.get("CORS_ALLOWED_ORIGINS"))?,
            api_docs: vars.parse("API_DOCS", if production { "false" } else { "true" })?,
            metrics_addr: vars.optional("METRICS_ADDR")?,
            otel_endpoint: vars.get("OTEL_EXPORTER_OTLP_ENDPOINT").map(str::to_owned),
            otel_service_name: vars
                .get("OTEL_SERVICE_NAME")
                .unwrap_or(env!("CARGO_PKG_NAME"))
                .to_owned(),
            database_url: required("DATABASE_URL", &default_database_url())?.into(),
            database_max_connections: vars.parse("DATABASE_MAX_CONNECTIONS", "10")?,
            database_acquire_timeout: Duration::from_secs(
                vars.parse("DATABASE_ACQUIRE_TIMEOUT_SECONDS", "3")?,
            ),
            database_direct_url,
            database_pgbouncer,
            database_statement_timeout: Duration::from_secs(
                vars.parse("DATABASE_STATEMENT_TIMEOUT_SECONDS", "30")?,
            ),
            database_max_lifetime: Duration::from_secs(
                vars.parse::<std::num::NonZeroU64>("DATABASE_MAX_LIFETIME_SECONDS", "1800")?
                    .get(),
            ),
            database_idle_timeout: Duration::from_secs(
                vars.parse::<std::num::NonZeroU64>("DATABASE_IDLE_TIMEOUT_SECONDS", "600")?
                    .get(),
            ),
            migration_lock_timeout: Duration::from_secs(
                vars.parse::<std::num::NonZeroU64>("MIGRATION_LOCK_TIMEOUT_SECONDS", "5")?
                    .get(),
            ),
            migrate_on_start: vars.parse("MIGRATE_ON_START", "true")?,
            body_limit_bytes: vars.parse("BODY_LIMIT_BYTES", "1048576")?,
            session_idle: Duration::from_secs(
                60 * vars.parse::<u64>("SESSION_IDLE_MINUTES", "30")?,
            ),
            session_max_age: Duration::from_secs(
                3600 * vars.parse::<u64>("SESSION_MAX_HOURS", "12")?,
            ),
            mail_dir: vars.parse("MAIL_DIR", "tmp/mail")?,
            smtp_url: match vars.get("SMTP_URL") {
                Some(url) => Some(url.to_owned().into()),
                // Outside production, mail is written into MAIL_DIR instead.
                None => required("SMTP_URL", "").map(|_| None)?,
            },
            mail_from: required(
                "MAIL_FROM",
                &format!("{} <no-reply@localhost>", crate::name::TITLE),
            )?,
            auth_ip_limit_per_minute: vars.parse("AUTH_IP_LIMIT_PER_MINUTE", "30")?,
            auth_account_failure_limit: vars.parse("AUTH_ACCOUNT_FAILURE_LIMIT", "10")?,
            trust_proxy_headers: vars.parse("TRUST_PROXY_HEADERS", "false")?,
            trusted_proxies: vars.list("TRUSTED_PROXIES", "127.0.0.1/32,::1/128")?,
            password_hash_threads: vars.parse(
                "PASSWORD_HASH_THREADS",
                &std::thread::available_parallelism()
                    .map_or(1, std::num::NonZeroUsize::get)
                    .to_string(),
            )?,
            password_hash_max_wait: Duration::from_millis(
                vars.parse("PASSWORD_HASH_MAX_WAIT_MS", "5000")?,
            ),
            email_verification_ttl: Duration::from_secs(
                3600 * vars.parse::<u64>("EMAIL_VERIFICATION_HOURS", "24")?,
            ),
            password_reset_ttl: Duration::from_secs(
                60 * vars.parse::<u64>("PASSWORD_RESET_MINUTES", "60")?,
            ),
            // Zero would make every invitation expire as it is made.
            invitation_ttl: Duration::from_secs(
                24 * 3600
                    * vars
                        .parse::<std::num::NonZeroU64>("INVITATION_DAYS", "7")?
                        .get(),
            ),
            orgs_per_user_per_hour: vars.parse("ORGS_PER_USER_PER_HOUR", "10")?,
            invitations_per_org_per_hour: vars.parse("INVITATIONS_PER_ORG_PER_HOUR", "50")?,
            invitations_per_inviter_per_hour: vars
                .parse("INVITATIONS_PER_INVITER_PER_HOUR", "20")?,
            // Zero would make the worker or the cleanup spin, or never try a job.
            job_poll_interval: Duration::from_secs(
                vars.parse::<std::num::NonZeroU64>("JOB_POLL_SECONDS", "5")?
                    .get(),
            ),
            job_max_attempts: vars
                .parse::<std::num::NonZeroU32>("JOB_MAX_ATTEMPTS", "10")?
                .get(),
            job_first_retry: Duration::from_millis(
                vars.parse::<std::num::NonZeroU64>("JOB_FIRST_RETRY_MILLISECONDS", "30000")?
                    .get(),
            ),
            cleanup_interval: Duration::from_secs(
                60 * vars
                    .parse::<std::num::NonZeroU64>("CLEANUP_INTERVAL_MINUTES", "60")?
                    .get(),
            ),
            shutdown_delay,
            shutdown_timeout,
            billing: billing_config(&vars, production)?,
        })
    }

    /// Whether a page at `origin` (an `Origin` header) may act on the app: the app's own
    /// origin, or one of `CORS_ALLOWED_ORIGINS`. Exact, but case-insensitive as hosts are.
    pub fn trusts_origin(&self, origin: &[u8]) -> bool {
        std::iter::once(&self.app_origin)
            .chain(&self.cors_allowed_origins)
            .any(|trusted| trusted.as_bytes().eq_ignore_ascii_case(origin))
    }

    /// Whether the development pages are served (`dev`): never in production, and
    /// elsewhere only on a loopback address, since `/dev/mail` shows live tokens to
    /// whoever asks; a staging server left on the default `APP_ENV` keeps them closed.
    pub fn serves_dev_pages(&self) -> bool {
        self.environment != Environment::Production && self.bind_addr.ip().is_loopback()
    }

    /// Whether browsers reach the app over HTTPS, so it may ask them to always do so.
    pub fn is_https(&self) -> bool {
        self.app_origin.starts_with("https://")
    }

    /// The name of the session cookie: `__Host-` prefixed (and so `Secure`) in production.
    pub fn session_cookie_name(&self) -> &'static str {
        match self.environment {
            Environment::Production => "__Host-session",
            Environment::Development | Environment::Test => "session",
        }
    }
}

/// The address the server listens on, read from the environment as [`Config::from_env`]
/// reads it, without the rest of the configuration: what `healthcheck` connects to.
pub fn bind_addr_from_env() -> Result<SocketAddr, ConfigError> {
    bind_addr(&Vars(std::env::vars().collect()))
}

/// `BIND_ADDR`, with its port replaced by `PORT` when that is set, as platforms such as
/// Render, Heroku and Cloud Run set it.
fn bind_addr(vars: &Vars) -> Result<SocketAddr, ConfigError> {
    let mut address: SocketAddr = vars.parse("BIND_ADDR", "127.0.0.1:3000")?;
    if vars.get("PORT").is_some() {
        address.set_port(vars.parse("PORT", "0")?);
    }
    Ok(address)
}

fn billing_config(vars: &Vars, production: bool) -> Result<BillingConfig, ConfigError> {
    let plans_file = vars.get("PLANS_FILE").unwrap_or("config/plans.toml");
    let plans = Plans::load(
        std::path::Path::new(plans_file),
        resources::TABLES,
        |variable| vars.get(variable).map(str::to_owned),
    )?;
    let stripe_api_base = vars
        .get("STRIPE_API_BASE")
        .unwrap_or("https://api.stripe.com");
    Url::parse(stripe_api_base).map_err(|error| ConfigError::Invalid {
        name: "STRIPE_API_BASE",
        value: stripe_api_base.to_owned(),
        reason: error.to_string(),
    })?;
    // With a key, checkout works; without the webhook secret or a plan's price, what it
    // sells would never reach the app, or fail at a customer's click.
    if production && vars.get("STRIPE_SECRET_KEY").is_some() {
        let prices = plans.iter().filter(|plan| !plan.is_free());
        let mut needed = std::iter::once("STRIPE_WEBHOOK_SECRET".to_owned())
            .chain(prices.map(|plan| plan.price_variable()));
        if let Some(missing) = needed.find(|name| vars.get(name).is_none()) {
            return Err(ConfigError::RequiredWithStripe { name: missing });
        }
    }
    Ok(BillingConfig {
        plans,
        stripe_secret_key: vars
            .get("STRIPE_SECRET_KEY")
            .map(|key| key.to_owned().into()),
        stripe_api_base: stripe_api_base.to_owned(),
        webhook_secrets: vars
            .get("STRIPE_WEBHOOK_SECRET")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .map(|secret| secret.to_owned().into())
            .collect(),
        grace_days: vars.parse("BILLING_GRACE_DAYS", "7")?,
    })
}

/// `APP_URL` as links use it (no trailing slash) and its origin; an http(s) URL with a
/// host and nothing after its path.
fn parse_app_url(raw: &str) -> Result<(String, String), String> {
    let url = Url::parse(raw)
        .map_err(|error| format!("{error}; expected a URL such as https://app.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(
            "expected an http or https URL with a host, such as https://app.example.com".to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err("expected no user, query or fragment".to_owned());
    }
    let origin = url.origin().ascii_serialization();
    Ok((url.as_str().trim_end_matches('/').to_owned(), origin))
}

/// `CORS_ALLOWED_ORIGINS`: each an origin as browsers write it (`https://app.example.com`,
/// no path); never `*`, since these origins get the browser's cookies.
fn cors_allowed_origins(raw: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "CORS_ALLOWED_ORIGINS",
        value: raw.unwrap_or_default().to_owned(),
        reason,
    };
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let url = Url::parse(item).map_err(|error| invalid(format!("{item}: {error}")))?;
            let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
            if !matches!(url.scheme(), "http" | "https") || !url.has_host() || !bare {
                return Err(invalid(format!(
                    "{item}: expected an origin such as https://app.example.com, without a path"
                )));
            }
            Ok(url.origin().ascii_serialization())
        })
        .collect()
}

/// The environment as read, with typed look-ups.
struct Vars(HashMap<String, String>);

/// The settings that may instead be read from the file `<NAME>_FILE` names, as Docker
/// and Kubernetes mount secrets.
const SECRETS: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_DIRECT_URL",
    "SMTP_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
];

impl Vars {
    /// Reads each secret given as `<NAME>_FILE` into `<NAME>`, without the file's
    /// trailing newline. Both set is refused: which one is meant cannot be known.
    fn with_secret_files(mut self) -> Result<Self, ConfigError> {
        for &name in SECRETS {
            let Some(path) = self.get(&format!("{name}_FILE")).map(str::to_owned) else {
                continue;
            };
            let file_error = |reason: String| ConfigError::SecretFile {
                name,
                path: path.clone(),
                reason,
            };
            if self.get(name).is_some() {
                return Err(file_error(format!("{name} is set too; set only one")));
            }
            let value =
                std::fs::read_to_string(&path).map_err(|error| file_error(error.to_string()))?;
            self.0.insert(
                name.to_owned(),
                value.trim_end_matches(['\n', '\r']).to_owned(),
            );
        }
        Ok(self)
    }

    /// The value of `name`, treating an empty value as unset.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// A comma-separated list, each item parsed.
    fn list<T>(&self, name: &'static str, default: &str) -> Result<Vec<T>, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let value = self.get(name).unwrap_or(default);
        value
            .split(',')
            .filter(|item| !item.trim().is_empty())
            .map(|item| {
                item.trim()
                    .parse()
                    .map_err(|error: T::Err| ConfigError::Invalid {
                        name,
                        value: value.to_owned(),
                        reason: error.to_string(),
                    })
            })
            .collect()
    }

    /// The value of `name` parsed, or `None` when it is unset.
    fn optional<T>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|value| self.parse(name, value))
            .transpose()
    }

    fn parse<T>(&self, name: &'static str, default: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let value = self.get(name).unwrap_or(default);
        value.parse().map_err(|error: T::Err| ConfigError::Invalid {
            name,
            value: value.to_owned(),
            reason: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_suit_local_development() {
        let config = Config::from_vars::<&str, &str>([]).unwrap();
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.session_idle, Duration::from_secs(30 * 60));
        assert_eq!(config.session_cookie_name(), "session");
        assert!(config.api_docs);
        assert_eq!(config.shutdown_delay, Duration::ZERO);
        assert_eq!(config.shutdown_timeout, Duration::from_secs(25));
        assert!(config.migrate_on_start);
    }

    #[test]
    fn metrics_are_served_only_where_metrics_addr_says() {
        let config = Config::from_vars::<&str, &str>([]).unwrap();
        assert_eq!(config.metrics_addr, None);
        let config = Config::from_vars([("METRICS_ADDR", "0.0.0.0:9090")]).unwrap();
        assert_eq!(config.metrics_addr, Some("0.0.0.0:9090".parse().unwrap()));
        assert!(Config::from_vars([("METRICS_ADDR", "9090")]).is_err());
    }

    #[test]
    fn traces_are_sent_only_where_the_otlp_endpoint_says() {
        let config = Config::from_vars::<&str, &str>([]).unwrap();
        assert_eq!(config.otel_endpoint, None);
        assert_eq!(config.otel_service_name, env!("CARGO_PKG_NAME"));
        let config = Config::from_vars([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_SERVICE_NAME", "api"),
        ])
        .unwrap();
        let endpoint = config.otel_endpoint.as_deref();
        assert_eq!(endpoint, Some("http://collector:4318"));
        assert_eq!(config.otel_service_name, "api");
    }

    #[test]
    fn migrating_on_start_can_be_turned_off() {
        let config = Config::from_vars([("MIGRATE_ON_START", "false")]).unwrap();
        assert!(!config.migrate_on_start);
        let error = Config::from_vars([("MIGRATE_ON_START", "no")]).unwrap_err();
        assert!(
            error.to_string().starts_with("MIGRATE_ON_START="),
            "{error}"
        );
    }

    #[test]
    fn pgbouncer_needs_a_direct_url_for_the_migrations() {
        let config = Config::from_vars::<&str, &str>([]).unwrap();
        assert!(!config.database_pgbouncer);
        assert!(config.database_direct_url.is_none());
        assert_eq!(config.database_statement_timeout, Duration::from_secs(30));

        let error = Config::from_vars([("DATABASE_POOLER", "pgbouncer")]).unwrap_err();
        assert!(error.to_string().contains("DATABASE_DIRECT_URL"), "{error}");
        let config = Config::from_vars([
            ("DATABASE_POOLER", "pgbouncer"),
            ("DATABASE_DIRECT_URL", "postgres://db.internal/app"),
        ])
        .unwrap();
        assert!(config.database_pgbouncer);
        let error = Config::from_vars([("DATABASE_POOLER", "pgpool")]).unwrap_err();
        assert!(error.to_string().starts_with("DATABASE_POOLER="), "{error}");
    }

    #[test]
    fn connection_lifetimes_and_the_migration_lock_timeout_are_read_in_seconds() {
        let config = Config::from_vars([
            ("DATABASE_MAX_LIFETIME_SECONDS", "300"),
            ("DATABASE_IDLE_TIMEOUT_SECONDS", "60"),
            ("MIGRATION_LOCK_TIMEOUT_SECONDS", "2"),
        ])
        .unwrap();
        assert_eq!(config.database_max_lifetime, Duration::from_secs(300));
        assert_eq!(config.database_idle_timeout, Duration::from_secs(60));
        assert_eq!(config.migration_lock_timeout, Duration::from_secs(2));
        for name in [
            "DATABASE_MAX_LIFETIME_SECONDS",
            "DATABASE_IDLE_TIMEOUT_SECONDS",
            "MIGRATION_LOCK_TIMEOUT_SECONDS",
        ] {
            let error = Config::from_vars([(name, "0")]).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
    }

    #[test]
    fn billing_is_optional_and_webhook_secrets_are_a_list() {
        let config = Config::from_vars::<&str, &str>([]).unwrap();
        assert!(config.billing.stripe_secret_key.is_none());
        assert!(config.billing.webhook_secrets.is_empty());
        assert_eq!(config.billing.plans.free().id, "free");

        let config = Config::from_vars([
            ("STRIPE_WEBHOOK_SECRET", "whsec_old, whsec_new"),
            ("STRIPE_PRICE_PRO", "price_123"),
        ])
        .unwrap();
        assert_eq!(config.billing.webhook_secrets.len(), 2);
        let pro = config.billing.plans.get("pro").unwrap();
        assert_eq!(pro.price_id.as_deref(), Some("price_123"));
    }

    #[test]
    fn production_with_a_stripe_key_needs_the_webhook_secret_and_every_price() {
        let mut vars: Vec<(String, String)> = PRODUCTION
            .iter()
            .chain(&[("STRIPE_SECRET_KEY", "sk_live_x")])
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let error = Config::from_vars(vars.clone()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("STRIPE_WEBHOOK_SECRET is required"),
            "{error}"
        );

        vars.push(("STRIPE_WEBHOOK_SECRET".into(), "whsec_x".into()));
        let paid: Vec<String> = Config::from_vars::<&str, &str>([])
            .unwrap()
            .billing
            .plans
            .iter()
            .filter(|plan| !plan.is_free())
            .map(|plan| plan.price_variable())
            .collect();
        assert!(!paid.is_empty());
        for price in &paid {
            let error = Config::from_vars(vars.clone()).unwrap_err();
            assert!(error.to_string().starts_with(price.as_str()), "{error}");
            vars.push((price.clone(), format!("price_{price}")));
        }
        Config::from_vars(vars).unwrap();
    }

    #[test]
    fn a_missing_plans_file_stops_start_up_naming_it() {
        let error = Config::from_vars([("PLANS_FILE", "config/missing.toml")]).unwrap_err();
        assert!(error.to_string().contains("config/missing.toml"), "{error}");
    }

    /// What production requires, and nothing more.
    const PRODUCTION: [(&str, &str); 6] = [
        ("APP_ENV", "production"),
        ("APP_URL", "https://api.a.example"),
        ("FRONTEND_URL", "https://a.example"),
        ("DATABASE_URL", "postgres://db.internal/app"),
        ("MAIL_FROM", "Acme <hello@a.example>"),
        ("SMTP_URL", "smtps://user:secret@smtp.a.example"),
    ];

    #[test]
    fn production_refuses_to_start_without_its_secrets() {
        let vars = PRODUCTION;
        let config = Config::from_vars(vars).unwrap();
        // No API reference in production unless API_DOCS asks for one.
        assert!(!config.api_docs);
        // Load balancers get time to see readiness fail before the server stops accepting.
        assert_eq!(config.shutdown_delay, Duration::from_secs(5));
        for missing in REQUIRED_IN_PRODUCTION {
            let without = vars.iter().filter(|(name, _)| *name != missing).copied();
            let error = Config::from_vars(without).unwrap_err();
            assert!(
                matches!(error, ConfigError::RequiredInProduction { name } if name == missing),
                "{error}"
            );
        }
    }

    #[test]
    fn app_url_is_parsed_and_reduced_to_its_origin_for_the_origin_check() {
        let config = Config::from_vars([("APP_URL", "https://App.Example.com/console/")]).unwrap();
        assert_eq!(config.app_url, "https://app.example.com/console");
        assert_eq!(config.app_origin, "https://app.example.com");
        assert!(config.is_https());
        let config = Config::from_vars([("APP_URL", "http://localhost:3000")]).unwrap();
        assert_eq!(config.app_origin, "http://localhost:3000");
        assert!(!config.is_https());
        let config = Config::from_vars([("APP_URL", "https://app.example.com:443")]).unwrap();
        assert_eq!(
            config.app_origin, "https://app.example.com",
            "default port dropped"
        );
    }

    #[test]
    fn mailed_links_lead_to_the_frontend_url_or_by_default_to_the_app() {
        let config = Config::from_vars([("APP_URL", "https://api.example.com")]).unwrap();
        assert_eq!(config.frontend_url, "https://api.example.com");
        let config = Config::from_vars([
            ("APP_URL", "https://api.example.com"),
            ("FRONTEND_URL", "https://example.com/app/"),
        ])
        .unwrap();
        assert_eq!(config.frontend_url, "https://example.com/app");
        let error = Config::from_vars([("FRONTEND_URL", "example.com")]).unwrap_err();
        assert!(error.to_string().contains("FRONTEND_URL"), "{error}");
    }

    #[test]
    fn cors_origins_are_exact_origins_and_trusted_beside_the_apps_own() {
        let config = Config::from_vars([
            ("APP_URL", "https://api.example.com"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://App.Example.com, http://localhost:5173",
            ),
        ])
        .unwrap();
        assert_eq!(
            config.cors_allowed_origins,
            ["https://app.example.com", "http://localhost:5173"]
        );
        assert!(config.trusts_origin(b"https://api.example.com"));
        assert!(config.trusts_origin(b"https://app.example.com"));
        assert!(config.trusts_origin(b"http://localhost:5173"));
        assert!(!config.trusts_origin(b"https://evil.example.com"));
        assert!(!config.trusts_origin(b"http://app.example.com"));
        assert!(!config.trusts_origin(b"null"));
        let not_origins = ["*", "https://a.example/x", "a.example", "ftp://a.b"];
        for bad in not_origins {
            let error = Config::from_vars([("CORS_ALLOWED_ORIGINS", bad)]).unwrap_err();
            assert!(
                error.to_string().starts_with("CORS_ALLOWED_ORIGINS="),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn production_refuses_an_http_app_url() {
        let vars = PRODUCTION.map(|(name, value)| match name {
            "APP_URL" => (name, "http://api.a.example"),
            _ => (name, value),
        });
        let error = Config::from_vars(vars).unwrap_err();
        assert!(
            error.to_string().contains("production needs an https URL"),
            "{error}"
        );
        // Elsewhere http is fine: development serves on localhost.
        Config::from_vars([("APP_URL", "http://api.a.example")]).unwrap();
    }

    #[test]
    fn a_secret_may_be_read_from_the_file_its_file_variable_names() {
        use secrecy::ExposeSecret;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("database_url");
        std::fs::write(&path, "postgres://db.internal/app\n").unwrap();
        let file = path.to_str().unwrap();

        let config = Config::from_vars([("DATABASE_URL_FILE", file)]).unwrap();
        assert_eq!(
            config.database_url.expose_secret(),
            "postgres://db.internal/app"
        );

        let both = [
            ("DATABASE_URL_FILE", file),
            ("DATABASE_URL", "postgres://x/y"),
        ];
        let error = Config::from_vars(both).unwrap_err();
        assert!(
            error.to_string().starts_with("DATABASE_URL_FILE="),
            "{error}"
        );
        let missing = dir.path().join("missing");
        let error = Config::from_vars([("SMTP_URL_FILE", missing.to_str().unwrap())]).unwrap_err();
        assert!(error.to_string().starts_with("SMTP_URL_FILE="), "{error}");
    }

    #[test]
    fn port_replaces_the_port_of_bind_addr() {
        let config = Config::from_vars([("BIND_ADDR", "0.0.0.0:3000"), ("PORT", "10000")]).unwrap();
        assert_eq!(config.bind_addr, "0.0.0.0:10000".parse().unwrap());
        let config = Config::from_vars([("PORT", "8080")]).unwrap();
        assert_eq!(config.bind_addr, "127.0.0.1:8080".parse().unwrap());
        let error = Config::from_vars([("PORT", "http")]).unwrap_err();
        assert!(error.to_string().starts_with("PORT="), "{error}");
    }

    #[test]
    fn an_invalid_app_url_stops_start_up_naming_the_variable() {
        for bad in [
            "app.example.com",
            "ftp://app.example.com",
            "https://",
            "https://a.example/?x=1",
            "http://user@a.example",
        ] {
            let error = Config::from_vars([("APP_URL", bad)]).unwrap_err();
            assert!(error.to_string().starts_with("APP_URL="), "{bad}: {error}");
        }
    }

    #[test]
    fn trusted_proxies_are_a_list_of_blocks() {
        let config = Config::from_vars([("TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8")]).unwrap();
        assert_eq!(config.trusted_proxies.len(), 2);
        let error = Config::from_vars([("TRUSTED_PROXIES", "10.0.0.0/8,nonsense")]).unwrap_err();
        assert!(error.to_string().starts_with("TRUSTED_PROXIES="), "{error}");
        assert_eq!(
            Config::from_vars::<&str, &str>([])
                .unwrap()
                .trusted_proxies
                .len(),
            2
        );
    }

    #[test]
    fn a_malformed_number_names_the_variable() {
        let error = Config::from_vars([("SESSION_IDLE_MINUTES", "soon")]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("SESSION_IDLE_MINUTES=\"soon\""),
            "{error}"
        );
    }

    #[test]
    fn background_intervals_and_attempts_of_zero_are_refused() {
        for name in [
            "JOB_POLL_SECONDS",
            "JOB_MAX_ATTEMPTS",
            "JOB_FIRST_RETRY_MILLISECONDS",
            "CLEANUP_INTERVAL_MINUTES",
        ] {
            let error = Config::from_vars([(name, "0")]).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
    }

    #[test]
    fn the_shutdown_delay_and_timeout_are_read_in_seconds() {
        let config = Config::from_vars([
            ("SHUTDOWN_DELAY_SECONDS", "10"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "50"),
        ])
        .unwrap();
        assert_eq!(config.shutdown_delay, Duration::from_secs(10));
        assert_eq!(config.shutdown_timeout, Duration::from_secs(50));
    }

    #[test]
    fn shutdown_settings_that_do_not_parse_or_leave_no_time_to_drain_are_refused() {
        for (vars, named) in [
            (
                [("SHUTDOWN_DELAY_SECONDS", "soon"), ("APP_ENV", "test")],
                "SHUTDOWN_DELAY_SECONDS=\"soon\"",
            ),
            (
                [("SHUTDOWN_TIMEOUT_SECONDS", "-1"), ("APP_ENV", "test")],
                "SHUTDOWN_TIMEOUT_SECONDS=\"-1\"",
            ),
            (
                [("SHUTDOWN_TIMEOUT_SECONDS", "0"), ("APP_ENV", "test")],
                "SHUTDOWN_TIMEOUT_SECONDS=\"0\"",
            ),
            (
                [
                    ("SHUTDOWN_DELAY_SECONDS", "30"),
                    ("SHUTDOWN_TIMEOUT_SECONDS", "30"),
                ],
                "SHUTDOWN_TIMEOUT_SECONDS=\"30\"",
            ),
        ] {
            let error = Config::from_vars(vars).unwrap_err();
            assert!(error.to_string().starts_with(named), "{error}");
        }
        let error = Config::from_vars([("SHUTDOWN_DELAY_SECONDS", "30")]).unwrap_err();
        assert!(
            error.to_string().contains("SHUTDOWN_DELAY_SECONDS (30)"),
            "{error}"
        );
    }
}
