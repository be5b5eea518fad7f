//! The scaffolder's integration tests: one binary.

mod common;
