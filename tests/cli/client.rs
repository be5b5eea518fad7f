//! The TypeScript client every app ships (`client/`), as a frontend developer uses it:
//! after `saas add resource`, `npm ci` and `npm run typecheck` pass with an example
//! that lists the resource, and fail with a misspelt field, a missing path parameter, a
//! misspelt key in a body written to satisfy its schema (not in a bare body: the README
//! says so), or once `saas remove resource` took the route away. The TypeScript the app's README
//! shows is type-checked beside them.
//!
//! These need npm (and the registry, or npm's cache). Without npm they print SKIPPED;
//! with `SAAS_REQUIRE_NPM=1` (as `.ci/run` sets it) or `CI=true` they fail instead.

use std::{io::Write, path::Path, process::Command};

use crate::common::{add, new_project_with, remove};

/// The variables that turn a skip into a failure, with the value that does.
const REQUIRE_VARIABLES: [(&str, &str); 2] = [("SAAS_REQUIRE_NPM", "1"), ("CI", "true")];

/// Whether npm runs; `false` after printing why the test `test` is skipped. Panics when
/// npm is missing and a variable of [`REQUIRE_VARIABLES`] requires it.
fn npm_or_skip(test: &str) -> bool {
    let reason = match Command::new("npm").arg("--version").output() {
        Ok(output) if output.status.success() => return true,
        Ok(output) => format!(
            "`npm --version` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => format!("no npm ({error})"),
    };
    let required = REQUIRE_VARIABLES
        .iter()
        .find(|(name, value)| std::env::var(name).is_ok_and(|set| set == *value));
    if let Some((name, value)) = required {
        panic!(
            "{test}: {reason}; {name}={value} requires the client tests to run (install Node.js and npm)"
        );
    }
    // Straight to the process's stderr: the harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nSKIPPED {test}: {reason} (set SAAS_REQUIRE_NPM=1 to make this a failure)"
    );
    false
}

/// Runs `npm <args>` in `client`; its success and everything it printed.
fn npm(client: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new("npm")
        .args(args)
        .current_dir(client)
        .output()
        .expect("npm runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

/// Installs the client's packages as its lockfile pins them; from npm's cache (shared
/// by every run) when it has them.
fn install(client: &Path) {
    let (installed, printed) = npm(
        client,
        &["ci", "--prefer-offline", "--no-audit", "--no-fund"],
    );
    assert!(installed, "npm ci failed:\n{printed}");
}

/// How a test type-checks the client.
#[derive(Clone, Copy)]
enum Check {
    /// `npm run typecheck`, as a user runs it: the schema written afresh from the
    /// snapshot, then `tsc`.
    Typecheck,
    /// `tsc` alone, when only TypeScript changed since the last `Typecheck`.
    TscOnly,
}

/// The type errors `check` finds, one per line; it must fail exactly when there are
/// some, and only `file` may have them (the client and its example always pass).
fn type_errors_in(client: &Path, file: &str, check: Check) -> Vec<String> {
    let (passed, printed) = match check {
        Check::Typecheck => npm(client, &["run", "typecheck"]),
        Check::TscOnly => {
            let output = Command::new(client.join("node_modules/.bin/tsc"))
                .current_dir(client)
                .output()
                .expect("tsc runs");
            let printed = String::from_utf8_lossy(&output.stdout).into_owned();
            (output.status.success(), printed)
        }
    };
    let errors: Vec<String> = printed
        .lines()
        .filter(|line| line.contains("error TS"))
        .map(str::to_owned)
        .collect();
    assert_eq!(passed, errors.is_empty(), "{printed}");
    let elsewhere: Vec<&String> = errors
        .iter()
        .filter(|error| !error.starts_with(&format!("{file}(")))
        .collect();
    assert!(elsewhere.is_empty(), "errors outside {file}:\n{printed}");
    errors
}

/// Writes `source` as the client's `file`, as a user adds code beside the example.
fn write(client: &Path, file: &str, source: &str) {
    std::fs::write(client.join(file), source).unwrap();
}

/// The TypeScript of the app's README (its indented blocks that call `createClient`),
/// each block in braces of its own, as a module of the client; what the snippets take
/// as given, such as the user's password, is declared.
fn readme_snippets(root: &Path) -> String {
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut blocks = vec![String::new()];
    for line in readme.lines() {
        match line.strip_prefix("    ") {
            Some(code) => blocks.last_mut().unwrap().push_str(&format!("  {code}\n")),
            None => blocks.push(String::new()),
        }
    }
    let snippets: Vec<String> = blocks
        .into_iter()
        .filter(|block| block.contains("createClient("))
        .map(|block| format!("{{\n{block}}}\n"))
        .collect();
    assert_eq!(
        snippets.len(),
        2,
        "the README shows a cookie and a token client"
    );
    format!(
        "import {{ createClient }} from \"./client\";\n\n\
         declare const email: string, password: string, token: string;\n\n{}",
        snippets.join("\n")
    )
}

/// A function `name` that lists the titles of a page of projects at `path`, with
/// `params`, reading the field `field`.
fn list_titles(name: &str, path: &str, params: &str, field: &str) -> String {
    format!(
        r#"export async function {name}(orgId: string): Promise<string[]> {{
  const api = createClient({{ baseUrl: "http://localhost:3000" }});
  const {{ data, error }} = await api.GET("{path}", {params});
  if (error) throw new Error(error.error.message);
  return data.items.map((project) => project.{field});
}}
"#
    )
}

