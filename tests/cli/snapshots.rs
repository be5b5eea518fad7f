//! Every file `saas new` writes, per database, as a reviewed snapshot; and checks
//! that hold for every generated file.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
};

use crate::common::{PROJECT_FIELDS, TASK_FIELDS};
use saas::{
    api_snapshot,
    new::plan_project,
    plan::{Op, Plan},
    resource::{Project, plan_add},
    spec::features::FeatureSet,
    spec::naming::ProjectName,
    spec::{Database, ProjectSpec, ResourceSpec, resource::ResourceRequest},
};

/// The feature sets snapshotted per database: every set saas offers, none first.
fn variants() -> Vec<String> {
    FeatureSet::valid_sets()
        .iter()
        .map(FeatureSet::to_list)
        .collect()
}

fn plan_for(database: Database) -> Plan {
    plan_with(database, "none")
}

fn plan_with(database: Database, features: &str) -> Plan {
    plan_named("acme", database, features)
}

fn plan_named(name: &str, database: Database, features: &str) -> Plan {
    let spec = ProjectSpec {
        name: ProjectName::parse(name).unwrap(),
        database,
        features: FeatureSet::parse(features).unwrap(),
        destination: PathBuf::from("acme"),
        git: false,
    };
    plan_project(&spec).unwrap()
}

/// Every generated project: each database with each variant.
fn every_plan() -> impl Iterator<Item = Plan> {
    every_variant()
        .into_iter()
        .map(|(database, features)| plan_with(database, &features))
}

/// The files of a plan but `Cargo.lock`, thousands of lines resolved by cargo, and the
/// API snapshot, the OpenAPI document of `templates/openapi/`: the end-to-end tests
/// hold both to the app, by building it with `--locked` and running its snapshot test.
/// Nor the client's `package-lock.json`, resolved by npm: `client.rs` installs from it
/// with `npm ci`, which fails when it does not match `package.json`.
fn files(plan: &Plan) -> impl Iterator<Item = (String, String)> + '_ {
    plan.ops.iter().filter_map(|op| {
        let Op::Create { path, contents } = op else {
            panic!("saas new only creates files: {op:?}");
        };
        let path = path.to_string_lossy().replace('\\', "/");
        let resolved = ["Cargo.lock", api_snapshot::PATH, "client/package-lock.json"];
        // `.env` is `.env.example`'s copy (`new::new_with_postgres_writes_the_postgres_dialect`).
        let copied = path == ".env";
        (!resolved.contains(&path.as_str()) && !copied).then(|| {
            let contents = String::from_utf8(contents.clone()).expect("generated files are UTF-8");
            (path, contents)
        })
    })
}

/// Snapshots of generated files, one per distinct body. Many variants generate the same
/// file, and an edit of its template is reviewed once, not once per variant: each body
/// is a snapshot named after the first key (variant and path) that generates it, and
/// the snapshot `index` maps every key to its body, so a variant that starts or stops
/// sharing a body with another shows there. A body no key generates any more fails the
/// test; `INSTA_UPDATE=always` removes it, as it writes the others.
struct Bodies {
    /// Where the snapshots are, relative to this file.
    dir: &'static str,
    /// Each body's name, by its contents.
    names: HashMap<String, String>,
    /// Each distinct body: its name, what it is, its contents; in the order first seen.
    bodies: Vec<(String, String, String)>,
    /// `key → name`, one line per key.
    index: Vec<String>,
}

impl Bodies {
    fn new(dir: &'static str) -> Self {
        Self {
            dir,
            names: HashMap::new(),
            bodies: Vec::new(),
            index: Vec::new(),
        }
    }

    /// Records that `key` generates `contents`: the body named `name` (`description`
    /// says what it is) if no key before it generated the same.
    fn record(&mut self, key: &str, name: String, description: String, contents: String) {
        let name = match self.names.get(&contents) {
            Some(name) => name.clone(),
            None => {
                self.names.insert(contents.clone(), name.clone());
                self.bodies.push((name.clone(), description, contents));
                name
            }
        };
        self.index.push(format!("{key} → {name}"));
    }

