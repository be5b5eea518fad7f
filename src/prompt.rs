//! Questions for a person at a terminal; only asked for what the flags left out.

use dialoguer::{MultiSelect, Select};

use crate::{
    Error,
    features::{Choice, Feature},
    spec::Database,
};

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
/// preselected. Choosing `rbac` pulls in `orgs`, as the prompt says.
pub fn features() -> Result<Choice, Error> {
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
    Ok(Choice::new(
        chosen
            .into_iter()
            .map(|index| Feature::ALL[index])
            .collect(),
    ))
}
