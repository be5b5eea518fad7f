//! The scaffolder's integration tests, in one binary: the CLI as a user runs it, the
//! generated files as snapshots, and generated apps built, tested and served.

mod add_feature;
mod billing;
mod client;
mod common;
mod completions;
mod data_safety;
mod e2e;
mod edits;
mod examples;
mod faults;
mod formatting;
mod generated_readme;
mod golden;
mod lint_artefacts;
mod manifest;
mod migrations;
mod new;
mod postgres;
mod prompts;
mod refusals;
mod remove;
mod resource_api;
mod resources;
mod snapshots;
mod upgrade;
mod upgrade_without_git;
mod whitespace;