    /// Asserts every body and the index against their snapshots, and that no other
    /// snapshot is left in the directory.
    fn assert_snapshots(self) {
        for (name, description, contents) in &self.bodies {
            insta::with_settings!({ snapshot_path => self.dir, prepend_module_to_snapshot => false, description => description.as_str() }, {
                insta::assert_snapshot!(name.as_str(), contents.as_str());
            });
        }
        let index = self.index.join("\n");
        insta::with_settings!({ snapshot_path => self.dir, prepend_module_to_snapshot => false, description => "every key, and the body it generates" }, {
            insta::assert_snapshot!("index", index);
        });
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/cli")
            .join(self.dir);
        let kept: HashSet<String> = self
            .bodies
            .iter()
            .map(|(name, ..)| format!("{name}.snap"))
            .chain(["index.snap".to_owned()])
            .collect();
        let mut unused: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                let file = path.file_name().unwrap().to_string_lossy();
                file.ends_with(".snap") && !kept.contains(file.as_ref())
            })
            .collect();
        unused.sort();
        if std::env::var("INSTA_UPDATE").as_deref() == Ok("always") {
            for path in &unused {
                std::fs::remove_file(path).unwrap();
            }
        } else {
            assert!(
                unused.is_empty(),
                "no key generates these bodies any more; delete them, or run with INSTA_UPDATE=always, which does: {unused:#?}"
            );
        }
    }
}

/// Every database and feature set, in the order bodies are named by: SQLite first,
/// no feature first.
fn every_variant() -> Vec<(Database, String)> {
    [Database::Sqlite, Database::Postgres]
        .into_iter()
        .flat_map(|database| {
            variants()
                .into_iter()
                .map(move |features| (database, features))
        })
        .collect()
}

/// The name of a variant in snapshots: `sqlite-none`, `postgres-orgs-rbac`.
fn variant_name(database: Database, features: &str) -> String {
    format!("{}-{}", database.as_str(), features.replace(',', "-"))
}

/// Every file `saas new` writes, in every variant, one snapshot per distinct body.
#[test]
fn every_generated_file_matches_its_snapshot() {
    let mut bodies = Bodies::new("snapshots/project");
    for (database, features) in every_variant() {
        let variant = variant_name(database, &features);
        for (path, contents) in files(&plan_with(database, &features)) {
            let name = format!("{variant}__{}", path.replace('/', "__"));
            bodies.record(&format!("{variant} {path}"), name, path, contents);
        }
    }
    bodies.assert_snapshots();
}

#[test]
fn generated_rust_parses() {
    for plan in every_plan() {
        for (path, contents) in files(&plan) {
            if path.ends_with(".rs") {
                syn::parse_file(&contents).unwrap_or_else(|error| panic!("{path}: {error}"));
            }
        }
    }
}

/// The project's names the formatting test writes: one letter, a name that sorts after
/// every dependency, `app` (the library's own name) and the longest name accepted.
const NAMES: [&str; 4] = [
    "a",
    "zeta",
    "app",
    "a123456789b123456789c123456789d123456789e123456789f123456789g12",
];

