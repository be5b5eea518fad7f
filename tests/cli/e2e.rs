//! End to end: generated apps covering each feature and each pair of features on both
//! databases (the table in ARCHITECTURE.md) are held to fmt and clippy and their own
//! tests run; then resources are added and removed and they are checked again. The bare
//! app also runs its binary's commands (`help`, `routes`, `seed`), starts it, signs up,
//! reads `me` and logs out over real HTTP, and signs in with the password `seed` printed.
//! Without a reachable PostgreSQL the PostgreSQL tests say they are skipped, or fail
//! under `SAAS_REQUIRE_POSTGRES=1`.
//!
//! Generated projects share one target directory, so their dependencies build once.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::{
    common::{PROJECT_FIELDS, SHAPES, TASK_FIELDS, saas},
    postgres,
};

fn shared_target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("generated")
}

fn generate(parent: &Path, name: &str, db: &str) -> PathBuf {
    generate_with(parent, name, db, "none")
}

fn generate_with(parent: &Path, name: &str, db: &str, features: &str) -> PathBuf {
    saas()
        .args(["new", name, "--db", db, "--features", features, "--no-git"])
        .current_dir(parent)
        .assert()
        .success();
    parent.join(name)
}

/// The environment variables a project's own tests get.
type TestEnv = [(&'static str, String)];

/// The environment that `test`'s generated app needs for its own tests on `database`:
/// with PostgreSQL, the server its test databases are made on. `None` when PostgreSQL
/// is skipped.
fn test_env(test: &str, database: &str) -> Option<Vec<(&'static str, String)>> {
    if database != "postgres" {
        return Some(Vec::new());
    }
    let server_url = postgres::server_or_skip(test)?;
    Some(vec![("DATABASE_URL", format!("{server_url}/postgres"))])
}

/// Cargo in `project`, with the shared target directory and `env`.
fn cargo_command(project: &Path, args: &[&str], env: &TestEnv) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", shared_target_dir())
        // Without debug info the many builds here compile and link faster; nothing
        // here reads a backtrace's line numbers.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env_remove("DATABASE_URL")
        // A snapshot that differs fails the test and writes no `.snap.new`: the API
        // snapshot saas wrote must be the one the app serves.
        .env("INSTA_UPDATE", "no")
        .envs(env.iter().map(|(name, value)| (name, value)));
    command
}

/// Runs cargo in `project`, whatever its outcome.
fn cargo_output(project: &Path, args: &[&str], env: &TestEnv) -> std::process::Output {
    cargo_command(project, args, env)
        .output()
        .expect("cargo runs")
}

/// Runs cargo in `project` and fails the test with cargo's output if cargo fails.
fn cargo(project: &Path, args: &[&str], env: &TestEnv) {
    let output = cargo_output(project, args, env);
    assert!(
        output.status.success(),
        "`cargo {}` failed in {}:\n{}\n{}",
        args.join(" "),
        project.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The PostgreSQL suites take turns. Each app's test databases are named after its
/// own test crate (`<app>_api`), so two suites no longer drop each other's; but run
/// together here on two cores (beside the reliability and contract runs), two apps'
/// `jobs::two_instances_deliver_each_job_exactly_once` waited over its 10 s for a mail.
/// Until that test holds under such load, CI keeps the suites apart.
static POSTGRES_SUITES: Mutex<()> = Mutex::new(());

fn check_project(project: &Path, test_env: &TestEnv) {
    cargo(project, &["fmt", "--check"], &[]);
    cargo(
        project,
        &[
            "clippy",
            "--locked",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    );
    let on_postgres = test_env.iter().any(|(name, _)| *name == "DATABASE_URL");
    // A suite that failed while holding the turn still hands it on.
    let _turn = on_postgres.then(|| {
        POSTGRES_SUITES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    });
    cargo(project, &["test", "--locked"], test_env);
}

/// `saas add resource` twice (every field type, a reference to the first), then `saas
/// remove resource` for both: with the resources and after, the project is formatted,
/// lint-free and its tests pass. With billing, `Project` is limited on the free plan and
/// `Task` needs the plan feature `reports`. Removing both brings back the project as it
/// was generated (with migrations that drop the tables), so the second check is also
/// the check of the fresh project: one compile fewer per variant.
fn add_and_remove_resources(project: &Path, test_env: &TestEnv) {
    let run = |args: &[&str]| {
        saas().args(args).current_dir(project).assert().success();
    };
    let billing = std::fs::read_to_string(project.join("saas.toml"))
        .unwrap()
        .contains("\"billing\"");
    let (project_options, task_options): (&[&str], &[&str]) = if billing {
        (&["--limit", "free=3"], &["--feature", "reports"])
    } else {
        (&[], &[])
    };
    run(&[
        &["add", "resource", "Project"],
        PROJECT_FIELDS,
        project_options,
    ]
    .concat());
    run(&[&["add", "resource", "Task"], TASK_FIELDS, task_options].concat());
    check_project(project, test_env);

    run(&["remove", "resource", "Task"]);
    run(&["remove", "resource", "Project"]);
    check_project(project, test_env);
}

/// A feature variant: generated, checked, then with resources added and removed. The
/// bare apps also start their binary; each variant compiles an app, so CI time grows
/// with every one.
fn check_variant(name: &str, database: &str, features: &str) {
    let Some(test_env) = test_env(name, database) else {
        return;
    };
    let parent = tempfile::tempdir().unwrap();
    let project = generate_with(parent.path(), name, database, features);

    add_and_remove_resources(&project, &test_env);
}

/// The app's cargo feature `otel` (OpenTelemetry traces), off by default: lint-free, and
/// its suite passes with it, which adds the trace tests against a fake collector.
fn check_otel_feature(project: &Path, test_env: &TestEnv) {
    cargo(
        project,
        &[
            "clippy",
            "--locked",
            "--all-targets",
            "--features",
            "otel",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    );
    cargo(
        project,
        &["test", "--locked", "--features", "otel"],
        test_env,
    );
}

/// Every resource of `SHAPES` added to an orgs,rbac project: formatted, lint-free and
/// its tests pass; then they are removed in reverse order and it is checked again. The
/// shapes beside the feature variants' two resources: each field type required and
/// optional, member columns with and without ordinary references, a chain of references.
fn check_shapes(name: &str, database: &str) {
    let Some(test_env) = test_env(name, database) else {
        return;
    };
    let parent = tempfile::tempdir().unwrap();
    let project = generate_with(parent.path(), name, database, "orgs,rbac");
    let run = |args: &[&str]| {
        saas().args(args).current_dir(&project).assert().success();
    };
    for (resource, fields) in SHAPES {
        run(&[&["add", "resource", resource], *fields].concat());
    }
    check_project(&project, &test_env);

    for (resource, _) in SHAPES.iter().rev() {
        run(&["remove", "resource", resource]);
    }
    check_project(&project, &test_env);
}

#[test]
fn a_sqlite_app_passes_its_tests_with_every_field_shape_and_after_removing_them() {
    check_shapes("acme-shapes", "sqlite");
}

#[test]
fn a_postgres_app_passes_its_tests_with_every_field_shape_and_after_removing_them() {
    check_shapes("acme-shapes-pg", "postgres");
}

// Not every combination: each database builds each feature on and off, and every
// pair of features (each database among them) meets in each of its on/off
// combinations at least once (ARCHITECTURE.md has the table).

#[test]
fn a_sqlite_app_with_billing_passes_its_tests_before_and_after_resources() {
    check_variant("acme-billing", "sqlite", "billing");
}

#[test]
fn a_postgres_app_with_orgs_and_billing_passes_its_tests_before_and_after_resources() {
    check_variant("acme-orgs-billing-pg", "postgres", "orgs,billing");
}

#[test]
fn a_sqlite_app_with_every_feature_passes_its_tests_before_and_after_resources() {
    let (name, database) = ("acme-all", "sqlite");
    let Some(test_env) = test_env(name, database) else {
        return;
    };
    let parent = tempfile::tempdir().unwrap();
    let project = generate_with(parent.path(), name, database, "orgs,rbac,billing");

    add_and_remove_resources(&project, &test_env);
    // Once, on the project as generated (the resources are gone again): the one
    // variant that builds the `otel` feature.
    check_otel_feature(&project, &test_env);
}

#[test]
fn a_postgres_app_with_every_feature_passes_its_tests_before_and_after_resources() {
    check_variant("acme-all-pg", "postgres", "orgs,rbac,billing");
}

#[test]
fn a_generated_postgres_app_builds_passes_its_tests_and_serves() {
    let test = "a_generated_postgres_app_builds_passes_its_tests_and_serves";
    let Some(test_env) = test_env(test, "postgres") else {
        return;
    };
    let server_url = postgres::server_url();
    let parent = tempfile::tempdir().unwrap();
    // Not `acme-pg`: the upgraded 0.1.0 example of that name builds its binary into the
    // same shared target directory, and would replace this one's while it serves.
    let project = generate(parent.path(), "served-pg", "postgres");

    add_and_remove_resources(&project, &test_env);
    cargo(&project, &["build", "--locked"], &[]);

    // In development the app creates its database when it is missing.
    let database_url = format!("{server_url}/saas_e2e_{}", std::process::id());
    let password = run_commands(&project, "served-pg", &database_url);
    let server = Server::start(&project, "served-pg", &[("DATABASE_URL", &database_url)]);
    exercise_auth(&server, &format!("ada-{}@example.com", std::process::id()));
    let body = format!(r#"{{"email":"demo@example.com","password":"{password}"}}"#);
    let login = server.request("POST", "/auth/login", None, Some(&body));
    assert_eq!(
        login.status, 200,
        "the printed password signs in: {}",
        login.body
    );
    server.stop_gracefully();

    // Without the server or its database, every test fails at once saying which.
    let unreachable = "postgres://postgres@127.0.0.1:1/postgres".to_owned();
    let missing = format!("{server_url}/saas_e2e_missing_{}", std::process::id());
    for (url, says) in [
        (
            unreachable,
            "the tests could not reach PostgreSQL at 127.0.0.1:1",
        ),
        (missing, "does not exist on the PostgreSQL server"),
    ] {
        let output = cargo_output(&project, &["test", "--locked"], &[("DATABASE_URL", url)]);
        assert!(!output.status.success());
        let printed = String::from_utf8_lossy(&output.stdout);
        let failed = printed.matches(says).count();
        // Each says it at its first line, before sqlx waits 30 s for a connection.
        assert!(failed > 50, "{failed} tests said `{says}`:\n{printed}");
    }
}

/// Two apps' suites at once against one PostgreSQL server, with the same `DATABASE_URL`:
/// each test database is named after its app's test crate, so neither drops the
/// other's, and both pass.
#[test]
fn two_postgres_apps_run_their_suites_at_once_on_one_server() {
    let test = "two_postgres_apps_run_their_suites_at_once_on_one_server";
    let Some(test_env) = test_env(test, "postgres") else {
        return;
    };
    let parent = tempfile::tempdir().unwrap();
    let projects = ["alpha-pg", "beta-pg"].map(|name| generate(parent.path(), name, "postgres"));
    for project in &projects {
        cargo(project, &["test", "--locked", "--no-run"], &[]);
    }

    // No other suite runs meanwhile, so only these two share the machine.
    let _turn = POSTGRES_SUITES
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let runs = projects.each_ref().map(|project| {
        cargo_command(project, &["test", "--locked"], &test_env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cargo runs")
    });
    for (project, run) in projects.iter().zip(runs) {
        let output = run.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "`cargo test` failed in {} while the other suite ran:\n{}\n{}",
            project.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs the binary's commands: `help`, an unknown one (exit 2, with the usage), `routes`,
/// and `seed`, refused in production; returns the password `seed` printed.
fn run_commands(project: &Path, package: &str, database_url: &str) -> String {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let output = Command::new(shared_target_dir().join("debug").join(package))
            .args(args)
            .current_dir(project)
            .env("DATABASE_URL", database_url)
            .envs(env.iter().copied())
            .output()
            .expect("the generated binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stdout, stderr)
    };

    let (status, usage, _) = run(&["help"], &[]);
    assert_eq!(status, Some(0));
    assert!(
        usage.contains("seed") && usage.contains("routes"),
        "{usage}"
    );
    let (status, _, error) = run(&["sed"], &[]);
    assert_eq!(status, Some(2), "{error}");
    assert!(
        error.starts_with("error: unknown command `sed`") && error.contains("routes"),
        "{error}"
    );
    let (status, routes, error) = run(&["routes"], &[]);
    assert_eq!(status, Some(0), "{error}");
    for (method, path, needs) in [
        ("POST", "/auth/login", "public"),
        ("GET", "/auth/me", "signed in"),
    ] {
        assert!(
            routes.lines().any(|line| line.starts_with(method)
                && line.contains(&format!(" {path} "))
                && line.contains(&format!(" {needs} "))),
            "{method} {path} ({needs}) is not listed:\n{routes}"
        );
    }
    let (status, _, error) = run(&["seed"], &[("APP_ENV", "production")]);
    assert_eq!(status, Some(1), "{error}");
    assert!(error.contains("APP_ENV=production"), "{error}");
    let (status, seeded, error) = run(&["seed"], &[]);
    assert_eq!(status, Some(0), "{error}");
    let (status, again, error) = run(&["seed"], &[]);
    assert_eq!(status, Some(0), "{error}");
    assert!(again.contains("(there already)"), "{again}");
    seeded
        .split_once("demo@example.com, password ")
        .and_then(|(_, rest)| rest.split_once(' '))
        .map(|(password, _)| password.to_owned())
        .unwrap_or_else(|| panic!("seed prints the password:\n{seeded}"))
}

/// Signs up, reads `me` with the session cookie, logs out, and checks the cookie is dead.
fn exercise_auth(server: &Server, email: &str) {
    let password = "correct horse battery";
    let body = format!(r#"{{"email":"{email}","password":"{password}","name":"Ada"}}"#);
    let signup = server.request("POST", "/auth/signup", None, Some(&body));
    assert_eq!(signup.status, 201, "{}", signup.body);
    let cookie = signup
        .header("set-cookie")
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.starts_with("session="), "{cookie}");

    let me = server.request("GET", "/auth/me", Some(&cookie), None);
    assert_eq!(me.status, 200, "{}", me.body);
    assert!(
        me.body.contains(&format!(r#""email":"{email}""#)),
        "{}",
        me.body
    );

    let logout = server.request("POST", "/auth/logout", Some(&cookie), None);
    assert_eq!(logout.status, 204);
    let after = server.request("GET", "/auth/me", Some(&cookie), None);
    assert_eq!(after.status, 401);

    let log = server.log();
    let token = cookie.trim_start_matches("session=");
    assert!(!log.contains(password), "the password reached the log");
    assert!(!log.contains(token), "the session token reached the log");
}

/// A generated app's binary, running; killed if the test fails before stopping it.
struct Server {
    child: Option<Child>,
    address: String,
    log_path: PathBuf,
}

impl Server {
    fn start(project: &Path, package: &str, env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let log_path = project.join("server.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(shared_target_dir().join("debug").join(package))
            .current_dir(project)
            .env_remove("DATABASE_URL")
            .env("BIND_ADDR", &address)
            .env("RUST_LOG", "debug")
            .envs(env.iter().copied())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("the generated binary starts");
        let server = Self {
            child: Some(child),
            address,
            log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(&server.address).is_ok()
                && server.request("GET", "/health", None, None).status == 200
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not become healthy:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<&str>,
    ) -> HttpResponse {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.address
        );
        if let Some(cookie) = cookie {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        HttpResponse::parse(&raw)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGTERM and expects a clean exit: the graceful shutdown path.
    fn stop_gracefully(mut self) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "the server exited with {status}:\n{}",
                    self.log()
                );
                assert!(self.log().contains("shutting down"));
                return;
            }
            assert!(Instant::now() < deadline, "the server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResponse {
    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Self {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A golden example of the previous release (`tests/fixtures/releases/`), committed as
/// its user has it, with an edit of theirs in a generated file and a resource added by
/// this saas, upgraded to this saas: formatted, lint-free and its own suite passes.
fn check_upgraded_release(test: &str, example: &str, database: &str) {
    let Some(test_env) = test_env(test, database) else {
        return;
    };
    let (_parent, root) = crate::upgrade::released_project(example);
    let git = |args: &[&str]| crate::upgrade::git(&root, args);
    let main = std::fs::read_to_string(root.join("src/main.rs")).unwrap();
    let edited = main.replacen(
        "#[tokio::main]",
        "// Started by systemd in production.\n#[tokio::main]",
        1,
    );
    assert_ne!(main, edited);
    std::fs::write(root.join("src/main.rs"), edited).unwrap();
    git(&["commit", "--quiet", "--all", "-m", "Our edit"]);
    saas()
        .args([
            "add",
            "resource",
            "Label",
            "name:string",
            "color:string:optional",
        ])
        .current_dir(&root)
        .assert()
        .success();
    git(&["add", "--all"]);
    git(&["commit", "--quiet", "-m", "Labels"]);

    saas().arg("upgrade").current_dir(&root).assert().success();

    let upgraded = std::fs::read_to_string(root.join("src/main.rs")).unwrap();
    assert!(upgraded.contains("// Started by systemd in production."));
    check_project(&root, &test_env);
}

#[test]
fn a_sqlite_app_of_the_previous_release_upgraded_passes_its_tests() {
    check_upgraded_release(
        "a_sqlite_app_of_the_previous_release_upgraded_passes_its_tests",
        "acme-lite",
        "sqlite",
    );
}

#[test]
fn a_postgres_app_of_the_previous_release_upgraded_passes_its_tests() {
    check_upgraded_release(
        "a_postgres_app_of_the_previous_release_upgraded_passes_its_tests",
        "acme-pg",
        "postgres",
    );
}

/// `saas add feature <feature>` on an app with `features`, resources and a database
/// with rows: the app is formatted, lint-free and its suite passes; its binary migrates
/// the database, and the rows are where they were: in the same organizations, or with
/// orgs added, in the personal organization of the user who had them. `more_rows`
/// inserts what `seed` does not make, before the feature is added. Returns the
/// project, to look at the database further.
fn add_feature_to_an_app_with_rows(
    parent: &Path,
    features: &str,
    feature: &str,
    more_rows: &str,
) -> PathBuf {
    // A name of its own: the apps share one target directory, so another test's app of
    // the same name would replace this one's binary while it runs.
    let name = format!("rows-{feature}");
    saas()
        .args(["new", &name, "--db", "sqlite", "--features", features])
        .current_dir(parent)
        .assert()
        .success();
    let root = parent.join(&name);
    let git = |args: &[&str]| crate::upgrade::git(&root, args);
    let run_saas = |args: &[&str]| {
        saas().args(args).current_dir(&root).assert().success();
    };
    run_saas(&["add", "resource", "Project", "title:string"]);
    run_saas(&[
        "add",
        "resource",
        "Task",
        "title:string",
        "project:references",
    ]);
    git(&["add", "--all"]);
    git(&["commit", "--quiet", "-m", "Resources"]);

    let binary = |args: &[&str]| {
        cargo(&root, &["build", "--locked", "--quiet"], &[]);
        let output = Command::new(shared_target_dir().join("debug").join(&name))
            .args(args)
            .current_dir(&root)
            .env("DATABASE_URL", "sqlite://data/app.db?mode=rwc")
            .output()
            .expect("the generated binary runs");
        assert!(output.status.success(), "{name} {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let rows = |owner: &str| {
        sqlite(
            &root,
            &format!(
                "select 'project', hex(id), hex({owner}), title from projects union all \
                 select 'task', hex(id), hex({owner}), hex(project_id) from tasks order by 1, 2"
            ),
        )
    };
    let owner = if features.contains("orgs") {
        "org_id"
    } else {
        "user_id"
    };
    binary(&["seed"]);
    if !more_rows.is_empty() {
        sqlite(&root, more_rows);
    }
    let before = rows(owner);
    assert!(
        before
            .lines()
            .filter(|row| row.starts_with("project|"))
            .count()
            > 0
            && before
                .lines()
                .filter(|row| row.starts_with("task|"))
                .count()
                > 0,
        "{before}"
    );

    run_saas(&["add", "feature", feature]);
    check_project(&root, &[]);

    binary(&["migrate"]);
    assert_eq!(rows("org_id"), before);
    assert!(binary(&["seed"]).contains("(there already)"));
    root
}

/// What `sqlite3` prints for `query` on the app's database in `root`.
fn sqlite(root: &Path, query: &str) -> String {
    let output = Command::new("sqlite3")
        .arg(root.join("data/app.db"))
        .arg(query)
        .output()
        .expect("sqlite3 runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_sqlite_orgs_app_with_rows_gains_rbac_and_keeps_them() {
    let parent = tempfile::tempdir().unwrap();
    add_feature_to_an_app_with_rows(parent.path(), "orgs", "rbac", "");
}

/// Billing's migration runs last, on a database that has applied every other: no
/// owner has a billing row, which the app reads as the free plan.
#[test]
fn a_sqlite_orgs_app_with_rows_gains_billing_and_keeps_them_on_the_free_plan() {
    let parent = tempfile::tempdir().unwrap();
    let root = add_feature_to_an_app_with_rows(parent.path(), "orgs", "billing", "");
    let last = sqlite(
        &root,
        "select description from _sqlx_migrations order by installed_on desc, version desc limit 1",
    );
    assert_eq!(last.trim(), "billing");
    let newest = sqlite(&root, "select max(version) from _sqlx_migrations");
    let billing = sqlite(
        &root,
        "select version from _sqlx_migrations where description = 'billing'",
    );
    assert_eq!(billing, newest);
    assert_eq!(
        sqlite(&root, "select count(*) from billing_accounts").trim(),
        "0"
    );
}

/// Orgs come last, on a billing app whose database has accounts, rows and a billing
/// account: the migration sqlx applies outside a transaction (it rebuilds SQLite
/// tables with foreign keys off) gives each account its personal organization with
/// the rows, and the billing account follows, its foreign keys whole.
#[test]
fn a_sqlite_billing_app_with_rows_gains_orgs_and_each_account_keeps_them_in_its_own() {
    let parent = tempfile::tempdir().unwrap();
    let root = add_feature_to_an_app_with_rows(
        parent.path(),
        "billing",
        "orgs",
        "insert into billing_accounts (owner_id, stripe_customer_id, plan, status) \
         select id, 'cus_demo', 'pro', 'active' from users",
    );
    let demo = sqlite(&root, "select hex(id) from users").trim().to_owned();
    assert_eq!(
        sqlite(
            &root,
            "select hex(owner_id), stripe_customer_id, plan from billing_accounts"
        )
        .trim(),
        format!("{demo}|cus_demo|pro")
    );
    assert_eq!(
        sqlite(
            &root,
            "select hex(o.id), m.role from organizations o join memberships m on m.org_id = o.id"
        )
        .trim(),
        format!("{demo}|owner")
    );
    let last = sqlite(
        &root,
        "select description from _sqlx_migrations order by version desc limit 1",
    );
    assert_eq!(last.trim(), "personal organizations");
    assert_eq!(sqlite(&root, "pragma foreign_key_check"), "");
}
