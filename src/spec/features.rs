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
            Self::Rbac => "roles owner > admin > member, a permission table; needs orgs",
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

    /// The names, for messages: `orgs, rbac, billing`.
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|feature| feature.as_str() == name)
            .ok_or_else(|| Error::UnknownFeature {
                name: name.to_owned(),
                features: Self::names(),
            })
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
                    Self::names()
                )
            })
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The features a person chose, on the command line or at the prompt, with what their
/// requirements added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub features: FeatureSet,
    /// The features added because a chosen one needs them, for the command to say so.
    pub added: Vec<Added>,
}

/// A feature added because a chosen one needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    pub feature: Feature,
    pub needed_by: Feature,
}

impl fmt::Display for Added {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { feature, needed_by } = self;
        write!(f, "{needed_by} needs {feature}: added {feature}")
    }
}

impl Choice {
    /// Parses `--features`: a comma-separated list, or `none`. A list that names no
    /// feature is refused rather than taken as `none`.
    pub fn parse(list: &str) -> Result<Self, Error> {
        if list.trim().eq_ignore_ascii_case("none") {
            return Ok(Self::new(Vec::new()));
        }
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect();
        if names.is_empty() {
            return Err(Error::EmptyFeatureList {
                list: list.to_owned(),
                features: Feature::names(),
            });
        }
        let chosen = names
            .into_iter()
            .map(|name| Feature::from_name(&name.to_ascii_lowercase()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(chosen))
    }

    /// The chosen features, each with the feature it requires (rbac brings orgs).
    pub fn new(chosen: Vec<Feature>) -> Self {
        let mut features = chosen.clone();
        let mut added = Vec::new();
        for &needed_by in &chosen {
            if let Some(feature) = needed_by.requires()
                && !features.contains(&feature)
            {
                features.push(feature);
                added.push(Added { feature, needed_by });
            }
        }
        let features = FeatureSet::with_requirements(features)
            .expect("every chosen feature's requirement was added");
        Self { features, added }
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
    /// Parses a `--features` list; see [`Choice::parse`].
    pub fn parse(list: &str) -> Result<Self, Error> {
        Choice::parse(list).map(|choice| choice.features)
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

    /// Every set the rules allow, from none to all: the subsets of [`Feature::ALL`] in
    /// counting order (orgs, rbac and billing as the bits 1, 2 and 4), less those
    /// missing a requirement. Tests, scripts and the end-to-end grid iterate over this.
    pub fn valid_sets() -> Vec<FeatureSet> {
        (0..1u32 << Feature::ALL.len())
            .filter_map(|bits| {
                let features = Feature::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(bit, _)| bits & (1 << bit) != 0)
                    .map(|(_, feature)| feature)
                    .collect();
                Self::with_requirements(features).ok()
            })
            .collect()
    }

    /// The set as `--features` takes it: `none`, or the names joined by commas.
    pub fn to_list(&self) -> String {
        if self.0.is_empty() {
            return "none".to_owned();
        }
        self.iter()
            .map(Feature::as_str)
            .collect::<Vec<_>>()
            .join(",")
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
    fn none_selects_no_feature_and_an_empty_list_is_refused() {
        assert_eq!(FeatureSet::parse("none").unwrap(), FeatureSet::default());
        assert_eq!(FeatureSet::parse(" NONE ").unwrap(), FeatureSet::default());
        for empty in ["", " ", ",", " , "] {
            let error = FeatureSet::parse(empty).unwrap_err();
            assert!(matches!(error, Error::EmptyFeatureList { .. }), "{empty:?}");
            assert!(error.to_string().contains("`--features none`"), "{error}");
        }
    }

    #[test]
    fn unknown_names_are_refused_by_name() {
        let error = FeatureSet::parse("orgs,teams").unwrap_err();
        assert!(
            matches!(error, Error::UnknownFeature { ref name, .. } if name == "teams"),
            "{error}"
        );
    }

    #[test]
    fn rbac_brings_orgs_and_says_so() {
        let choice = Choice::parse("rbac").unwrap();
        assert_eq!(choice.features, FeatureSet::parse("orgs,rbac").unwrap());
        let added: Vec<String> = choice.added.iter().map(Added::to_string).collect();
        assert_eq!(added, ["rbac needs orgs: added orgs"]);
        assert!(Choice::parse("orgs,rbac").unwrap().added.is_empty());
        assert!(Choice::parse("billing").unwrap().added.is_empty());
    }

    #[test]
    fn a_saas_toml_without_a_requirement_is_refused_not_completed() {
        let error = FeatureSet::try_from(vec![Feature::Rbac]).unwrap_err();
        assert_eq!(error, "`features`: feature `rbac` requires `orgs`");
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
    fn the_valid_sets_are_every_subset_whose_requirements_hold() {
        let lists: Vec<String> = FeatureSet::valid_sets()
            .iter()
            .map(FeatureSet::to_list)
            .collect();
        assert_eq!(
            lists,
            [
                "none",
                "orgs",
                "orgs,rbac",
                "billing",
                "orgs,billing",
                "orgs,rbac,billing"
            ]
        );
        for list in &lists {
            assert_eq!(FeatureSet::parse(list).unwrap().to_list(), *list);
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
