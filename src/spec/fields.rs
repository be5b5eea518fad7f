//! Field specs of `saas add resource`: `name:type[:optional][:unique][:index]`, with
//! `name:references` for another resource and `name:references:user` for a member,
//! parsed into a typed `Field` with errors that name the token. Every spelling is safe
//! to type unquoted in bash and zsh; the older `name:type?` and `references(user)`
//! (which a shell reads as a glob and a subshell) are still accepted.

use std::fmt;

use crate::{
    Error,
    spec::naming::{RUST_KEYWORDS, SQL_RESERVED},
};

/// The type of a field, as the field spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Text,
    Bool,
    I16,
    I32,
    I64,
    F64,
    Decimal,
    Date,
    Datetime,
    Uuid,
    Json,
    /// The id of another resource of the same tenant; the field's name names it.
    References,
    /// The id of a member of the row's organization (`assignee:references:user`); only
    /// with `orgs`.
    Member,
}

/// Everything a generated project does with one field type, in one place: the Rust
/// types, the validator, the SQL, the OpenAPI schema and the values its tests use.
/// Adding a type is one row in [`FieldType::info`] (and its validator in the app's
/// `resources/fields.rs`, when the existing ones do not fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// As the field spec names it: `string`, `references:user`.
    pub name: &'static str,
    /// The model's Rust type (what the row holds and clients get).
    pub rust: &'static str,
    /// The input's Rust type (what clients send, before its validator).
    pub input: &'static str,
    /// Whether the model's type is `Copy` (bound without a borrow).
    pub copy: bool,
    /// The validator in the app's `resources/fields.rs` for a required value, and for
    /// an optional one.
    pub validator: (&'static str, &'static str),
    /// The column type on PostgreSQL, and on SQLite.
    pub sql: (&'static str, &'static str),
    /// On PostgreSQL, the cast of the column as read, and of the value as written (an
    /// exact decimal travels as text).
    pub postgres_casts: Option<(&'static str, &'static str)>,
    /// The JSON schema `type` and `format`; `None` for any JSON value.
    pub schema: Option<(&'static str, Option<&'static str>)>,
    /// The `value_type` of the input's `#[schema]`, when utoipa must not take the
    /// input's Rust type.
    pub schema_value_type: Option<&'static str>,
    /// The `format` of the input's `#[schema]` (utoipa's `KnownFormat`).
    pub schema_format: Option<&'static str>,
    /// The longest value the validator takes, in characters.
    pub max_length: Option<u32>,
    /// The pattern the validator enforces, as the document states it.
    pub pattern: Option<&'static str>,
    /// What the model's doc comment, and so its schema's description, says.
    pub description: Option<&'static str>,
    /// Whether the model's field states its schema as the input's does, by its value
    /// type and format: when utoipa must not take the model's Rust type either.
    pub model_schema: bool,
    /// The module that (de)serialises the model's value (`#[serde(with)]`), when serde's
    /// own way does not fit; an optional value takes its `option` module.
    pub serde_with: Option<&'static str>,
    /// A valid value as a Rust expression for `serde_json::json!`: `$name` is the
    /// field's name, `$n` a number that varies per row. `None` for a field that names a
    /// row (its value comes from the test's parents).
    pub sample: Option<&'static str>,
    /// Another valid value, different from every sample.
    pub other: Option<&'static str>,
    /// A value of the wrong JSON type; `None` when every JSON value is accepted.
    pub wrong_type: Option<&'static str>,
    /// A value of the right JSON type that the validator refuses.
    pub refused: Option<&'static str>,
    /// Whether a required value that is blank is refused.
    pub blank_refused: bool,
}

impl FieldType {
    const ALL: [FieldType; 14] = [
        Self::String,
        Self::Text,
        Self::Bool,
        Self::I16,
        Self::I32,
        Self::I64,
        Self::F64,
        Self::Decimal,
        Self::Date,
        Self::Datetime,
        Self::Uuid,
        Self::Json,
        Self::References,
        Self::Member,
    ];

