//! Questions for a person at a terminal; only asked for what the flags left out.

use dialoguer::{MultiSelect, Select};

use crate::{Error, features::Feature, spec::Database};

/// Asks which database to generate for; SQLite is preselected.
pub fn database() -> Result<Database, Error> {
    let choice = Select::new()
        .with_prompt("Database")
        .items([
            "SQLite      embedded, zero set-up (default)",
            "PostgreSQL  for production",
        ])
        .default(0)
        .interact()
        .map_err(Error::Prompt)?;
    Ok(if choice == 0 {
        Database::Sqlite
    } else {
        Database::Postgres
    })
}

/// Asks which features to include, showing all three with what they bring, all
/// preselected. Choosing `rbac` pulls in `orgs`, as the prompt says; the spec checks the
/// rest.
pub fn features() -> Result<Vec<Feature>, Error> {
    let labels: Vec<String> = Feature::ALL
        .into_iter()
        .map(|feature| format!("{:<8} {}", feature.as_str(), feature.description()))
        .collect();
    let defaults: Vec<bool> = Feature::ALL
        .map(|feature| Feature::defaults().contains(feature))
        .to_vec();
    let chosen = MultiSelect::new()
        .with_prompt("Features (space to toggle, enter to accept; rbac pulls in orgs)")
        .items(&labels)
        .defaults(&defaults)
        .interact()
        .map_err(Error::Prompt)?;
    Ok(with_requirements(
        chosen
            .into_iter()
            .map(|index| Feature::ALL[index])
            .collect(),
    ))
}

/// The chosen features and each one's requirement, which the prompt promised to add.
fn with_requirements(mut chosen: Vec<Feature>) -> Vec<Feature> {
    let required: Vec<Feature> = chosen.iter().filter_map(|f| f.requires()).collect();
    chosen.extend(required);
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choosing_rbac_pulls_in_orgs() {
        assert_eq!(
            with_requirements(vec![Feature::Rbac]),
            [Feature::Orgs, Feature::Rbac]
        );
        assert_eq!(with_requirements(vec![Feature::Orgs]), [Feature::Orgs]);
        assert!(with_requirements(Vec::new()).is_empty());
    }
}
