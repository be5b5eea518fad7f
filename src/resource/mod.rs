//! `saas add resource` and `saas remove resource`: the commands as people run them.
//! They read the project, let `spec` validate the arguments and `add`/`remove` plan
//! every file and edit, then apply the plan in one step and say what happened.

mod add;
mod remove;

use std::path::{Path, PathBuf};

pub use self::{
    add::{Addition, plan_add},
    remove::{LeftOver, Removal, plan_remove},
};
use crate::{
    Error,
    baseline::{self, Repo},
    cli::{AddResourceArgs, RemoveResourceArgs},
    hashes::{self, Hashes, sha256},
    manifest::{self, Manifest},
    migration,
    plan::Plan,
    render::Tenancy,
    sink,
    sink::ProjectDir,
    spec::ResourceSpec,
};

/// A generated project: its root and its manifest, read and as text (edits keep the text).
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub manifest: Manifest,
    pub manifest_text: String,
}

impl Project {
    /// The project that contains `cwd`.
    pub fn find(cwd: &Path) -> Result<Self, Error> {
        let (root, manifest_text) = manifest::find(cwd)?;
        Ok(Self {
            manifest: Manifest::parse(&manifest_text)?,
            root,
            manifest_text,
        })
    }
}

/// `saas add resource` (and `saas add model`), run from `cwd`.
pub fn add(args: AddResourceArgs, cwd: &Path) -> anyhow::Result<()> {
    let project = Project::find(cwd)?;
    let spec = ResourceSpec::parse(&args.request(), &project.manifest)?;
    let timestamp = migration::next_version(&project.root);
    let addition = plan_add(&spec, &project, &timestamp)?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&addition.plan.to_json())?
        );
    } else {
        out!("{}", addition.plan.describe());
    }
    if let Some(problem) = &addition.unformatted {
        eprintln!("{}", problem.warning());
    }
    if !args.json
        && let Some(feature) = &spec.feature
    {
        outln!(
            "\n{}",
            feature_note(feature, addition.feature_added_to.as_deref(), args.dry_run)
        );
    }
    if args.dry_run {
        if !args.json {
            outln!("\nDry run: nothing was written.");
        }
        return Ok(());
    }
    let hashes = hashes_after(&project.root, &addition.plan);
    ProjectDir::new(&project.root).apply(&addition.plan)?;
    record_hashes(&project.root, hashes);
    follow_baseline(
        &project.root,
        &format!("saas add resource {}", spec.name.pascal),
        |base| plan_add(&spec, base, &timestamp).map(|addition| addition.plan),
    );
    if !args.json {
        let base = Tenancy::of(&project.manifest.features).route_base(&spec.name);
        outln!(
            "\nAdded resource `{}`: GET and POST {base}, GET, PATCH and DELETE {base}/{{id}}.\n\
             Restart the server (`cargo run`) to serve them, and run `cargo test` to see \
             their tests pass.",
            spec.name.pascal
        );
    }
    Ok(())
}

/// `saas remove resource`, run from `cwd`.
pub fn remove(args: RemoveResourceArgs, cwd: &Path) -> anyhow::Result<()> {
    let project = Project::find(cwd)?;
    let timestamp = migration::next_version(&project.root);
    let removal = plan_remove(&args.name, args.force, &project, &timestamp)?;
    out!("{}", removal.plan.describe());
    if !removal.left_by_hand.is_empty() {
        let would = if args.dry_run { "would be " } else { "" };
        outln!(
            "\nThese lines {would}left for you to delete by hand (they were edited since `saas add`):"
        );
        for left in &removal.left_by_hand {
            outln!("  {left}");
        }
    }
    if args.dry_run {
        outln!("\nDry run: nothing was written.");
        return Ok(());
    }
    let hashes = hashes_after(&project.root, &removal.plan);
    ProjectDir::new(&project.root).apply(&removal.plan)?;
    record_hashes(&project.root, hashes);
    // What saas wrote has every recorded file and line as written: nothing to force.
    follow_baseline(
        &project.root,
        &format!("saas remove resource {}", removal.name),
        |base| plan_remove(&args.name, true, base, &timestamp).map(|removal| removal.plan),
    );
    outln!(
        "\nRemoved resource `{}`. The new migration drops its table.",
        removal.name
    );
    Ok(())
}

/// Makes the same change to the baseline of `saas upgrade` (`refs/saas/generated`), to
/// what saas wrote last rather than to the user's files, and records the result as its
/// next commit. A project without a baseline gets none (it would claim that files of an
/// older saas are this one's); a failure is a note, as the user's change is made.
fn follow_baseline(root: &Path, message: &str, plan: impl FnOnce(&Project) -> Result<Plan, Error>) {
    let Some(repo) = Repo::of(root) else {
        return;
    };
    let Some(old) = repo.baseline() else {
        return;
    };
    let moved = || -> anyhow::Result<()> {
        let scratch = tempfile::tempdir()?;
        repo.checkout(&old, scratch.path())?;
        let plan = plan(&Project::find(scratch.path())?)?;
        sink::write_plain(scratch.path(), &plan)?;
        let commit = repo.commit_tree(scratch.path(), Some(&old), message)?;
        repo.set_baseline(&commit, Some(&old))?;
        Ok(())
    };
    if let Err(error) = moved() {
        eprintln!(
            "note: the baseline of `saas upgrade` ({}) was not moved: {error:#}",
            baseline::REF
        );
    }
}

/// For a project that keeps the hashes of what saas wrote (`hashes`: made without git,
/// and with no baseline in a repository since), read before `plan` is applied: the
/// hashes to record after it.
fn hashes_after(root: &Path, plan: &Plan) -> Option<Hashes> {
    match Hashes::of_project(root) {
        Ok(hashes) => hashes.map(|hashes| hashes.after(plan, root)),
        Err(error) => {
            eprintln!("note: {} is not updated: {error}", hashes::FILE);
            None
        }
    }
}

/// Writes `hashes` (from `hashes_after`) once the plan is applied. A failure is a note,
/// as the user's change is made; the next upgrade then treats the files as the user's.
fn record_hashes(root: &Path, hashes: Option<Hashes>) {
    if let Some(hashes) = hashes
        && let Err(error) = std::fs::write(root.join(hashes::FILE), hashes.render())
    {
        eprintln!("note: {} is not updated: {error}", hashes::FILE);
    }
}

/// What `--feature` did to `config/plans.toml`, for people.
fn feature_note(feature: &str, added_to: Option<&[String]>, dry_run: bool) -> String {
    let file = crate::billing_plans::FILE;
    let would = if dry_run { "would be" } else { "is" };
    match added_to {
        None => format!(
            "Feature `{feature}`: {file} lists it already, so its plans are left as they are."
        ),
        Some([]) => format!(
            "Feature `{feature}` is new, and {file} has no plan but `free`: add it to the `features` of the plans that should have it."
        ),
        Some(plans) => {
            let names: Vec<String> = plans.iter().map(|plan| format!("`{plan}`")).collect();
            let plural = if plans.len() == 1 { "" } else { "s" };
            format!(
                "Feature `{feature}` is new: it {would} added to the `features` of plan{plural} {} in {file} (every plan but `free`); edit that file to choose otherwise.",
                names.join(", ")
            )
        }
    }
}
