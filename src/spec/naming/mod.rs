//! Names: a project name is checked as cargo checks a package name, a resource name
//! as a Rust type, an SQL table and an English noun; each once, then carried in every
//! form the templates need.

mod reserved;
mod resource;

use heck::{ToSnakeCase, ToTitleCase};

pub use self::{
    reserved::SQL_RESERVED,
    resource::{ResourceName, pluralize, singularize},
};
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
        if crate_name != lowercase {
            return Err(refuse(
                "Rust wants crate names in snake case: this one would warn on every build, \
                 which the generated CI's clippy `-D warnings` fails",
                &rename_help,
            ));
        }
        let dependencies = crate::lockfile::dependency_names();
        if let Some(dependency) = dependencies
            .iter()
            .find(|dependency| dependency.replace('-', "_") == crate_name)
        {
            return Err(refuse(
                &format!(
                    "the app depends on the crate `{dependency}`, whose name it would clash with"
                ),
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

/// A valid name close to `raw`, to offer in the error message: accented Latin letters
/// lose their accents (`café` suggests `cafe`), anything else non-ASCII is dropped.
fn suggest(raw: &str) -> Option<String> {
    let snake: String = without_accents(raw)
        .to_snake_case()
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "");
    let trimmed = snake.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    (!trimmed.is_empty() && trimmed != raw).then(|| trimmed.replace('_', "-"))
}

/// `raw` with each Latin letter that has an ASCII base written as that base, in the
/// same case (`Crème` → `Creme`, `Straße` → `Strasse`); other characters are kept.
fn without_accents(raw: &str) -> String {
    let mut ascii = String::with_capacity(raw.len());
    for c in raw.chars() {
        let lowercase = c.to_lowercase().next().unwrap_or(c);
        match ascii_base(lowercase) {
            Some(base) if lowercase != c => ascii.push_str(&base.to_ascii_uppercase()),
            Some(base) => ascii.push_str(base),
            None => ascii.push(c),
        }
    }
    ascii
}

/// The ASCII letters a lowercase Latin letter with a diacritic (or a ligature) is
/// written with when the diacritic is dropped.
fn ascii_base(letter: char) -> Option<&'static str> {
    Some(match letter {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
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
    fn names_of_the_apps_dependencies_are_refused_with_a_name_that_works() {
        let dependencies = crate::lockfile::dependency_names();
        for required in [
            "tokio",
            "axum",
            "sqlx",
            "serde",
            "anyhow",
            "serde_json",
            "reqwest",
        ] {
            assert!(
                dependencies
                    .iter()
                    .any(|name| name.replace('-', "_") == required),
                "{required} is not among {dependencies:?}"
            );
        }
        for dependency in &dependencies {
            let refused = match ProjectName::parse(dependency) {
                Err(Error::InvalidName { reason, help, .. }) => (reason, help),
                other => panic!("{dependency:?} was not refused: {other:?}"),
            };
            let suggested = refused.1.split('`').nth(1).unwrap();
            assert!(
                ProjectName::parse(suggested).is_ok(),
                "{dependency}: {refused:?}"
            );
        }
    }

    #[test]
    fn names_that_are_not_snake_case_are_refused_with_the_snake_case_one() {
        match ProjectName::parse("MyApp") {
            Err(Error::InvalidName { reason, help, .. }) => {
                assert!(reason.contains("snake case"), "{reason}");
                assert_eq!(help, "use a name such as `my-app`");
            }
            other => panic!("MyApp was not refused: {other:?}"),
        }
        assert!(ProjectName::parse("my-app").is_ok());
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

    #[test]
    fn accented_letters_are_suggested_without_their_accents() {
        for (raw, suggested) in [
            ("café", "cafe"),
            ("Crème-Brûlée", "creme-brulee"),
            ("Straße", "strasse"),
            ("Łódź", "lodz"),
            ("SmørrebrødApp", "smorrebrod-app"),
            ("naïve_œuvre", "naive-oeuvre"),
        ] {
            assert_eq!(suggest(raw).as_deref(), Some(suggested), "{raw}");
            assert!(ProjectName::parse(suggested).is_ok(), "{suggested}");
        }
        assert_eq!(suggest("ｐｒｏｊｅｃｔ"), None);
    }
}