/// `saas new` runs no rustfmt: every Rust file it writes must already be formatted, for
/// every variant and every length of name. A name in Rust code would move lines (a
/// long one wraps a line, and rustfmt sorts `use` by crate), which is why the library
/// is `app` in every project and the name is only in `src/name.rs`'s constants.
#[test]
fn generated_rust_is_formatted_whatever_the_project_name() {
    assert_eq!(NAMES[3].len(), 63, "the longest name `ProjectName` accepts");
    assert!(ProjectName::parse(&format!("{}h", NAMES[3])).is_err());
    // The one file that holds the name in code (the next test), at every length.
    for length in 1..=NAMES[3].len() {
        let name = &NAMES[3][..length];
        for database in [Database::Sqlite, Database::Postgres] {
            let plan = plan_named(name, database, "none");
            let (_, module) = files(&plan)
                .find(|(path, _)| path == "src/name.rs")
                .expect("every project has src/name.rs");
            let mut rustfmt = std::process::Command::new("rustfmt")
                .args(["--edition", "2024", "--check"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("rustfmt runs (it comes with every rustup toolchain)");
            std::io::Write::write_all(&mut rustfmt.stdin.take().unwrap(), module.as_bytes())
                .unwrap();
            let output = rustfmt.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "`{name}`, {}: rustfmt would change src/name.rs:\n{}",
                database.as_str(),
                String::from_utf8_lossy(&output.stdout)
            );
        }
    }
    for name in NAMES {
        for database in [Database::Sqlite, Database::Postgres] {
            for features in variants() {
                let plan = plan_named(name, database, &features);
                let dir = tempfile::tempdir().unwrap();
                let mut paths = Vec::new();
                for (path, contents) in files(&plan).filter(|(path, _)| path.ends_with(".rs")) {
                    let file = dir.path().join(&path);
                    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                    std::fs::write(&file, contents).unwrap();
                    paths.push(file);
                }
                let output = std::process::Command::new("rustfmt")
                    .args(["--edition", "2024", "--check"])
                    .args(&paths)
                    .output()
                    .expect("rustfmt runs (it comes with every rustup toolchain)");
                assert!(
                    output.status.success(),
                    "`{name}`, {} with {features}: rustfmt would change:\n{}",
                    database.as_str(),
                    String::from_utf8_lossy(&output.stdout)
                );
            }
        }
    }
}

/// The project's name is in the Rust it generates only in `src/name.rs` and in comments
/// (the token patterns of the API document are written from `name::TOKEN_PREFIX`): so
/// the code, and its formatting, is the same in every project.
#[test]
fn generated_rust_names_the_project_only_in_its_name_module() {
    let name = "quokka_vault";
    for database in [Database::Sqlite, Database::Postgres] {
        for features in variants() {
            let plan = plan_named(name, database, &features);
            let mut naming = Vec::new();
            for (path, contents) in files(&plan).filter(|(path, _)| path.ends_with(".rs")) {
                let code_naming = contents.lines().any(|line| {
                    let code = line.trim_start();
                    !code.starts_with("//") && line.to_lowercase().contains("quokka")
                });
                if code_naming {
                    naming.push(path);
                }
            }
            assert_eq!(
                naming,
                ["src/name.rs"],
                "{} with {features}",
                database.as_str()
            );
        }
    }
}

/// (Their layout, whitespace and blank lines, is `whitespace.rs`'s to check.)
#[test]
fn generated_files_carry_no_template_noise() {
    for plan in every_plan() {
        for (path, contents) in files(&plan) {
            // A workflow's `${{ … }}` is GitHub Actions' own expression syntax.
            let contents = contents.replace("${{", "");
            assert!(
                !contents.contains("{{") && !contents.contains("{%"),
                "{path}: template syntax left"
            );
        }
    }
}

#[test]
fn the_databases_share_every_file_but_their_own() {
    let sqlite = plan_for(Database::Sqlite);
    let postgres = plan_for(Database::Postgres);
    let paths = |plan: &Plan| files(plan).map(|(path, _)| path).collect::<Vec<_>>();

    assert_eq!(paths(&sqlite), paths(&postgres));
    let mut differing: Vec<String> = files(&sqlite)
        .zip(files(&postgres))
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| a.0)
        .collect();
    differing.sort();
    assert_eq!(
        differing,
        [
            ".env.example",
            ".github/workflows/ci.yml",
            "Cargo.toml",
            "Dockerfile",
            "README.md",
            "migrations/0001_setup.sql",
            "migrations/0002_account_tokens.sql",
            "migrations/0003_jobs.sql",
            "migrations/0006_periodic_runs.sql",
            "saas.toml",
            "src/cleanup.rs",
            "src/config.rs",
            "src/db.rs",
            "src/jobs/queue.rs",
            "src/name.rs",
            "tests/api/common/database.rs",
            "tests/api/logs.rs",
            "tests/api/overload.rs"
        ]
    );
}

