//! The one render pipeline: embedded templates -> minijinja -> the files of a plan.

mod context;
pub mod model;
mod openapi;
mod resource;
mod tenancy;

use std::path::{Path, PathBuf};

use include_dir::{Dir, DirEntry, include_dir};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, syntax::SyntaxConfig, value::Serde};
use serde::Serialize;

pub use self::context::{FeaturesContext, ProjectContext};
pub use self::openapi::ResourceApi;
pub use self::resource::ResourceContext;
pub use self::tenancy::Tenancy;
use crate::{Error, spec::Database, spec::features::FeatureSet};

/// Every template, embedded in the binary.
pub(crate) static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The directory of templates that others include; never a tree of a project.
const PARTIALS: &str = "partials";

/// Files with this suffix are rendered (and lose it); all others are copied as they are.
const TEMPLATE_SUFFIX: &str = ".jinja";

/// The template trees of a project, in the order they overlay each other: the shared
/// files, the database's, then for each feature its files and its database-specific
/// files (such as its migration). A feature with no files of its own (or none for this
/// database) simply has no tree; features never copy whole files per combination.
pub fn template_trees(database: Database, features: &FeatureSet) -> Vec<String> {
    let database = database.as_str();
    let mut trees = vec!["app".to_owned(), database.to_owned()];
    for feature in features.iter() {
        trees.push(feature.as_str().to_owned());
        trees.push(format!("{feature}-{database}"));
    }
    trees.retain(|tree| TEMPLATES.get_dir(tree).is_some());
    trees
}

/// `["a", "b", "c"] | prose_list("`")` is "`a`, `b` and `c`": each item between two
/// `quote`s, as a sentence lists them.
fn prose_list(items: Vec<String>, quote: &str) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| format!("{quote}{item}{quote}"))
        .collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Renders template trees with one configured minijinja environment.
pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        let mut env = Environment::new();
        // A misspelt variable fails the render instead of writing an empty string.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // The default would JSON-escape `.yml`/`.json` and HTML-escape `.html` templates.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_syntax(
            SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("valid syntax configuration"),
        );
        env.add_filter("prose_list", prose_list);
        // Pieces that more than one template writes, by `{% include "partials/…" %}`.
        let partials = TEMPLATES
            .get_dir(PARTIALS)
            .expect("templates/partials is embedded");
        for file in partials.files() {
            let name = file.path().to_str().expect("UTF-8 template paths");
            let source = file
                .contents_utf8()
                .unwrap_or_else(|| panic!("{name} is UTF-8"));
            env.add_template(name, source)
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        Self { env }
    }

    /// Every file of the template directories `roots` as a path and its contents, in
    /// order; a file of a later root replaces the file of an earlier one at the same path.
    pub fn render_trees(
        &self,
        roots: &[String],
        context: &ProjectContext,
    ) -> Result<Vec<(PathBuf, Vec<u8>)>, Error> {
        let mut rendered: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for root in roots {
            let dir = TEMPLATES
                .get_dir(root)
                .unwrap_or_else(|| panic!("template directory `{root}` is embedded"));
            let mut files = Vec::new();
            collect_files(dir, &mut files);
            files.sort_by_key(|file| file.path());
            for file in files {
                let relative = file
                    .path()
                    .strip_prefix(root)
                    .expect("a file lies inside its root");
                let (path, contents) = self.render_file(relative, file, context)?;
                rendered.retain(|(earlier, _)| *earlier != path);
                rendered.push((path, contents));
            }
        }
        Ok(rendered)
    }

    fn render_file(
        &self,
        relative: &Path,
        file: &include_dir::File<'static>,
        context: &ProjectContext,
    ) -> Result<(PathBuf, Vec<u8>), Error> {
        let name = relative.to_string_lossy();
        let Some(output) = name.strip_suffix(TEMPLATE_SUFFIX) else {
            return Ok((relative.to_path_buf(), file.contents().to_vec()));
        };
        let template_name = file.path().to_string_lossy().into_owned();
        let source = file
            .contents_utf8()
            .unwrap_or_else(|| panic!("{template_name} is UTF-8"));
        let rendered = self
            .env
            .render_named_str(&template_name, source, Serde(context))
            .map_err(|source| Error::Render {
                template: template_name.clone(),
                source,
            })?;
        Ok((PathBuf::from(output), rendered.into_bytes()))
    }
}

