//! The app behind a real PgBouncer (the `pgbouncer` on the PATH, as Debian packages
//! it): `DATABASE_POOLER=pgbouncer`, `DATABASE_URL` through PgBouncer, the migrations
//! over `DATABASE_DIRECT_URL`. 16 users at once sign up, log in, and create, read,
//! list and delete notes in their organization; every answer must be the expected one.
//! PgBouncer pools in transaction mode from 1.21 on (`max_prepared_statements`, which
//! sqlx's named statements need), over fewer server connections than the app opens;
//! an older one in session mode (README, "Connections and poolers").

use std::{
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
};

const USERS: usize = 16;
const NOTES: usize = 5;

pub async fn run(build: Build) -> anyhow::Result<String> {
    let version = pgbouncer_version()?;
    // RELIABILITY_PGBOUNCER_MODE=transaction forces it, to see an older one fail.
    let transaction = version >= (1, 21)
        || std::env::var("RELIABILITY_PGBOUNCER_MODE").is_ok_and(|mode| mode == "transaction");
    let mode = if transaction {
        "transaction"
    } else {
        "session"
    };
    let direct = build.fresh_database("rely_bouncer")?;
    // Behind PgBouncer the statement timeout is the role's or the database's.
    crate::db::rows(
        &direct,
        "alter database rely_bouncer set statement_timeout = '30s'",
    )?;
    let port = app::free_port()?;
    let mut bouncer = Bouncer::start(&direct, port, transaction, version >= (1, 21))?;

    let server_url = app::postgres_server();
    let user = server_url
        .trim_start_matches("postgres://")
        .split('@')
        .next()
        .unwrap_or("postgres");
    let through = format!("postgres://{user}@127.0.0.1:{port}/rely_bouncer");
    let mut env = app::env(&through, app::free_port()?, "pgbouncer");
    env.extend([
        ("DATABASE_POOLER".to_owned(), "pgbouncer".to_owned()),
        ("DATABASE_DIRECT_URL".to_owned(), direct.clone()),
        ("DATABASE_MAX_CONNECTIONS".to_owned(), "8".to_owned()),
    ]);
    let server = Server::start(&build, "pgbouncer", env).await?;

    let client = client::client();
    let tasks: Vec<_> = (0..USERS)
        .map(|i| {
            let (client, base) = (client.clone(), server.base.clone());
            tokio::spawn(async move { user_session(&client, &base, i).await })
        })
        .collect();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for task in tasks {
        match task.await? {
            Ok(statuses) => statuses.iter().for_each(|status| tally.add(&Ok(*status))),
            Err(error) => failures.push(format!("{error:#}")),
        }
    }
    let log = server.log_text();
    let statement_errors = log
        .lines()
        .filter(|line| line.contains("prepared statement") || line.contains("unsupported startup"))
        .count();
    bouncer.stop();
    check!(
        failures.is_empty() && statement_errors == 0,
        "through PgBouncer {version:?} ({mode} mode): {} of {USERS} users failed: {:?}; \
         {statement_errors} prepared-statement errors logged",
        failures.len(),
        failures.first()
    );
    check!(
        !log.contains("no statement_timeout behind PgBouncer"),
        "the app warned of no statement timeout though the database sets one"
    );
    Ok(format!(
        "PgBouncer {}.{} in {mode} mode (8 app connections over {} server connections); \
         migrations over the direct URL; {USERS} users at once signed up, logged in and \
         created, read, listed and deleted {NOTES} notes each: {tally}",
        version.0,
        version.1,
        if transaction { 3 } else { 10 }
    ))
}

