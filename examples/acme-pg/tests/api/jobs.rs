//! The job worker: the outbox is transactional, failures are retried and then given
//! up, abandoned jobs are picked up again, several instances share the work, and a
//! shutdown stops the worker by its deadline.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::{net::TcpListener, sync::oneshot};
use uuid::Uuid;

use app::{
    AppState,
    config::Config,
    db::{self, DbPool},
    jobs::{self, Job},
    mail::Mail,
};

use crate::common::{reopen, spawn_app, spawn_app_until, spawn_app_with};

const SUBJECT: &str = "Hello from a job";

fn mail_to(to: &str) -> Job {
    Job::SendMail(Mail::notice(to, SUBJECT, "Sent by the job worker."))
}

/// Enqueues `job` in a transaction of its own, as a handler would, and returns its id.
async fn enqueue(db: &DbPool, job: Job) -> Uuid {
    let mut tx = db::begin_write(db).await.unwrap();
    let id = jobs::enqueue(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// A job's state and attempts.
async fn job_state(db: &DbPool, id: Uuid) -> (String, i32) {
    sqlx::query_as("select state, attempts from jobs where id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_mail_enqueued_in_a_transaction_that_rolls_back_is_never_sent(db: DbPool) {
    let app = spawn_app(db).await;

    let mut rolled_back = db::begin_write(&app.db).await.unwrap();
    jobs::enqueue(&mut rolled_back, mail_to("lost@example.com"))
        .await
        .unwrap();
    rolled_back.rollback().await.unwrap();
    app.state.jobs.wake();
    enqueue(&app.db, mail_to("kept@example.com")).await;
    app.state.jobs.wake();

    app.outbox.wait_for("kept@example.com", SUBJECT, 1).await;
    app.wait_for_jobs().await;
    assert!(app.outbox.messages_to("lost@example.com", "").is_empty());
    assert_eq!(app.count("jobs").await, 1);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_failing_job_is_retried_with_doubling_waits_then_marked_failed(db: DbPool) {
    let app = spawn_app_with(
        db,
        &[
            ("JOB_MAX_ATTEMPTS", "3"),
            ("JOB_FIRST_RETRY_MILLISECONDS", "300"),
        ],
    )
    .await;
    // The mailer refuses this recipient every time.
    let id = enqueue(&app.db, mail_to("not an address")).await;
    app.state.jobs.wake();

    let deadline = Instant::now() + Duration::from_secs(10);
    while job_state(&app.db, id).await.0 != "failed" {
        assert!(Instant::now() < deadline, "the job is not marked failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let (attempts, last_error, created_at, run_at, finished_at): (
        i32,
        String,
        OffsetDateTime,
        OffsetDateTime,
        Option<OffsetDateTime>,
    ) = sqlx::query_as("select attempts, last_error, created_at, run_at, finished_at from jobs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // The third attempt was due 300 ms and then 600 ms after the failures before it:
    // 900 ms after the job was enqueued at the earliest (600 ms without doubling).
    let waited = run_at - created_at;
    assert!(waited >= time::Duration::milliseconds(900), "{waited}");
    assert_eq!(attempts, 3);
    assert!(last_error.contains("invalid recipient"), "{last_error}");
    assert!(finished_at.is_some());
    assert!(app.outbox.messages().is_empty());
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_job_whose_worker_died_mid_run_runs_again_once_its_lease_ends(db: DbPool) {
    let now = OffsetDateTime::now_utc();
    let abandoned = enqueue(&db, mail_to("abandoned@example.com")).await;
    let running = enqueue(&db, mail_to("running@example.com")).await;
    // As a worker that crashed, and one still at work, leave their claims.
    for (id, locked_until) in [
        (abandoned, now - time::Duration::seconds(1)),
        (running, now + time::Duration::minutes(5)),
    ] {
        sqlx::query("update jobs set attempts = 1, locked_until = $1 where id = $2")
            .bind(locked_until)
            .bind(id)
            .execute(&db)
            .await
            .unwrap();
    }

    // Jobs run in the order they were enqueued: once this one is done, the worker
    // has looked at the other two.
    let last = enqueue(&db, mail_to("last@example.com")).await;

    let app = spawn_app(db).await;

    app.outbox.wait_for("last@example.com", SUBJECT, 1).await;
    app.outbox
        .wait_for("abandoned@example.com", SUBJECT, 1)
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while job_state(&app.db, last).await.0 != "done" {
        assert!(Instant::now() < deadline, "the last job is not marked done");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(job_state(&app.db, abandoned).await, ("done".to_owned(), 2));
    assert_eq!(job_state(&app.db, running).await, ("pending".to_owned(), 1));
    assert!(app.outbox.messages_to("running@example.com", "").is_empty());
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn account_mail_runs_before_every_job_enqueued_ahead_of_it(db: DbPool) {
    let app = spawn_app(db).await;
    app.signup("alice@example.com").await;
    app.wait_for_jobs().await;
    let mut tx = db::begin_write(&app.db).await.unwrap();
    for n in 0..20 {
        let flood = mail_to(&format!("flood{n}@example.com"));
        jobs::enqueue(&mut tx, flood).await.unwrap();
    }
    // The worker claims while this transaction is still open, as it does when it loops
    // on after the signup's job: the claim must not leave out the job enqueued next.
    app.state.jobs.wake();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let email = "alice@example.com".to_owned();
    let reset = jobs::enqueue(&mut tx, Job::SendPasswordResetLink { email })
        .await
        .unwrap();
    tx.commit().await.unwrap();

    app.state.jobs.wake();
    app.wait_for_jobs().await;

    // Compared as times, not as the text SQLite stores: RFC 3339 drops trailing zeros
    // of the fraction, so `…:01.1Z` sorts after `…:01.12Z`.
    let reset_finished: OffsetDateTime =
        sqlx::query_scalar("select finished_at from jobs where id = $1")
            .bind(reset)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let mail_finished: Vec<OffsetDateTime> =
        sqlx::query_scalar("select finished_at from jobs where kind = 'send_mail'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let ran_before = mail_finished.iter().filter(|at| **at < reset_finished);
    // The reset link did not wait behind other mail.
    assert_eq!(ran_before.count(), 0);
    app.outbox
        .wait_for("alice@example.com", "Reset your password", 1)
        .await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn jobs_left_pending_by_the_last_run_are_delivered_when_the_app_starts(db: DbPool) {
    let ids = [
        enqueue(&db, mail_to("ada@example.com")).await,
        enqueue(&db, mail_to("grace@example.com")).await,
    ];

    let app = spawn_app(db).await;

    app.outbox.wait_for("ada@example.com", SUBJECT, 1).await;
    app.outbox.wait_for("grace@example.com", SUBJECT, 1).await;
    app.wait_for_jobs().await;
    for id in ids {
        assert_eq!(job_state(&app.db, id).await, ("done".to_owned(), 1));
    }
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn two_instances_deliver_each_job_exactly_once(db: DbPool) {
    // A pool of its own, as another process would have.
    let other_pool = DbPool::connect_with(db.connect_options().as_ref().clone())
        .await
        .unwrap();
    // Both run before any job exists, so neither drains the queue alone at start.
    let first = spawn_app(db).await;
    let second = spawn_app(other_pool).await;
    let recipients: Vec<String> = (0..30).map(|n| format!("user{n}@example.com")).collect();
    let mut tx = db::begin_write(&first.db).await.unwrap();
    for to in &recipients {
        jobs::enqueue(&mut tx, mail_to(to)).await.unwrap();
    }
    tx.commit().await.unwrap();

    first.state.jobs.wake();
    second.state.jobs.wake();

    first.wait_for_jobs().await;
    let mut delivered: Vec<String> = first
        .outbox
        .messages()
        .into_iter()
        .chain(second.outbox.messages())
        .map(|message| message.to)
        .collect();
    delivered.sort();
    let mut expected = recipients.clone();
    expected.sort();
    assert_eq!(delivered, expected);
    let retried: i64 =
        sqlx::query_scalar("select count(*) from jobs where attempts <> 1 or state <> 'done'")
            .fetch_one(&first.db)
            .await
            .unwrap();
    assert_eq!(retried, 0);

    // A job woken for in one instance is delivered once, by that instance or by the
    // other: a worker that has just finished a job looks for the next at once, so the
    // other instance may claim it first.
    for (name, instance) in [("first", &first), ("second", &second)] {
        let to = format!("{name}@example.com");
        enqueue(&first.db, mail_to(&to)).await;
        instance.state.jobs.wake();
        first.wait_for_jobs().await;
        let copies = first.outbox.messages_to(&to, SUBJECT).len()
            + second.outbox.messages_to(&to, SUBJECT).len();
        assert_eq!(copies, 1, "{to}");
    }
    // sqlx drops the test database when the test returns; a connection of this
    // second pool still open would keep it there.
    second.db.close().await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn shutting_down_stops_the_server_and_the_worker(db: DbPool) {
    let outbox = tempfile::tempdir().unwrap();
    let mail_dir = outbox.path().to_str().unwrap();
    let config = Config::from_vars([("APP_ENV", "test"), ("MAIL_DIR", mail_dir)]).unwrap();
    let state = AppState::new(config, db.clone()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (shut_down, shutdown) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve_on(listener, state.clone(), async {
        shutdown.await.ok();
    }));

    shut_down.send(()).unwrap();

    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    stopped.expect("serve_on returns").unwrap().unwrap();
    assert!(db.is_closed());
    // Nobody runs a job now: one enqueued and woken for is left to the next start,
    // which delivers it on its first attempt. A worker still running would have claimed
    // it (the claim leases it for minutes) and written its mail here.
    let db = reopen(&db).await;
    let id = enqueue(&db, mail_to("later@example.com")).await;
    state.jobs.wake();
    let next = spawn_app(db).await;
    next.outbox.wait_for("later@example.com", SUBJECT, 1).await;
    next.wait_for_jobs().await;
    assert_eq!(job_state(&next.db, id).await, ("done".to_owned(), 1));
    assert_eq!(std::fs::read_dir(outbox.path()).unwrap().count(), 0);
    next.db.close().await;
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_job_still_running_at_the_shutdown_deadline_is_released_and_runs_again(db: DbPool) {
    // An SMTP server that takes connections and never answers: a mail sent through it
    // waits a minute for lettre's timeout.
    let silent_smtp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_url = format!("smtp://{}", silent_smtp.local_addr().unwrap());
    let (signal, shutdown) = oneshot::channel::<()>();
    let vars = [
        ("SMTP_URL", smtp_url.as_str()),
        ("SHUTDOWN_TIMEOUT_SECONDS", "1"),
    ];
    let (app, server) = spawn_app_until(db.clone(), &vars, async {
        shutdown.await.ok();
    })
    .await;
    let id = enqueue(&app.db, mail_to("patient@example.com")).await;
    app.state.jobs.wake();
    let claimed_by = Instant::now() + Duration::from_secs(10);
    while job_state(&app.db, id).await.1 == 0 {
        assert!(Instant::now() < claimed_by, "the job is not claimed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    signal.send(()).unwrap();

    let stopped = tokio::time::timeout(Duration::from_secs(30), server).await;
    stopped
        .expect("the shutdown does not wait for the job")
        .unwrap()
        .unwrap();
    let db = reopen(&db).await;
    // Released: due at once, unleased, and this attempt not counted.
    assert_eq!(job_state(&db, id).await, ("pending".to_owned(), 0));
    let unleased: bool = sqlx::query_scalar("select locked_until is null from jobs where id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(unleased);
    let next = spawn_app(db).await;
    next.outbox
        .wait_for("patient@example.com", SUBJECT, 1)
        .await;
    next.wait_for_jobs().await;
    assert_eq!(job_state(&next.db, id).await, ("done".to_owned(), 1));
    next.db.close().await;
}
