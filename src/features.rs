//! The optional features of a generated app, and the rules between them.

use std::fmt;

use crate::Error;

/// An optional part of the generated app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum Feature {
    /// Organizations, memberships and invitations.
    Orgs,
    /// Roles and a permission table; needs `orgs`.
    Rbac,
    /// Plans, subscriptions and Stripe.
    Billing,
}

impl Feature {
    pub const ALL: [Feature; 3] = [Feature::Orgs, Feature::Rbac, Feature::Billing];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Orgs => "orgs",
            Self::Rbac => "rbac",
            Self::Billing => "billing",
        }
    }

    /// What a person choosing features reads.
    pub fn description(self) -> &'static str {
        match self {
            Self::Orgs => "organizations, memberships and invitations",
            Self::Rbac => "roles owner > admin > member and one permission table (pulls in orgs)",
            Self::Billing => "plans, subscriptions and Stripe",
        }
    }

    /// The feature this one cannot work without.
    pub fn requires(self) -> Option<Feature> {
        match self {
            Self::Rbac => Some(Self::Orgs),
            Self::Orgs | Self::Billing => None,
        }
    }

    /// The features a project gets when nobody chose: all of them.
    pub fn defaults() -> FeatureSet {
        FeatureSet(Self::ALL.to_vec())
    }

    fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|feature| feature.as_str() == name)
            .ok_or_else(|| Error::UnknownFeature(name.to_owned()))
    }
}

impl TryFrom<String> for Feature {
    type Error = String;

    /// Reads an entry of `features` in `saas.toml`; the message names the key and the
    /// accepted values.
    fn try_from(name: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|feature| feature.as_str() == name)
            .ok_or_else(|| {
                format!(
                    "`features` lists \"{name}\", which is not a feature saas knows; the accepted values are {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A valid set of features: each with what it requires. Sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "Vec<Feature>")]
pub struct FeatureSet(Vec<Feature>);

impl TryFrom<Vec<Feature>> for FeatureSet {
    type Error = String;

    /// Reads `features` of `saas.toml`: the requirements must hold.
    fn try_from(features: Vec<Feature>) -> Result<Self, String> {
        Self::with_requirements(features).map_err(|error| {
            let message = error.to_string();
            let reason = message.lines().next().unwrap_or_default();
            format!("`features`: {reason}")
        })
    }
}

impl FeatureSet {
    /// Parses `--features`: a comma-separated list, or `none`.
    pub fn parse(list: &str) -> Result<Self, Error> {
        let list = list.trim();
        if list.eq_ignore_ascii_case("none") {
            return Ok(Self::default());
        }
        let features = list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| Feature::from_name(&name.to_ascii_lowercase()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(features)
    }

    /// Checks the features against the rules: each with its requirements.
    pub fn new(features: Vec<Feature>) -> Result<Self, Error> {
        Self::with_requirements(features)
    }

    fn with_requirements(mut features: Vec<Feature>) -> Result<Self, Error> {
        features.sort_unstable();
        features.dedup();
        for &feature in &features {
            if let Some(required) = feature.requires()
                && !features.contains(&required)
            {
                return Err(Error::FeatureRequires {
                    feature: feature.as_str(),
                    requires: required.as_str(),
                });
            }
        }
        Ok(Self(features))
    }

    pub fn contains(&self, feature: Feature) -> bool {
        self.0.contains(&feature)
    }

    pub fn iter(&self) -> impl Iterator<Item = Feature> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_selects_no_feature() {
        assert_eq!(FeatureSet::parse("none").unwrap(), FeatureSet::default());
        assert_eq!(FeatureSet::parse("").unwrap(), FeatureSet::default());
    }

    #[test]
    fn unknown_names_are_refused_by_name() {
        let error = FeatureSet::parse("orgs,teams").unwrap_err();
        assert!(
            matches!(error, Error::UnknownFeature(ref name) if name == "teams"),
            "{error}"
        );
    }

    #[test]
    fn rbac_requires_orgs() {
        let error = FeatureSet::parse("rbac").unwrap_err();
        assert!(
            matches!(
                error,
                Error::FeatureRequires {
                    feature: "rbac",
                    requires: "orgs"
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn billing_goes_alone_or_with_orgs_and_rbac() {
        for (list, expected) in [
            ("billing", &[Feature::Billing][..]),
            ("billing,orgs", &[Feature::Orgs, Feature::Billing]),
            (
                "billing, rbac, orgs",
                &[Feature::Orgs, Feature::Rbac, Feature::Billing],
            ),
        ] {
            let features = FeatureSet::parse(list).unwrap();
            assert_eq!(features.iter().collect::<Vec<_>>(), expected, "{list}");
        }
    }

    #[test]
    fn the_defaults_are_orgs_rbac_and_billing() {
        let defaults = Feature::defaults();
        assert_eq!(
            defaults.iter().collect::<Vec<_>>(),
            [Feature::Orgs, Feature::Rbac, Feature::Billing]
        );
        assert_eq!(
            FeatureSet::new(defaults.iter().collect()).unwrap(),
            defaults
        );
    }
}