/// One user's session: sign-up, login, an organization, notes made, read, listed and
/// deleted. The statuses, or the first unexpected one.
async fn user_session(
    client: &reqwest::Client,
    base: &str,
    i: usize,
) -> anyhow::Result<Vec<StatusCode>> {
    let email = format!("bouncer{i}@example.com");
    let user = client::user(client, base, &email).await?;
    let mut statuses = vec![StatusCode::CREATED];
    let login = client::login(client, base, &email).await?.status();
    check!(login == StatusCode::OK, "login of {email}: {login}");
    statuses.push(login);
    let org = client::org(client, base, &user, &format!("Bouncer {i}")).await?;
    let path = format!("/orgs/{org}/notes");
    let mut ids = Vec::new();
    for n in 0..NOTES {
        let body = json!({ "body": format!("note {n} of {email}") });
        let (status, body) = client::post(client, base, &user, &path, body).await?;
        check!(
            status == StatusCode::CREATED,
            "note of {email}: {status} {body}"
        );
        statuses.push(status);
        ids.push(body["id"].as_str().context("an id")?.to_owned());
    }
    let expect = |status: StatusCode, wanted: StatusCode, what: &str| -> anyhow::Result<()> {
        check!(status == wanted, "{what} for {email}: {status}");
        Ok(())
    };
    let list = client
        .get(format!("{base}{path}"))
        .bearer_auth(&user.token)
        .send()
        .await?;
    let status = list.status();
    let body: serde_json::Value = list.json().await.unwrap_or_default();
    let listed = body["items"].as_array().map_or(0, Vec::len);
    check!(
        status == StatusCode::OK && listed == NOTES,
        "list for {email}: {status}, {listed} notes: {body}"
    );
    statuses.push(status);
    for id in &ids {
        let url = format!("{base}{path}/{id}");
        let read = client
            .get(&url)
            .bearer_auth(&user.token)
            .send()
            .await?
            .status();
        expect(read, StatusCode::OK, "read")?;
        let deleted = client
            .delete(&url)
            .bearer_auth(&user.token)
            .send()
            .await?
            .status();
        expect(deleted, StatusCode::NO_CONTENT, "delete")?;
        statuses.extend([read, deleted]);
    }
    Ok(statuses)
}

/// `pgbouncer --version`'s major and minor.
fn pgbouncer_version() -> anyhow::Result<(u32, u32)> {
    let output = Command::new(binary())
        .arg("--version")
        .output()
        .context("pgbouncer is not installed (Debian: apt-get install pgbouncer)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text
        .split_whitespace()
        .nth(1)
        .context("pgbouncer --version says no version")?;
    let mut parts = version
        .split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0));
    Ok((parts.next().unwrap_or(0), parts.next().unwrap_or(0)))
}

/// A PgBouncer on a loopback port, in front of the database of `direct`.
struct Bouncer {
    child: Option<Child>,
    dir: PathBuf,
}

impl Bouncer {
    fn start(
        direct: &str,
        port: u16,
        transaction: bool,
        tracks_statements: bool,
    ) -> anyhow::Result<Self> {
        let rest = direct.trim_start_matches("postgres://");
        let (user, rest) = rest.split_once('@').context("a user in the URL")?;
        let (host_port, database) = rest.split_once('/').context("a database in the URL")?;
        let (host, server_port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
        // PgBouncer will not run as root; as another user it must read its files.
        let dir = std::env::temp_dir().join(format!("rely-pgbouncer-{port}"));
        std::fs::create_dir_all(&dir)?;
        let (mode, pool) = if transaction {
            ("transaction", 3)
        } else {
            ("session", 10)
        };
        let extra = if tracks_statements {
            "max_prepared_statements = 200\n"
        } else {
            ""
        };
        let ini = format!(
            "[databases]\n\
             {database} = host={host} port={server_port} dbname={database}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {auth}\n\
             pool_mode = {mode}\n\
             default_pool_size = {pool}\n\
             max_client_conn = 200\n\
             {extra}",
            auth = dir.join("users.txt").display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), ini)?;
        std::fs::write(dir.join("users.txt"), format!("\"{user}\" \"\"\n"))?;
        let log = std::fs::File::create(app::work().join("pgbouncer-server.log"))?;
        let mut command = Command::new(binary());
        if is_root() {
            Command::new("chmod")
                .args(["-R", "a+rwX"])
                .arg(&dir)
                .status()?;
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("could not start pgbouncer")?;
        let mut bouncer = Self {
            child: Some(child),
            dir,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = bouncer
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bouncer.child = None;
                bail!(
                    "pgbouncer exited with {status}: {}",
                    std::fs::read_to_string(app::work().join("pgbouncer-server.log"))
                        .unwrap_or_default()
                );
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("pgbouncer did not listen on {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(bouncer)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `pgbouncer`, which Debian installs in /usr/sbin, not always on the PATH.
fn binary() -> &'static str {
    if std::path::Path::new("/usr/sbin/pgbouncer").exists() {
        "/usr/sbin/pgbouncer"
    } else {
        "pgbouncer"
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}
