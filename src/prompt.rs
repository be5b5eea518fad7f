//! Questions for a person at a terminal; only asked for what the flags left out. Esc or
//! `q` at a choice, or Ctrl-C at any question, cancels before anything is written.

use std::io::IsTerminal;

use dialoguer::{Input, MultiSelect, Select, console::Term};

use crate::{
    Error,
    error::CANCELLED,
    spec::Database,
    spec::features::{Choice, Feature},
};

/// Whether there is someone to ask: standard input is a terminal, and so is standard
/// error, where the questions are drawn.
pub fn is_interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for the project's name until `check` accepts it, showing its error (the one the
/// argument would get) under the question.
pub fn project_name(check: impl Fn(&str) -> Result<(), Error>) -> Result<String, Error> {
    let prompt = "Project name";
    let answer = Input::<String>::new()
        .with_prompt(format!(
            "{prompt} (a cargo package name such as acme; Ctrl-C cancels)"
        ))
        .validate_with(|answer: &String| check(answer.trim()).map_err(|error| error.to_string()))
        .report(false)
        .interact_text()
        .map_err(Error::Prompt)?;
    let name = answer.trim().to_owned();
    echo(prompt, &name);
    Ok(name)
}

/// Asks which database to generate for; SQLite is preselected.
pub fn database() -> Result<Database, Error> {
    let prompt = "Database";
    let choice = Select::new()
        .with_prompt(format!("{prompt} (enter accepts, esc cancels)"))
        .items([
            "SQLite      embedded, zero set-up (default)",
            "PostgreSQL  for production",
        ])
        .default(0)
        .report(false)
        .interact_opt()
        .map_err(Error::Prompt)?
        .ok_or(Error::Cancelled)?;
    let database = if choice == 0 {
        Database::Sqlite
    } else {
        Database::Postgres
    };
    echo(prompt, database.as_str());
    Ok(database)
}

/// Asks which features to include, showing all three with what they bring, all
/// preselected. Choosing `rbac` pulls in `orgs`, as the prompt says, and the answer
/// echoed says so again.
pub fn features() -> Result<Choice, Error> {
    let prompt = "Features";
    let labels = feature_labels();
    let defaults: Vec<bool> = Feature::ALL
        .map(|feature| Feature::defaults().contains(feature))
        .to_vec();
    let chosen = MultiSelect::new()
        .with_prompt(format!(
            "{prompt} (space toggles, enter accepts, esc cancels; rbac pulls in orgs)"
        ))
        .items(&labels)
        .defaults(&defaults)
        .report(false)
        .interact_opt()
        .map_err(Error::Prompt)?
        .ok_or(Error::Cancelled)?;
    let choice = Choice::new(
        chosen
            .into_iter()
            .map(|index| Feature::ALL[index])
            .collect(),
    );
    let names: Vec<&str> = choice.features.iter().map(Feature::as_str).collect();
    let mut answer = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    };
    for added in &choice.added {
        answer.push_str(&format!(" ({added})"));
    }
    echo(prompt, &answer);
    Ok(choice)
}

/// Each feature with what it brings, as the question lists them.
fn feature_labels() -> Vec<String> {
    Feature::ALL
        .into_iter()
        .map(|feature| format!("{:<8} {}", feature.as_str(), feature.description()))
        .collect()
}

/// Prints the answer to a question where the question was, as dialoguer would, but
/// wrapped at word boundaries to the terminal's width.
fn echo(prompt: &str, answer: &str) {
    let term = Term::stderr();
    let width = usize::from(term.size().1);
    for line in wrap(&format!("{prompt}: {answer}"), width) {
        // The answer is only shown; a terminal that cannot take it loses nothing.
        let _ = term.write_line(&line);
    }
}

/// `text` in lines of at most `width` characters, broken between words; a word longer
/// than a line gets a line of its own. Lines after the first are indented by two spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    const INDENT: &str = "  ";
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if line.is_empty() {
            if !lines.is_empty() {
                line.push_str(INDENT);
            }
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
        } else {
            lines.push(std::mem::take(&mut line));
            line.push_str(INDENT);
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_between_words_within_the_width() {
        let text = "Features: orgs, rbac, billing (rbac needs orgs: added orgs)";
        let lines = wrap(text, 24);
        assert_eq!(
            lines,
            [
                "Features: orgs, rbac,",
                "  billing (rbac needs",
                "  orgs: added orgs)",
            ]
        );
        assert!(lines.iter().all(|line| line.chars().count() <= 24));
        assert_eq!(wrap(text, 80), [text]);
    }

    #[test]
    fn the_feature_question_fits_an_80_column_terminal() {
        // dialoguer draws each item after `> [x] `, and cannot redraw a wrapped line.
        for label in feature_labels() {
            let drawn = format!("> [x] {label}");
            assert!(drawn.chars().count() <= 80, "{drawn}");
        }
    }

    #[test]
    fn a_word_longer_than_the_width_gets_a_line_of_its_own() {
        assert_eq!(
            wrap("a supercalifragilistic word", 8),
            ["a", "  supercalifragilistic", "  word"]
        );
        assert!(wrap("", 80).is_empty());
    }
}
