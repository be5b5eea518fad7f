//! Resource names: a Rust struct, an SQL table, a module, a URL path and English words,
//! derived once from what the user typed, with English plurals from `pluralizer`.

use heck::{ToSnakeCase, ToUpperCamelCase};

use super::{
    RUST_KEYWORDS,
    reserved::{SHADOWED_TYPES, SQL_RESERVED, TAKEN_BY_THE_APP, UNCOUNTABLE},
};
use crate::Error;

/// A valid resource name in every form the generated code uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceName {
    /// The struct (`ProjectTask`).
    pub pascal: String,
    /// One row, in snake case (`project_task`).
    pub singular: String,
    /// The table and the module (`project_tasks`).
    pub plural: String,
    /// The URL path segment (`project-tasks`).
    pub path: String,
    /// For people, singular and plural (`project task`, `project tasks`).
    pub singular_words: String,
    pub plural_words: String,
}

impl ResourceName {
    /// Accepts PascalCase or snake_case, singular or plural (`Project`, `projects`,
    /// `ProjectTask`, `project_tasks`), and normalises it once.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        Self::parse_with_plural(raw, None)
    }

    /// As `parse`; with `plural` (`--plural`), `raw` is the singular and `plural` the
    /// plural, where English rules would get it wrong.
    pub fn parse_with_plural(raw: &str, plural: Option<&str>) -> Result<Self, Error> {
        let refuse = |reason: String, help: &str| Error::InvalidResourceName {
            name: raw.to_owned(),
            reason,
            help: help.to_owned(),
        };
        if !raw.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(refuse(
                "a resource name must start with a letter".to_owned(),
                "use a name such as `Project`",
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(refuse(
                format!("the character {bad:?} is not allowed"),
                "use letters, digits and `_`, e.g. `Project` or `project_task`",
            ));
        }
        let snake = raw.to_snake_case();
        if raw.contains("__") || raw.ends_with('_') || snake.len() > 60 {
            return Err(refuse(
                "it is not a simple identifier (no `__`, no trailing `_`, at most 60 characters)"
                    .to_owned(),
                "use a name such as `Project`",
            ));
        }
        let (head, last) = match snake.rsplit_once('_') {
            Some((head, last)) => (format!("{head}_"), last.to_owned()),
            None => (String::new(), snake.clone()),
        };
        let uncountable = |word: &str| {
            refuse(
                format!(
                    "`{word}` is the same in singular and plural, so its table and rows would share a name"
                ),
                &format!("use a countable name, e.g. `{head}record` or `{head}{word}_item`"),
            )
        };
        let (singular, plural) = match plural {
            // The name is the singular as given; `--plural` names its last word's plural
            // (`people`) or the whole plural (`team_people`).
            Some(plural) => {
                let plural = plural.to_snake_case();
                let valid = plural.starts_with(|c: char| c.is_ascii_lowercase())
                    && plural
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && !plural.contains("__")
                    && plural.len() <= 60;
                if !valid {
                    return Err(refuse(
                        format!("`--plural {plural}` is not a simple lowercase word"),
                        "give the plural in letters, e.g. `--plural people`",
                    ));
                }
                let plural = if !head.is_empty() && plural.starts_with(&head) {
                    plural
                } else {
                    format!("{head}{plural}")
                };
                if plural == snake {
                    return Err(uncountable(&last));
                }
                (snake.clone(), plural)
            }
            None => {
                if UNCOUNTABLE.contains(&last.as_str()) {
                    return Err(uncountable(&last));
                }
                let singular = singularize(&last);
                let plural = pluralize(&singular);
                if singular == plural {
                    return Err(uncountable(&last));
                }
                (format!("{head}{singular}"), format!("{head}{plural}"))
            }
        };
        if TAKEN_BY_THE_APP.contains(&singular.as_str()) {
            return Err(refuse(
                format!("the app already has `{singular}` (built in)"),
                &format!("use another name, e.g. `{singular}_record` or a more specific one"),
            ));
        }
        for form in [&singular, &plural] {
            if RUST_KEYWORDS.contains(&form.as_str()) {
                return Err(refuse(
                    "it is a Rust keyword".to_owned(),
                    "use another name",
                ));
            }
            if SQL_RESERVED.contains(&form.as_str()) {
                return Err(refuse(
                    format!("`{form}` is a reserved word in SQL"),
                    &format!("use another name, e.g. `{}_record`", singular),
                ));
            }
        }
        let pascal = singular.to_upper_camel_case();
        if SHADOWED_TYPES.contains(&pascal.as_str()) {
            return Err(refuse(
                format!("`{pascal}` would shadow a type the generated code uses"),
                "use another name",
            ));
        }
        Ok(Self {
            path: plural.replace('_', "-"),
            singular_words: singular.replace('_', " "),
            plural_words: plural.replace('_', " "),
            pascal,
            singular,
            plural,
        })
    }
}