/// The feature sets whose resources have snapshots.
const RESOURCE_VARIANTS: [&str; 5] = ["none", "orgs", "orgs,rbac", "billing", "orgs,rbac,billing"];

/// The plans of `saas add resource Project …` and then `Task …` in a new project with
/// `features`; with orgs, `Task` also has an assignee (a member of the organization);
/// with billing, `Project` is limited on `free` and `Task` needs the feature `reports`.
fn resource_plans(database: Database, features: &str) -> Vec<(&'static str, Plan)> {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("acme");
    let spec = ProjectSpec {
        name: ProjectName::parse("acme").unwrap(),
        database,
        features: FeatureSet::parse(features).unwrap(),
        destination: root.clone(),
        git: false,
    };
    saas::sink::ProjectDir::new(&root)
        .apply(&plan_project(&spec).unwrap())
        .unwrap();
    let mut task_fields: Vec<&str> = TASK_FIELDS.to_vec();
    if features.contains("orgs") {
        task_fields.push("assignee:references(user)?");
    }
    let billing = features.contains("billing");
    let resources = [
        ("Project", PROJECT_FIELDS, billing.then_some("free=3"), None),
        ("Task", &task_fields[..], None, billing.then_some("reports")),
    ];
    let mut plans = Vec::new();
    for (number, (name, fields, limit, feature)) in resources.into_iter().enumerate() {
        let fields: Vec<String> = fields.iter().map(ToString::to_string).collect();
        let limits: Vec<String> = limit.into_iter().map(ToOwned::to_owned).collect();
        let request = ResourceRequest {
            name,
            fields: &fields,
            limits: &limits,
            feature,
            ..ResourceRequest::default()
        };
        let project = Project::find(&root).unwrap();
        let spec = ResourceSpec::parse(&request, &project.manifest).unwrap();
        let addition = plan_add(&spec, &project, &format!("2027010100000{number}")).unwrap();
        assert_eq!(addition.unformatted, None, "rustfmt formats the resource");
        let plan = addition.plan;
        saas::sink::ProjectDir::new(&root).apply(&plan).unwrap();
        plans.push((name, plan));
    }
    plans
}

#[test]
fn every_resource_file_and_injection_matches_its_snapshot() {
    let mut bodies = Bodies::new("snapshots/resources");
    for features in RESOURCE_VARIANTS {
        for database in [Database::Sqlite, Database::Postgres] {
            let variant = variant_name(database, features);
            for (resource, plan) in resource_plans(database, features) {
                for op in &plan.ops {
                    let (kind, path, contents) = match op {
                        Op::Create { path, contents } => ("create", path, contents),
                        Op::Edit { path, contents, .. } => ("edit", path, contents),
                        Op::Delete { .. } => panic!("an add deletes nothing"),
                    };
                    let path = path.to_string_lossy().replace('\\', "/");
                    if path == "saas.toml" && database == Database::Postgres {
                        continue; // the same as SQLite's but for its database line
                    }
                    if path == api_snapshot::PATH {
                        // Thousands of lines for two paths and three schemas: the unit
                        // tests of api_snapshot.rs and the end-to-end tests cover it, and
                        // examples/ shows it.
                        continue;
                    }
                    let name =
                        format!("{variant}__{resource}__{kind}__{}", path.replace('/', "__"));
                    let contents = String::from_utf8(contents.clone()).unwrap();
                    if path.ends_with(".rs") {
                        syn::parse_file(&contents)
                            .unwrap_or_else(|error| panic!("{path}: {error}"));
                    }
                    let key = format!("{variant} {resource}: {kind} {path}");
                    bodies.record(&key, name, format!("{kind} {path}"), contents);
                }
            }
        }
    }
    bodies.assert_snapshots();
}
