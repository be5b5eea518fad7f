//! `saas add resource` and `saas remove resource`: plan every file and edit from the
//! manifest and the templates, check it all, then apply it in one step.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{SystemTime, UNIX_EPOCH},
};

use sha2::{Digest, Sha256};

use crate::{
    Error,
    cli::{AddResourceArgs, Database, RemoveResourceArgs},
    fields::{Field, FieldType},
    inject::{self, Marker, Placement},
    manifest::{self, FileRecord, Injection, Manifest, ResourceEntry},
    naming::ResourceName,
    plan::{Op, Plan},
    render::{Parent, Renderer, ResourceContext},
    sink::ProjectDir,
};

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

/// `saas add resource`, run from `cwd`.
pub fn add(args: AddResourceArgs, cwd: &Path) -> anyhow::Result<()> {
    let (root, manifest_text) = manifest::find(cwd)?;
    let plan = plan_add(&args, &root, &manifest_text, &migration_version(&root))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
    } else {
        print!("{}", plan.describe());
    }
    if args.dry_run {
        return Ok(());
    }
    ProjectDir::new(&root).apply(&plan)?;
    if !args.json {
        println!(
            "\nAdded resource `{}`. Run `cargo test` to see its tests pass.",
            args.name
        );
    }
    Ok(())
}