impl ResourceName {
    /// The name of a resource `saas.toml` records: its struct name and its table, which
    /// is its plural whatever the inflection rules say now.
    pub fn recorded(pascal: &str, table: &str) -> Self {
        let singular = pascal.to_snake_case();
        Self {
            path: table.replace('_', "-"),
            singular_words: singular.replace('_', " "),
            plural_words: table.replace('_', " "),
            pascal: pascal.to_owned(),
            singular,
            plural: table.to_owned(),
        }
    }
}

/// Words the inflection rules get wrong, singular first.
const EXTRA_IRREGULAR: &[(&str, &str)] = &[("cache", "caches")];

/// The inflection rules: the `pluralizer` crate's, with `EXTRA_IRREGULAR` added once.
fn inflect(word: &str, count: isize) -> String {
    static EXTRA_RULES: std::sync::Once = std::sync::Once::new();
    EXTRA_RULES.call_once(|| {
        for (singular, plural) in EXTRA_IRREGULAR {
            pluralizer::add_irregular_rule((*singular).to_owned(), (*plural).to_owned());
        }
    });
    pluralizer::pluralize(word, count, false)
}

/// The singular of an English noun in lowercase (`categories` -> `category`).
pub fn singularize(word: &str) -> String {
    inflect(word, 1)
}

/// The plural of an English noun in lowercase (`category` -> `categories`).
pub fn pluralize(word: &str) -> String {
    inflect(word, 2)
}

