//! The validated input of a generation, built from what the user said and checked once.
//! Nothing downstream looks at a raw string again. The spec never asks anything: the
//! command (the face) asks for what the flags left out, and the spec validates the answers.

pub mod features; // the optional features and the rules between them
pub mod fields; // field specs of `saas add resource`, and each type's facts
pub mod naming; // project and resource names, validated as cargo validates package names
pub mod resource;

use std::{
    fmt,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::{
    Error,
    spec::features::{Choice, Feature, FeatureSet},
    spec::naming::ProjectName,
};

pub use self::resource::{Parent, PlanLimit, ResourceSpec};

/// A database the generated app can be written for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Database {
    /// Embedded, zero set-up: a file next to the app.
    #[default]
    Sqlite,
    /// PostgreSQL, for production.
    Postgres,
}

impl Database {
    pub const ALL: [Database; 2] = [Database::Sqlite, Database::Postgres];

    /// The name in `saas.toml` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Database {
    type Error = String;

    /// Reads `database` of `saas.toml`; the message names the key and the accepted values.
    fn try_from(name: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|database| database.as_str() == name)
            .ok_or_else(|| {
                let accepted: Vec<&str> = Self::ALL.map(Self::as_str).to_vec();
                format!(
                    "`database = \"{name}\"` is not a database saas knows; the accepted values are {}",
                    accepted.join(", ")
                )
            })
    }
}

/// Everything `saas new` needs to know, already valid.
#[derive(Debug, Clone)]
pub struct ProjectSpec {
    pub name: ProjectName,
    pub database: Database,
    pub features: FeatureSet,
    /// The directory the project becomes; it does not exist yet, or is empty.
    pub destination: PathBuf,
    pub git: bool,
}

/// What the flags of `saas new` say, checked; `None` where they said nothing, for the
/// face to ask or to default.
#[derive(Debug, Clone)]
pub struct ProjectRequest {
    pub name: Option<ProjectName>,
    /// The directory the project is created in (`--path`, or the current one).
    parent: PathBuf,
    pub git: bool,
    pub database: Option<Database>,
    /// `--features`, with what its requirements added.
    pub features: Option<Choice>,
}

impl ProjectRequest {
    /// Checks the name, the destination and a `--features` list before anyone is asked
    /// anything.
    pub fn new(
        name: Option<&str>,
        parent: Option<PathBuf>,
        database: Option<Database>,
        features: Option<&str>,
        git: bool,
    ) -> Result<Self, Error> {
        let parent = parent.unwrap_or_else(|| PathBuf::from("."));
        let name = name.map(|raw| check_name(raw, &parent)).transpose()?;
        if !parent.is_dir() {
            return Err(Error::MissingParent(parent));
        }
        let features = features.map(Choice::parse).transpose()?;
        Ok(Self {
            name,
            parent,
            git,
            database,
            features,
        })
    }

    /// Checks a name as the argument is checked: a valid package name whose directory
    /// is free. For the question that asks for the name.
    pub fn check_name(&self, raw: &str) -> Result<ProjectName, Error> {
        check_name(raw, &self.parent)
    }

    /// The spec, with the answers to what the flags left out; `None` takes the default,
    /// and there is none for the name.
    pub fn complete(
        self,
        name: Option<&str>,
        database: Option<Database>,
        features: Option<FeatureSet>,
    ) -> Result<ProjectSpec, Error> {
        let name = match (self.name, name) {
            (Some(name), _) => name,
            (None, Some(answer)) => check_name(answer, &self.parent)?,
            (None, None) => return Err(Error::MissingName),
        };
        let features = match (self.features, features) {
            (Some(choice), _) => choice.features,
            (None, Some(chosen)) => chosen,
            (None, None) => Feature::defaults(),
        };
        Ok(ProjectSpec {
            destination: self.parent.join(&name.package),
            name,
            database: self.database.or(database).unwrap_or_default(),
            features,
            git: self.git,
        })
    }
}

/// A project name, and its directory in `parent` free to be created.
fn check_name(raw: &str, parent: &Path) -> Result<ProjectName, Error> {
    let name = ProjectName::parse(raw)?;
    check_destination(parent, &parent.join(&name.package))?;
    Ok(name)
}

/// The destination may be absent or an empty directory; anything else is someone's data.
fn check_destination(parent: &Path, destination: &Path) -> Result<(), Error> {
    if !parent.is_dir() {
        return Err(Error::MissingParent(parent.to_path_buf()));
    }
    match std::fs::symlink_metadata(destination) {
        Err(_) => Ok(()),
        Ok(metadata) if !metadata.is_dir() => {
            Err(Error::DestinationNotADirectory(destination.to_path_buf()))
        }
        Ok(_) => {
            let empty = std::fs::read_dir(destination)
                .map(|mut entries| entries.next().is_none())
                .unwrap_or(false);
            if empty {
                Ok(())
            } else {
                Err(Error::DestinationNotEmpty(destination.to_path_buf()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(features: Option<&str>) -> ProjectRequest {
        let parent = std::env::temp_dir();
        ProjectRequest::new(
            Some("spec-test-never-created"),
            Some(parent),
            None,
            features,
            false,
        )
        .unwrap()
    }

    #[test]
    fn a_features_flag_gets_the_requirements_the_prompt_would_add() {
        let request = request(Some("rbac"));
        let added: Vec<String> = request
            .features
            .as_ref()
            .unwrap()
            .added
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(added, ["rbac needs orgs: added orgs"]);
        let spec = request.complete(None, None, None).unwrap();
        assert_eq!(spec.features, FeatureSet::parse("orgs,rbac").unwrap());
    }

    #[test]
    fn a_name_answered_is_checked_like_the_argument_and_none_is_an_error() {
        let parent = std::env::temp_dir();
        let request = ProjectRequest::new(None, Some(parent.clone()), None, None, false).unwrap();
        let error = request.check_name("fn").unwrap_err();
        assert!(matches!(error, Error::InvalidName { .. }), "{error}");
        let spec = request
            .clone()
            .complete(Some("spec-test-never-created"), None, None)
            .unwrap();
        assert_eq!(spec.destination, parent.join("spec-test-never-created"));
        let error = request.complete(None, None, None).unwrap_err();
        assert!(matches!(error, Error::MissingName), "{error}");
    }

    #[test]
    fn flags_win_over_answers_and_nothing_given_takes_the_defaults() {
        let spec = request(None).complete(None, None, None).unwrap();
        assert_eq!(spec.database, Database::Sqlite);
        assert_eq!(spec.features, Feature::defaults());
        let spec = request(Some("none"))
            .complete(None, Some(Database::Postgres), Some(Feature::defaults()))
            .unwrap();
        assert_eq!(spec.database, Database::Postgres);
        assert_eq!(spec.features, FeatureSet::default());
    }
}
