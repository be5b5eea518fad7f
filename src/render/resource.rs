//! The view of one resource that the `resource` templates render: every type, SQL
//! fragment and test value is decided here, so templates only loop and print.

use serde::Serialize;

use super::{
    context::FeaturesContext,
    model::{ResourceModel, ResponseSet},
    tenancy::Tenancy,
};
use crate::{
    spec::features::{Feature, FeatureSet},
    spec::fields::{Field, FieldType},
    spec::naming::ResourceName,
    spec::{Database, Parent, ResourceSpec},
};

#[derive(Debug, Serialize)]
pub struct ResourceContext {
    pub name: ResourceName,
    /// The project's features, for parts of a resource that only some projects have.
    pub features: FeaturesContext,
    /// Who owns the rows; see `Tenancy`.
    pub tenancy: Tenancy,
    /// Whether the project has billing (plans, limits and feature gates).
    pub billing: bool,
    /// Whether some plan limits this resource (`--limit`): creates check the plan.
    pub limited: bool,
    /// The plan feature every route needs (`--feature`), if any.
    pub feature: Option<String>,
    /// `/{path}`, where the collection is served.
    pub route_base: String,
    pub sqlite: bool,
    pub postgres: bool,
    pub fields: Vec<FieldContext>,
    /// `select` list, in the database's dialect (decimals read as text on PostgreSQL).
    pub select_columns: String,
    pub insert_columns: String,
    pub insert_values: String,
    pub update_sets: String,
    pub migration_columns: Vec<String>,
    pub migration_indexes: Vec<String>,
    pub references: Vec<ReferenceContext>,
    /// Columns that name a member of the row's organization (`references:user`).
    pub members: Vec<MemberContext>,
    /// Whether writes check references of any kind.
    pub has_references: bool,
    /// The resource's columns and operations, which the module's routes are written
    /// from and the OpenAPI document is serialised from.
    pub model: ResourceModel,
    /// The response sets the module imports from the app's `openapi`.
    pub openapi_imports: Vec<ResponseSet>,
    /// Those it imports from the app's `access` (with `orgs`), beside `Permission`.
    pub access_response_sets: Vec<ResponseSet>,
    pub has_unique: bool,
    /// Whether the module must import `time::Date`.
    pub uses_date: bool,
    pub tests: TestContext,
    /// The body of a row `seed` makes for the demo account, varying with `n`; a column
    /// naming a row takes the variable of its name.
    pub seed_body: Vec<BodyValue>,
    /// Whether a value of `seed_body` varies with `n` (else `seed`'s loop binds none).
    pub seed_varies: bool,
}

