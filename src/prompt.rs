//! Questions for a person at a terminal; only asked for what the flags left out. Esc or
//! `q` at a choice, or Ctrl-C at any question, cancels before anything is written.

use dialoguer::{MultiSelect, Select};

use crate::{
    Error,
    features::{Choice, Feature},
    spec::Database,
};

/// What a cancelled question prints after `error: `.
pub const CANCELLED: &str = "cancelled: nothing was written";

/// Asks which database to generate for; SQLite is preselected.
pub fn database() -> Result<Database, Error> {
    let choice = Select::new()
        .with_prompt("Database (enter accepts, esc cancels)")
        .items([
            "SQLite      embedded, zero set-up (default)",
            "PostgreSQL  for production",
        ])
        .default(0)
        .interact_opt()
        .map_err(Error::Prompt)?
        .ok_or(Error::Cancelled)?;
    Ok(if choice == 0 {
        Database::Sqlite
    } else {
        Database::Postgres
    })
}

/// Asks which features to include, showing all three with what they bring, all
/// preselected. Choosing `rbac` pulls in `orgs`, as the prompt says.
pub fn features() -> Result<Choice, Error> {
    let labels: Vec<String> = Feature::ALL
        .into_iter()
        .map(|feature| format!("{:<8} {}", feature.as_str(), feature.description()))
        .collect();
    let defaults: Vec<bool> = Feature::ALL
        .map(|feature| Feature::defaults().contains(feature))
        .to_vec();
    let chosen = MultiSelect::new()
        .with_prompt("Features (space toggles, enter accepts, esc cancels; rbac pulls in orgs)")
        .items(&labels)
        .defaults(&defaults)
        .interact_opt()
        .map_err(Error::Prompt)?
        .ok_or(Error::Cancelled)?;
    Ok(Choice::new(
        chosen
            .into_iter()
            .map(|index| Feature::ALL[index])
            .collect(),
    ))
}

/// While alive, Ctrl-C at a question shows the cursor again (dialoguer hides it while a
/// choice is drawn), says nothing was written, and exits with 130 as an interrupted
/// program does. Questions come before anything is written, so there is nothing to
/// undo. Dropping it restores the handler it replaced.
pub struct CancelOnInterrupt {
    #[cfg(unix)]
    previous: libc::sighandler_t,
}

impl CancelOnInterrupt {
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            let handler = on_interrupt as extern "C" fn(libc::c_int);
            // SAFETY: `on_interrupt` only makes async-signal-safe calls (write, _exit).
            let previous = unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) };
            Self { previous }
        }
        #[cfg(not(unix))]
        Self {}
    }
}

impl Drop for CancelOnInterrupt {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: puts back the disposition `install` found.
        unsafe {
            libc::signal(libc::SIGINT, self.previous);
        }
    }
}

/// Console reads Ctrl-C at a choice as a key and raises SIGINT, which would end the
/// program with the cursor still hidden.
#[cfg(unix)]
extern "C" fn on_interrupt(_signal: libc::c_int) {
    let write = |bytes: &[u8]| {
        // SAFETY: write(2) on standard error with a valid buffer and its length.
        unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
    };
    // Show the cursor, leave the question's line, then the message main would print.
    write(b"\x1b[?25h\nerror: ");
    write(CANCELLED.as_bytes());
    write(b"\n");
    // SAFETY: _exit(2) ends the process without running anything else.
    unsafe { libc::_exit(130) }
}
