//! Field specs of `saas add resource`: `name:type[?][:unique][:index]` and
//! `name:references[?]` and `name:references(user)[?]`, parsed into a typed `Field` with errors that name the token.

use std::fmt;

use crate::{
    Error,
    naming::{RUST_KEYWORDS, SQL_RESERVED},
};

/// The type of a field, as the field spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Text,
    Bool,
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
    /// The id of a member of the row's organization (`assignee:references(user)`); only
    /// with `orgs`.
    Member,
}

impl FieldType {
    const ALL: [FieldType; 13] = [
        Self::String,
        Self::Text,
        Self::Bool,
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

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Text => "text",
            Self::Bool => "bool",
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F64 => "f64",
            Self::Decimal => "decimal",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Uuid => "uuid",
            Self::Json => "json",
            Self::References => "references",
            Self::Member => "references(user)",
        }
    }

    /// Whether a value names a row that must exist for the same tenant: another
    /// resource's or a member's.
    pub fn names_a_row(self) -> bool {
        matches!(self, Self::References | Self::Member)
    }

    fn list() -> String {
        Self::ALL.map(Self::as_str).join(", ")
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
    /// Parses one field spec such as `title:string`, `due_on:date?`,
    /// `code:string:unique` or `project:references`.
    pub fn parse(spec: &str) -> Result<Self, Error> {
        let refuse = |reason: String, help: String| Error::InvalidField {
            spec: spec.to_owned(),
            reason,
            help,
        };
        let mut parts = spec.split(':');
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
        let (type_name, optional) = match type_token.strip_suffix('?') {
            Some(type_name) => (type_name, true),
            None => (type_token, false),
        };
        let ty = FieldType::ALL
            .into_iter()
            .find(|ty| ty.as_str() == type_name)
            .ok_or_else(|| {
                refuse(
                    format!("unknown type `{type_name}`"),
                    format!("the types are {}", FieldType::list()),
                )
            })?;
        let mut field = Self {
            name: name.to_owned(),
            ty,
            optional,
            unique: false,
            index: false,
        };
        for modifier in parts {
            match modifier {
                "unique" => field.unique = true,
                "index" => field.index = true,
                other => {
                    return Err(refuse(
                        format!("unknown modifier `{other}`"),
                        "the modifiers are `unique` and `index`, e.g. `code:string:unique`"
                            .to_owned(),
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
            refuse(
                reason,
                "use lowercase letters, digits and `_`, starting with a letter".to_owned(),
            )
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
    /// The canonical spec, as `saas.toml` records it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.ty.as_str())?;
        if self.optional {
            f.write_str("?")?;
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
        let field = Field::parse("due_on:date?").unwrap();
        assert_eq!((field.ty, field.optional), (FieldType::Date, true));
        let field = Field::parse("project:references").unwrap();
        assert_eq!(field.column(), "project_id");
        assert_eq!(field.to_string(), "project:references");
        assert_eq!(
            Field::parse("budget:decimal?:index").unwrap().to_string(),
            "budget:decimal?:index"
        );
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
        assert!(reason("ti-tle:string").contains("not allowed"));
        assert!(reason(":string").contains("no name"));
    }

    #[test]
    fn an_unknown_type_lists_the_types() {
        match Field::parse("x:int") {
            Err(Error::InvalidField { help, .. }) => assert!(help.contains("string, text, bool, i32, i64, f64, decimal, date, datetime, uuid, json, references"), "{help}"),
            other => panic!("{other:?}"),
        }
    }
}