#[derive(Debug, Serialize)]
pub struct FieldContext {
    /// The JSON key, struct field and column.
    pub column: String,
    pub optional: bool,
    /// The model's Rust type (what the row holds and clients get), and the input's.
    pub rust: &'static str,
    pub input: &'static str,
    /// Whether the model's type is `Copy` (bound without a borrow).
    pub copy: bool,
    /// The validator in the app's `resources/fields.rs` (for an optional value, or a
    /// required one).
    pub validator: &'static str,
    /// The model's doc comment (its schema's description), and the pattern both
    /// schemas state.
    pub description: Option<&'static str>,
    pub pattern: Option<&'static str>,
    /// Whether the model's field has a `#[schema]` of its value type and format, and
    /// the module of its `#[serde(with)]`; see `TypeInfo`.
    pub model_schema: bool,
    pub serde_with: Option<&'static str>,
    /// What the input's `#[schema]` states (and the model's, with `model_schema`): its
    /// value type, and every constraint the validator enforces.
    pub schema_value_type: &'static str,
    pub max_length: Option<u32>,
    pub schema_format: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct ReferenceContext {
    pub column: String,
    pub optional: bool,
    /// The referenced module (`projects`) and its words (`project`).
    pub module: String,
    pub singular_words: String,
    pub plural_words: String,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct MemberContext {
    pub column: String,
    pub optional: bool,
}

#[derive(Debug, Serialize)]
pub struct TestContext {
    /// The columns a create must carry, and those that may be null.
    pub required: Vec<String>,
    pub nullable: Vec<String>,
    /// The body of `full_body`, varying with `n`, and of `other_values`; a column that
    /// names a row takes its value from the test's `parents`.
    pub body: Vec<BodyValue>,
    pub other: Vec<BodyValue>,
    /// Each value a field must refuse (`invalid_values`).
    pub invalid: Vec<BodyValue>,
    pub has_invalid: bool,
    /// Every column that must name a row of the same tenant (references and members),
    /// with how a test makes that row: the fields of `Parents`. Empty means the tests
    /// have no `Parents`, the one fact every `parents` snippet of `tests.rs.jinja` is
    /// derived from.
    pub named_rows: Vec<NamedRow>,
    /// Every resource that a row's references lead to, directly or through others, each
    /// with a helper in the tests that creates one.
    pub ancestors: Vec<AncestorContext>,
    /// Whether the tests make members: a member column here or in an ancestor.
    pub makes_members: bool,
    /// Whether some ancestor's values vary, so its helper numbers its rows.
    pub numbers_rows: bool,
    pub unique_field: Option<String>,
}

/// A field's value in a JSON body that tests or the seed write (`serde_json::json!`): a
/// Rust expression from its type's row, where `$n` is the loop's number; `None` for a
/// column that names a row, whose value the template takes from the row made for it.
#[derive(Debug, Serialize)]
pub struct BodyValue {
    pub column: String,
    pub value: Option<String>,
}

impl BodyValue {
    fn of(field: &Field, value: Option<String>) -> Self {
        Self {
            column: field.column(),
            value: value.map(|value| value.replace("$n", "n")),
        }
    }
}

/// A column that names a row, and how a test makes one for it.
#[derive(Debug, Serialize)]
pub struct NamedRow {
    pub column: String,
    /// The singular of the referenced resource, whose `create_…` helper makes the row;
    /// `None` for a member column, whose row a new member is.
    pub resource: Option<String>,
}

/// A resource that tests create rows of before the rows that reference them.
#[derive(Debug, Serialize)]
pub struct AncestorContext {
    pub singular: String,
    pub singular_words: String,
    pub path: String,
    /// The rows its own references and members name, made first.
    pub named_rows: Vec<NamedRow>,
    /// Its body, varying with `n`; a column naming a row takes the variable of its name.
    pub body: Vec<BodyValue>,
    /// Whether a value of the body depends on `n`.
    pub varies: bool,
}

impl ResourceContext {
    pub fn new(
        database: Database,
        features: &FeatureSet,
        tenancy: &Tenancy,
        spec: &ResourceSpec,
    ) -> Self {
        let name = spec.name.clone();
        let fields = spec.fields.as_slice();
        let parents = spec.parents.as_slice();
        let owner = tenancy.column.to_owned();
        let postgres = database == Database::Postgres;
        let contexts: Vec<FieldContext> = fields.iter().map(FieldContext::new).collect();

        let casts = |field: &Field| field.ty.info().postgres_casts.filter(|_| postgres);
        let select = |field: &Field| {
            let column = field.column();
            match casts(field) {
                Some((read, _)) => format!("{column}::{read} as {column}"),
                None => column,
            }
        };
        let mut select_columns = vec!["id".to_owned(), owner.clone()];
        select_columns.extend(fields.iter().map(select));
        select_columns.extend(["created_at".to_owned(), "updated_at".to_owned()]);

        let mut insert_columns = vec!["id".to_owned(), owner];
        insert_columns.extend(fields.iter().map(Field::column));
        insert_columns.extend(["created_at".to_owned(), "updated_at".to_owned()]);
        let placeholder = |n: usize, field: &Field| match casts(field) {
            Some((_, write)) => format!("${n}::{write}"),
            None => format!("${n}"),
        };
        let mut insert_values = vec!["$1".to_owned(), "$2".to_owned()];
        insert_values.extend(
            fields
                .iter()
                .enumerate()
                .map(|(i, field)| placeholder(i + 3, field)),
        );
        let now = fields.len() + 3;
        insert_values.extend([format!("${now}"), format!("${now}")]);
        let mut update_sets: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(i, field)| format!("{} = {}", field.column(), placeholder(i + 3, field)))
            .collect();
        update_sets.push(format!("updated_at = ${now}"));

        let references: Vec<ReferenceContext> = fields
            .iter()
            .filter(|field| field.ty == FieldType::References)
            .map(|field| {
                let parent = parents
                    .iter()
                    .find(|parent| parent.name.singular == field.name)
                    .expect("parents resolved");
                ReferenceContext {
                    column: field.column(),
                    optional: field.optional,
                    module: parent.name.plural.clone(),
                    singular_words: parent.name.singular_words.clone(),
                    plural_words: parent.name.plural_words.clone(),
                    path: parent.name.path.clone(),
                }
            })
            .collect();

        let members: Vec<MemberContext> = fields
            .iter()
            .filter(|field| field.ty == FieldType::Member)
            .map(|field| MemberContext {
                column: field.column(),
                optional: field.optional,
            })
            .collect();
        let model = ResourceModel::new(features, tenancy, spec);
        let (openapi_imports, access_response_sets) = model.response_sets();

        let tests = TestContext::new(fields, parents);
        Self {
            has_references: !tests.named_rows.is_empty(),
            members,
            model,
            openapi_imports,
            access_response_sets,
            select_columns: select_columns.join(", "),
            insert_columns: insert_columns.join(", "),
            insert_values: insert_values.join(", "),
            update_sets: update_sets.join(", "),
            migration_columns: migration_columns(tenancy, fields, parents, postgres),
            migration_indexes: migration_indexes(tenancy, &name, fields),
            has_unique: fields.iter().any(|field| field.unique),
            uses_date: fields.iter().any(|field| field.ty == FieldType::Date),
            tests,
            seed_body: fields.iter().map(sample).collect(),
            seed_varies: fields.iter().any(sample_varies),
            references,
            fields: contexts,
            route_base: tenancy.route_base(&name),
            billing: features.contains(Feature::Billing),
            limited: !spec.limits.is_empty(),
            feature: spec.feature.clone(),
            features: FeaturesContext::new(features),
            tenancy: tenancy.clone(),
            name,
            sqlite: !postgres,
            postgres,
        }
    }
}

impl FieldContext {
    fn new(field: &Field) -> Self {
        let optional = field.optional;
        let info = field.ty.info();
        let validator = if optional {
            info.validator.1
        } else {
            info.validator.0
        };
        Self {
            column: field.column(),
            optional,
            rust: info.rust,
            input: info.input,
            copy: info.copy,
            validator,
            description: info.description,
            pattern: info.pattern,
            model_schema: info.model_schema,
            serde_with: info.serde_with,
            schema_value_type: info.schema_value_type.unwrap_or(info.input),
            max_length: info.max_length,
            schema_format: info.schema_format,
        }
    }
}

fn sql_type(field: &Field, postgres: bool) -> &'static str {
    let (postgres_type, sqlite_type) = field.ty.info().sql;
    if postgres { postgres_type } else { sqlite_type }
}

