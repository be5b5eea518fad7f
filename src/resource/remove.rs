//! The plan of `saas remove resource`: all or nothing. Every recorded file and injected
//! line is checked first; an edited file or a line no longer there as written refuses
//! the whole removal, unless forced, and then what is left to delete is named.

use std::{collections::BTreeMap, fmt, path::PathBuf};

use crate::{
    Error, api_snapshot, billing_plans, inject,
    manifest::{self, Injection},
    plan::{Op, Plan},
    render::Tenancy,
    spec::features::Feature,
    spec::fields::{Field, FieldType},
    spec::naming::ResourceName,
    spec::resource::find_resource,
};

use super::{Project, sha256};

/// What `saas remove resource` will do.
#[derive(Debug)]
pub struct Removal {
    /// The resource's struct name.
    pub name: String,
    pub plan: Plan,
    /// With `--force`: the lines that now stand where an injected line was, which the
    /// user deletes by hand.
    pub left_by_hand: Vec<LeftOver>,
}

/// A line the removal leaves for the user to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOver {
    pub path: String,
    /// 1-based.
    pub line_number: usize,
    pub line: String,
}

impl fmt::Display for LeftOver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.path,
            self.line_number,
            self.line.trim()
        )
    }
}

/// Everything `saas remove resource <name>` will change, checked; writes nothing.
/// With `force`, files edited since the add are deleted too, and injected lines edited
/// since are left for the user.
pub fn plan_remove(
    name: &str,
    force: bool,
    project: &Project,
    timestamp: &str,
) -> Result<Removal, Error> {
    let manifest = &project.manifest;
    let asked = ResourceName::parse(name)?;
    let name = find_resource(manifest, &asked).ok_or_else(|| Error::UnknownResource {
        name: asked.pascal.clone(),
        existing: manifest
            .resources
            .iter()
            .map(|resource| resource.name.clone())
            .collect(),
    })?;
    let entry = manifest.resource(&name.plural).expect("found above");
    let referrers: Vec<&str> = manifest
        .resources
        .iter()
        .filter(|other| other.table != entry.table)
        .filter(|other| {
            other
                .fields
                .iter()
                .filter_map(|spec| Field::parse(spec).ok())
                .any(|field| field.ty == FieldType::References && field.name == name.singular)
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
        let path = project.root.join(&file.path);
        match std::fs::read(&path) {
            Ok(contents) if sha256(&contents) == file.sha256 || force => {
                plan.ops.push(Op::Delete {
                    path: PathBuf::from(&file.path),
                });
            }
            Ok(_) => edited.push(file.path.clone()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {} // already gone
            // Anything else stops the removal before it changes a thing: a file that
            // cannot be read may still be there, and its record must not go.
            Err(source) => return Err(Error::Read { path, source }),
        }
    }
    if !edited.is_empty() {
        return Err(Error::EditedFiles(edited));
    }

    // Each file's text after every removal in it so far, and the markers it was
    // changed at.
    let mut texts: BTreeMap<&str, (String, Vec<String>)> = BTreeMap::new();
    let mut missing = Vec::new();
    for injection in &entry.injections {
        let (text, mut markers) = match texts.remove(injection.path.as_str()) {
            Some(edited) => edited,
            None => {
                let path = project.root.join(&injection.path);
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| Error::Read { path, source })?;
                (text, Vec::new())
            }
        };
        let text = match inject::remove(&text, &injection.line) {
            Some(without) => {
                if !markers.contains(&injection.marker) {
                    markers.push(injection.marker.clone());
                }
                without
            }
            None => {
                missing.push((injection, leftovers(injection, &text, &entry.table)));
                text
            }
        };
        texts.insert(&injection.path, (text, markers));
    }
    if !missing.is_empty() && !force {
        return Err(Error::InjectionsChanged {
            name: name.pascal.clone(),
            lines: missing
                .iter()
                .map(|(injection, now)| describe_missing(injection, now))
                .collect(),
        });
    }
    for (path, (text, markers)) in texts {
        // A file none of whose lines could be taken out is left as it is.
        if !markers.is_empty() {
            plan.ops.push(Op::Edit {
                path: PathBuf::from(path),
                contents: text.into_bytes(),
                markers,
            });
        }
    }

    if manifest.features.contains(Feature::Billing) {
        let path = project.root.join(billing_plans::FILE);
        // No plans file, nothing to undo in it (the app will say it is missing).
        if path.is_file() {
            let text =
                std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
            // A feature another resource still needs stays in the plans.
            let feature = entry.feature.as_deref().filter(|feature| {
                !manifest.resources.iter().any(|other| {
                    other.table != entry.table && other.feature.as_deref() == Some(*feature)
                })
            });
            // Every plan's key goes, also one written by hand: the app refuses to start
            // with a limit on a table it does not have.
            let without = billing_plans::remove(&text, &entry.table, feature)?;
            if without != text {
                plan.ops.push(Op::Edit {
                    path: PathBuf::from(billing_plans::FILE),
                    contents: without.into_bytes(),
                    markers: Vec::new(),
                });
            }
        }
    }

    if let Some(snapshot) = api_snapshot::load(&project.root)? {
        let tenancy = Tenancy::of(&manifest.features);
        let without = api_snapshot::remove(&snapshot, &name, &tenancy)?;
        if without != snapshot {
            plan.ops.push(Op::Edit {
                path: PathBuf::from(api_snapshot::PATH),
                contents: without.into_bytes(),
                markers: Vec::new(),
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
        contents: manifest::remove_resource(&project.manifest_text, &entry.table)?.into_bytes(),
        markers: Vec::new(),
    });
    Ok(Removal {
        name: name.pascal,
        plan,
        left_by_hand: missing.into_iter().flat_map(|(_, now)| now).collect(),
    })
}

/// The lines of `text` that still name the resource's module `table`: what became of an
/// injected line that is no longer there as written.
fn leftovers(injection: &Injection, text: &str, table: &str) -> Vec<LeftOver> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| names_word(line, table))
        .map(|(index, line)| LeftOver {
            path: injection.path.clone(),
            line_number: index + 1,
            line: line.to_owned(),
        })
        .collect()
}

/// Whether `line` has `word` as a whole identifier.
fn names_word(line: &str, word: &str) -> bool {
    let is_identifier = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier)
    })
}

fn describe_missing(injection: &Injection, now: &[LeftOver]) -> String {
    let written = format!("{}: `{}`", injection.path, injection.line.trim());
    match now {
        [] => format!("{written} is gone"),
        lines => {
            let lines: Vec<String> = lines
                .iter()
                .map(|left| format!("line {}: `{}`", left.line_number, left.line.trim()))
                .collect();
            format!("{written} is now {}", lines.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_identifiers_count_as_naming_the_module() {
        assert!(names_word(
            "    .merge(resources::projects::router())",
            "projects"
        ));
        assert!(names_word("pub(crate) mod projects;", "projects"));
        assert!(!names_word("pub mod old_projects;", "projects"));
        assert!(!names_word("pub mod projects2;", "projects"));
    }
}
