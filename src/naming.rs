//! Names: a project name is checked as cargo checks a package name, once, and then
//! carried in every form the templates need.

use heck::{ToSnakeCase, ToTitleCase, ToUpperCamelCase};

use crate::Error;

/// Rust's keywords, strict and reserved: none can name a crate.
pub const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names cargo refuses or that shadow a standard crate or a cargo directory.
const RESERVED_BY_CARGO: &[&str] = &[
    "alloc",
    "build",
    "core",
    "deps",
    "examples",
    "incremental",
    "proc_macro",
    "std",
    "test",
];

/// Device names Windows will not let a directory have.
const WINDOWS_DEVICES: &[&str] = &[
    "aux", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "con", "lpt1",
    "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "nul", "prn",
];

/// The longest name accepted; it also names a PostgreSQL database (63 bytes at most).
const MAX_LEN: usize = 63;

/// A valid project name, in the forms the generated project uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName {
    /// As given: the directory and the cargo package name (`acme-api`).
    pub package: String,
    /// The library crate as Rust code names it (`acme_api`).
    pub crate_name: String,
    /// For people (`Acme Api`).
    pub title: String,
}

impl ProjectName {
    /// Checks `raw` as cargo would check a new package's name, and more strictly: ASCII
    /// only, starting with a letter, so it is also a safe directory and database name.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let refuse = |reason: &str, help: &str| Error::InvalidName {
            name: raw.to_owned(),
            reason: reason.to_owned(),
            help: help.to_owned(),
        };
        let suggestion = suggest(raw);
        let rename_help = match &suggestion {
            Some(name) => format!("use a name such as `{name}`"),
            None => {
                "use letters, digits, `-` and `_`, starting with a letter, e.g. `acme`".to_owned()
            }
        };

        if raw.is_empty() {
            return Err(refuse(
                "the name is empty",
                "give the project a name, e.g. `saas new acme`",
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(refuse(
                &format!(
                    "the character {bad:?} is not allowed; only ASCII letters, digits, `-` and `_` are"
                ),
                &rename_help,
            ));
        }
        if !raw.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(refuse("the name must start with a letter", &rename_help));
        }
        if raw.len() > MAX_LEN {
            return Err(refuse(
                &format!("the name is longer than {MAX_LEN} characters"),
                "choose a shorter name",
            ));
        }
        let crate_name = raw.replace('-', "_");
        let lowercase = crate_name.to_ascii_lowercase();
        if RUST_KEYWORDS.contains(&crate_name.as_str()) {
            return Err(refuse(
                "it is a Rust keyword",
                &format!("use another name, e.g. `{raw}-app`"),
            ));
        }
        if RESERVED_BY_CARGO.contains(&lowercase.as_str()) {
            return Err(refuse(
                "cargo reserves it (a standard crate or a build directory)",
                &format!("use another name, e.g. `{raw}-app`"),
            ));
        }
        if WINDOWS_DEVICES.contains(&lowercase.as_str()) {
            return Err(refuse(
                "it is a Windows device name, which no directory can have there",
                &format!("use another name, e.g. `{raw}-app`"),
            ));
        }
        Ok(Self {
            package: raw.to_owned(),
            title: crate_name.to_title_case(),
            crate_name,
        })
    }
}