fn migration_columns(
    tenancy: &Tenancy,
    fields: &[Field],
    parents: &[Parent],
    postgres: bool,
) -> Vec<String> {
    let (id, timestamp) = if postgres {
        ("uuid", "timestamptz")
    } else {
        ("blob", "text")
    };
    let mut columns = vec![
        format!(
            "id {id} primary key{}",
            if postgres { "" } else { " not null" }
        ),
        format!(
            "{} {id} not null references {} (id) on delete cascade",
            tenancy.column, tenancy.owner_table
        ),
    ];
    for field in fields {
        let mut column = format!("{} {}", field.column(), sql_type(field, postgres));
        if !field.optional {
            column.push_str(" not null");
        }
        let on_delete = if field.optional {
            "set null"
        } else {
            "cascade"
        };
        if field.ty == FieldType::References {
            let parent = parents
                .iter()
                .find(|parent| parent.name.singular == field.name)
                .expect("parents resolved");
            column.push_str(&format!(
                " references {} (id) on delete {on_delete}",
                parent.name.plural
            ));
        } else if field.ty == FieldType::Member {
            column.push_str(&format!(" references users (id) on delete {on_delete}"));
        }
        if field.optional {
            column = format!("-- Null when not given.\n    {column}");
        }
        columns.push(column);
    }
    columns.push(format!("created_at {timestamp} not null"));
    columns.push(format!("updated_at {timestamp} not null"));
    columns
}

fn migration_indexes(tenancy: &Tenancy, name: &ResourceName, fields: &[Field]) -> Vec<String> {
    let table = &name.plural;
    let owner = tenancy.column;
    let mut indexes = vec![format!(
        "-- Serves the list: one {}'s {}, newest first.\ncreate index {} on {table} ({owner}, id);",
        tenancy.owner_words,
        name.plural_words,
        tenancy.list_index(table)
    )];
    for field in fields {
        let column = field.column();
        if field.unique {
            indexes.push(format!(
                "create unique index {table}_{column}_unique on {table} ({owner}, {column});"
            ));
        } else if field.index || matches!(field.ty, FieldType::References | FieldType::Member) {
            indexes.push(format!(
                "create index {table}_{column} on {table} ({column});"
            ));
        }
    }
    indexes
}

