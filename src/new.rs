//! `saas new`: validate, ask for what the flags left out, plan, stage, and move the new
//! project into place.

use std::process::Command;

use anyhow::Context;

use crate::{
    api_snapshot,
    baseline::Repo,
    cli::NewArgs,
    hashes::{self, Hashes},
    lockfile,
    manifest::THIS_VERSION,
    plan::Plan,
    prompt,
    render::{ProjectContext, Renderer, template_trees},
    sink::{self, StagingDir},
    spec::features::Feature,
    spec::{Database, ProjectRequest, ProjectSpec},
};

pub fn run(args: NewArgs) -> anyhow::Result<()> {
    let spec = ask(args)?;
    let mut plan = plan_project(&spec)?;
    if !spec.git {
        // Without git, `saas upgrade` knows what saas wrote by these.
        plan.create(hashes::FILE.into(), Hashes::of_plan(&plan).render());
    }

    for leftover in sink::clear_leftovers(&spec.destination) {
        eprintln!("{}", leftover.note());
    }
    let mut staging = StagingDir::create(&spec.destination)?;
    sink::apply(&plan, &mut staging)?;
    if spec.git {
        init_git(&staging).context("could not initialise git")?;
        if let Err(error) = record_baseline(staging.path()) {
            eprintln!("note: `saas upgrade` will need `--baseline`: {error}");
        }
    }
    staging.finish(&spec.destination)?;

    print_next_steps(&spec)?;
    Ok(())
}

/// The spec of the flags; on a terminal, without `--yes`, asks for what they left out.
fn ask(args: NewArgs) -> Result<ProjectSpec, crate::Error> {
    let request = ProjectRequest::new(
        args.name.as_deref(),
        args.path,
        args.db.map(Database::from),
        args.features.as_deref(),
        !args.no_git,
    )?;
    if let Some(choice) = &request.features {
        for added in &choice.added {
            eprintln!("note: {added}");
        }
    }
    if args.yes || !prompt::is_interactive() {
        return request.complete(None, None, None);
    }
    let _cancel = prompt::CancelOnInterrupt::install();
    let name = match request.name {
        Some(_) => None,
        None => Some(prompt::project_name(|answer| {
            request.check_name(answer).map(drop)
        })?),
    };
    let database = match request.database {
        Some(_) => None,
        None => Some(prompt::database()?),
    };
    let features = match request.features {
        Some(_) => None,
        None => Some(prompt::features()?.features),
    };
    request.complete(name.as_deref(), database, features)
}

/// Every file of the new project, rendered.
pub fn plan_project(spec: &ProjectSpec) -> Result<Plan, crate::Error> {
    let context = ProjectContext::new(spec);
    let mut plan = Plan::default();
    let trees = template_trees(spec.database, &spec.features);
    let renderer = Renderer::new();
    for (path, contents) in renderer.render_trees(&trees, &context)? {
        plan.create(path, contents);
    }
    // Local settings start as the example's (`.gitignore` keeps them out of commits), so
    // `cargo run` and `cargo test`, whose sqlx reads `DATABASE_URL` from `.env`, find
    // the same database without a step of the user's.
    let settings = plan
        .file(".env.example")
        .expect("every project has one")
        .to_vec();
    plan.create(".env".into(), settings);
    let billing = spec.features.contains(Feature::Billing);
    let lock = lockfile::for_project(spec.database, billing, &context.package);
    plan.create("Cargo.lock".into(), lock.into_bytes());
    let snapshot = api_snapshot::for_project(&renderer, &spec.features, &context)?;
    plan.create(api_snapshot::PATH.into(), snapshot.into_bytes());
    Ok(plan)
}

/// `git init` and a first commit. Without git, or without a git identity to commit
/// with, the project is still created; only the missing step is reported.
fn init_git(staging: &StagingDir) -> anyhow::Result<()> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(staging.path())
            .output()
    };
    match git(&["init", "--quiet"]) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error.into()),
        Ok(output) if !output.status.success() => {
            anyhow::bail!(
                "git init: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
        }
        Ok(_) => {}
    }
    git(&["add", "--all"])?;
    let commit = git(&[
        "commit",
        "--quiet",
        "--message",
        "Initial commit from saas new",
    ])?;
    if !commit.status.success() {
        eprintln!(
            "note: created a git repository but could not make the first commit:\n  {}",
            String::from_utf8_lossy(&commit.stderr)
                .trim()
                .replace('\n', "\n  ")
        );
    }
    Ok(())
}

/// The first commit of `refs/saas/generated`: the project as written, for `saas
/// upgrade` to merge later templates into. Without git there is no baseline.
fn record_baseline(root: &std::path::Path) -> anyhow::Result<()> {
    let Some(repo) = Repo::of(root) else {
        return Ok(());
    };
    let commit = repo.commit_tree(
        root,
        None,
        &format!("saas new: what saas {THIS_VERSION} generated"),
    )?;
    repo.set_baseline(&commit, None)?;
    Ok(())
}

fn print_next_steps(spec: &ProjectSpec) -> std::io::Result<()> {
    let features: Vec<&str> = spec.features.iter().map(|f| f.as_str()).collect();
    let features = if features.is_empty() {
        "none".to_owned()
    } else {
        features.join(", ")
    };
    outln!(
        "Created `{}` ({}; features: {features}) in {}",
        spec.name.package,
        spec.database,
        spec.destination.display()
    );
    outln!("\nNext steps:\n  cd {}", spec.destination.display());
    if spec.database == Database::Postgres {
        let url = ProjectContext::new(spec).db.default_url;
        outln!("  # .env names the database: {url}");
        outln!("  cargo run     # creates it, then serves http://localhost:3000/docs");
        outln!("  cargo test    # each test's database goes beside it, on that server");
    } else {
        outln!("  cargo run     # serves http://localhost:3000/docs");
        outln!("  cargo test");
    }
    Ok(())
}
