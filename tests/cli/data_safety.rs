//! The restore drill that the generated README's "Data safety" section walks through
//! works as written, on each database: its code blocks are run in bash, in order,
//! against a database with the app's schema and a few accounts, and the backup they
//! restore holds those accounts.
//!
//! The database is made with the database's own client (`sqlite3`, `psql`) from the
//! project's `migrations/`, with a stand-in `_sqlx_migrations` table recording their
//! versions as sqlx does: building the app to have it migrate would take minutes.

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use crate::{
    common::{new_project_with, read},
    postgres,
};

/// The code blocks (indented four spaces) of the README's "Restore drill" section,
/// each as one script.
fn drill_blocks(readme: &str) -> Vec<String> {
    let section = readme
        .split("\n### Restore drill\n")
        .nth(1)
        .expect("a Restore drill section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut blocks: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in section.lines() {
        match line.strip_prefix("    ") {
            Some(command) => {
                if !in_block {
                    blocks.push(String::new());
                }
                let block = blocks.last_mut().unwrap();
                block.push_str(command);
                block.push('\n');
                in_block = true;
            }
            None => in_block = line.is_empty() && in_block,
        }
    }
    blocks
}

/// Runs `script` in bash in `dir`, stopping at the first failing command; what it
/// printed, or a panic with everything it said.
fn run_bash(dir: &Path, script: &str, env: &[(&str, &str)]) -> String {
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the drill failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The project's migration files, in the order sqlx applies them, with their versions.
fn migrations(root: &Path) -> Vec<(i64, std::path::PathBuf)> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("migrations"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version = name.split('_').next().unwrap().parse().unwrap();
            (version, path)
        })
        .collect()
}

/// Whether `program` runs; `false` after printing why `test` is skipped. Panics when
/// `SAAS_REQUIRE_POSTGRES=1` or `CI=true` requires it (`.ci/run` installs both clients).
fn client_or_skip(test: &str, program: &str) -> bool {
    if Command::new(program).arg("--version").output().is_ok() {
        return true;
    }
    let required = std::env::var(postgres::REQUIRE_VARIABLE).is_ok_and(|value| value == "1")
        || std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(!required, "{test}: no {program}, which .ci/run installs");
    let _ = writeln!(std::io::stderr().lock(), "\nSKIPPED {test}: no {program}");
    false
}

/// Runs `sql` (given on standard input: a migration starts with `--`) on `database`.
fn sqlite3(database: &Path, sql: &str) -> String {
    let mut child = Command::new("sqlite3")
        .arg(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn the_sqlite_readmes_restore_drill_restores_the_accounts_of_the_backup() {
    let test = "the_sqlite_readmes_restore_drill_restores_the_accounts_of_the_backup";
    if !client_or_skip(test, "sqlite3") {
        return;
    }
    let (_parent, root) = new_project_with("sqlite", "none");
    let blocks = drill_blocks(&read(&root, "README.md"));
    assert_eq!(blocks.len(), 2, "a drill and a real restore: {blocks:?}");

    std::fs::create_dir(root.join("data")).unwrap();
    let database = root.join("data/app.db");
    sqlite3(&database, "pragma journal_mode = wal");
    let mut newest = 0;
    for (version, path) in migrations(&root) {
        sqlite3(&database, &std::fs::read_to_string(path).unwrap());
        newest = version;
    }
    sqlite3(
        &database,
        &format!(
            "create table _sqlx_migrations (version bigint primary key);
             insert into _sqlx_migrations select value from json_each('{:?}');
             insert into users (id, email, name, password_hash) values
                 (x'01', 'ada@example.com', 'Ada', 'hash'),
                 (x'02', 'grace@example.com', 'Grace', 'hash');",
            migrations(&root)
                .iter()
                .map(|(v, _)| *v)
                .collect::<Vec<_>>()
        ),
    );

    let printed = run_bash(&root, &blocks[0], &[]);
    assert_eq!(printed, format!("ok\n2\n{newest}\n"));

    // An account made after the backup; the real restore brings back the backup's two.
    sqlite3(
        &database,
        "insert into users (id, email, name, password_hash) values (x'03', 'late@example.com', 'Late', 'hash')",
    );
    run_bash(&root, &blocks[1], &[]);
    assert_eq!(sqlite3(&database, "select count(*) from users"), "2");
    let replaced = root.join("data/replaced/app.db");
    assert_eq!(sqlite3(&replaced, "select count(*) from users"), "3");
}

#[test]
fn the_postgres_readmes_restore_drill_restores_the_accounts_of_the_dump() {
    let test = "the_postgres_readmes_restore_drill_restores_the_accounts_of_the_dump";
    let Some(server) = postgres::server_or_skip(test) else {
        return;
    };
    for program in ["psql", "pg_dump", "pg_restore"] {
        if !client_or_skip(test, program) {
            return;
        }
    }
    let (_parent, root) = new_project_with("postgres", "none");
    let blocks = drill_blocks(&read(&root, "README.md"));
    assert_eq!(blocks.len(), 1, "the drill: {blocks:?}");

    let psql = |url: &str, args: &[&str]| {
        let output = Command::new("psql")
            .args([url, "--quiet", "--tuples-only", "-v", "ON_ERROR_STOP=1"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let source = format!("saas_drill_source_{}", std::process::id());
    let maintenance = format!("{server}/postgres");
    // The README names the drill's database after the crate, `acme`.
    for database in [source.as_str(), "acme_drill"] {
        psql(
            &maintenance,
            &["--command", &format!("drop database if exists {database}")],
        );
    }
    psql(
        &maintenance,
        &["--command", &format!("create database {source}")],
    );
    let source_url = format!("{server}/{source}");
    let mut newest = 0;
    for (version, path) in migrations(&root) {
        psql(&source_url, &["--file", path.to_str().unwrap()]);
        newest = version;
    }
    let versions: Vec<String> = migrations(&root)
        .iter()
        .map(|(v, _)| format!("({v})"))
        .collect();
    psql(
        &source_url,
        &[
            "--command",
            &format!(
                "create table _sqlx_migrations (version bigint primary key);
                 insert into _sqlx_migrations values {};
                 insert into users (id, email, name, password_hash) values
                     ('00000000-0000-7000-8000-000000000001', 'ada@example.com', 'Ada', 'hash'),
                     ('00000000-0000-7000-8000-000000000002', 'grace@example.com', 'Grace', 'hash');",
                versions.join(", ")
            ),
        ],
    );

    let drill_url = format!("{server}/acme_drill");
    let printed = run_bash(
        &root,
        &blocks[0],
        &[("DATABASE_URL", &source_url), ("DRILL_URL", &drill_url)],
    );
    // The last two values printed, after psql's `CREATE DATABASE`.
    let values: Vec<&str> = printed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(
        values[values.len().saturating_sub(2)..],
        ["2", newest.to_string().as_str()],
        "{printed}"
    );

    for database in [source.as_str(), "acme_drill"] {
        psql(
            &maintenance,
            &["--command", &format!("drop database {database}")],
        );
    }
}
