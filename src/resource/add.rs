//! The plan of `saas add resource`: render the resource's files, inject its
//! registrations at the marker comments, and record both in `saas.toml`.

use std::path::PathBuf;

use crate::{
    Error,
    inject::{self, Marker, Placement},
    manifest::{self, FileRecord, Injection, ResourceEntry},
    plan::{Op, Plan},
    render::{Renderer, ResourceContext, Tenancy},
    rustfmt::{self, Unformatted},
    spec::ResourceSpec,
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
    place: "in `app()` of src/lib.rs, just before `.split_for_parts()`",
};
/// Where a resource's tests join the test binary.
const TEST_MODULES: Marker = Marker {
    path: "tests/api/main.rs",
    marker: "// saas:test-modules",
    placement: Placement::SortedAboveMarker,
    place: "below the `mod` lines of tests/api/main.rs",
};

/// What `saas add resource` will do.
#[derive(Debug)]
pub struct Addition {
    pub plan: Plan,
    /// Set when the Rust files could not be formatted.
    pub unformatted: Option<Unformatted>,
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
    let crate_name = manifest.name.replace('-', "_");
    let context = ResourceContext::new(
        &crate_name,
        manifest.database,
        &manifest.features,
        &tenancy,
        spec,
    );
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
    for (marker, line) in [
        (MODULES, format!("pub mod {table};")),
        (
            ROUTES,
            format!("        .merge(resources::{table}::router())"),
        ),
        (TEST_MODULES, format!("mod {table};")),
    ] {
        let path = project.root.join(marker.path);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
        // A line that is there already is the user's: neither added nor, later, removed.
        if let Some(edited) = inject::inject(&text, &marker, &line)? {
            plan.ops.push(Op::Edit {
                path: PathBuf::from(marker.path),
                contents: edited.into_bytes(),
                marker: Some(marker.marker.to_owned()),
            });
            injections.push(Injection {
                path: marker.path.to_owned(),
                marker: marker.marker.to_owned(),
                line,
            });
        }
    }

    let entry = ResourceEntry {
        name: spec.name.pascal.clone(),
        table: table.clone(),
        fields: spec.fields.iter().map(ToString::to_string).collect(),
        files,
        injections,
    };
    plan.ops.push(Op::Edit {
        path: PathBuf::from(manifest::FILE_NAME),
        contents: manifest::add_resource(&project.manifest_text, &entry)?.into_bytes(),
        marker: None,
    });
    Ok(Addition { plan, unformatted })
}
