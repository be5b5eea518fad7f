//! Two instances started at once on one empty PostgreSQL database: the migrations are
//! applied once, both serve, a session made through one works through the other, and
//! the per-address rate limit counts the attempts made through both.

use reqwest::StatusCode;

use crate::{
    app::{self, Build, Server},
    check,
    client::{self, Tally},
    db,
};

const IP_LIMIT: usize = 20;

pub async fn run(build: Build) -> anyhow::Result<String> {
    let url = build.fresh_database("rely_two")?;
    let mut servers = Vec::new();
    for name in ["two-a", "two-b"] {
        let mut env = app::env(&url, app::free_port()?, name);
        env.retain(|(k, _)| k != "AUTH_IP_LIMIT_PER_MINUTE");
        env.push(("AUTH_IP_LIMIT_PER_MINUTE".into(), IP_LIMIT.to_string()));
        servers.push(Server::spawn(&build, name, env)?);
    }
    for server in &mut servers {
        server
            .wait_healthy(std::time::Duration::from_secs(60))
            .await?;
    }
    let (a, b) = (&servers[0], &servers[1]);

    let files = std::fs::read_dir(build.project.join("migrations"))?.count() as i64;
    let applied = db::number(&url, "select count(*) from _sqlx_migrations where success")?;
    let recorded = db::number(&url, "select count(*) from _sqlx_migrations")?;
    check!(
        applied == files && recorded == files,
        "{files} migrations, {recorded} recorded, {applied} successful"
    );

    let client = client::client();
    let signup = client::signup(&client, &a.base, "two@example.com").await?;
    check!(
        signup.status() == StatusCode::CREATED,
        "signup through A: {}",
        signup.status()
    );
    let cookie = client::session_cookie(&signup).unwrap_or_default();
    let me = client
        .get(format!("{}/auth/me", b.base))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await?;
    let me_status = me.status();
    let body: serde_json::Value = me.json().await.unwrap_or_default();
    check!(
        me_status == StatusCode::OK && body["user"]["email"] == "two@example.com",
        "A's session through B: {me_status} {body}"
    );

    // The signup above was one attempt from this address; 2 × IP_LIMIT more, alternating.
    let mut tally = Tally::default();
    let mut limited_on = [0, 0];
    for i in 0..2 * IP_LIMIT {
        let server = &servers[i % 2];
        let outcome = client::login(&client, &server.base, "nobody@example.com")
            .await
            .map(|r| r.status());
        if matches!(&outcome, Ok(status) if *status == StatusCode::TOO_MANY_REQUESTS) {
            limited_on[i % 2] += 1;
        }
        tally.add(&outcome);
    }
    // An attempt the limit allows is a wrong login (401); every other one is 429.
    check!(
        tally.count("401") == IP_LIMIT - 1
            && tally.count("429") == IP_LIMIT + 1
            && limited_on[0] > 0
            && limited_on[1] > 0,
        "{} attempts through two instances with a limit of {IP_LIMIT}: {tally}",
        2 * IP_LIMIT
    );
    Ok(format!(
        "both started at once and healthy; migrations {files} applied once; A's session \
         works through B; {} login attempts alternating with a per-address limit of \
         {IP_LIMIT} (one used by the signup): {tally}",
        2 * IP_LIMIT
    ))
}
