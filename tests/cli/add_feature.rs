//! `saas add feature`: every feature onto every feature set that can take it; then
//! orgs on a project whose database has rows. Its migrations are
//! applied by the database's own client as sqlx applies them (each in a transaction,
//! unless it starts `-- no-transaction`, foreign keys enforced on SQLite) to a real
//! database: first the project's, then rows, then the two the command adds. Every
//! account then owns a personal organization, its rows and its billing are there, and
//! the schema is the one a project made with orgs has.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use predicates::str::contains;

use saas::spec::features::{Feature, FeatureSet};

use crate::{
    common::{new_project_in_git, new_project_in_git_on, new_project_with, saas},
    postgres,
    upgrade::{differences, fresh_render, git, work_tree},
};

/// Each feature `add feature` adds to each valid set that can take it: the project ends
/// as saas renders the larger set with the same resources, but for the migrations it
/// had, which keep their text, and with orgs the migration that moves the rows.
#[test]
fn every_feature_added_to_every_set_gives_what_saas_writes_for_the_larger_set() {
    let valid = FeatureSet::valid_sets();
    let mut transitions = 0;
    for from in &valid {
        for feature in Feature::ALL {
            let mut features: Vec<Feature> = from.iter().collect();
            features.push(feature);
            if from.contains(feature)
                || !FeatureSet::new(features).is_ok_and(|to| valid.contains(&to))
                || feature
                    .requires()
                    .is_some_and(|required| !from.contains(required))
            {
                continue;
            }
            transitions += 1;
            let (_parent, root) = new_project_in_git(&from.to_list());
            add_resources(&root);
            git(&root, &["add", "--all"]);
            git(&root, &["commit", "--quiet", "-m", "Resources"]);
            let old: Vec<String> = migrations(&root);

            add_feature(&root, feature.as_str()).success();

            let mut kept: Vec<String> = Vec::new();
            if feature == Feature::Orgs {
                kept.extend(
                    old.iter()
                        .filter(|name| {
                            name.contains("_create_")
                                || (name.starts_with("0005_") && from.contains(Feature::Billing))
                        })
                        .cloned(),
                );
                kept.push("20280101000001_personal_organizations.sql".to_owned());
            }
            let mut kept: Vec<String> = kept
                .into_iter()
                .map(|name| format!("migrations/{name}"))
                .collect();
            kept.sort();
            assert_eq!(
                differences(&work_tree(&root), &fresh_render(&root)),
                kept,
                "{feature} added to {}",
                from.to_list()
            );
        }
    }
    // none and billing gain orgs, none and orgs billing, orgs and orgs,billing rbac,
    // orgs,rbac billing.
    assert_eq!(transitions, 7);
}

/// `saas add feature <feature>` in `root`, at a fixed time: its migrations are
/// `20280101000000_…` and on.
pub fn add_feature(root: &Path, feature: &str) -> assert_cmd::assert::Assert {
    saas()
        .args(["add", "feature", feature])
        .current_dir(root)
        .env("SAAS_NOW", "1830297600")
        .assert()
}

const ALICE: &str = "0190A0000000700080000000000000A1";
const BOB: &str = "0190A0000000700080000000000000B0";

/// A database of one of the two kinds, reached by its command-line client.
enum Database {
    Sqlite(PathBuf),
    Postgres { url: String, name: String },
}

impl Database {
    fn sqlite(dir: &Path) -> Self {
        Self::Sqlite(dir.join("app.db"))
    }

    fn postgres(server: &str, name: &str) -> Self {
        let this = Self::Postgres {
            url: format!("{server}/{name}"),
            name: name.to_owned(),
        };
        this.admin(&format!("drop database if exists {name} with (force)"));
        this.admin(&format!("create database {name}"));
        this
    }

