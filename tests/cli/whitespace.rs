//! Every variant reads as if written by hand: in every generated file, no trailing
//! whitespace, no tab in Rust, never two blank lines in a row, no blank line at the
//! start or the end, and a final newline. Checked on each feature set × database, with
//! a resource referencing another (and with billing, one limited and one gated).

use std::path::Path;

use crate::common::{PROJECT_FIELDS, TASK_FIELDS, add, new_project_with};

/// What is wrong with the layout of `text`, one line per problem.
fn layout_problems(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.is_empty() && !text.ends_with('\n') {
        problems.push(format!("{path}: no newline at the end"));
    }
    if text.starts_with('\n') {
        problems.push(format!("{path}: starts with a blank line"));
    }
    if text.ends_with("\n\n") {
        problems.push(format!("{path}: ends with a blank line"));
    }
    let mut previous_blank = false;
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        if line != line.trim_end() {
            problems.push(format!("{path}:{number}: trailing whitespace"));
        }
        if path.ends_with(".rs") && line.contains('\t') {
            problems.push(format!("{path}:{number}: a tab"));
        }
        let blank = line.trim().is_empty();
        if blank && previous_blank {
            problems.push(format!("{path}:{number}: two blank lines in a row"));
        }
        previous_blank = blank;
    }
    problems
}

fn problems_in(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .strip_prefix(root)
            .unwrap()
            .display()
            .to_string();
        let text = std::fs::read_to_string(entry.path())
            .unwrap_or_else(|error| panic!("{path} is not text: {error}"));
        problems.extend(layout_problems(&path, &text));
    }
    problems
}

#[test]
fn every_variant_has_clean_layout_before_and_after_resources() {
    let mut problems = Vec::new();
    for database in ["sqlite", "postgres"] {
        for features in saas::spec::features::FeatureSet::valid_sets() {
            let features = features.to_list();
            let (_parent, root) = new_project_with(database, &features);
            let variant = format!("{features} on {database}");
            problems.extend(
                problems_in(&root)
                    .into_iter()
                    .map(|p| format!("{variant}: {p}")),
            );

            let billing = features.contains("billing");
            let limit: &[&str] = if billing { &["--limit", "free=3"] } else { &[] };
            let gate: &[&str] = if billing {
                &["--feature", "reports"]
            } else {
                &[]
            };
            add(&root, &[&["Project"], PROJECT_FIELDS, limit].concat()).success();
            add(&root, &[&["Task"], TASK_FIELDS, gate].concat()).success();
            let variant = format!("{variant} with resources");
            problems.extend(
                problems_in(&root)
                    .into_iter()
                    .map(|p| format!("{variant}: {p}")),
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_layout_check_finds_each_problem() {
    let problems = layout_problems("a.rs", "\nfn a() {} \n\n\n\tx\n\n");
    assert_eq!(
        problems,
        [
            "a.rs: starts with a blank line",
            "a.rs: ends with a blank line",
            "a.rs:2: trailing whitespace",
            "a.rs:4: two blank lines in a row",
            "a.rs:5: a tab",
        ]
    );
    assert_eq!(
        layout_problems("b.toml", "x"),
        ["b.toml: no newline at the end"]
    );
    assert!(layout_problems("c.rs", "fn c() {}\n\nfn d() {}\n").is_empty());
}
