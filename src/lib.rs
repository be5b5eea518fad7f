//! `saas`: writes the backend of a SaaS product and grows it afterwards.

#[macro_use]
mod output; // stdout that a closed pipe does not turn into a panic
pub mod api_snapshot; // the snapshot of its API that a generated project keeps
pub mod baseline; // what saas wrote, kept on refs/saas/generated for `saas upgrade`
pub mod billing_plans; // `config/plans.toml` of billing projects: limits and features
pub mod cli; // the command line, as clap parses it
mod completions; // shell completion scripts, field specs included
mod error; // the library's error type
pub mod hashes; // without git, the hashes of what saas wrote, for `saas upgrade`
pub mod inject; // idempotent edits at marker comments
pub mod lockfile; // the Cargo.lock a new project ships, per dependency set
pub mod manifest; // `saas.toml`, the memory of a generated project
pub mod migration; // versions of new migrations
pub mod new; // `saas new`
pub mod plan; // a generation as a list of files, applied in one step
mod prompt; // interactive questions, only on a terminal
pub mod render; // templates -> file contents
pub mod resource; // `saas add resource` and `saas remove resource`
pub mod rustfmt; // formatting generated Rust, never silently skipped
pub mod sink; // where a plan is written: the disk, or memory in tests
pub mod spec; // the validated input of a generation: project, resource, database
pub mod upgrade; // `saas upgrade`

use std::process::ExitCode;

use crate::cli::{Cli, Command};
pub use crate::error::Error;

/// Runs one command line, to the exit status it ends with: success, or for `saas
/// upgrade` that left conflicts to resolve, [`upgrade::CONFLICTS_EXIT`].
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let done = |result: anyhow::Result<()>| result.map(|()| ExitCode::SUCCESS);
    match cli.command {
        Command::New(args) => done(new::run(args)),
        Command::Add(cli::AddCommand::Resource(args)) => {
            done(resource::add(args, &std::env::current_dir()?))
        }
        Command::Remove(cli::RemoveCommand::Resource(args)) => {
            done(resource::remove(args, &std::env::current_dir()?))
        }
        Command::Add(cli::AddCommand::Feature(args)) => {
            upgrade::add_feature(args.feature.into(), args.dry_run, &std::env::current_dir()?)
        }
        Command::Remove(cli::RemoveCommand::Feature { feature }) => {
            Err(Error::RemoveFeature(upgrade::why_not_removed(feature.into())).into())
        }
        Command::Upgrade(args) => upgrade::run(args, &std::env::current_dir()?),
        Command::Completions { shell } => {
            out!("{}", completions::script(shell));
            Ok(ExitCode::SUCCESS)
        }
        Command::Debug(cli::DebugCommand::FeatureSets) => {
            for set in spec::features::FeatureSet::valid_sets() {
                outln!("{}", set.to_list());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Debug(cli::DebugCommand::Render { dir }) => {
            let project = resource::Project::find(&std::env::current_dir()?)?;
            std::fs::create_dir_all(&dir)?;
            upgrade::render_project(&project.manifest, &dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Debug(cli::DebugCommand::CompleteField { word }) => {
            for completion in spec::fields::completions(&word) {
                outln!("{completion}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