impl Renderer {
    /// Renders the template `resource/<template>` with a resource's context.
    pub fn render_resource(
        &self,
        template: &str,
        context: &ResourceContext,
    ) -> Result<String, Error> {
        self.render_template(&format!("resource/{template}"), context)
    }

    /// Renders one embedded template, `name` being its path under `templates/`.
    pub fn render_template(&self, name: &str, context: &impl Serialize) -> Result<String, Error> {
        let file = TEMPLATES
            .get_file(name)
            .unwrap_or_else(|| panic!("template `{name}` is embedded"));
        let source = file
            .contents_utf8()
            .unwrap_or_else(|| panic!("{name} is UTF-8"));
        self.env
            .render_named_str(name, source, Serde(context))
            .map_err(|source| Error::Render {
                template: name.to_owned(),
                source,
            })
    }
}

fn collect_files<'a>(dir: &'a Dir<'static>, files: &mut Vec<&'a include_dir::File<'static>>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(dir) => collect_files(dir, files),
            DirEntry::File(file) => files.push(file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{spec::ProjectSpec, spec::naming::ProjectName};

    fn context(database: Database) -> ProjectContext {
        ProjectContext::new(&ProjectSpec {
            name: ProjectName::parse("acme-api").unwrap(),
            database,
            features: FeatureSet::default(),
            destination: "acme-api".into(),
            git: false,
        })
    }

    #[test]
    fn an_undefined_variable_fails_the_render() {
        let renderer = Renderer::new();
        let result = renderer
            .env
            .render_str("{{ nmae }}", Serde(context(Database::Sqlite)));
        assert!(result.is_err());
    }

    #[test]
    fn prose_list_lists_as_a_sentence_does() {
        let list =
            |items: &[&str]| prose_list(items.iter().map(|item| item.to_string()).collect(), "`");
        assert_eq!(list(&[]), "");
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b"]), "`a` and `b`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }

    #[test]
    fn nothing_is_escaped_and_block_lines_leave_no_blank_lines() {
        let renderer = Renderer::new();
        let source = "a: \"{{ package }}\" <&>\n{% if db.sqlite %}\nsqlite\n{% endif %}\nend\n";
        let rendered = renderer
            .env
            .render_str(source, Serde(context(Database::Sqlite)))
            .unwrap();
        assert_eq!(rendered, "a: \"acme-api\" <&>\nsqlite\nend\n");
    }

    #[test]
    fn trees_are_shared_then_database_then_each_feature_with_its_database_files() {
        assert_eq!(
            template_trees(Database::Sqlite, &FeatureSet::default()),
            ["app", "sqlite"]
        );
        assert_eq!(
            template_trees(Database::Postgres, &FeatureSet::parse("orgs").unwrap()),
            ["app", "postgres", "orgs", "orgs-postgres"]
        );
        let with_rbac = template_trees(Database::Sqlite, &FeatureSet::parse("orgs,rbac").unwrap());
        assert_eq!(with_rbac[..4], ["app", "sqlite", "orgs", "orgs-sqlite"]);
    }

    #[test]
    fn templates_lose_their_suffix_and_overlays_replace_shared_files() {
        let files = Renderer::new()
            .render_trees(
                &template_trees(Database::Postgres, &FeatureSet::default()),
                &context(Database::Postgres),
            )
            .unwrap();
        let file = |path: &str| {
            let mut found = files.iter().filter(|(p, _)| p.as_path() == Path::new(path));
            let (_, contents) = found.next()?;
            assert!(found.next().is_none(), "{path} is rendered once");
            Some(String::from_utf8(contents.clone()).unwrap())
        };

        assert!(file("Cargo.toml").is_some());
        assert!(file("Cargo.toml.jinja").is_none());
        assert!(file("src/db.rs").unwrap().contains("PgPool"));
        assert!(file("src/name.rs").unwrap().contains("\"acme_api_\""));
    }
}
