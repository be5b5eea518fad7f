//! The plan of `saas add resource`: render the resource's files, inject its
//! registrations at the marker comments, and record both in `saas.toml`.

use std::{io, path::PathBuf};

use crate::{
    Error, api_snapshot, billing_plans,
    inject::{self, Marker, Placement},
    manifest::{self, FileRecord, Injection, ResourceEntry},
    plan::{Op, Plan},
    render::{Renderer, ResourceContext, Tenancy},
    rustfmt::{self, Unformatted},
    spec::ResourceSpec,
    spec::features::Feature,
    spec::fields::FieldType,
};

use super::{Project, sha256};

/// Where a resource's module is declared.
const MODULES: Marker = Marker {
    path: "src/resources/mod.rs",
    marker: "// saas:resource-modules",
    placement: Placement::SortedAboveMarker,
    place: "below the `pub mod` lines of src/resources/mod.rs",
};
/// Where a resource's routes are merged into the app.
const ROUTES: Marker = Marker {
    path: "src/lib.rs",
    marker: "// saas:routes",
    placement: Placement::BeforeMarker,
    place: "in `api()` of src/lib.rs, just before `.split_for_parts()`",
};
/// Where a resource's tests join the test binary.
const TEST_MODULES: Marker = Marker {
    path: "tests/api/main.rs",
    marker: "// saas:test-modules",
    placement: Placement::SortedAboveMarker,
    place: "below the `mod` lines of tests/api/main.rs",
};

/// Where a resource's seeding joins `cargo run -- seed`, after those of the resources
/// it references (they were added before it).
const SEEDS: Marker = Marker {
    path: "src/seed.rs",
    marker: "// saas:seeds",
    placement: Placement::BeforeMarker,
    place: "as the last line inside `let seeded = vec![ … ];` of `run` in src/seed.rs",
};

/// Where a resource's permissions join the permission table (`rbac` projects).
const PERMISSIONS: Marker = Marker {
    path: "src/access.rs",
    marker: "// saas:permissions",
    placement: Placement::BeforeMarker,
    place: "as the last line inside `permissions! { … }` of src/access.rs",
};

/// Where a resource's table joins the tables plans may limit (`billing` projects).
const TABLES: Marker = Marker {
    path: "src/resources/mod.rs",
    marker: "// saas:resource-tables",
    placement: Placement::BeforeMarker,
    place: "as the last line inside `pub const TABLES: &[&str] = &[ … ];` of src/resources/mod.rs",
};

/// Where a resource's member columns join those a membership's end releases (`orgs`
/// projects).
const MEMBER_COLUMNS: Marker = Marker {
    path: "src/resources/mod.rs",
    marker: "// saas:member-columns",
    placement: Placement::BeforeMarker,
    place: "as the last line inside `pub const MEMBER_COLUMNS: &[(&str, &str, bool)] = &[ … ];` of src/resources/mod.rs",
};

/// What `saas add resource` will do.
#[derive(Debug)]
pub struct Addition {
    pub plan: Plan,
    /// Set when the Rust files could not be formatted.
    pub unformatted: Option<Unformatted>,
    /// With `--feature` naming a feature no plan had: the plans it was added to.
    pub feature_added_to: Option<Vec<String>>,
}

