//! The binary: serves the API, or runs the command its arguments name (`help` lists them).

use std::process::ExitCode;

use app::command::Command;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    // A missing .env is normal outside development.
    dotenvy::dotenv().ok();
    match Command::parse(std::env::args().skip(1)) {
        Ok(command) => command.run().await.map(|()| ExitCode::SUCCESS),
        Err(unknown) => {
            eprint!("{unknown}");
            Ok(ExitCode::from(2))
        }
    }
}
