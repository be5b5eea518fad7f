//! Errors of the library. Each user error says what is wrong and, on a `help:` line, how to fix it.

use std::path::PathBuf;

/// An error of a `saas` command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid project name `{name}`: {reason}\nhelp: {help}")]
    InvalidName {
        name: String,
        reason: String,
        help: String,
    },
    #[error(
        "unknown feature `{0}`\nhelp: the features are orgs, rbac and billing; `none` selects none"
    )]
    UnknownFeature(String),
    #[error(
        "feature `{0}` is not available yet in saas {version}\nhelp: leave it out for now (for example `--features none`)",
        version = env!("CARGO_PKG_VERSION")
    )]
    FeatureNotAvailable(&'static str),
    #[error(
        "feature `{feature}` requires `{requires}`\nhelp: add it: --features {requires},{feature}"
    )]
    FeatureRequires {
        feature: &'static str,
        requires: &'static str,
    },
    #[error("destination `{}` already exists and is not empty\nhelp: choose another name, or move that directory away", .0.display())]
    DestinationNotEmpty(PathBuf),
    #[error("destination `{}` exists and is not a directory\nhelp: choose another name", .0.display())]
    DestinationNotADirectory(PathBuf),
    #[error("the parent directory `{}` does not exist\nhelp: create it first, or pass another --path", .0.display())]
    MissingParent(PathBuf),
    #[error("could not render template `{template}`")]
    Render {
        template: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("could not write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not ask interactively")]
    Prompt(#[source] dialoguer::Error),
}

impl Error {
    /// Whether the user can fix this by changing the command (exit code 1), rather than a
    /// failure of the tool or the machine (exit code 2).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::InvalidName { .. }
                | Self::UnknownFeature(_)
                | Self::FeatureNotAvailable(_)
                | Self::FeatureRequires { .. }
                | Self::DestinationNotEmpty(_)
                | Self::DestinationNotADirectory(_)
                | Self::MissingParent(_)
        )
    }
}
