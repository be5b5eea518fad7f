//! A rolling deploy and a rollback on PostgreSQL, as `scripts/rolling_deploy.sh` shows
//! them: release 1 serves from two instances; release 2 adds a migration that outlasts
//! the statement timeout and alters `users` while another session holds a lock on it;
//! two release-2 instances start at once (one migrates, retrying past its lock
//! timeout, the other waits), then release 1's instances stop one by one; then release
//! 1's binary comes back on release 2's schema (the rollback) and serves. Requests go
//! to every serving instance throughout, and none may fail. Each step is printed with
//! the seconds since the start.

use std::{
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use tokio::sync::Mutex;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
    db,
};

/// Release 2's migration: longer than the statement timeout the instances run with,
/// then a change to the table every request reads.
const MIGRATION: &str =
    "-- Release 2: slower than DATABASE_STATEMENT_TIMEOUT_SECONDS, as a backfill may be.
select pg_sleep(4);
alter table users add column nickname text;
";
const VERSION: i64 = 99;

pub async fn run(build: Build) -> anyhow::Result<String> {
    let started = Instant::now();
    let say = move |what: &str| println!("  [{:5.1} s] {what}", started.elapsed().as_secs_f64());
    let url = build.fresh_database("rely_rolling")?;
    let env = |name: &str| -> anyhow::Result<Vec<(String, String)>> {
        let mut env = app::env(&url, app::free_port()?, name);
        env.push(("DATABASE_STATEMENT_TIMEOUT_SECONDS".into(), "2".into()));
        env.push(("MIGRATION_LOCK_TIMEOUT_SECONDS".into(), "1".into()));
        // As in production: readiness fails, then the instance stops accepting.
        env.push(("SHUTDOWN_DELAY_SECONDS".into(), "1".into()));
        Ok(env)
    };

    // A server that does not migrate refuses the empty database.
    let mut refused = Server::spawn(&build, "rolling-nomigrate", {
        let mut env = env("rolling-nomigrate")?;
        env.push(("MIGRATE_ON_START".into(), "false".into()));
        env
    })?;
    let refusal = refused.wait_healthy(Duration::from_secs(30)).await;
    check!(
        refusal
            .as_ref()
            .is_err_and(|error| error.to_string().contains("`migrate`")),
        "MIGRATE_ON_START=false on an empty database: {refusal:?}"
    );
    say(
        "release 1 with MIGRATE_ON_START=false on the empty database: refused to start, naming `migrate`",
    );

    let mut a1 = Server::start(&build, "rolling-a1", env("rolling-a1")?).await?;
    let mut a2 = Server::start(&build, "rolling-a2", env("rolling-a2")?).await?;
    say("release 1: a1 and a2 serving");
    let client = client::client();
    let signup = client::signup(&client, &a1.base, "rolling@example.com").await?;
    check!(
        signup.status() == StatusCode::CREATED,
        "signup: {}",
        signup.status()
    );
    let cookie = client::session_cookie(&signup).unwrap_or_default();

    // Every serving instance is asked who the user is, in a loop, until the end.
    let serving = Arc::new(Mutex::new(vec![a1.base.clone(), a2.base.clone()]));
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(ask_who_until(
        client.clone(),
        cookie.clone(),
        serving.clone(),
        stop.clone(),
    ));

    say("building release 2 (one more migration: pg_sleep(4), then alter table users)");
    let release2 =
        build.with_migration("rely-postgres-release2", "0099_nickname.sql", MIGRATION)?;
    say("release 2 built; another session takes a lock on users for 7 s");
    let mut holder = Command::new("psql")
        .args([
            url.as_str(),
            "-qc",
            "begin; lock table users in access share mode; select pg_sleep(7); commit;",
        ])
        .stdout(Stdio::null())
        .spawn()?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    say("release 2: b1 and b2 start at once");
    let mut b1 = Server::spawn(&release2, "rolling-b1", env("rolling-b1")?)?;
    let mut b2 = Server::spawn(&release2, "rolling-b2", env("rolling-b2")?)?;
    b1.wait_healthy(Duration::from_secs(120)).await?;
    say("b1 serving");
    b2.wait_healthy(Duration::from_secs(120)).await?;
    say("b2 serving");
    holder.wait()?;
    serving
        .lock()
        .await
        .extend([b1.base.clone(), b2.base.clone()]);
    for (name, server) in [("b1", &b1), ("b2", &b2)] {
        for line in server
            .log_text()
            .lines()
            .filter(|line| line.contains("migration") || line.contains("another instance"))
        {
            println!("           {name}: {line}");
        }
    }
    let logs = format!("{}{}", b1.log_text(), b2.log_text());
    check!(
        logs.contains("gave up waiting for a lock")
            && logs.contains("another instance is applying"),
        "expected one instance to retry past the lock timeout and the other to wait"
    );

    for (name, server) in [("a1", &mut a1), ("a2", &mut a2)] {
        serving.lock().await.retain(|base| *base != server.base);
        let status = server.terminate()?;
        say(&format!("{name} (release 1) stopped by SIGTERM: {status}"));
    }
    let applied = db::number(
        &url,
        &format!("select count(*) from _sqlx_migrations where version = {VERSION} and success"),
    )?;
    let column = db::number(
        &url,
        "select count(*) from information_schema.columns \
         where table_name = 'users' and column_name = 'nickname'",
    )?;
    check!(
        applied == 1 && column == 1,
        "release 2's migration: {applied} recorded, column {column}"
    );

    // The rollback: release 1's binary on release 2's schema, one instance at a time.
    let migrate = Command::new(&build.binary)
        .arg("migrate")
        .envs(env("rolling-migrate")?)
        .current_dir(&build.project)
        .output()?;
    check!(
        migrate.status.success(),
        "release 1's migrate on release 2's schema: {}\n{}",
        migrate.status,
        String::from_utf8_lossy(&migrate.stderr)
    );
    say("rollback: release 1's `migrate` on release 2's schema exits 0");
    let c1 = Server::start(&build, "rolling-c1", env("rolling-c1")?).await?;
    serving.lock().await.push(c1.base.clone());
    say("rollback: c1 (release 1) serving on release 2's schema");
    for (name, server) in [("b1", &mut b1), ("b2", &mut b2)] {
        serving.lock().await.retain(|base| *base != server.base);
        let status = server.terminate()?;
        say(&format!("{name} (release 2) stopped by SIGTERM: {status}"));
    }
    let warned = c1
        .log_text()
        .lines()
        .find(|line| line.contains("does not know"))
        .map(str::to_owned);
    check!(
        warned.is_some(),
        "c1 did not log the migration it does not know"
    );
    println!("           c1: {}", warned.unwrap_or_default());
    let login = client::login(&client, &c1.base, "rolling@example.com").await?;
    check!(
        login.status() == StatusCode::OK,
        "login through c1: {}",
        login.status()
    );
    say("rollback: a login through c1 succeeds");

    stop.store(true, Ordering::Relaxed);
    let tally = load.await?;
    check!(
        tally.total() > 0 && tally.count("200") == tally.total(),
        "GET /auth/me through every serving instance: {tally}"
    );
    say(&format!(
        "GET /auth/me throughout, on whichever instances served: {tally}"
    ));
    Ok(format!(
        "release 1 refused without migrations when told not to migrate; two release-2 \
         instances started at once with a migration longer than the statement timeout, \
         one retrying past a held lock, the other waiting, both came up; release 1 \
         stopped one by one; release 1's binary migrated and served on release 2's \
         schema; GET /auth/me throughout: {tally}"
    ))
}

/// `GET /auth/me` in turn on each serving instance until `stop`: what each answered.
async fn ask_who_until(
    client: reqwest::Client,
    cookie: String,
    serving: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut turn = 0;
    while !stop.load(Ordering::Relaxed) {
        let base = {
            let serving = serving.lock().await;
            turn += 1;
            serving[turn % serving.len()].clone()
        };
        let outcome = client
            .get(format!("{base}/auth/me"))
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .map(|response| response.status());
        tally.add(&outcome);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tally
}