/// Everything `saas add resource` will write for `spec`, checked; reads the project but
/// writes nothing. `timestamp` versions the migration.
pub fn plan_add(
    spec: &ResourceSpec,
    project: &Project,
    timestamp: &str,
) -> Result<Addition, Error> {
    let manifest = &project.manifest;
    let tenancy = Tenancy::of(&manifest.features);
    let context = ResourceContext::new(manifest.database, &manifest.features, &tenancy, spec);
    let renderer = Renderer::new();

    let table = &spec.name.plural;
    let ([module, tests], unformatted) = rustfmt::format_rust([
        renderer.render_resource("module.rs.jinja", &context)?,
        renderer.render_resource("tests.rs.jinja", &context)?,
    ]);
    let created = [
        (format!("src/resources/{table}.rs"), module),
        (format!("tests/api/{table}.rs"), tests),
        (
            format!("migrations/{timestamp}_create_{table}.sql"),
            renderer.render_resource("migration.sql.jinja", &context)?,
        ),
    ];
    let mut plan = Plan::default();
    let mut files = Vec::new();
    for (path, contents) in created {
        if project.root.join(&path).exists() {
            return Err(Error::FileExists { path });
        }
        files.push(FileRecord {
            sha256: sha256(contents.as_bytes()),
            path: path.clone(),
        });
        plan.ops.push(Op::Create {
            path: PathBuf::from(path),
            contents: contents.into_bytes(),
        });
    }

    let mut injections = Vec::new();
    let mut lines = vec![
        (MODULES, format!("pub mod {table};")),
        (
            ROUTES,
            format!("        .merge(resources::{table}::router())"),
        ),
        (TEST_MODULES, format!("mod {table};")),
        (
            SEEDS,
            format!("        crate::resources::{table}::seed(&demo, db).await?,"),
        ),
    ];
    lines.extend(
        tenancy
            .permission_rows(&spec.name)
            .into_iter()
            .map(|row| (PERMISSIONS, row.line)),
    );
    let billing = manifest.features.contains(Feature::Billing);
    if billing {
        lines.push((TABLES, format!("    \"{table}\",")));
    }
    lines.extend(
        spec.fields
            .iter()
            .filter(|field| field.ty == FieldType::Member)
            .map(|field| {
                let required = !field.optional;
                let line = format!("    (\"{table}\", \"{}\", {required}),", field.column());
                (MEMBER_COLUMNS, line)
            }),
    );
    let mut edited_files: Vec<(&str, String)> = Vec::new();
    for (marker, line) in lines {
        let text = match edited_files.iter().find(|(path, _)| *path == marker.path) {
            Some((_, text)) => text.clone(),
            None => {
                let path = project.root.join(marker.path);
                std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?
            }
        };
        // A line that is there already is the user's: neither added nor, later, removed.
        if let Some(edited) = inject::inject(&text, &marker, &line)? {
            edited_files.retain(|(path, _)| *path != marker.path);
            edited_files.push((marker.path, edited));
            injections.push(Injection {
                path: marker.path.to_owned(),
                marker: marker.marker.to_owned(),
                line,
            });
        }
    }
    for (path, contents) in edited_files {
        let mut markers = Vec::new();
        for injection in injections.iter().filter(|injection| injection.path == path) {
            if !markers.contains(&injection.marker) {
                markers.push(injection.marker.clone());
            }
        }
        plan.ops.push(Op::Edit {
            path: PathBuf::from(path),
            contents: contents.into_bytes(),
            markers,
        });
    }

    let mut feature_added_to = None;
    if billing && (!spec.limits.is_empty() || spec.feature.is_some()) {
        let path = project.root.join(billing_plans::FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::PlansFile {
                file: billing_plans::FILE,
                problem: "the file is missing, and `--limit` and `--feature` write into it".to_owned(),
                help: "put the plans back (`saas new` wrote them; the app needs them to start), or leave the options out".to_owned(),
            },
            _ => Error::Read { path, source },
        })?;
        let added = billing_plans::add(&text, table, &spec.limits, spec.feature.as_deref())?;
        feature_added_to = added.feature_added_to;
        if added.text != text {
            plan.ops.push(Op::Edit {
                path: PathBuf::from(billing_plans::FILE),
                contents: added.text.into_bytes(),
                markers: Vec::new(),
            });
        }
    }

    if let Some(snapshot) = api_snapshot::load(&project.root)? {
        plan.ops.push(Op::Edit {
            path: PathBuf::from(api_snapshot::PATH),
            contents: api_snapshot::add(&snapshot, &context.openapi())?.into_bytes(),
            markers: Vec::new(),
        });
    }

    let entry = ResourceEntry {
        name: spec.name.pascal.clone(),
        table: table.clone(),
        fields: spec.fields.iter().map(ToString::to_string).collect(),
        limits: spec
            .limits
            .iter()
            .map(|limit| (limit.plan.clone(), limit.max))
            .collect(),
        feature: spec.feature.clone(),
        files,
        injections,
    };
    plan.ops.push(Op::Edit {
        path: PathBuf::from(manifest::FILE_NAME),
        contents: manifest::add_resource(&project.manifest_text, &entry)?.into_bytes(),
        markers: Vec::new(),
    });
    Ok(Addition {
        plan,
        unformatted,
        feature_added_to,
    })
}
