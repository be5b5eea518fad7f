//! `saas.toml`: what a generated project is (tool version, name, database, features,
//! resources), so later commands know it without guessing from its code. Edited
//! with toml_edit, so the user's comments and layout survive.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use crate::{Error, spec::Database, spec::features::FeatureSet};

/// The file name, at the project's root.
pub const FILE_NAME: &str = "saas.toml";

/// `saas.toml`, read into typed values: an unknown database or feature is an error,
/// never a default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Manifest {
    pub saas_version: String,
    pub name: String,
    pub database: Database,
    pub features: FeatureSet,
    #[serde(default)]
    pub resources: Vec<ResourceEntry>,
    /// The migrations of a feature added after `saas new` (`saas add feature`), under
    /// the name they have in this project: a version after the migrations it had then,
    /// so that they sort after every migration a database has applied. The name `saas
    /// new` gives them (`0005_billing.sql`) -> the project's.
    #[serde(default)]
    pub migration_names: BTreeMap<String, String>,
}

/// What `saas add resource` wrote for one resource, so it can be undone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceEntry {
    /// The struct name (`Project`).
    pub name: String,
    /// The table and module (`projects`).
    pub table: String,
    /// The field specs, canonical (`title:string`, `due_on:date:optional`).
    pub fields: Vec<String>,
    /// The plan limits given with `--limit` (billing projects): plan id -> maximum.
    #[serde(default)]
    pub limits: BTreeMap<String, u32>,
    /// The plan feature every route needs (`--feature`).
    #[serde(default)]
    pub feature: Option<String>,
    /// Each file written, with the SHA-256 of what was written.
    pub files: Vec<FileRecord>,
    /// Each line injected at a marker (a line that was there already is not recorded).
    pub injections: Vec<Injection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Injection {
    pub path: String,
    pub marker: String,
    pub line: String,
}

/// A `saas.toml` that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{FILE_NAME} is not valid TOML: {0}")]
    Syntax(#[from] toml_edit::TomlError),
    #[error("{FILE_NAME}{at}: {message}\nhelp: correct it in {FILE_NAME}, which `saas new` wrote")]
    Invalid {
        /// `, line N` where the error is, when known.
        at: String,
        message: String,
    },
    #[error(
        "this project was written by saas {written_by}, which is newer than this saas ({this}): \
         it may hold files this version does not know how to change\n\
         help: install saas {written_by} or later, then run the command again"
    )]
    Newer { written_by: String, this: String },
}

impl From<ManifestError> for Error {
    fn from(error: ManifestError) -> Self {
        Self::Manifest(Box::new(error))
    }
}

/// The version of this saas, as written to `saas_version`.
pub const THIS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The root of the project that contains `start` (the nearest directory upward with a
/// `saas.toml`), and that file's text.
pub fn find(start: &Path) -> Result<(PathBuf, String), Error> {
    for directory in start.ancestors() {
        let path = directory.join(FILE_NAME);
        if path.is_file() {
            let text =
                std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
            return Ok((directory.to_path_buf(), text));
        }
    }
    Err(Error::NotInProject)
}

impl Manifest {
    /// Reads `text`, refusing a project that a newer saas wrote: its files may follow
    /// templates this version has never seen. An older saas's project is read as it is.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest = Self::parse_any_version(text)?;
        let (Some(written_by), Some(this)) =
            (release(&manifest.saas_version), release(THIS_VERSION))
        else {
            return Err(ManifestError::Invalid {
                at: String::new(),
                message: format!(
                    "`saas_version = \"{}\"` is not a version (major.minor.patch)",
                    manifest.saas_version
                ),
            });
        };
        if written_by > this {
            return Err(ManifestError::Newer {
                written_by: manifest.saas_version,
                this: THIS_VERSION.to_owned(),
            });
        }
        Ok(manifest)
    }

    fn parse_any_version(text: &str) -> Result<Self, ManifestError> {
        // Syntax errors first, with toml_edit's own message.
        text.parse::<DocumentMut>()?;
        toml_edit::de::from_str(text).map_err(|error| {
            // A missing key is located at the start of the document: it names no line.
            let at = error
                .span()
                .filter(|span| span.start > 0)
                .map(|span| format!(", line {}", text[..span.start].lines().count().max(1)))
                .unwrap_or_default();
            ManifestError::Invalid {
                at,
                message: error.message().to_owned(),
            }
        })
    }

    /// The resource whose table is `table`, if the project has it.
    pub fn resource(&self, table: &str) -> Option<&ResourceEntry> {
        self.resources
            .iter()
            .find(|resource| resource.table == table)
    }
}