impl TestContext {
    fn new(fields: &[Field], parents: &[Parent]) -> Self {
        let columns = |optional: bool| {
            fields
                .iter()
                .filter(|field| field.optional == optional)
                .map(Field::column)
                .collect()
        };
        let (required, nullable) = (columns(false), columns(true));
        let invalid: Vec<BodyValue> = fields
            .iter()
            .flat_map(|field| {
                invalid(field).into_iter().map(|value| BodyValue {
                    column: field.column(),
                    value: Some(value.to_owned()),
                })
            })
            .collect();
        let ancestors: Vec<AncestorContext> = parents.iter().map(AncestorContext::new).collect();
        let named_rows = NamedRow::of(fields);
        let makes_members = named_rows
            .iter()
            .chain(ancestors.iter().flat_map(|ancestor| &ancestor.named_rows))
            .any(|row| row.resource.is_none());
        Self {
            required,
            nullable,
            body: fields.iter().map(sample).collect(),
            other: fields.iter().map(other).collect(),
            has_invalid: !invalid.is_empty(),
            invalid,
            makes_members,
            numbers_rows: ancestors.iter().any(|ancestor| ancestor.varies),
            named_rows,
            ancestors,
            unique_field: fields.iter().find(|field| field.unique).map(Field::column),
        }
    }
}

impl NamedRow {
    /// The fields of `fields` that name a row, in order.
    fn of(fields: &[Field]) -> Vec<Self> {
        fields
            .iter()
            .filter(|field| field.ty.names_a_row())
            .map(|field| Self {
                column: field.column(),
                resource: (field.ty == FieldType::References).then(|| field.name.clone()),
            })
            .collect()
    }
}

impl AncestorContext {
    fn new(parent: &Parent) -> Self {
        Self {
            singular: parent.name.singular.clone(),
            singular_words: parent.name.singular_words.clone(),
            path: parent.name.path.clone(),
            named_rows: NamedRow::of(&parent.fields),
            body: parent.fields.iter().map(sample).collect(),
            varies: parent.fields.iter().any(sample_varies),
        }
    }
}

/// A valid value for `field`, varying with `n` so that rows made in a loop do not clash
/// on unique fields.
fn sample(field: &Field) -> BodyValue {
    BodyValue::of(
        field,
        field
            .ty
            .info()
            .sample
            .map(|sample| sample.replace("$name", &field.name)),
    )
}

/// Whether the sample of `field` depends on `n`.
fn sample_varies(field: &Field) -> bool {
    let sample = field
        .ty
        .info()
        .sample
        .map(|sample| sample.replace("$name", ""));
    sample.is_some_and(|sample| sample.contains("$n"))
}

/// Another valid value for `field`, different from every `sample`.
fn other(field: &Field) -> BodyValue {
    BodyValue::of(field, field.ty.info().other.map(ToOwned::to_owned))
}

