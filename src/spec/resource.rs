//! The validated input of `saas add resource`: the name, the fields, the resources its
//! references point at, and the billing options, all checked against the project before
//! any template runs.

use crate::{
    Error,
    cli::AddResourceArgs,
    features::Feature,
    fields::{Field, FieldType},
    manifest::Manifest,
    naming::ResourceName,
};

/// A resource this one references, with what its tests need to create a row of it.
#[derive(Debug, Clone)]
pub struct Parent {
    pub name: ResourceName,
    /// Its fields, to build a valid body for it.
    pub fields: Vec<Field>,
}

/// A `--limit <plan>=<n>`: at most `max` rows per tenant on `plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLimit {
    pub plan: String,
    pub max: u32,
}

/// Everything `saas add resource` needs to know, already valid.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub name: ResourceName,
    pub fields: Vec<Field>,
    /// The resources the reference fields point at, in field order.
    pub parents: Vec<Parent>,
    pub limits: Vec<PlanLimit>,
    /// The plan feature every route needs (`--feature`).
    pub feature: Option<String>,
}

impl ResourceSpec {
    /// Checks the arguments against the project that `manifest` describes.
    pub fn parse(args: &AddResourceArgs, manifest: &Manifest) -> Result<Self, Error> {
        let name = ResourceName::parse_with_plural(&args.name, args.plural.as_deref())?;
        if let Some(existing) = find_resource(manifest, &name) {
            return Err(Error::ResourceExists(existing.pascal));
        }
        let billing = manifest.features.contains(Feature::Billing);
        if !billing && !args.limit.is_empty() {
            return Err(Error::NeedsBilling { option: "--limit" });
        }
        if !billing && args.feature.is_some() {
            return Err(Error::NeedsBilling {
                option: "--feature",
            });
        }
        let limits = args
            .limit
            .iter()
            .map(|limit| PlanLimit::parse(limit))
            .collect::<Result<_, _>>()?;
        let fields = args
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
                reason: "`references(user)` names a member of the row's organization, and this project has no organizations".to_owned(),
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
            feature: args.feature.clone(),
        })
    }
}

impl PlanLimit {
    fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidOption {
            option: "--limit",
            value: raw.to_owned(),
            help: "write `<plan>=<n>`, e.g. `--limit free=3`".to_owned(),
        };
        let (plan, max) = raw.split_once('=').ok_or_else(invalid)?;
        let max = max.trim().parse().map_err(|_| invalid())?;
        let plan = plan.trim();
        if plan.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            plan: plan.to_owned(),
            max,
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

/// The resources that reference fields point at, with their fields.
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
    let mut parents = Vec::new();
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
        let entry = manifest.resource(&target.plural).expect("found above");
        let target_fields = entry
            .fields
            .iter()
            .map(|spec| Field::parse(spec))
            .collect::<Result<Vec<_>, _>>()?;
        if target_fields
            .iter()
            .any(|field| field.ty == FieldType::References)
        {
            return Err(refuse(
                format!(
                    "`{}` has references of its own, which generated tests cannot set up yet",
                    target.singular
                ),
                "reference a resource without references".to_owned(),
            ));
        }
        parents.push(Parent {
            name: target.clone(),
            fields: target_fields,
        });
    }
    Ok(parents)
}
