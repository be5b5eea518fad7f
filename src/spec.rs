//! The validated input of `saas new`: built from the flags and the prompts, checked once.
//! Nothing downstream looks at a raw string again.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
};

use crate::{
    Error,
    cli::{Database, NewArgs},
    features::{Feature, FeatureSet},
    naming::ProjectName,
    prompt,
};

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

impl ProjectSpec {
    /// Validates the flags, then asks for what they left out when a person is there to answer.
    pub fn from_args(args: NewArgs) -> Result<Self, Error> {
        let name = ProjectName::parse(&args.name)?;
        let parent = args.path.unwrap_or_else(|| PathBuf::from("."));
        let destination = parent.join(&name.package);
        check_destination(&parent, &destination)?;
        // Bad flags are refused before anyone is asked anything.
        let features = args
            .features
            .as_deref()
            .map(FeatureSet::parse)
            .transpose()?;

        let interactive = !args.yes && std::io::stdin().is_terminal();
        let database = match args.db {
            Some(database) => database,
            None if interactive => prompt::database()?,
            None => Database::Sqlite,
        };
        let features = match features {
            Some(features) => features,
            None if interactive => prompt::features()?,
            None => Feature::defaults(),
        };
        Ok(Self {
            name,
            database,
            features,
            destination,
            git: !args.no_git,
        })
    }
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