    /// The facts of this type: one row each.
    pub const fn info(self) -> TypeInfo {
        match self {
            Self::String => TypeInfo {
                validator: ("fields::required_string", "fields::string"),
                max_length: Some(255),
                sample: Some("format!(\"Sample $name {$n}\")"),
                other: Some("\"Another value\""),
                refused: Some("json!(\"x\".repeat(256))"),
                blank_refused: true,
                ..TypeInfo::text("string")
            },
            Self::Text => TypeInfo {
                validator: ("fields::required_text", "fields::any"),
                sample: Some("format!(\"Some text about $name {$n}\")"),
                other: Some("\"Other text\""),
                blank_refused: true,
                ..TypeInfo::text("text")
            },
            Self::Bool => TypeInfo {
                sql: ("boolean", "integer"),
                schema: Some(("boolean", None)),
                sample: Some("true"),
                other: Some("false"),
                wrong_type: Some("json!(\"yes\")"),
                ..TypeInfo::copy("bool", "bool")
            },
            Self::I16 => TypeInfo {
                sql: ("smallint", "integer"),
                schema: Some(("integer", Some("int32"))),
                sample: Some("7 + $n as i16"),
                other: Some("-3"),
                wrong_type: Some("json!(\"12\")"),
                refused: Some("json!(40_000)"),
                ..TypeInfo::copy("i16", "i16")
            },
            Self::I32 => TypeInfo {
                sql: ("integer", "integer"),
                schema: Some(("integer", Some("int32"))),
                sample: Some("42 + $n as i32"),
                other: Some("-7"),
                wrong_type: Some("json!(\"12\")"),
                refused: Some("json!(3_000_000_000_i64)"),
                ..TypeInfo::copy("i32", "i32")
            },
            Self::I64 => TypeInfo {
                sql: ("bigint", "integer"),
                schema: Some(("integer", Some("int64"))),
                sample: Some("9_000_000_000_i64 + $n as i64"),
                other: Some("-9_000_000_000_i64"),
                wrong_type: Some("json!(\"12\")"),
                ..TypeInfo::copy("i64", "i64")
            },
            Self::F64 => TypeInfo {
                validator: ("fields::float", "fields::float"),
                sql: ("double precision", "real"),
                schema: Some(("number", Some("double"))),
                sample: Some("2.5 + $n as f64"),
                other: Some("-0.75"),
                wrong_type: Some("json!(\"12\")"),
                ..TypeInfo::copy("f64", "f64")
            },
            Self::Decimal => TypeInfo {
                validator: ("fields::decimal", "fields::decimal"),
                sql: ("numeric", "text"),
                postgres_casts: Some(("text", "numeric")),
                // 38 digits, a sign and a point.
                max_length: Some(40),
                pattern: Some(r"^-?[0-9]+(\.[0-9]+)?$"),
                description: Some("An exact decimal, as a string such as `\"12.50\"`."),
                sample: Some("format!(\"{$n}.50\")"),
                other: Some("\"-3.25\""),
                refused: Some("json!(\"twelve\")"),
                ..TypeInfo::text("decimal")
            },
            Self::Date => TypeInfo {
                rust: "Date",
                copy: true,
                validator: ("fields::date", "fields::date"),
                sql: ("date", "text"),
                schema: Some(("string", Some("date"))),
                schema_format: Some("Date"),
                model_schema: true,
                sample: Some("format!(\"2027-01-{:02}\", $n % 28 + 1)"),
                other: Some("\"2028-02-29\""),
                refused: Some("json!(\"2027-13-45\")"),
                ..TypeInfo::text("date")
            },
            Self::Datetime => TypeInfo {
                rust: "OffsetDateTime",
                copy: true,
                validator: ("fields::datetime", "fields::datetime"),
                sql: ("timestamptz", "text"),
                schema: Some(("string", Some("date-time"))),
                schema_format: Some("DateTime"),
                serde_with: Some("time::serde::rfc3339"),
                sample: Some("format!(\"2027-01-31T09:{:02}:00Z\", $n % 60)"),
                other: Some("\"2028-02-29T23:59:59Z\""),
                refused: Some("json!(\"tomorrow\")"),
                ..TypeInfo::text("datetime")
            },
            Self::Uuid => TypeInfo {
                sample: Some("uuid::Uuid::now_v7().to_string()"),
                other: Some("\"0190f1d2-3c4b-7a8e-9f00-665544332211\""),
                ..TypeInfo::id("uuid")
            },
            Self::Json => TypeInfo {
                rust: "serde_json::Value",
                input: "serde_json::Value",
                sql: ("jsonb", "text"),
                schema: None,
                schema_value_type: Some("Value"),
                model_schema: true,
                sample: Some("json!({ \"n\": $n })"),
                other: Some("json!([1, 2, 3])"),
                wrong_type: None,
                ..TypeInfo::text("json")
            },
            Self::References => TypeInfo::id("references"),
            Self::Member => TypeInfo::id("references:user"),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// Whether a value names a row that must exist for the same tenant: another
    /// resource's or a member's.
    pub fn names_a_row(self) -> bool {
        matches!(self, Self::References | Self::Member)
    }

    /// The types that hold a value, every one but the references, as the help lists
    /// them: `string text bool …`.
    pub fn value_types() -> String {
        Self::ALL
            .into_iter()
            .filter(|ty| !ty.names_a_row())
            .map(Self::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn list() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

/// The words that may follow a field's type, each after a `:`.
pub const MODIFIERS: [&str; 3] = ["optional", "unique", "index"];

/// What a shell may complete a partly typed field spec to: after `name:` every type,
/// after `name:type:` the modifiers not given yet. A word without `:` is a name being
/// typed, which nothing can guess.
pub fn completions(word: &str) -> Vec<String> {
    let Some((done, _partial)) = word.rsplit_once(':') else {
        return Vec::new();
    };
    let mut given = done.split(':').skip(1);
    let candidates: Vec<&str> = match given.next() {
        None => FieldType::ALL.map(FieldType::as_str).to_vec(),
        Some(type_name) => {
            let given: Vec<&str> = given.collect();
            let mut next: Vec<&str> = Vec::new();
            if type_name == FieldType::References.as_str() && given.is_empty() {
                next.push("user");
            }
            next.extend(
                MODIFIERS
                    .iter()
                    .filter(|modifier| !given.contains(modifier)),
            );
            next
        }
    };
    candidates
        .into_iter()
        .map(|candidate| format!("{done}:{candidate}"))
        .filter(|completion| completion.starts_with(word))
        .collect()
}

impl TypeInfo {
    /// A type held as a Rust `String`, `text` in both databases, with no constraint
    /// beyond its JSON type: the row the others start from.
    const fn text(name: &'static str) -> Self {
        Self {
            name,
            rust: "String",
            input: "String",
            copy: false,
            validator: ("fields::any", "fields::any"),
            sql: ("text", "text"),
            postgres_casts: None,
            schema: Some(("string", None)),
            schema_value_type: Some("String"),
            schema_format: None,
            max_length: None,
            pattern: None,
            description: None,
            model_schema: false,
            serde_with: None,
            sample: None,
            other: None,
            wrong_type: Some("json!(12)"),
            refused: None,
            blank_refused: false,
        }
    }

    /// A `Copy` type that is its own JSON type (`bool`, the numbers).
    const fn copy(name: &'static str, rust: &'static str) -> Self {
        Self {
            rust,
            input: rust,
            copy: true,
            schema_value_type: None,
            ..Self::text(name)
        }
    }

    /// A UUID: a plain one, or the id of a row (whose values the tests take from it).
    const fn id(name: &'static str) -> Self {
        Self {
            rust: "Uuid",
            copy: true,
            validator: ("fields::uuid", "fields::uuid"),
            sql: ("uuid", "blob"),
            schema: Some(("string", Some("uuid"))),
            schema_format: Some("Uuid"),
            refused: Some("json!(\"not-a-uuid\")"),
            ..Self::text(name)
        }
    }
}

/// Columns every resource table has already.
const RESERVED_COLUMNS: &[&str] = &["id", "created_at", "updated_at", "org_id", "user_id"];

/// One field of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name in the spec; for a reference, the resource it points to.
    pub name: String,
    pub ty: FieldType,
    /// Nullable, and not required on create.
    pub optional: bool,
    /// Unique within the tenant (409 on a clash).
    pub unique: bool,
    /// Gets a plain index.
    pub index: bool,
}

impl Field {
    /// Parses one field spec such as `title:string`, `due_on:date:optional`,
    /// `code:string:unique`, `project:references` or `assignee:references:user`.
    pub fn parse(spec: &str) -> Result<Self, Error> {
        let refuse = |reason: String, help: String| Error::InvalidField {
            spec: spec.to_owned(),
            reason,
            help,
        };
        // The older spellings: `references(user)` and a `?` after the type.
        let spec_text = spec.replacen("references(user)", "references:user", 1);
        let mut parts = spec_text.split(':').peekable();
        let name = parts.next().unwrap_or_default();
        let Some(type_token) = parts.next() else {
            return Err(refuse(
                "a field needs a type after `:`".to_owned(),
                format!(
                    "write `{name}:string`, for example; the types are {}",
                    FieldType::list()
                ),
            ));
        };
        let (type_name, mut optional) = match type_token.strip_suffix('?') {
            Some(type_name) => (type_name, true),
            None => (type_token, false),
        };
        let mut ty = FieldType::ALL
            .into_iter()
            .find(|ty| ty.as_str() == type_name)
            .ok_or_else(|| {
                let lowercase = type_name.to_ascii_lowercase();
                let help = if FieldType::ALL.iter().any(|ty| ty.as_str() == lowercase) {
                    format!("types are lowercase: `{name}:{lowercase}`")
                } else {
                    format!("the types are {}", FieldType::list())
                };
                refuse(format!("unknown type `{type_name}`"), help)
            })?;
        if ty == FieldType::References {
            // `references:user`, or the older `references(user)?`.
            if let Some(user) = parts.next_if(|token| matches!(*token, "user" | "user?")) {
                ty = FieldType::Member;
                optional |= user.ends_with('?');
            }
        }
        let mut field = Self {
            name: name.to_owned(),
            ty,
            optional,
            unique: false,
            index: false,
        };
        for modifier in parts {
            match modifier {
                "optional" => field.optional = true,
                "unique" => field.unique = true,
                "index" => field.index = true,
                other => {
                    return Err(refuse(
                        format!("unknown modifier `{other}`"),
                        format!(
                            "the modifiers are `{}` and `{}`, e.g. `code:string:unique`",
                            MODIFIERS[..MODIFIERS.len() - 1].join("`, `"),
                            MODIFIERS[MODIFIERS.len() - 1]
                        ),
                    ));
                }
            }
        }
        if RESERVED_COLUMNS.contains(&field.column().as_str()) {
            let help = if ty == FieldType::References && name == "user" {
                "rows already belong to their user (`user_id`); to store another user's id, use a uuid field such as `assignee_id:uuid`".to_owned()
            } else {
                format!(
                    "every resource has {} already; choose another name",
                    RESERVED_COLUMNS.join(", ")
                )
            };
            return Err(refuse(
                format!("`{}` is a column the app manages", field.column()),
                help,
            ));
        }
        check_name(name).map_err(|reason| {
            let help = if RUST_KEYWORDS.contains(&name) || SQL_RESERVED.contains(&name) {
                format!("pick a more specific name, such as `item_{name}`")
            } else {
                "use lowercase letters, digits and `_`, starting with a letter".to_owned()
            };
            refuse(reason, help)
        })?;
        if ty == FieldType::Json && field.unique {
            return Err(refuse(
                "a json field cannot be unique".to_owned(),
                "drop `:unique`".to_owned(),
            ));
        }
        Ok(field)
    }

    /// The column and JSON key: the name, or `<name>_id` for a reference.
    pub fn column(&self) -> String {
        match self.ty {
            FieldType::References | FieldType::Member => format!("{}_id", self.name),
            _ => self.name.clone(),
        }
    }
}

impl fmt::Display for Field {
    /// The canonical spec, as `saas.toml` records it: the shell-safe spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.ty.as_str())?;
        if self.optional {
            f.write_str(":optional")?;
        }
        if self.unique {
            f.write_str(":unique")?;
        }
        if self.index {
            f.write_str(":index")?;
        }
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the field has no name".to_owned());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("`{name}` must start with a lowercase letter"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "the character {bad:?} is not allowed in a field name"
        ));
    }
    if name.contains("__") || name.ends_with('_') || name.len() > 60 {
        return Err(format!(
            "`{name}` is not a simple identifier (no `__`, no trailing `_`, at most 60 characters)"
        ));
    }
    if RUST_KEYWORDS.contains(&name) {
        return Err(format!("`{name}` is a Rust keyword"));
    }
    if SQL_RESERVED.contains(&name) {
        return Err(format!("`{name}` is a reserved word in SQL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_completes_to_every_type_then_to_the_modifiers_not_given() {
        let types = completions("due_on:");
        assert_eq!(types.len(), FieldType::ALL.len());
        for completion in &types {
            Field::parse(completion).unwrap_or_else(|error| panic!("{completion}: {error}"));
        }
        assert_eq!(completions("due_on:da"), ["due_on:date", "due_on:datetime"]);
        assert_eq!(
            completions("due_on:date:"),
            [
                "due_on:date:optional",
                "due_on:date:unique",
                "due_on:date:index"
            ]
        );
        assert_eq!(
            completions("code:string:unique:"),
            ["code:string:unique:optional", "code:string:unique:index"]
        );
        assert_eq!(
            completions("owner:references:u"),
            ["owner:references:user", "owner:references:unique"]
        );
        assert_eq!(
            completions("owner:references:user:o"),
            ["owner:references:user:optional"]
        );
        assert!(completions("due_on").is_empty());
    }

    fn reason(spec: &str) -> String {
        match Field::parse(spec) {
            Err(Error::InvalidField { reason, .. }) => reason,
            other => panic!("{spec} was not refused: {other:?}"),
        }
    }

    #[test]
    fn specs_parse_with_their_modifiers() {
        let field = Field::parse("code:string:unique:index").unwrap();
        assert_eq!(
            (field.ty, field.optional, field.unique, field.index),
            (FieldType::String, false, true, true)
        );
        let field = Field::parse("due_on:date:optional").unwrap();
        assert_eq!((field.ty, field.optional), (FieldType::Date, true));
        let field = Field::parse("project:references").unwrap();
        assert_eq!(field.column(), "project_id");
        assert_eq!(field.to_string(), "project:references");
        assert_eq!(
            Field::parse("budget:decimal:optional:index")
                .unwrap()
                .to_string(),
            "budget:decimal:optional:index"
        );
        let member = Field::parse("assignee:references:user:optional").unwrap();
        assert_eq!((member.ty, member.optional), (FieldType::Member, true));
        assert_eq!(member.column(), "assignee_id");
    }

    #[test]
    fn the_older_spellings_still_parse_to_the_shell_safe_ones() {
        for (older, canonical) in [
            ("due_on:date?", "due_on:date:optional"),
            ("budget:decimal?:index", "budget:decimal:optional:index"),
            ("assignee:references(user)", "assignee:references:user"),
            (
                "helper:references(user)?",
                "helper:references:user:optional",
            ),
            ("project:references?", "project:references:optional"),
        ] {
            let field = Field::parse(older).unwrap();
            assert_eq!(field.to_string(), canonical, "{older}");
            assert_eq!(Field::parse(canonical).unwrap(), field, "{canonical}");
        }
    }

    #[test]
    fn bad_specs_say_which_token_and_why() {
        assert_eq!(reason("name:strang"), "unknown type `strang`");
        assert_eq!(reason("title"), "a field needs a type after `:`");
        assert_eq!(reason("title:string:primary"), "unknown modifier `primary`");
        assert!(reason("type:string").contains("Rust keyword"));
        assert!(reason("order:i32").contains("reserved word in SQL"));
        assert!(reason("created_at:datetime").contains("column the app manages"));
        assert!(reason("user:references").contains("column the app manages"));
        assert!(reason("id:uuid").contains("column the app manages"));
        assert!(reason("Title:string").contains("lowercase"));
        assert_eq!(reason("title:String"), "unknown type `String`");
        assert!(reason("ti-tle:string").contains("not allowed"));
        assert!(reason(":string").contains("no name"));
    }

    #[test]
    fn the_help_answers_the_mistake_made() {
        let help = |spec: &str| match Field::parse(spec) {
            Err(Error::InvalidField { help, .. }) => help,
            other => panic!("{spec} was not refused: {other:?}"),
        };
        assert_eq!(
            help("type:string"),
            "pick a more specific name, such as `item_type`"
        );
        assert_eq!(help("title:String"), "types are lowercase: `title:string`");
        assert!(help("title:strang").starts_with("the types are"));
        let fixed = Field::parse("item_type:string").unwrap();
        assert_eq!(fixed.to_string(), "item_type:string");
    }

    /// A model's `#[schema]` states the type's `schema_value_type`, which the module
    /// template takes as the input's does: a type whose model states one must have one
    /// (else the template would write the input's Rust type).
    #[test]
    fn a_type_whose_model_states_its_schema_names_its_value_type() {
        for ty in FieldType::ALL {
            let info = ty.info();
            assert!(
                !info.model_schema || info.schema_value_type.is_some(),
                "{}",
                info.name
            );
        }
    }

    #[test]
    fn an_unknown_type_lists_the_types() {
        match Field::parse("x:int") {
            Err(Error::InvalidField { help, .. }) => assert!(help.contains("string, text, bool, i16, i32, i64, f64, decimal, date, datetime, uuid, json, references"), "{help}"),
            other => panic!("{other:?}"),
        }
    }
}