/// A valid name close to `raw`, to offer in the error message.
fn suggest(raw: &str) -> Option<String> {
    let snake: String = raw
        .to_snake_case()
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "");
    let trimmed = snake.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    (!trimmed.is_empty() && trimmed != raw).then(|| trimmed.replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(raw: &str) -> String {
        match ProjectName::parse(raw) {
            Err(Error::InvalidName { reason, .. }) => reason,
            other => panic!("{raw:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn a_name_is_carried_in_each_form() {
        let name = ProjectName::parse("acme-api").unwrap();
        assert_eq!(name.package, "acme-api");
        assert_eq!(name.crate_name, "acme_api");
        assert_eq!(name.title, "Acme Api");
    }

    #[test]
    fn keywords_and_reserved_names_are_refused() {
        for raw in ["fn", "type", "self", "async", "gen"] {
            assert_eq!(reason(raw), "it is a Rust keyword");
        }
        for raw in ["test", "std", "core", "deps", "build", "incremental"] {
            assert!(reason(raw).starts_with("cargo reserves it"), "{raw}");
        }
        for raw in ["con", "NUL", "lpt1"] {
            assert!(reason(raw).contains("Windows"), "{raw}");
        }
    }

    #[test]
    fn paths_and_odd_characters_are_refused() {
        for raw in [
            "../evil",
            "a/b",
            "a\\b",
            ".hidden",
            "/abs",
            "na\0me",
            "ｐｒｏｊｅｃｔ",
            "my app",
        ] {
            assert!(reason(raw).contains("is not allowed"), "{raw:?}");
        }
        assert_eq!(reason("1project"), "the name must start with a letter");
        assert_eq!(reason(""), "the name is empty");
        assert!(reason(&"a".repeat(64)).contains("longer than 63"));
    }

    #[test]
    fn a_refusal_offers_a_valid_name_when_there_is_one() {
        match ProjectName::parse("My App") {
            Err(Error::InvalidName { help, .. }) => assert_eq!(help, "use a name such as `my-app`"),
            other => panic!("{other:?}"),
        }
    }
}

/// Names a resource may not take: what the generated app already defines, in singular
/// and plural, and Rust types that a resource struct would shadow.
const TAKEN_BY_THE_APP: &[&str] = &[
    "api_token",
    "app",
    "auth",
    "billing",
    "config",
    "db",
    "error",
    "extract",
    "field",
    "health",
    "invitation",
    "invite",
    "job",
    "lib",
    "mail",
    "main",
    "member",
    "membership",
    "middleware",
    "mod",
    "one_time_token",
    "org",
    "organization",
    "plan",
    "rate_limit",
    "resource",
    "role",
    "route",
    "session",
    "state",
    "stripe_event",
    "subscription",
    "telemetry",
    "tenant",
    "token",
    "user",
    "webhook",
];

/// Rust and library type names a resource struct would shadow.
const SHADOWED_TYPES: &[&str] = &[
    "Box", "Error", "Json", "Option", "Page", "Path", "Pool", "Query", "Result", "Router", "State",
    "String", "Uuid", "Value", "Vec",
];

/// Words reserved in SQL (PostgreSQL or SQLite) that cannot name a table or column unquoted.
pub const SQL_RESERVED: &[&str] = &[
    "all",
    "alter",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "between",
    "both",
    "by",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "delete",
    "desc",
    "distinct",
    "do",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "initially",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "set",
    "some",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
];

/// Words whose singular and plural are the same: a table and a row could not be told apart.
const UNCOUNTABLE: &[&str] = &[
    "data",
    "deer",
    "equipment",
    "feedback",
    "fish",
    "information",
    "metadata",
    "money",
    "news",
    "rice",
    "series",
    "sheep",
    "species",
    "staff",
];

/// Plurals that do not follow the rules, singular first.
const IRREGULAR: &[(&str, &str)] = &[
    ("child", "children"),
    ("foot", "feet"),
    ("goose", "geese"),
    ("man", "men"),
    ("mouse", "mice"),
    ("person", "people"),
    ("tooth", "teeth"),
    ("woman", "women"),
];

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
        if UNCOUNTABLE.contains(&last.as_str()) {
            return Err(refuse(
                format!(
                    "`{last}` is the same in singular and plural, so its table and rows would share a name"
                ),
                &format!("use a countable name, e.g. `{head}record` or `{head}{last}_item`"),
            ));
        }
        let singular = format!("{head}{}", singularize(&last));
        let plural = format!("{head}{}", pluralize(&singularize(&last)));
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

/// The singular of an English noun in lowercase (`categories` -> `category`).
fn singularize(word: &str) -> String {
    if let Some((singular, _)) = IRREGULAR.iter().find(|(_, plural)| *plural == word) {
        return (*singular).to_owned();
    }
    if IRREGULAR.iter().any(|(singular, _)| *singular == word) {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies").filter(|stem| !stem.is_empty()) {
        return format!("{stem}y");
    }
    for ending in ["sses", "shes", "ches", "xes", "zes", "uses"] {
        if let Some(stem) = word.strip_suffix(ending) {
            return format!("{stem}{}", &ending[..ending.len() - 2]);
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_owned();
    }
    word.strip_suffix('s').unwrap_or(word).to_owned()
}

/// The plural of an English noun in lowercase (`category` -> `categories`).
fn pluralize(word: &str) -> String {
    if let Some((_, plural)) = IRREGULAR.iter().find(|(singular, _)| *singular == word) {
        return (*plural).to_owned();
    }
    let consonant_y = word.len() > 1
        && word.ends_with('y')
        && !matches!(
            word.as_bytes()[word.len() - 2],
            b'a' | b'e' | b'i' | b'o' | b'u'
        );
    if consonant_y {
        return format!("{}ies", &word[..word.len() - 1]);
    }
    if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|ending| word.ends_with(ending))
    {
        return format!("{word}es");
    }
    format!("{word}s")
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

    #[test]
    fn english_plurals() {
        for (singular, plural) in [
            ("category", "categories"),
            ("status", "statuses"),
            ("box_item", "box_items"),
            ("person", "people"),
            ("monkey", "monkeys"),
            ("match_result", "match_results"),
            ("address", "addresses"),
            ("batch", "batches"),
        ] {
            assert_eq!(
                ResourceName::parse(singular).unwrap().plural,
                plural,
                "{singular}"
            );
            assert_eq!(
                ResourceName::parse(plural).unwrap().singular,
                singular,
                "{plural}"
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
