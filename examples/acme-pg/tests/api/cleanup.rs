//! The periodic cleanup: exactly the rows that have ended are deleted, in batches,
//! and the server runs it.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use uuid::Uuid;

use app::{
    cleanup::{self, Deleted},
    config::Config,
    db::{self, DbPool},
    jobs::{self, Job},
    mail::Mail,
};

use crate::common::spawn_app;

/// Inserts a user and returns its id.
async fn insert_user(db: &DbPool) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("insert into users (id, email, name, password_hash) values ($1, $2, 'A', 'x')")
        .bind(id)
        .bind(format!("{id}@example.com"))
        .execute(db)
        .await
        .unwrap();
    id
}

async fn insert_session(
    db: &DbPool,
    user_id: Uuid,
    created_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into sessions (id, user_id, token_hash, created_at, last_seen_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(user_id)
    .bind(id.to_string())
    .bind(created_at)
    .bind(last_seen_at)
    .execute(db)
    .await
    .unwrap();
    id
}

async fn insert_one_time_token(
    db: &DbPool,
    user_id: Uuid,
    expires_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into one_time_tokens (id, user_id, purpose, email, token_hash, created_at,
             expires_at, used_at)
         values ($1, $2, 'verify_email', 'a@example.com', $3, $4, $4, $5)",
    )
    .bind(id)
    .bind(user_id)
    .bind(id.to_string())
    .bind(expires_at)
    .bind(used_at)
    .execute(db)
    .await
    .unwrap();
    id
}

async fn insert_rate_limit(db: &DbPool, key: &str, window_start: i64) {
    sqlx::query("insert into rate_limits (key, window_start, hits) values ($1, $2, 1)")
        .bind(key)
        .bind(window_start)
        .execute(db)
        .await
        .unwrap();
}

async fn insert_job(db: &DbPool, state: &str, finished_at: Option<OffsetDateTime>) -> Uuid {
    let mut tx = db::begin_write(db).await.unwrap();
    let job = Job::SendMail(Mail::notice("a@example.com", "Hi", "Hello."));
    let id = jobs::enqueue(&mut tx, job).await.unwrap();
    sqlx::query("update jobs set state = $1, finished_at = $2 where id = $3")
        .bind(state)
        .bind(finished_at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn ids(db: &DbPool, table: &str) -> Vec<Uuid> {
    let sql = format!("select id from {table} order by id");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(db)
        .await
        .unwrap()
}

fn test_config() -> Config {
    Config::from_vars([("APP_ENV", "test")]).unwrap()
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn cleanup_deletes_exactly_the_rows_that_have_ended(db: DbPool) {
    let config = test_config();
    // Whole seconds, so that a cutoff is stored without a fraction ("…:05Z") and a row
    // half a second later with one ("…:05.5Z"): text comparison gets that pair wrong.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let half_second = time::Duration::milliseconds(500);
    let idle_cutoff = now - config.session_idle;
    let age_cutoff = now - config.session_max_age;
    let user = insert_user(&db).await;
    let live_session = insert_session(&db, user, now, now).await;
    let barely_live_session = insert_session(&db, user, now, idle_cutoff + half_second).await;
    let barely_young_session = insert_session(&db, user, age_cutoff + half_second, now).await;
    insert_session(&db, user, now, idle_cutoff - half_second).await;
    insert_session(&db, user, age_cutoff - half_second, now).await;
    let day = time::Duration::days(1);
    let live_token = insert_one_time_token(&db, user, now + day, None).await;
    let used_live_token = insert_one_time_token(&db, user, now + day, Some(now)).await;
    let just_expired_token = insert_one_time_token(&db, user, now - day + half_second, None).await;
    insert_one_time_token(&db, user, now - day - half_second, None).await;
    insert_one_time_token(&db, user, now - day * 3, Some(now - day * 4)).await;
    let unix_now = now.unix_timestamp();
    insert_rate_limit(&db, "current", unix_now - 3600).await;
    insert_rate_limit(&db, "longest-window", unix_now - 24 * 3600).await;
    insert_rate_limit(&db, "ended", unix_now - 24 * 3600 - 1).await;
    let pending_job = insert_job(&db, "pending", None).await;
    let recent_job = insert_job(&db, "done", Some(now - day * 7 + half_second)).await;
    insert_job(&db, "done", Some(now - day * 7 - half_second)).await;
    insert_job(&db, "failed", Some(now - day * 30)).await;

    let deleted = cleanup::delete_ended(&db, &config, now).await.unwrap();

    assert_eq!(
        deleted,
        Deleted {
            sessions: 2,
            one_time_tokens: 2,
            rate_limits: 1,
            jobs: 2,
            invitations: 0,
        }
    );
    assert_eq!(
        ids(&db, "sessions").await,
        [live_session, barely_live_session, barely_young_session]
    );
    assert_eq!(
        ids(&db, "one_time_tokens").await,
        [live_token, used_live_token, just_expired_token]
    );
    let keys: Vec<String> = sqlx::query_scalar("select key from rate_limits order by key")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(keys, ["current", "longest-window"]);
    assert_eq!(ids(&db, "jobs").await, [pending_job, recent_job]);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn cleanup_deletes_more_rows_than_one_batch(db: DbPool) {
    let long_ago = OffsetDateTime::now_utc().unix_timestamp() - 2 * 24 * 3600;
    let mut tx = db::begin_write(&db).await.unwrap();
    for n in 0..1234 {
        sqlx::query("insert into rate_limits (key, window_start, hits) values ($1, $2, 1)")
            .bind(format!("key-{n}"))
            .bind(long_ago)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let deleted = cleanup::delete_ended(&db, &test_config(), OffsetDateTime::now_utc())
        .await
        .unwrap();

    assert_eq!(deleted.rate_limits, 1234);
    let left: i64 = sqlx::query_scalar("select count(*) from rate_limits")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn the_server_cleans_up_when_it_starts(db: DbPool) {
    let user = insert_user(&db).await;
    let long_ago = OffsetDateTime::now_utc() - time::Duration::days(2);
    insert_session(&db, user, long_ago, long_ago).await;

    let app = spawn_app(db).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while app.count("sessions").await > 0 {
        assert!(
            Instant::now() < deadline,
            "the expired session is still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Instances racing for the same cleanup: one wins, and none wins again before half an
/// interval has passed.
#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn one_instance_claims_each_cleanup(db: DbPool) {
    let interval = Duration::from_secs(60 * 60);
    let now = OffsetDateTime::now_utc();
    let mut instances = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let db = db.clone();
        instances.spawn(async move { cleanup::claim(&db, now, interval).await.unwrap() });
    }
    let claims = instances.join_all().await;
    assert_eq!(claims.iter().filter(|won| **won).count(), 1, "{claims:?}");

    let soon = now + interval / 4;
    assert!(!cleanup::claim(&db, soon, interval).await.unwrap());
    let later = now + interval / 2;
    assert!(cleanup::claim(&db, later, interval).await.unwrap());
}

#[sqlx::test(migrator = "crate::common::MIGRATOR")]
async fn a_server_started_just_after_another_cleaned_up_leaves_it(db: DbPool) {
    let config = test_config();
    assert!(
        cleanup::claim(&db, OffsetDateTime::now_utc(), config.cleanup_interval)
            .await
            .unwrap()
    );
    let user = insert_user(&db).await;
    let long_ago = OffsetDateTime::now_utc() - time::Duration::days(2);
    insert_session(&db, user, long_ago, long_ago).await;

    let app = spawn_app(db).await;

    // The worker's first tick comes at once; give it time to have run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.count("sessions").await, 1);
}