/// Everything `saas add resource` will write, checked; reads the project but writes nothing.
pub fn plan_add(
    args: &AddResourceArgs,
    root: &Path,
    manifest_text: &str,
    timestamp: &str,
) -> Result<Plan, Error> {
    let manifest = Manifest::parse(manifest_text)?;
    let name = ResourceName::parse(&args.name)?;
    if manifest.resource(&name.plural).is_some() {
        return Err(Error::ResourceExists(name.pascal));
    }
    let billing = manifest.features.iter().any(|feature| feature == "billing");
    if !billing && !args.limit.is_empty() {
        return Err(Error::NeedsBilling { option: "--limit" });
    }
    if !billing && args.feature.is_some() {
        return Err(Error::NeedsBilling {
            option: "--feature",
        });
    }
    let fields = args
        .fields
        .iter()
        .map(|spec| Field::parse(spec))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, field) in fields.iter().enumerate() {
        if fields[..i]
            .iter()
            .any(|earlier| earlier.column() == field.column())
        {
            return Err(Error::InvalidField {
                spec: field.to_string(),
                reason: format!("`{}` is given twice", field.column()),
                help: "give each field once".to_owned(),
            });
        }
    }
    let parents = resolve_references(&fields, &manifest, &name)?;
    let database = match manifest.database.as_str() {
        "postgres" => Database::Postgres,
        _ => Database::Sqlite,
    };
    let crate_name = manifest.name.replace('-', "_");
    let context = ResourceContext::new(&crate_name, database, name.clone(), &fields, &parents);
    let renderer = Renderer::new();

    let table = &name.plural;
    let [module, tests] = format_rust([
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
        if root.join(&path).exists() {
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
        let path = root.join(marker.path);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
        if let Some(edited) = inject::inject(&text, &marker, &line)? {
            plan.ops.push(Op::Edit {
                path: PathBuf::from(marker.path),
                contents: edited.into_bytes(),
                marker: Some(marker.marker.to_owned()),
            });
        }
        injections.push(Injection {
            path: marker.path.to_owned(),
            marker: marker.marker.to_owned(),
            line,
        });
    }

    let entry = ResourceEntry {
        name: name.pascal.clone(),
        table: table.clone(),
        fields: fields.iter().map(ToString::to_string).collect(),
        files,
        injections,
    };
    plan.ops.push(Op::Edit {
        path: PathBuf::from(manifest::FILE_NAME),
        contents: manifest::add_resource(manifest_text, &entry)?.into_bytes(),
        marker: None,
    });
    Ok(plan)
}

/// The resources that reference fields point at, with their fields.
fn resolve_references(
    fields: &[Field],
    manifest: &Manifest,
    name: &ResourceName,
) -> Result<Vec<Parent>, Error> {
    let mut parents = Vec::new();
    for field in fields
        .iter()
        .filter(|field| field.ty == FieldType::References)
    {
        let refuse = |reason: String, help: String| Error::InvalidField {
            spec: field.to_string(),
            reason,
            help,
        };
        let known: Vec<ResourceName> = manifest
            .resources
            .iter()
            .filter_map(|resource| ResourceName::parse(&resource.name).ok())
            .collect();
        let Some(target) = known.iter().find(|known| known.singular == field.name) else {
            let names: Vec<&str> = known.iter().map(|known| known.singular.as_str()).collect();
            let help = if names.is_empty() {
                "add the resource it points to first".to_owned()
            } else {
                format!("the resources are {}", names.join(", "))
            };
            return Err(refuse(
                format!("there is no resource `{}` to reference", field.name),
                help,
            ));
        };
        if target.singular == name.singular {
            return Err(refuse(
                "a resource cannot reference itself yet".to_owned(),
                "leave this field out".to_owned(),
            ));
        }
        let entry = manifest.resource(&target.plural).expect("found above");
        let target_fields = entry
            .fields
            .iter()
            .map(|spec| Field::parse(spec))
            .collect::<Result<Vec<_>, _>>()?;
        if target_fields
            .iter()
            .any(|field| field.ty == FieldType::References)
        {
            return Err(refuse(
                format!(
                    "`{}` has references of its own, which generated tests cannot set up yet",
                    target.singular
                ),
                "reference a resource without references".to_owned(),
            ));
        }
        parents.push(Parent {
            name: target.clone(),
            fields: target_fields,
        });
    }
    Ok(parents)
}

/// `saas remove resource`, run from `cwd`.
pub fn remove(args: RemoveResourceArgs, cwd: &Path) -> anyhow::Result<()> {
    let (root, manifest_text) = manifest::find(cwd)?;
    let plan = plan_remove(&args, &root, &manifest_text, &migration_version(&root))?;
    print!("{}", plan.describe());
    if args.dry_run {
        return Ok(());
    }
    ProjectDir::new(&root).apply(&plan)?;
    println!(
        "\nRemoved resource `{}`. The new migration drops its table.",
        args.name
    );
    Ok(())
}

/// Everything `saas remove resource` will change, checked; writes nothing.
pub fn plan_remove(
    args: &RemoveResourceArgs,
    root: &Path,
    manifest_text: &str,
    timestamp: &str,
) -> Result<Plan, Error> {
    let manifest = Manifest::parse(manifest_text)?;
    let name = ResourceName::parse(&args.name)?;
    let entry = manifest
        .resource(&name.plural)
        .ok_or_else(|| Error::UnknownResource(name.pascal.clone()))?;
    let referrers: Vec<&str> = manifest
        .resources
        .iter()
        .filter(|other| other.table != entry.table)
        .filter(|other| {
            other
                .fields
                .iter()
                .any(|spec| spec.starts_with(&format!("{}:references", name.singular)))
        })
        .map(|other| other.name.as_str())
        .collect();
    if !referrers.is_empty() {
        return Err(Error::StillReferenced {
            name: name.pascal.clone(),
            by: referrers.join(", "),
        });
    }

    let mut plan = Plan::default();
    let mut edited = Vec::new();
    for file in &entry.files {
        // The create migration stays: databases that ran it need the drop that follows.
        if file.path.starts_with("migrations/") {
            continue;
        }
        match std::fs::read(root.join(&file.path)) {
            Ok(contents) if sha256(&contents) == file.sha256 || args.force => {
                plan.ops.push(Op::Delete {
                    path: PathBuf::from(&file.path),
                });
            }
            Ok(_) => edited.push(file.path.clone()),
            Err(_) => {} // already gone
        }
    }
    if !edited.is_empty() {
        return Err(Error::EditedFiles(edited));
    }
    for injection in &entry.injections {
        let path = root.join(&injection.path);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
        if let Some(without) = inject::remove(&text, &injection.line) {
            plan.ops.push(Op::Edit {
                path: PathBuf::from(&injection.path),
                contents: without.into_bytes(),
                marker: Some(injection.marker.clone()),
            });
        }
    }
    let drop = format!(
        "-- {} was removed with `saas remove resource`; its create migration stays, so\n-- databases that ran it end up without the table too.\ndrop table {};\n",
        entry.name, entry.table
    );
    plan.ops.push(Op::Create {
        path: PathBuf::from(format!("migrations/{timestamp}_drop_{}.sql", entry.table)),
        contents: drop.into_bytes(),
    });
    plan.ops.push(Op::Edit {
        path: PathBuf::from(manifest::FILE_NAME),
        contents: manifest::remove_resource(manifest_text, &entry.table)?.into_bytes(),
        marker: None,
    });
    Ok(plan)
}

fn sha256(contents: &[u8]) -> String {
    Sha256::digest(contents)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Formats generated Rust with rustfmt, as `cargo fmt` would, one rustfmt process per
/// source running side by side; without rustfmt the code is kept as rendered.
fn format_rust<const N: usize>(sources: [String; N]) -> [String; N] {
    let children = sources.each_ref().map(|source| {
        let mut child = Command::new("rustfmt")
            .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // Dropping stdin after the write closes it, so rustfmt starts formatting.
        child.stdin.take()?.write_all(source.as_bytes()).ok()?;
        Some(child)
    });
    let mut formatted = children.map(|child| {
        let output = child?.wait_with_output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8(output.stdout).ok())
            .flatten()
    });
    let mut index = 0;
    sources.map(|source| {
        let result = formatted[index].take().unwrap_or(source);
        index += 1;
        result
    })
}

/// The version of a new migration: the UTC time as `YYYYMMDDHHMMSS`, or one more than
/// the newest existing migration if that is not earlier (two adds in one second).
fn migration_version(root: &Path) -> String {
    let newest = std::fs::read_dir(root.join("migrations"))
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.split('_').next()?.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0);
    let now: u64 = migration_timestamp().parse().expect("digits");
    now.max(newest + 1).to_string()
}

/// `YYYYMMDDHHMMSS` in UTC. `SAAS_NOW` (Unix seconds) fixes it, for reproducible output
/// in tests.
fn migration_timestamp() -> String {
    let seconds = std::env::var("SAAS_NOW")
        .ok()
        .and_then(|now| now.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let days = (seconds / 86_400) as i64;
    let time = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_counts_become_calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
