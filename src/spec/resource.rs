//! The validated input of `saas add resource`: the name, the fields, the resources its
//! references point at, and the billing options, all checked against the project before
//! any template runs.

use crate::{
    Error,
    manifest::Manifest,
    spec::features::Feature,
    spec::fields::{Field, FieldType},
    spec::naming::ResourceName,
};

/// A resource this one references, directly or through another, with what its tests
/// need to create a row of it.
#[derive(Debug, Clone)]
pub struct Parent {
    pub name: ResourceName,
    /// Its fields, to build a valid body for it.
    pub fields: Vec<Field>,
}

/// A `--limit <plan>=<n>`: at most `max` rows per billing owner on `plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLimit {
    pub plan: String,
    pub max: u32,
}

/// What `saas add resource` was given, as typed: the name, the field specs, and the
/// options. [`ResourceSpec::parse`] checks it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResourceRequest<'a> {
    pub name: &'a str,
    pub fields: &'a [String],
    /// `--plural`.
    pub plural: Option<&'a str>,
    /// Each `--limit`, as `plan=n`.
    pub limits: &'a [String],
    /// `--feature`.
    pub feature: Option<&'a str>,
}

/// Everything `saas add resource` needs to know, already valid.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub name: ResourceName,
    pub fields: Vec<Field>,
    /// The resources the reference fields point at, in field order, then those that
    /// theirs point at, to any depth, each once.
    pub parents: Vec<Parent>,
    pub limits: Vec<PlanLimit>,
    /// The plan feature every route needs (`--feature`).
    pub feature: Option<String>,
}

impl ResourceSpec {
    /// Checks the request against the project that `manifest` describes.
    pub fn parse(request: &ResourceRequest<'_>, manifest: &Manifest) -> Result<Self, Error> {
        let name = ResourceName::parse_with_plural(request.name, request.plural)?;
        if let Some(existing) = find_resource(manifest, &name) {
            return Err(Error::ResourceExists(existing.pascal));
        }
        let billing = manifest.features.contains(Feature::Billing);
        if !billing && !request.limits.is_empty() {
            return Err(Error::NeedsBilling { option: "--limit" });
        }
        if !billing && request.feature.is_some() {
            return Err(Error::NeedsBilling {
                option: "--feature",
            });
        }
        let limits = PlanLimit::parse_all(request.limits)?;
        let feature = request.feature.map(parse_feature).transpose()?;
        let fields = request
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
        if !manifest.features.contains(Feature::Orgs)
            && let Some(member) = fields.iter().find(|field| field.ty == FieldType::Member)
        {
            return Err(Error::InvalidField {
                spec: member.to_string(),
                reason: "`references:user` names a member of the row's organization, and this project has no organizations".to_owned(),
                help: format!(
                    "projects made with `--features orgs` have them; here, store a user's id as `{}:uuid`",
                    member.column()
                ),
            });
        }
        let parents = resolve_references(&fields, manifest, &name)?;
        Ok(Self {
            name,
            fields,
            parents,
            limits,
            feature,
        })
    }
}

impl PlanLimit {
    /// Parses the `--limit` values (clap has split `free=3,pro=100` at commas): each
    /// plan once, each maximum a whole number from 1. Whether the plans exist is checked
    /// against `config/plans.toml` when the edit is planned.
    pub fn parse_all(raw: &[String]) -> Result<Vec<Self>, Error> {
        let mut limits: Vec<Self> = Vec::new();
        for raw in raw {
            let limit = Self::parse(raw)?;
            if limits.iter().any(|earlier| earlier.plan == limit.plan) {
                return Err(Error::InvalidOption {
                    option: "--limit",
                    value: raw.clone(),
                    help: format!("give plan `{}` one limit", limit.plan),
                });
            }
            limits.push(limit);
        }
        Ok(limits)
    }

    fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = |help: &str| Error::InvalidOption {
            option: "--limit",
            value: raw.to_owned(),
            help: help.to_owned(),
        };
        let shape = "write `<plan>=<n>` with a whole number n, e.g. `--limit free=3` (several: `--limit free=3,pro=100`)";
        let (plan, max) = raw.split_once('=').ok_or_else(|| invalid(shape))?;
        let plan = plan.trim();
        if plan.is_empty() {
            return Err(invalid(shape));
        }
        let max: u32 = max.trim().parse().map_err(|_| invalid(shape))?;
        if max == 0 {
            return Err(invalid(&format!(
                "a limit is at least 1; to keep the resource off plan `{plan}` entirely, gate it with `--feature <name>` and leave the feature out of that plan"
            )));
        }
        Ok(Self {
            plan: plan.to_owned(),
            max,
        })
    }
}

