//! `saas.toml`: what a generated project is (tool version, name, database, features,
//! resources), so later commands know it without guessing from its code.

use toml_edit::DocumentMut;

/// The file name, at the project's root.
pub const FILE_NAME: &str = "saas.toml";

/// The parts of `saas.toml` that commands read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub saas_version: String,
    pub name: String,
    pub database: String,
    pub features: Vec<String>,
}

/// A `saas.toml` that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("saas.toml is not valid TOML: {0}")]
    Syntax(#[from] toml_edit::TomlError),
    #[error("saas.toml has no valid `{0}`")]
    Missing(&'static str),
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let document: DocumentMut = text.parse()?;
        let string = |key: &'static str| {
            document
                .get(key)
                .and_then(|item| item.as_str())
                .map(str::to_owned)
                .ok_or(ManifestError::Missing(key))
        };
        let features = document
            .get("features")
            .and_then(|item| item.as_array())
            .ok_or(ManifestError::Missing("features"))?
            .iter()
            .map(|value| {
                value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or(ManifestError::Missing("features"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            saas_version: string("saas_version")?,
            name: string("name")?,
            database: string("database")?,
            features,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_is_read_with_its_comments_ignored() {
        let text = "# mine\nsaas_version = \"0.1.0\"\nname = \"acme\"\ndatabase = \"sqlite\"\nfeatures = [\"orgs\"]\nresources = []\n";
        let manifest = Manifest::parse(text).unwrap();
        assert_eq!(manifest.name, "acme");
        assert_eq!(manifest.database, "sqlite");
        assert_eq!(manifest.features, ["orgs"]);
    }

    #[test]
    fn a_missing_key_is_named() {
        let error = Manifest::parse("name = \"acme\"\n").unwrap_err();
        assert_eq!(error.to_string(), "saas.toml has no valid `features`");
        assert!(Manifest::parse("name = ").is_err());
    }
}
