//! The `saas` binary: parse the command line, run it, report the error chain.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = saas::cli::Cli::parse();
    match saas::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            let user_error = error
                .downcast_ref::<saas::Error>()
                .is_some_and(saas::Error::is_user_error);
            ExitCode::from(if user_error { 1 } else { 2 })
        }
    }
}
