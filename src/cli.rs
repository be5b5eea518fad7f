//! The command line, exactly as the user typed it; validation happens in `spec`.
//! Every `saas …` line of an `Examples:` section here is run by a test in a generated
//! project, so each must work as written.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    spec::features::Feature,
    spec::fields::FieldType,
    spec::{Database, resource::ResourceRequest},
};

/// Writes the backend of a SaaS product: an axum + sqlx app with authentication,
/// sessions and an OpenAPI document, ready to run and to test.
#[derive(Debug, Parser)]
#[command(
    name = "saas",
    version,
    about,
    propagate_version = true,
    after_help = "Examples:
  saas new acme --yes
  saas add resource Project title:string done:bool due_on:date:optional
  saas remove resource Project"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project in a new directory.
    #[command(after_help = "Examples:
  saas new acme --yes
  saas new acme-api --db postgres --features none --no-git")]
    New(NewArgs),
    /// Add something to the project in this directory.
    #[command(
        subcommand,
        after_help = "Examples:
  saas add resource Invoice number:string:unique paid:bool due_on:date:optional
  saas add model Comment body:text invoice:references:optional"
    )]
    Add(AddCommand),
    /// Undo an `add`.
    #[command(subcommand)]
    Remove(RemoveCommand),
    /// Bring the project up to this saas's templates, keeping your changes.
    #[command(after_help = "Examples:
  saas upgrade --dry-run
  saas upgrade

Renders the project again from saas.toml with this saas, and merges into your files,
with git's merge, what changed since the project's last render (the commits of
refs/saas/generated).
Needs a clean work tree. Exit status: 0 upgraded, 3 upgraded with conflicts left as
`<<<<<<<` markers in the files listed, 1 refused (nothing changed), 2 failed (nothing
changed).")]
    Upgrade(UpgradeArgs),
    /// Print a shell completion script to standard output.
    #[command(after_help = "Examples:
  saas completions bash
  saas completions zsh
  saas completions fish

To complete saas in every new bash, add `source <(saas completions bash)` to ~/.bashrc.")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Facts of this saas for its own scripts; not for users.
    #[command(subcommand, hide = true)]
    Debug(DebugCommand),
}

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Every valid `--features` list, one per line.
    FeatureSets,
    /// What a partly typed field spec completes to, one per line (the completion
    /// scripts call this).
    CompleteField { word: String },
    /// Writes into DIR (new or empty) the whole project that the saas.toml of this
    /// directory describes, as this saas generates it (what `saas upgrade` merges).
    Render { dir: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// A domain resource: migration, model, routes, access rules, tests.
    #[command(
        visible_alias = "model",
        after_help = "Examples:
  saas add resource Project title:string description:text:optional done:bool due_on:date:optional
  saas add resource Task title:string:unique project:references estimate:f64:optional --dry-run
  saas add model Cactus name:string --plural cactuses"
    )]
    Resource(AddResourceArgs),
    /// A feature left out at `saas new`: orgs, billing, or rbac in a project with orgs.
    ///
    /// Merged into your files as `saas upgrade` merges (it needs git and a clean work
    /// tree). `orgs` also writes a migration that gives every account a personal
    /// organization and moves its rows there.
    Feature(AddFeatureArgs),
}

#[derive(Debug, Subcommand)]
pub enum RemoveCommand {
    /// A resource that `saas add resource` added.
    #[command(after_help = "Examples:
  saas add resource Note body:text
  saas remove resource Note --dry-run
  saas remove resource Note")]
    Resource(RemoveResourceArgs),
    /// Refused: saas does not remove a feature (the error says why).
    Feature {
        #[arg(value_enum)]
        feature: FeatureArg,
    },
}

#[derive(Debug, Args)]
pub struct AddResourceArgs {
    /// The resource, singular or plural, PascalCase or snake_case: `Project`, `project_tasks`.
    pub name: String,
    #[arg(value_name = "FIELD", help = fields_help())]
    pub fields: Vec<String>,
    /// The plural, when English rules get it wrong (`--plural people`); the name is then
    /// taken as the singular.
    #[arg(long, value_name = "WORD")]
    pub plural: Option<String>,
    /// At most N rows per billing owner on PLAN, written into config/plans.toml; repeat
    /// it or separate with commas (`--limit free=3,pro=100`). Needs the billing feature.
    #[arg(long, value_name = "PLAN=N", value_delimiter = ',')]
    pub limit: Vec<String>,
    /// Put every route behind the plan feature NAME (snake_case); a feature no plan lists
    /// yet is added to every plan but `free`. Needs the billing feature.
    #[arg(long, value_name = "NAME")]
    pub feature: Option<String>,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan as JSON (with --dry-run, only the plan).
    #[arg(long)]
    pub json: bool,
}