#[cfg(test)]
mod resource_tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_name_normalises_to_one() {
        for raw in ["Project", "Projects", "project", "projects"] {
            let name = ResourceName::parse(raw).unwrap();
            assert_eq!(
                (
                    name.pascal.as_str(),
                    name.singular.as_str(),
                    name.plural.as_str()
                ),
                ("Project", "project", "projects"),
                "{raw}"
            );
        }
        let name = ResourceName::parse("ProjectTasks").unwrap();
        assert_eq!(
            (
                name.pascal.as_str(),
                name.plural.as_str(),
                name.path.as_str()
            ),
            ("ProjectTask", "project_tasks", "project-tasks")
        );
    }

    /// Singular and plural, regular and irregular; both directions must hold.
    const PLURALS: &[(&str, &str)] = &[
        ("house", "houses"),
        ("size", "sizes"),
        ("movie", "movies"),
        ("cache", "caches"),
        ("alias", "aliases"),
        ("person", "people"),
        ("child", "children"),
        ("status", "statuses"),
        ("category", "categories"),
        ("box", "boxes"),
        ("quiz", "quizzes"),
        ("analysis", "analyses"),
        ("index", "indices"),
        ("project", "projects"),
        ("address", "addresses"),
        ("batch", "batches"),
        ("match", "matches"),
        ("wish", "wishes"),
        ("monkey", "monkeys"),
        ("bus", "buses"),
        ("campus", "campuses"),
        ("hero", "heroes"),
        ("tomato", "tomatoes"),
        ("photo", "photos"),
        ("cookie", "cookies"),
        ("wife", "wives"),
        ("knife", "knives"),
        ("leaf", "leaves"),
        ("wolf", "wolves"),
        ("half", "halves"),
        ("crisis", "crises"),
        ("criterion", "criteria"),
        ("vertex", "vertices"),
        ("matrix", "matrices"),
        ("invoice", "invoices"),
        ("mouse", "mice"),
        ("ox", "oxen"),
        ("tooth", "teeth"),
        ("foot", "feet"),
        ("goose", "geese"),
        ("man", "men"),
        ("woman", "women"),
        ("shoe", "shoes"),
    ];

    #[test]
    fn english_plurals_regular_and_irregular() {
        for (singular, plural) in PLURALS {
            assert_eq!(pluralize(singular), *plural, "plural of {singular}");
            assert_eq!(pluralize(plural), *plural, "plural of {plural}");
            assert_eq!(singularize(plural), *singular, "singular of {plural}");
            assert_eq!(singularize(singular), *singular, "singular of {singular}");
        }
    }

    #[test]
    fn resource_names_take_their_plural_from_the_last_word() {
        for (raw, singular, plural) in [
            ("Houses", "house", "houses"),
            ("Caches", "cache", "caches"),
            ("ProjectPeople", "project_person", "project_people"),
            ("box_item", "box_item", "box_items"),
            ("Status", "status", "statuses"),
            ("match_results", "match_result", "match_results"),
        ] {
            let name = ResourceName::parse(raw).unwrap();
            assert_eq!(
                (name.singular.as_str(), name.plural.as_str()),
                (singular, plural),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_given_plural_wins_and_the_name_is_the_singular() {
        let name = ResourceName::parse_with_plural("Cactus", Some("cactuses")).unwrap();
        assert_eq!(
            (
                name.pascal.as_str(),
                name.plural.as_str(),
                name.path.as_str()
            ),
            ("Cactus", "cactuses", "cactuses")
        );
        let name = ResourceName::parse_with_plural("TeamPerson", Some("people")).unwrap();
        assert_eq!(name.plural, "team_people");
        let name = ResourceName::parse_with_plural("TeamPerson", Some("team_people")).unwrap();
        assert_eq!(name.plural, "team_people");
        assert!(ResourceName::parse_with_plural("Sheep", Some("sheep")).is_err());
        assert!(ResourceName::parse_with_plural("Sheep", Some("1sheep")).is_err());
    }

    #[test]
    fn uncountable_words_are_refused() {
        for raw in [
            "news",
            "Series",
            "sheep",
            "equipment",
            "information",
            "deer",
            "fish",
            "data",
        ] {
            let error = ResourceName::parse(raw).unwrap_err().to_string();
            assert!(
                error.contains("the same in singular and plural"),
                "{raw}: {error}"
            );
        }
    }

    #[test]
    fn names_the_app_or_the_languages_use_are_refused() {
        for raw in [
            "User",
            "users",
            "Session",
            "Org",
            "Membership",
            "Invitation",
            "Subscription",
            "Token",
            "Job",
        ] {
            let error = ResourceName::parse(raw).unwrap_err().to_string();
            assert!(error.contains("already has"), "{raw}: {error}");
        }
        for raw in ["Order", "group", "Select", "table"] {
            assert!(
                ResourceName::parse(raw)
                    .unwrap_err()
                    .to_string()
                    .contains("reserved word in SQL"),
                "{raw}"
            );
        }
        for raw in ["async", "Type"] {
            assert!(
                ResourceName::parse(raw)
                    .unwrap_err()
                    .to_string()
                    .contains("Rust keyword"),
                "{raw}"
            );
        }
        for raw in ["1project", "_x", "a-b", "Project!", "data", "a__b"] {
            assert!(ResourceName::parse(raw).is_err(), "{raw}");
        }
    }
}
