//! `kill -9` at a moment chosen from the clock, 20 times, while clients sign up and
//! write; each time the app restarts on the same database, and was still running when
//! killed (it never crashed by itself). Then: every request answered 201 or was cut by
//! the kill, every cycle stored writes, every write answered 201 is stored, one user per
//! address, every signup's verification mail is queued once and, once the leases the
//! kills left run out, delivered (at least once), and on SQLite `integrity_check` and
//! `foreign_key_check` are clean.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::json;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
    db,
};

const KILLS: usize = 20;

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_kill")?;
    let mut env = app::env(&url, app::free_port()?, "kill");
    // Jobs whose lease a kill left are looked for every second, not every five.
    env.push(("JOB_POLL_SECONDS".into(), "1".into()));
    let mail = app::work().join("mail-kill");
    let _ = std::fs::remove_dir_all(&mail);
    let mut server = Server::start(&build, "kill", env).await?;
    let client = client::client();
    let user = client::user(&client, &server.base, "kill@example.com").await?;
    let org = client::org(&client, &server.base, &user, "Org").await?;

    let mut tally = Tally::default();
    let mut created = BTreeSet::new();
    let mut signed_up = BTreeSet::from([user.email.clone()]);
    let next_email = Arc::new(AtomicUsize::new(0));
    for kill in 0..KILLS {
        let running = Arc::new(AtomicBool::new(true));
        let writers: Vec<_> = (0..16)
            .map(|w| {
                let (client, base, user, running, next_email) = (
                    client.clone(),
                    server.base.clone(),
                    user.clone(),
                    running.clone(),
                    next_email.clone(),
                );
                let path = format!("/orgs/{org}/notes");
                tokio::spawn(async move {
                    let mut notes = Vec::new();
                    let mut signups = Vec::new();
                    while running.load(Ordering::Relaxed) {
                        if w == 0 {
                            let n = next_email.fetch_add(1, Ordering::Relaxed);
                            let email = format!("crash{n}@example.com");
                            let outcome = client::signup(&client, &base, &email).await;
                            signups.push((email, outcome.map(|r| r.status())));
                        } else {
                            let body = json!({ "body": format!("kill {kill} writer {w}") });
                            notes.push(client::post(&client, &base, &user, &path, body).await);
                        }
                    }
                    (notes, signups)
                })
            })
            .collect();
        // A moment from 200 to 1,200 ms, from the clock's nanoseconds.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
        tokio::time::sleep(Duration::from_millis(200 + u64::from(nanos % 1000))).await;
        server.kill()?;
        running.store(false, Ordering::Relaxed);
        let stored_before = created.len();
        for writer in writers {
            let (notes, signups) = writer.await?;
            for outcome in notes {
                created.extend(client::created_id(&outcome));
                tally.add(&outcome.map(|(status, _)| status));
            }
            for (email, outcome) in signups {
                if matches!(&outcome, Ok(status) if status.as_u16() == 201) {
                    signed_up.insert(email);
                }
                tally.add(&outcome);
            }
        }
        check!(
            created.len() > stored_before,
            "cycle {kill}: no write answered 201 before the kill"
        );
        server.restart().await?;
    }

    // The leases that kills left would run out in minutes: end them now, as time would,
    // and wait until the restarted worker has run every job.
    db::rows(
        &url,
        "update jobs set locked_until = null where state = 'pending'",
    )?;
    let draining = Instant::now();
    let mut pending = db::number(&url, "select count(*) from jobs where state = 'pending'")?;
    while pending > 0 && draining.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pending = db::number(&url, "select count(*) from jobs where state = 'pending'")?;
    }

    let rows: BTreeSet<String> = db::rows(
        &url,
        &format!("select {} from notes", db::uuid_hex(&url, "id")),
    )?
    .into_iter()
    .collect();
    let users = db::number(&url, "select count(*) from users")?;
    let addresses = db::number(&url, "select count(distinct email) from users")?;
    let jobs = db::number(&url, "select count(*) from jobs")?;
    let failed_jobs = db::number(&url, "select count(*) from jobs where state = 'failed'")?;
    let done_jobs = db::number(&url, "select count(*) from jobs where state = 'done'")?;
    let recipients = mail_recipients(&mail)?;
    let mails = recipients.len() as i64;
    let addresses_without_mail: Vec<String> = db::rows(&url, "select email from users")?
        .into_iter()
        .filter(|email| !recipients.contains(email))
        .collect();
    let log = server.log_text();
    check!(
        tally.count("201") + tally.count("error") == tally.total(),
        "every answer a 201 or a request cut by a kill: saw {tally}"
    );
    check!(
        !log.contains("panicked"),
        "the app panicked: see {}.log",
        server.name
    );
    check!(
        created.is_subset(&rows),
        "{} writes answered 201 are missing",
        created.difference(&rows).count()
    );
    check!(
        users == addresses,
        "{users} users with {addresses} addresses"
    );
    check!(
        users as usize >= signed_up.len(),
        "{users} users stored, {} signups answered 201",
        signed_up.len()
    );
    check!(
        jobs == users,
        "{jobs} mail jobs for {users} users: one each expected"
    );
    check!(failed_jobs == 0, "{failed_jobs} mail jobs failed");
    check!(
        pending == 0 && done_jobs == jobs,
        "{pending} mail jobs still pending 60 s after the last restart, {done_jobs} of {jobs} done"
    );
    check!(
        addresses_without_mail.is_empty(),
        "no mail reached {} addresses, such as {:?}",
        addresses_without_mail.len(),
        addresses_without_mail.first()
    );
    check!(
        mails >= done_jobs && mails <= done_jobs + KILLS as i64,
        "{mails} mails written for {done_jobs} jobs done"
    );
    let mut integrity = String::from("n/a");
    if build.database == app::Database::Sqlite {
        let check = db::rows(&url, "pragma integrity_check")?;
        let foreign = db::rows(&url, "pragma foreign_key_check")?;
        check!(check == ["ok"], "integrity_check: {check:?}");
        check!(foreign.is_empty(), "foreign_key_check: {foreign:?}");
        integrity = "integrity_check ok, foreign_key_check empty".to_owned();
    }
    Ok(format!(
        "{KILLS} kill -9 under 15 writers and a signup loop, each followed by a restart: \
         {tally}; 201s {} all stored (rows {}); users {users} = addresses; mail jobs {jobs}, \
         all done once the kills' leases ended, none failed; mails written {mails}, every \
         address reached; {integrity}",
        created.len(),
        rows.len()
    ))
}

/// The recipient of every mail written to `dir` (the app writes one `.eml` file each).
fn mail_recipients(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let mut recipients = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        if let Some(to) = text.lines().find_map(|line| line.strip_prefix("To: ")) {
            recipients.push(to.trim().to_owned());
        }
    }
    Ok(recipients)
}