/// Values the field must refuse: of the wrong JSON type (which serde refuses before
/// the validators run), blank for a required string, and of the right type but out of
/// range or form.
fn invalid(field: &Field) -> Vec<&'static str> {
    let info = field.ty.info();
    let Some(wrong_type) = info.wrong_type else {
        return Vec::new();
    };
    let mut values = vec![wrong_type];
    if !field.optional && info.blank_refused {
        values.push("json!(\" \\t \")");
    }
    values.extend(info.refused);
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::PlanLimit;

    /// The module that module.rs.jinja writes for a resource with the one field `spec`
    /// in a project with `features`.
    fn module_of(features: &str, spec: &str) -> String {
        let field = Field::parse(spec).unwrap();
        let resource = ResourceSpec {
            name: ResourceName::parse("Project").unwrap(),
            fields: vec![field.clone()],
            // What a reference names: a resource with a field.
            parents: vec![Parent {
                name: ResourceName::parse(&field.name).unwrap(),
                fields: vec![Field::parse("title:string").unwrap()],
            }],
            limits: vec![],
            feature: None,
        };
        let features = FeatureSet::parse(features).unwrap();
        let context = ResourceContext::new(
            Database::Sqlite,
            &features,
            &Tenancy::of(&features),
            &resource,
        );
        crate::render::Renderer::new()
            .render_resource("module.rs.jinja", &context)
            .unwrap()
    }

    /// The attribute lines module.rs.jinja writes above the field declared by `start`,
    /// in the module of a resource with the one field `spec`.
    fn attributes_above(spec: &str, start: &str) -> Vec<String> {
        let module = module_of("none", spec);
        let lines: Vec<&str> = module.lines().map(str::trim).collect();
        let at = lines
            .iter()
            .position(|line| line.starts_with(start))
            .unwrap();
        let first = lines[..at]
            .iter()
            .rposition(|line| !line.starts_with("#["))
            .map_or(0, |before| before + 1);
        lines[first..at]
            .iter()
            .map(|line| (*line).to_owned())
            .collect()
    }

    /// The `#[schema]` line module.rs.jinja writes above the input's field `spec`.
    fn schema_of(spec: &str) -> String {
        let column = Field::parse(spec).unwrap().column();
        let attributes = attributes_above(spec, &format!("pub {column}: Option<Option<"));
        assert_eq!(attributes.len(), 2, "{attributes:?}");
        attributes[1].clone()
    }

    /// The attributes module.rs.jinja writes above the model's field `spec`.
    fn model_attributes_of(spec: &str) -> Vec<String> {
        let field = Field::parse(spec).unwrap();
        let ty = field.ty.info().rust;
        let ty = if field.optional {
            format!("Option<{ty}>")
        } else {
            ty.to_owned()
        };
        attributes_above(spec, &format!("pub {}: {ty},", field.column()))
    }

    #[test]
    fn model_fields_state_their_schema_and_serde_form_where_the_type_needs_them() {
        for spec in [
            "title:string",
            "done:bool?",
            "owner:references",
            "code:uuid",
        ] {
            assert_eq!(model_attributes_of(spec), [] as [&str; 0], "{spec}");
        }
        assert_eq!(
            model_attributes_of("due_on:date"),
            ["#[schema(value_type = String, format = Date)]"]
        );
        assert_eq!(
            model_attributes_of("due_on:date?"),
            ["#[schema(value_type = Option<String>, format = Date)]"]
        );
        assert_eq!(
            model_attributes_of("starts_at:datetime"),
            [r#"#[serde(with = "time::serde::rfc3339")]"#]
        );
        assert_eq!(
            model_attributes_of("starts_at:datetime?"),
            [r#"#[serde(with = "time::serde::rfc3339::option")]"#]
        );
        assert_eq!(
            model_attributes_of("meta:json"),
            ["#[schema(value_type = Value)]"]
        );
        assert_eq!(
            model_attributes_of("meta:json?"),
            ["#[schema(value_type = Option<Value>)]"]
        );
        assert_eq!(
            model_attributes_of("budget:decimal?"),
            [r#"#[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]"#]
        );
    }

    #[test]
    fn the_module_imports_from_access_what_its_routes_name() {
        for features in FeatureSet::valid_sets() {
            let list = features.to_list();
            let module = module_of(&list, "title:string");
            let access: Vec<&str> = module
                .lines()
                .filter(|line| line.trim_start().starts_with("access::"))
                .collect();
            let expected: &[&str] = match (
                features.contains(Feature::Orgs),
                features.contains(Feature::Rbac),
            ) {
                (false, _) => &[],
                (true, false) => &["    access::MemberErrors,"],
                (true, true) => &["    access::{MemberErrors, Permission, PermissionErrors},"],
            };
            assert_eq!(access, expected, "{list}");
        }
    }

    #[test]
    fn input_schemas_state_what_the_validators_enforce() {
        assert_eq!(
            schema_of("title:string"),
            "#[schema(value_type = String, max_length = 255)]"
        );
        assert_eq!(
            schema_of("budget:decimal?"),
            r#"#[schema(value_type = Option<String>, max_length = 40, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]"#
        );
        assert_eq!(
            schema_of("due_on:date"),
            "#[schema(value_type = String, format = Date)]"
        );
        assert_eq!(
            schema_of("owner:references"),
            "#[schema(value_type = String, format = Uuid)]"
        );
        assert_eq!(
            schema_of("meta:json?"),
            "#[schema(value_type = Option<Value>)]"
        );
        assert_eq!(schema_of("done:bool"), "#[schema(value_type = bool)]");
    }

    #[test]
    fn billing_options_reach_the_templates() {
        let spec = |limits: Vec<PlanLimit>, feature: Option<&str>| ResourceSpec {
            name: ResourceName::parse("Report").unwrap(),
            fields: vec![Field::parse("title:string").unwrap()],
            parents: vec![],
            limits,
            feature: feature.map(ToOwned::to_owned),
        };
        let context = |features: &str, spec: &ResourceSpec| {
            let features = FeatureSet::parse(features).unwrap();
            ResourceContext::new(Database::Sqlite, &features, &Tenancy::of(&features), spec)
        };
        let free = PlanLimit {
            plan: "free".to_owned(),
            max: 3,
        };

        let limited = context("orgs,billing", &spec(vec![free], None));
        assert!(limited.billing && limited.limited);
        assert_eq!(limited.feature, None);
        let gated = context("billing", &spec(vec![], Some("reports")));
        assert!(gated.billing && !gated.limited);
        assert_eq!(gated.feature.as_deref(), Some("reports"));
        let plain = context("orgs", &spec(vec![], None));
        assert!(!plain.billing && !plain.limited);
    }
}
