//! The plans of `config/plans.toml`: what each includes and how many rows of each
//! resource it allows. Read once at start-up; a mistake stops the app with the file,
//! the line and the key.

use std::{collections::BTreeMap, ops::Range, path::Path};

use serde::Deserialize;
use toml::Spanned;

/// The plan of every owner without a paid subscription; the file must define it.
pub const FREE: &str = "free";

/// One plan, as the app uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The key in `config/plans.toml` (`pro`).
    pub id: String,
    /// What people read (`Pro`).
    pub name: String,
    /// The plan features it includes (`reports`).
    pub features: Vec<String>,
    /// The most rows of a resource (by table name) an owner may have; absent = unlimited.
    pub limits: BTreeMap<String, u32>,
    /// The trial a new subscription starts with.
    pub trial_days: Option<u32>,
    /// The Stripe price a subscription to this plan has (`STRIPE_PRICE_<ID>`).
    pub price_id: Option<String>,
}

impl Plan {
    pub fn is_free(&self) -> bool {
        self.id == FREE
    }

    /// The most rows of `resource` this plan allows, or `None` for no limit.
    pub fn limit(&self, resource: &str) -> Option<u32> {
        self.limits.get(resource).copied()
    }

    pub fn includes(&self, feature: &str) -> bool {
        self.features.iter().any(|included| included == feature)
    }

    /// The name of the variable that holds this plan's Stripe price id.
    pub fn price_variable(&self) -> String {
        format!("STRIPE_PRICE_{}", self.id.to_ascii_uppercase())
    }
}

/// Every plan, in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plans(Vec<Plan>);

/// A plans file that cannot be used; the message says where and what.
#[derive(Debug, thiserror::Error)]
pub enum PlansError {
    #[error("could not read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}, line {line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlansFile {
    plans: BTreeMap<Spanned<String>, Spanned<PlanEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanEntry {
    name: String,
    #[serde(default)]
    features: Vec<Spanned<String>>,
    #[serde(default)]
    limits: BTreeMap<Spanned<String>, u32>,
    trial_days: Option<u32>,
}

impl Plans {
    /// Reads `path`; `resources` are the tables a limit may name, and `price_of` looks
    /// up a variable such as `STRIPE_PRICE_PRO`.
    pub fn load(
        path: &Path,
        resources: &[&str],
        price_of: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PlansError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PlansError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file, resources, price_of)
    }

    /// Parses the text of a plans file named `file` in messages.
    pub fn parse(
        text: &str,
        file: &str,
        resources: &[&str],
        price_of: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PlansError> {
        let invalid = |span: Option<Range<usize>>, message: String| PlansError::Invalid {
            file: file.to_owned(),
            line: span.map_or(1, |span| line_of(text, span.start)),
            message,
        };
        let parsed: PlansFile = toml::from_str(text)
            .map_err(|error| invalid(error.span(), error.message().to_owned()))?;

        let mut plans = Vec::new();
        for (id, entry) in parsed.plans {
            let span = id.span();
            let id = id.into_inner();
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(invalid(
                    Some(span),
                    format!("plan `{id}`: a plan id is lowercase letters, digits and `_`"),
                ));
            }
            let position = entry.span().start;
            let entry = entry.into_inner();
            let mut limits = BTreeMap::new();
            for (resource, limit) in entry.limits {
                if !resources.contains(&resource.get_ref().as_str()) {
                    let known = if resources.is_empty() {
                        "this app has no resources yet".to_owned()
                    } else {
                        format!("the resources are {}", resources.join(", "))
                    };
                    return Err(invalid(
                        Some(resource.span()),
                        format!(
                            "`plans.{id}.limits.{}` names no resource; {known}",
                            resource.get_ref()
                        ),
                    ));
                }
                limits.insert(resource.into_inner(), limit);
            }
            let mut plan = Plan {
                name: entry.name,
                features: entry
                    .features
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                limits,
                trial_days: entry.trial_days,
                price_id: None,
                id,
            };
            if !plan.is_free() {
                plan.price_id = price_of(&plan.price_variable());
            }
            plans.push((position, plan));
        }
        if !plans.iter().any(|(_, plan)| plan.is_free()) {
            return Err(invalid(
                None,
                format!(
                    "`plans.{FREE}` is missing; it is the plan of everyone without a subscription"
                ),
            ));
        }
        plans.sort_by_key(|(position, _)| *position);
        Ok(Self(plans.into_iter().map(|(_, plan)| plan).collect()))
    }

    /// The plan of owners without a paid subscription.
    pub fn free(&self) -> &Plan {
        self.get(FREE).expect("`Plans::parse` requires a free plan")
    }

    pub fn get(&self, id: &str) -> Option<&Plan> {
        self.0.iter().find(|plan| plan.id == id)
    }