/// A function `name` that creates a project, its body written inline as `body`.
fn create_project(name: &str, body: &str) -> String {
    format!(
        r#"export async function {name}(orgId: string): Promise<void> {{
  const api = createClient({{ baseUrl: "http://localhost:3000" }});
  const params = {{ path: {{ org_id: orgId }} }};
  await api.POST("/orgs/{{org_id}}/projects", {{ params, body: {body} }});
}}
"#
    )
}

/// A module of the client with these functions.
fn module(functions: &[String]) -> String {
    format!(
        "import {{ createClient, type components }} from \"./client\";\n\n{}",
        functions.join("\n")
    )
}

#[test]
fn an_org_app_client_lists_a_resource_and_rejects_a_misspelt_field_or_a_missing_org() {
    let test = "an_org_app_client_lists_a_resource_and_rejects_a_misspelt_field_or_a_missing_org";
    if !npm_or_skip(test) {
        return;
    }
    let (_parent, root) = new_project_with("sqlite", "orgs,rbac,billing");
    add(&root, &["Project", "title:string", "done:bool"]).success();
    let client = root.join("client");
    install(&client);
    let path = "/orgs/{org_id}/projects";
    let with_org = "{ params: { path: { org_id: orgId } } }";

    let listing = list_titles("titles", path, with_org, "title");
    write(&client, "src/projects.ts", &module(&[listing]));
    write(&client, "src/readme.ts", &readme_snippets(&root));
    let errors = type_errors_in(&client, "src/projects.ts", Check::Typecheck);
    assert_eq!(errors, Vec::<String>::new());

    let misspelt = list_titles("misspelt", path, with_org, "titel");
    let without_org = list_titles("withoutOrg", path, "{}", "title");
    // The README's caveat: openapi-fetch lets a misspelt key into a body, unless the
    // body `satisfies` its schema.
    let unchecked = create_project("unchecked", r#"{ titel: "x", done: false }"#);
    let checked = create_project(
        "checked",
        r#"{ titel: "x", done: false } satisfies components["schemas"]["ProjectInput"]"#,
    );
    let wrong = [misspelt, without_org, unchecked, checked];
    write(&client, "src/projects.ts", &module(&wrong));
    let errors = type_errors_in(&client, "src/projects.ts", Check::TscOnly);
    assert!(
        errors.len() == 3
            && errors[0].contains("Property 'titel' does not exist")
            && errors[1].contains("Argument of type '{}'")
            && errors[2].contains("'titel' does not exist in type"),
        "{errors:#?}"
    );
}

#[test]
fn a_client_without_orgs_lists_a_resource_at_its_own_route_until_it_is_removed() {
    let test = "a_client_without_orgs_lists_a_resource_at_its_own_route_until_it_is_removed";
    if !npm_or_skip(test) {
        return;
    }
    let (_parent, root) = new_project_with("sqlite", "none");
    add(&root, &["Project", "title:string", "done:bool"]).success();
    let client = root.join("client");
    install(&client);
    let listing = list_titles("titles", "/projects", "{}", "title");
    write(&client, "src/projects.ts", &module(&[listing]));
    write(&client, "src/readme.ts", &readme_snippets(&root));

    let errors = type_errors_in(&client, "src/projects.ts", Check::Typecheck);
    assert_eq!(errors, Vec::<String>::new());

    remove(&root, &["Project"]).success();
    let errors = type_errors_in(&client, "src/projects.ts", Check::Typecheck);
    assert!(
        !errors.is_empty() && errors[0].contains(r#""/projects""#),
        "the removed resource's route: {errors:#?}"
    );
}