/// `--feature`: a plan feature's name, as `config/plans.toml` lists it and the generated
/// code checks it.
fn parse_feature(raw: &str) -> Result<String, Error> {
    let snake_case = raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !raw.ends_with('_')
        && !raw.contains("__");
    if snake_case {
        Ok(raw.to_owned())
    } else {
        Err(Error::InvalidOption {
            option: "--feature",
            value: raw.to_owned(),
            help: "a feature is named in snake_case: lowercase letters, digits and single underscores, starting with a letter, such as `reports` or `bulk_export`".to_owned(),
        })
    }
}

/// The recorded resource `name` means, by its struct name or its table.
pub fn find_resource(manifest: &Manifest, name: &ResourceName) -> Option<ResourceName> {
    manifest
        .resources
        .iter()
        .find(|entry| entry.name == name.pascal || entry.table == name.plural)
        .map(|entry| ResourceName::recorded(&entry.name, &entry.table))
}

/// The resources that reference fields point at, with their fields, then the resources
/// those point at, to any depth, each once: every row a test must create first.
fn resolve_references(
    fields: &[Field],
    manifest: &Manifest,
    name: &ResourceName,
) -> Result<Vec<Parent>, Error> {
    let known: Vec<ResourceName> = manifest
        .resources
        .iter()
        .map(|entry| ResourceName::recorded(&entry.name, &entry.table))
        .collect();
    let mut parents: Vec<Parent> = Vec::new();
    for field in fields
        .iter()
        .filter(|field| field.ty == FieldType::References)
    {
        let refuse = |reason: String, help: String| Error::InvalidField {
            spec: field.to_string(),
            reason,
            help,
        };
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
        parents.push(recorded_parent(manifest, target)?);
    }
    // The rows the parents reference in turn. A resource only references resources
    // added before it, so the walk ends; each is listed once.
    let mut next = 0;
    while let Some(parent) = parents.get(next) {
        let onward: Vec<ResourceName> = parent
            .fields
            .iter()
            .filter(|field| field.ty == FieldType::References)
            .filter_map(|field| known.iter().find(|known| known.singular == field.name))
            .cloned()
            .collect();
        for target in &onward {
            if !parents.iter().any(|seen| seen.name.plural == target.plural) {
                parents.push(recorded_parent(manifest, target)?);
            }
        }
        next += 1;
    }
    Ok(parents)
}

/// `target` as `saas.toml` records it, with its fields parsed.
fn recorded_parent(manifest: &Manifest, target: &ResourceName) -> Result<Parent, Error> {
    let entry = manifest
        .resource(&target.plural)
        .expect("a recorded resource");
    let fields = entry
        .fields
        .iter()
        .map(|spec| Field::parse(spec))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parent {
        name: target.clone(),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn limits_are_plan_equals_a_whole_number_from_one() {
        assert_eq!(
            PlanLimit::parse_all(&strings(&["free=3", " pro = 100"])).unwrap(),
            [
                PlanLimit {
                    plan: "free".to_owned(),
                    max: 3
                },
                PlanLimit {
                    plan: "pro".to_owned(),
                    max: 100
                }
            ]
        );
        for bad in ["free", "free=x", "free=-1", "=3", "free=3.5", "free="] {
            let error = PlanLimit::parse_all(&strings(&[bad]))
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(&format!(
                    "invalid `--limit {bad}`\nhelp: write `<plan>=<n>`"
                )),
                "{error}"
            );
        }
        let error = PlanLimit::parse_all(&strings(&["free=0"]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("a limit is at least 1"), "{error}");
        let error = PlanLimit::parse_all(&strings(&["free=3", "free=4"]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("give plan `free` one limit"), "{error}");
    }

    #[test]
    fn feature_names_are_snake_case() {
        for good in ["reports", "bulk_export", "v2_api"] {
            assert_eq!(parse_feature(good).unwrap(), good);
        }
        for bad in [
            "Reports",
            "bulk-export",
            "2fa",
            "_x",
            "x_",
            "a__b",
            "",
            "rapports é",
        ] {
            let error = parse_feature(bad).unwrap_err().to_string();
            assert!(error.contains("snake_case"), "{bad}: {error}");
        }
    }
}