    /// The plan whose Stripe price is `price_id`.
    pub fn with_price(&self, price_id: &str) -> Option<&Plan> {
        self.0
            .iter()
            .find(|plan| plan.price_id.as_deref() == Some(price_id))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Plan> {
        self.0.iter()
    }

    /// The first plan, in file order, that includes `feature`.
    pub fn first_including(&self, feature: &str) -> Option<&Plan> {
        self.0.iter().find(|plan| plan.includes(feature))
    }

    /// The first plan, in file order, that allows more than `used` rows of `resource`.
    pub fn first_allowing_more(&self, resource: &str, used: i64) -> Option<&Plan> {
        self.0.iter().find(|plan| {
            plan.limit(resource)
                .is_none_or(|limit| i64::from(limit) > used)
        })
    }

    /// Whether some plan limits `resource`: if none does, creating one checks nothing.
    pub fn limit_any(&self, resource: &str) -> bool {
        self.0.iter().any(|plan| plan.limit(resource).is_some())
    }

    /// The resources some plan limits, for usage reports.
    pub fn limited_resources(&self) -> Vec<&str> {
        let mut resources: Vec<&str> = self
            .0
            .iter()
            .flat_map(|plan| plan.limits.keys().map(String::as_str))
            .collect();
        resources.sort_unstable();
        resources.dedup();
        resources
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOURCES: &[&str] = &["projects", "reports"];

    fn parse(text: &str) -> Result<Plans, PlansError> {
        Plans::parse(text, "config/plans.toml", RESOURCES, |variable| {
            (variable == "STRIPE_PRICE_PRO").then(|| "price_123".to_owned())
        })
    }

    #[test]
    fn the_plans_file_of_this_app_is_valid() {
        let plans = Plans::parse(
            include_str!("../../config/plans.toml"),
            "config/plans.toml",
            crate::resources::TABLES,
            |variable| Some(format!("price_for_{variable}")),
        )
        .unwrap();
        assert_eq!(plans.free().price_id, None);
        for plan in plans.iter().filter(|plan| !plan.is_free()) {
            let expected = format!("price_for_STRIPE_PRICE_{}", plan.id.to_ascii_uppercase());
            assert_eq!(plan.price_id.as_deref(), Some(expected.as_str()));
        }
    }

    #[test]
    fn plans_keep_the_file_order_limits_features_and_prices() {
        let plans = parse(
            "[plans.pro]\nname = \"Pro\"\nfeatures = [\"reports\"]\ntrial_days = 14\n\n\
             [plans.free]\nname = \"Free\"\nlimits = { projects = 3 }\n",
        )
        .unwrap();
        let ids: Vec<&str> = plans.iter().map(|plan| plan.id.as_str()).collect();
        assert_eq!(ids, ["pro", "free"]);
        assert_eq!(plans.free().limit("projects"), Some(3));
        assert_eq!(plans.free().limit("reports"), None);
        let pro = plans.with_price("price_123").unwrap();
        assert_eq!(pro.id, "pro");
        assert!(pro.includes("reports"));
        assert_eq!(pro.trial_days, Some(14));
        assert_eq!(plans.first_including("reports").unwrap().id, "pro");
        assert_eq!(plans.first_allowing_more("projects", 3).unwrap().id, "pro");
        assert_eq!(plans.limited_resources(), ["projects"]);
        assert!(plans.limit_any("projects"));
        assert!(!plans.limit_any("tasks"));
    }

    #[test]
    fn an_unknown_key_names_the_file_the_line_and_the_key() {
        let error = parse("[plans.free]\nname = \"Free\"\nlimts = {}\n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("config/plans.toml, line 3: "), "{error}");
        assert!(error.contains("limts"), "{error}");
    }

    #[test]
    fn a_limit_on_a_resource_that_does_not_exist_names_it_and_the_resources() {
        let error = parse(
            "[plans.free]\nname = \"Free\"\n\n[plans.free.limits]\nprojects = 3\ntasks = 5\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "config/plans.toml, line 6: `plans.free.limits.tasks` names no resource; \
             the resources are projects, reports"
        );
    }

    #[test]
    fn malformed_toml_and_wrong_types_name_the_line() {
        let error = parse("[plans.free]\nname = \"Free\"\nlimits = { projects = -1 }\n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("config/plans.toml, line 3: "), "{error}");
        let error = parse("[plans.free\nname = \"Free\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("config/plans.toml, line 1: "), "{error}");
    }

    #[test]
    fn the_free_plan_is_required_and_ids_are_checked() {
        let error = parse("[plans.pro]\nname = \"Pro\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`plans.free` is missing"), "{error}");
        let error = parse("[plans.free]\nname = \"Free\"\n[plans.Gold]\nname = \"Gold\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("config/plans.toml, line 3: plan `Gold`"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = Plans::load(Path::new("no/such/plans.toml"), RESOURCES, |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("could not read no/such/plans.toml: "),
            "{error}"
        );
    }
}