    fn admin(&self, statement: &str) {
        let Self::Postgres { url, name } = self else {
            unreachable!()
        };
        let server = url.strip_suffix(name.as_str()).unwrap();
        run(
            Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]),
            &format!("{server}postgres"),
            statement,
        );
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }

    /// What the client prints for `sql`: one line per row, columns between `|`.
    fn query(&self, sql: &str) -> String {
        match self {
            // sqlx turns foreign keys on for every connection; the client does not.
            Self::Sqlite(path) => run(
                Command::new("sqlite3").args(["-bail"]).arg(path),
                "",
                &format!("pragma foreign_keys = on;\n{sql}"),
            ),
            Self::Postgres { url, .. } => run(
                Command::new("psql").args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]),
                url,
                sql,
            ),
        }
    }

    /// Applies the migration in `path` as sqlx does: in a transaction of its own unless
    /// it says `-- no-transaction` first.
    fn migrate(&self, path: &Path) {
        let sql = std::fs::read_to_string(path).unwrap();
        if sql.starts_with("-- no-transaction") {
            self.query(&sql);
        } else {
            self.query(&format!("begin;\n{sql}\ncommit;"));
        }
    }

    /// An id as the client prints it, in upper-case hex without dashes.
    fn hex(&self, column: &str) -> String {
        match self {
            Self::Sqlite(_) => format!("hex({column})"),
            Self::Postgres { .. } => format!("upper(replace({column}::text, '-', ''))"),
        }
    }

    /// A literal of the id written in hex.
    fn id(&self, hex: &str) -> String {
        match self {
            Self::Sqlite(_) => format!("x'{hex}'"),
            Self::Postgres { .. } => format!("'{hex}'::uuid"),
        }
    }

    fn now(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "'2026-12-04T10:00:00.000Z'",
            Self::Postgres { .. } => "now()",
        }
    }

    /// Every table, column, index and constraint, one per line, in an order that does
    /// not depend on the order they were made in.
    fn schema(&self) -> String {
        let mut lines: Vec<String> = match self {
            Self::Sqlite(_) => self
                .query(
                    "select type, name, tbl_name, sql from sqlite_master \
                     where name not like 'sqlite_%' order by name",
                )
                .lines()
                .map(str::to_owned)
                .collect(),
            Self::Postgres { url, .. } => {
                let output = Command::new("pg_dump")
                    .args(["--schema-only", "--no-owner", "--no-privileges", "-d", url])
                    .output()
                    .expect("pg_dump runs");
                assert!(output.status.success(), "{output:?}");
                String::from_utf8(output.stdout)
                    .unwrap()
                    .split(";\n")
                    .map(|statement| {
                        statement
                            .lines()
                            // Comments, and `\restrict` lines, whose key is random.
                            .filter(|line| {
                                !line.starts_with("--")
                                    && !line.starts_with("\\")
                                    && !line.is_empty()
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .collect()
            }
        };
        lines.sort();
        lines.join("\n")
    }

    fn migrate_all(&self, project: &Path, except: &[String]) -> Vec<String> {
        let mut applied = Vec::new();
        for name in migrations(project) {
            if !except.contains(&name) {
                self.migrate(&project.join("migrations").join(&name));
                applied.push(name);
            }
        }
        applied
    }
}

impl Drop for Database {
    /// Drops a PostgreSQL database, quietly: a test that failed has said why already.
    fn drop(&mut self) {
        if let Self::Postgres { url, name } = self {
            let server = url.strip_suffix(name.as_str()).unwrap();
            let _ = Command::new("psql")
                .args(["-X", "-q", "-d", &format!("{server}postgres"), "-c"])
                .arg(format!("drop database if exists {name} with (force)"))
                .output();
        }
    }
}

/// Runs `command` against `url` (appended as its last argument unless empty) with `sql`
/// on its standard input; its standard output, or a failure with everything it said.
fn run(command: &mut Command, url: &str, sql: &str) -> String {
    if !url.is_empty() {
        // PostgreSQL's notices ("does not exist, skipping") are not failures.
        command
            .args(["-d", url])
            .env("PGOPTIONS", "-c client_min_messages=warning");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the database's client runs");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), sql.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "{sql}\n{output:?}"
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The project's migration files, in the order sqlx applies them.
fn migrations(project: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project.join("migrations"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort_by_key(|name| name.split('_').next().unwrap().parse::<u64>().unwrap());
    names
}

const PROJECT: &[&str] = &["Project", "title:string:unique", "done:bool"];
const TASK: &[&str] = &["Task", "title:string", "project:references"];

fn add_resources(root: &Path) {
    for resource in [PROJECT, TASK] {
        saas()
            .args(["add", "resource"])
            .args(resource)
            .current_dir(root)
            .assert()
            .success();
    }
}

/// Two accounts with rows, and with `billing` Alice with a billing account.
fn insert_rows(db: &Database, billing: bool) {
    let (alice, bob, now) = (db.id(ALICE), db.id(BOB), db.now());
    let project = |id: &str, owner: &str, title: &str| {
        format!(
            "insert into projects (id, user_id, title, done, created_at, updated_at) \
             values ({}, {owner}, '{title}', true, {now}, {now});",
            db.id(id)
        )
    };
    let task = |id: &str, owner: &str, project: &str| {
        format!(
            "insert into tasks (id, user_id, title, project_id, created_at, updated_at) \
             values ({}, {owner}, 'Task', {}, {now}, {now});",
            db.id(id),
            db.id(project)
        )
    };
    db.query(
        &[
            format!(
                "insert into users (id, email, name, password_hash) values \
             ({alice}, 'alice@example.com', 'Alice', 'x'), ({bob}, 'bob@example.com', 'Bob', 'x');"
            ),
            project("0190A0000000700080000000000000C1", &alice, "Launch"),
            // The same title as Alice's: titles are unique per owner.
            project("0190A0000000700080000000000000C2", &bob, "Launch"),
            task(
                "0190A0000000700080000000000000D1",
                &alice,
                "0190A0000000700080000000000000C1",
            ),
            task(
                "0190A0000000700080000000000000D2",
                &bob,
                "0190A0000000700080000000000000C2",
            ),
            if billing {
                format!(
                    "insert into billing_accounts (owner_id, stripe_customer_id, plan, status) \
                     values ({alice}, 'cus_alice', 'pro', 'active');"
                )
            } else {
                String::new()
            },
        ]
        .join("\n"),
    );
}

/// Each resource's rows and with `billing` the billing accounts, by id, with their
/// owner column.
fn rows(db: &Database, owner: &str, billing: bool) -> String {
    let hex = |column: &str| db.hex(column);
    let billing = if billing {
        format!(
            "union all select 'billing', {}, stripe_customer_id, plan from billing_accounts",
            hex("owner_id")
        )
    } else {
        String::new()
    };
    db.query(&format!(
        "select 'project', {}, {}, title from projects
         union all select 'task', {}, {}, {} from tasks
         {billing}
         order by 1, 2;",
        hex("id"),
        hex(owner),
        hex("id"),
        hex(owner),
        hex("project_id"),
    ))
}

/// Orgs added to a project with `features` (none, or billing) whose database `db` has
/// rows.
fn check(db: &Database, features: &str) {
    let billing = features == "billing";
    let (_parent, root) = new_project_in_git_on(db.kind(), features);
    add_resources(&root);
    git(&root, &["add", "--all"]);
    git(&root, &["commit", "--quiet", "-m", "Resources"]);
    let before: Vec<(String, Vec<u8>)> = migrations(&root)
        .into_iter()
        .map(|name| {
            let text = std::fs::read(root.join("migrations").join(&name)).unwrap();
            (name, text)
        })
        .collect();
    let applied = db.migrate_all(&root, &[]);
    insert_rows(db, billing);
    let rows_before = rows(db, "user_id", billing);

    add_feature(&root, "orgs")
        .success()
        .stdout(contains("create  migrations/20280101000000_orgs.sql"))
        .stdout(contains(
            "create  migrations/20280101000001_personal_organizations.sql",
        ))
        .stdout(contains("Added feature `orgs`"));

    // The migrations a database may have applied are as they were; two follow them.
    for (name, text) in &before {
        let now = std::fs::read(root.join("migrations").join(name)).unwrap();
        assert!(now == *text, "{name} changed");
    }
    // The rest is what saas writes for the project with orgs, as an upgrade merges it:
    // the migrations it would write otherwise keep their text, and one is new.
    let mut kept: Vec<String> = before
        .iter()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("0005_") || name.contains("_create_"))
        .chain(["20280101000001_personal_organizations.sql".to_owned()].iter())
        .map(|name| format!("migrations/{name}"))
        .collect();
    kept.sort();
    assert_eq!(kept.len(), if billing { 4 } else { 3 });
    assert_eq!(differences(&work_tree(&root), &fresh_render(&root)), kept);
    let added = db.migrate_all(&root, &applied);
    assert_eq!(
        added,
        [
            "20280101000000_orgs.sql",
            "20280101000001_personal_organizations.sql"
        ]
    );

    // Each account owns a personal organization with its id and name.
    let hex = |column: &str| db.hex(column);
    assert_eq!(
        db.query(&format!(
            "select {}, name, slug from organizations order by 1;",
            hex("id")
        )),
        format!(
            "{ALICE}|Alice|personal-{}\n{BOB}|Bob|personal-{}\n",
            ALICE.to_lowercase(),
            BOB.to_lowercase()
        )
    );
    assert_eq!(
        db.query(&format!(
            "select {}, {}, role from memberships order by 1;",
            hex("org_id"),
            hex("user_id")
        )),
        format!("{ALICE}|{ALICE}|owner\n{BOB}|{BOB}|owner\n")
    );
    // Every row is where it was, its organization in place of its user.
    assert_eq!(rows(db, "org_id", billing), rows_before);

    // The schema is a new orgs project's, with the same resources.
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh_db = match db {
        Database::Sqlite(_) => Database::sqlite(fresh_dir.path()),
        Database::Postgres { url, name } => Database::postgres(
            url.strip_suffix(&format!("/{name}")).unwrap(),
            &format!("{name}_fresh"),
        ),
    };
    let orgs = if billing { "orgs,billing" } else { "orgs" };
    let (_fresh_parent, fresh) = new_project_with(db.kind(), orgs);
    add_resources(&fresh);
    fresh_db.migrate_all(&fresh, &[]);
    let (upgraded, new) = (db.schema(), fresh_db.schema());
    let only = |a: &str, b: &str| -> Vec<String> {
        a.lines()
            .filter(|line| !b.lines().any(|other| other == *line))
            .map(str::to_owned)
            .collect()
    };
    assert!(
        upgraded == new,
        "only after add feature: {:#?}\nonly in a new project: {:#?}",
        only(&upgraded, &new),
        only(&new, &upgraded)
    );

    // Foreign keys hold, and now lead to the organization: deleting Alice's takes her
    // rows (and billing) with it, and leaves Bob's.
    if let Database::Sqlite(_) = db {
        assert_eq!(db.query("pragma foreign_key_check;"), "");
    }
    db.query(&format!(
        "delete from organizations where id = {};",
        db.id(ALICE)
    ));
    let left = rows(db, "org_id", billing);
    assert!(!left.contains(ALICE), "{left}");
    assert_eq!(left.lines().count(), 2, "{left}");
}

#[test]
fn on_sqlite_every_account_gets_a_personal_organization_holding_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    check(&Database::sqlite(dir.path()), "none");
}

#[test]
fn on_sqlite_every_account_gets_a_personal_organization_holding_its_rows_and_billing() {
    let dir = tempfile::tempdir().unwrap();
    check(&Database::sqlite(dir.path()), "billing");
}

#[test]
fn on_postgres_every_account_gets_a_personal_organization_holding_its_rows() {
    let test = "on_postgres_every_account_gets_a_personal_organization_holding_its_rows";
    let Some(server) = postgres::server_or_skip(test) else {
        return;
    };
    check(&Database::postgres(&server, "saas_cli_add_orgs"), "none");
}

#[test]
fn on_postgres_every_account_gets_a_personal_organization_holding_its_rows_and_billing() {
    let test =
        "on_postgres_every_account_gets_a_personal_organization_holding_its_rows_and_billing";
    let Some(server) = postgres::server_or_skip(test) else {
        return;
    };
    check(
        &Database::postgres(&server, "saas_cli_add_orgs_billing"),
        "billing",
    );
}
