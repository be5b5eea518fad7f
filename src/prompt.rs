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

/// Asks which of the available features to include; all are preselected. The spec
/// checks the choice.
pub fn features() -> Result<Vec<Feature>, Error> {
    let available: Vec<Feature> = Feature::ALL
        .into_iter()
        .filter(|f| f.is_available())
        .collect();
    if available.is_empty() {
        return Ok(Vec::new());
    }
    let labels: Vec<String> = available
        .iter()
        .map(|feature| format!("{:<8} {}", feature.as_str(), feature.description()))
        .collect();
    let chosen = MultiSelect::new()
        .with_prompt("Features (space to toggle, enter to accept)")
        .items(&labels)
        .defaults(&vec![true; available.len()])
        .interact()
        .map_err(Error::Prompt)?;
    Ok(chosen.into_iter().map(|index| available[index]).collect())
}
