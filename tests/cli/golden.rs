//! The golden examples: `examples/` holds generated projects in full, and regenerating
//! them with this build of saas (`scripts/refresh_examples.sh`) must give exactly those
//! bytes. A template change therefore shows up as a diff of real code, to review.

use std::{collections::BTreeMap, path::Path, process::Command};

/// Every file under `root`, by its path relative to `root`.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let path = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            (path, std::fs::read(entry.path()).unwrap())
        })
        .collect()
}

#[test]
fn the_examples_are_what_this_saas_generates() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fresh = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(repository.join("scripts/refresh_examples.sh"))
        .arg(fresh.path())
        .env("SAAS", env!("CARGO_BIN_EXE_saas"))
        .status()
        .expect("bash runs");
    assert!(status.success(), "scripts/refresh_examples.sh failed");

    for example in ["acme-pg", "acme-lite"] {
        let committed = tree(&repository.join("examples").join(example));
        let generated = tree(&fresh.path().join(example));
        let mut differences: Vec<String> = committed
            .keys()
            .chain(generated.keys())
            .filter(|path| committed.get(*path) != generated.get(*path))
            .map(|path| format!("{example}/{path}"))
            .collect();
        differences.dedup();
        assert!(
            differences.is_empty(),
            "examples/ differs from what this saas generates:\n{}\n\
             help: run scripts/refresh_examples.sh, review `git diff examples/`, and commit it",
            differences.join("\n")
        );
    }
}

/// `saas upgrade` renders a project from its `saas.toml` alone (its answers, then each
/// resource in order) and takes that for what saas wrote: it must be byte for byte what
/// `saas new` and each `saas add resource` wrote, one by one.
#[test]
fn rendering_an_examples_saas_toml_gives_the_example() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    for example in ["acme-pg", "acme-lite"] {
        let committed_root = repository.join("examples").join(example);
        let rendered = tempfile::tempdir().unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_saas"))
            .args(["debug", "render"])
            .arg(rendered.path())
            .current_dir(&committed_root)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let mut committed = tree(&committed_root);
        let generated = tree(rendered.path());
        // Made without git, the example keeps the hashes of what saas wrote: of the
        // same files, as the render wrote them (all but the user's `.env`).
        let hashes = committed.remove(saas::hashes::FILE).unwrap();
        let expected: String = generated
            .iter()
            .filter(|(path, _)| *path != ".env")
            .map(|(path, contents)| format!("{}  {path}\n", saas::hashes::sha256(contents)))
            .collect();
        assert_eq!(String::from_utf8(hashes).unwrap(), expected, "{example}");
        assert!(committed.len() > 50, "{}", committed.len());
        let differences: Vec<&String> = committed
            .keys()
            .chain(generated.keys())
            .filter(|path| committed.get(*path) != generated.get(*path))
            .collect();
        assert!(
            differences.is_empty(),
            "{example}: rendering saas.toml differs in {differences:?}"
        );
    }
}