impl AddResourceArgs {
    /// The arguments, for the spec to check.
    pub fn request(&self) -> ResourceRequest<'_> {
        ResourceRequest {
            name: &self.name,
            fields: &self.fields,
            plural: self.plural.as_deref(),
            limits: &self.limit,
            feature: self.feature.as_deref(),
        }
    }
}

#[derive(Debug, Args)]
pub struct RemoveResourceArgs {
    /// The resource, as it was added.
    pub name: String,
    /// Delete the resource's files even if they were edited since.
    #[arg(long)]
    pub force: bool,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct AddFeatureArgs {
    #[arg(value_enum)]
    pub feature: FeatureArg,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The commit whose files are what saas last wrote, for a project made before saas
    /// 0.2.0 (which has no refs/saas/generated): e.g. the commit `saas new` made.
    #[arg(long, value_name = "COMMIT")]
    pub baseline: Option<String>,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's name: a cargo package name such as `acme` or `acme-api`; asked for
    /// on a terminal when left out.
    pub name: Option<String>,
    /// The database the app is written for [default: sqlite].
    #[arg(long, value_enum)]
    pub db: Option<DatabaseArg>,
    #[arg(long, value_name = "LIST", help = features_help())]
    pub features: Option<String>,
    /// Take the defaults for everything not given; never ask.
    #[arg(long, short)]
    pub yes: bool,
    /// The directory to create the project in [default: the current directory].
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Do not initialise a git repository.
    #[arg(long)]
    pub no_git: bool,
}

/// The help of a resource's fields, naming the types from `fields.rs`.
fn fields_help() -> String {
    format!(
        "Fields: `name:type[:optional][:unique][:index]`, or `name:references[:optional]` to \
         point at another resource. Types: {}. With orgs, `name:references:user[:optional]` \
         holds a member of the row's organization (`assignee:references:user` is the column \
         `assignee_id`). Every spelling is safe unquoted in bash and zsh",
        FieldType::value_types()
    )
}

/// The help of `--features`, naming the features and what each requires.
fn features_help() -> String {
    let requirements: Vec<String> = Feature::ALL
        .into_iter()
        .filter_map(|feature| {
            let required = feature.requires()?;
            Some(format!("; {feature} brings {required}"))
        })
        .collect();
    format!(
        "Optional features, comma-separated ({}{}), or `none` [default: every available feature]",
        Feature::names(),
        requirements.concat()
    )
}

/// A feature as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeatureArg {
    Orgs,
    Rbac,
    Billing,
}

impl From<FeatureArg> for Feature {
    fn from(arg: FeatureArg) -> Self {
        match arg {
            FeatureArg::Orgs => Feature::Orgs,
            FeatureArg::Rbac => Feature::Rbac,
            FeatureArg::Billing => Feature::Billing,
        }
    }
}

/// `--db`: the databases as the command line spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DatabaseArg {
    /// Embedded, zero set-up: a file next to the app.
    Sqlite,
    /// PostgreSQL, for production.
    Postgres,
}

impl From<DatabaseArg> for Database {
    fn from(arg: DatabaseArg) -> Self {
        match arg {
            DatabaseArg::Sqlite => Database::Sqlite,
            DatabaseArg::Postgres => Database::Postgres,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn help_of(path: &[&str], arg: &str) -> String {
        let mut command = Cli::command();
        for name in path {
            command = command.find_subcommand(name).unwrap().clone();
        }
        let arg = command.get_arguments().find(|a| a.get_id() == arg).unwrap();
        arg.get_help().unwrap().to_string()
    }

    #[test]
    fn the_help_names_every_field_type_and_feature() {
        let fields = help_of(&["add", "resource"], "fields");
        for ty in FieldType::value_types().split(' ') {
            assert!(fields.contains(&format!(" {ty}")), "{ty}: {fields}");
        }
        let features = help_of(&["new"], "features");
        for feature in Feature::ALL {
            assert!(features.contains(feature.as_str()), "{feature}: {features}");
        }
        assert!(features.contains("rbac brings orgs"), "{features}");
    }
}