/// The `major.minor.patch` of a version such as `0.2.1` or `0.3.0-dev`, compared as
/// numbers; `None` for anything else.
fn release(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|part| part.parse::<u64>().ok());
    let release = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(release)
}

/// `text` with `entry` appended to its resources; everything else is kept as it was.
pub fn add_resource(text: &str, entry: &ResourceEntry) -> Result<String, ManifestError> {
    let mut document: DocumentMut = text.parse()?;
    let is_array_of_tables = document
        .get("resources")
        .is_some_and(Item::is_array_of_tables);
    if !is_array_of_tables {
        // `resources = []` as `saas new` writes it becomes `[[resources]]` tables.
        document.remove("resources");
        document.insert("resources", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let resources = document["resources"]
        .as_array_of_tables_mut()
        .expect("just made sure");
    resources.push(entry.to_table());
    Ok(document.to_string())
}

/// `text` with `migration_names` recording that the migration `saas new` names `from`
/// is named `to` in this project.
pub fn set_migration_name(text: &str, from: &str, to: &str) -> Result<String, ManifestError> {
    let mut document: DocumentMut = text.parse()?;
    let names = document
        .entry("migration_names")
        .or_insert_with(|| toml_edit::value(InlineTable::new()));
    if let Some(names) = names.as_inline_table_mut() {
        names.insert(from, to.into());
        names.fmt();
    }
    Ok(document.to_string())
}

/// `text` without the resource whose table is `table`.
pub fn remove_resource(text: &str, table: &str) -> Result<String, ManifestError> {
    let mut document: DocumentMut = text.parse()?;
    if let Some(resources) = document
        .get_mut("resources")
        .and_then(Item::as_array_of_tables_mut)
    {
        resources.retain(|resource| resource.get("table").and_then(Item::as_str) != Some(table));
        if resources.is_empty() {
            document.remove("resources");
            document.insert("resources", toml_edit::value(Array::new()));
        }
    }
    Ok(document.to_string())
}

impl ResourceEntry {
    fn to_table(&self) -> Table {
        let mut table = Table::new();
        table.insert("name", toml_edit::value(&self.name));
        table.insert("table", toml_edit::value(&self.table));
        table.insert("fields", toml_edit::value(Array::from_iter(&self.fields)));
        if !self.limits.is_empty() {
            let mut limits: InlineTable = self
                .limits
                .iter()
                .map(|(plan, max)| (plan.as_str(), Value::from(i64::from(*max))))
                .collect();
            limits.fmt();
            table.insert("limits", toml_edit::value(limits));
        }
        if let Some(feature) = &self.feature {
            table.insert("feature", toml_edit::value(feature));
        }
        let files = self.files.iter().map(|file| {
            let mut record = InlineTable::new();
            record.insert("path", file.path.as_str().into());
            record.insert("sha256", file.sha256.as_str().into());
            record
        });
        table.insert("files", toml_edit::value(one_per_line(files)));
        let injections = self.injections.iter().map(|injection| {
            let mut record = InlineTable::new();
            record.insert("path", injection.path.as_str().into());
            record.insert("marker", injection.marker.as_str().into());
            record.insert("line", injection.line.as_str().into());
            record
        });
        table.insert("injections", toml_edit::value(one_per_line(injections)));
        table
    }
}

/// An array of inline tables laid out one per line, as a person would write it.
fn one_per_line(tables: impl Iterator<Item = InlineTable>) -> Array {
    let mut array: Array = tables.map(Value::InlineTable).collect();
    for value in array.iter_mut() {
        value.decor_mut().set_prefix("\n    ");
    }
    array.set_trailing("\n");
    array.set_trailing_comma(true);
    array
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::features::Feature;

    const NEW: &str = "# mine\nsaas_version = \"0.1.0\"\nname = \"acme\"\ndatabase = \"sqlite\"\nfeatures = [\"orgs\"]\nresources = []\n";

    fn entry() -> ResourceEntry {
        ResourceEntry {
            name: "Project".to_owned(),
            table: "projects".to_owned(),
            fields: vec!["title:string".to_owned()],
            limits: BTreeMap::new(),
            feature: None,
            files: vec![FileRecord {
                path: "src/resources/projects.rs".to_owned(),
                sha256: "ab".to_owned(),
            }],
            injections: vec![Injection {
                path: "src/lib.rs".to_owned(),
                marker: "// saas:routes".to_owned(),
                line: "x".to_owned(),
            }],
        }
    }

    #[test]
    fn a_manifest_is_read_with_its_comments_ignored() {
        let manifest = Manifest::parse(NEW).unwrap();
        assert_eq!(manifest.name, "acme");
        assert_eq!(manifest.database, Database::Sqlite);
        assert_eq!(
            manifest.features.iter().collect::<Vec<_>>(),
            [Feature::Orgs]
        );
        assert!(manifest.resources.is_empty());
    }

    #[test]
    fn a_project_of_a_newer_saas_is_refused_and_an_older_one_read() {
        let (major, minor, patch) = release(THIS_VERSION).unwrap();
        let newer = format!("{major}.{}.0", minor + 1);
        let error = Manifest::parse(&NEW.replace("0.1.0", &newer))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "this project was written by saas {newer}, which is newer than this saas ({THIS_VERSION})"
            )),
            "{error}"
        );
        assert!(
            error.ends_with(&format!(
                "help: install saas {newer} or later, then run the command again"
            )),
            "{error}"
        );
        assert!(Manifest::parse(&NEW.replace("0.1.0", "0.0.9")).is_ok());
        assert!(Manifest::parse(&NEW.replace("0.1.0", THIS_VERSION)).is_ok());
        let prerelease_of_this = format!("{major}.{minor}.{patch}-dev");
        assert!(Manifest::parse(&NEW.replace("0.1.0", &prerelease_of_this)).is_ok());
    }

    #[test]
    fn a_saas_version_that_is_not_a_version_is_named() {
        for bad in ["", "1", "1.2", "one.two.three", "1.2.3.4"] {
            let error = Manifest::parse(&NEW.replace("0.1.0", bad))
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(&format!(
                    "saas.toml: `saas_version = \"{bad}\"` is not a version (major.minor.patch)"
                )),
                "{error}"
            );
        }
    }

    #[test]
    fn a_missing_key_is_named() {
        let error = Manifest::parse("name = \"acme\"\n").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("saas.toml: missing field `saas_version`"),
            "{error}"
        );
        assert!(Manifest::parse("name = ").is_err());
    }

    #[test]
    fn an_unknown_database_is_an_error_naming_the_file_the_key_and_the_choices() {
        let error = Manifest::parse(&NEW.replace("sqlite", "postgresql"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "saas.toml, line 4: `database = \"postgresql\"` is not a database saas knows; the accepted values are sqlite, postgres"
            ),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_feature_is_an_error_naming_the_file_the_key_and_the_choices() {
        let error = Manifest::parse(&NEW.replace("\"orgs\"", "\"org\""))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "saas.toml, line 5: `features` lists \"org\", which is not a feature saas knows; the accepted values are orgs, rbac, billing"
            ),
            "{error}"
        );
        let error = Manifest::parse(&NEW.replace("\"orgs\"", "\"rbac\""))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`features`: feature `rbac` requires `orgs`"),
            "{error}"
        );
    }

    #[test]
    fn resources_are_added_and_removed_keeping_the_rest() {
        let added = add_resource(NEW, &entry()).unwrap();
        assert!(added.starts_with("# mine\n"), "{added}");
        assert!(added.contains("[[resources]]"));
        assert_eq!(Manifest::parse(&added).unwrap().resources, [entry()]);

        let removed = remove_resource(&added, "projects").unwrap();
        assert_eq!(Manifest::parse(&removed).unwrap().resources, []);
        assert!(removed.contains("resources = []"));
        assert!(removed.starts_with("# mine\n"));
    }

    #[test]
    fn limits_and_feature_are_recorded_only_when_given_and_read_back() {
        let plain = add_resource(NEW, &entry()).unwrap();
        assert!(!plain.contains("limits"), "{plain}");
        assert!(!plain.contains("feature ="), "{plain}");

        let billed = ResourceEntry {
            limits: BTreeMap::from([("pro".to_owned(), 100), ("free".to_owned(), 3)]),
            feature: Some("reports".to_owned()),
            ..entry()
        };
        let text = add_resource(NEW, &billed).unwrap();
        assert!(
            text.contains("limits = { free = 3, pro = 100 }\nfeature = \"reports\"\n"),
            "{text}"
        );
        assert_eq!(Manifest::parse(&text).unwrap().resources, [billed]);
    }

    #[test]
    fn a_resource_recorded_before_limits_existed_is_read_without_them() {
        let old = format!(
            "{NEW}\n[[resources]]\nname = \"Project\"\ntable = \"projects\"\nfields = [\"title:string\"]\nfiles = []\ninjections = []\n"
        )
        .replace("resources = []\n", "");
        let resource = &Manifest::parse(&old).unwrap().resources[0];
        assert!(resource.limits.is_empty());
        assert_eq!(resource.feature, None);
    }
}
