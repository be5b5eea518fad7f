//! `saas new`'s questions, answered on a pseudo-terminal as a person would: `script`
//! (util-linux) gives the command a terminal of a chosen width, the test types keys
//! into it and reads what was drawn. Where `script` is missing, each test says SKIPPED.

use std::{
    io::{Read, Write},
    path::Path,
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::common::fingerprint;

const ESCAPE: &str = "\x1b";
const CTRL_C: &str = "\x03";
const SHOW_CURSOR: &str = "\x1b[?25h";
const HIDE_CURSOR: &str = "\x1b[?25l";

/// `saas <args>` running on a terminal `columns` wide, in `directory`.
struct Terminal {
    child: Child,
    keyboard: ChildStdin,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    /// `None`, after saying so, where there is no `script` to make a terminal with.
    fn open(directory: &Path, columns: u16, args: &[&str]) -> Option<Self> {
        let binary = assert_cmd::cargo::cargo_bin("saas");
        let command = format!(
            "stty cols {columns} rows 24 && exec '{}' {}",
            binary.display(),
            args.join(" ")
        );
        let spawned = Command::new("script")
            .args([
                "--quiet",
                "--flush",
                "--return",
                "--command",
                &command,
                "/dev/null",
            ])
            .current_dir(directory)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                eprintln!("SKIPPED: no `script` to run saas on a terminal: {error}");
                return None;
            }
        };
        let keyboard = child.stdin.take().unwrap();
        let mut output = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let drawn = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(read @ 1..) = output.read(&mut buffer) {
                drawn.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
        });
        Some(Self {
            child,
            keyboard,
            screen,
        })
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until `text` has been drawn, then types `keys`.
    fn answer(&mut self, text: &str, keys: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.screen().contains(text) {
            assert!(
                Instant::now() < deadline,
                "`{text}` was never drawn:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The question reads keys once it has drawn itself; a key typed before would be
        // read by the terminal in line mode.
        std::thread::sleep(Duration::from_millis(300));
        self.keyboard.write_all(keys.as_bytes()).unwrap();
        self.keyboard.flush().unwrap();
    }

    /// Waits for saas to end; its exit code and everything it drew, with `\r\n` as `\n`.
    fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "saas did not end:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // Let the reader take what was drawn last.
        std::thread::sleep(Duration::from_millis(200));
        (status.code().unwrap(), self.screen().replace("\r\n", "\n"))
    }
}

/// The cursor is shown: nothing hid it after it was last shown.
fn cursor_is_shown(screen: &str) -> bool {
    match screen.rfind(HIDE_CURSOR) {
        None => true,
        Some(hidden) => screen[hidden..].contains(SHOW_CURSOR),
    }
}

/// Asserts that answering `saas new acme` with `answers` (keys typed once a question's
/// text is drawn), the last of which cancels, ends saas with `code` and the cancel
/// message, the cursor shown and nothing written.
fn assert_cancels(answers: &[(&str, &str)], code: i32) {
    let parent = tempfile::tempdir().unwrap();
    let before = fingerprint(parent.path());
    let Some(mut terminal) = Terminal::open(parent.path(), 80, &["new", "acme", "--no-git"]) else {
        return;
    };
    for (question, keys) in answers {
        terminal.answer(question, keys);
    }

    let (status, screen) = terminal.finish();

    assert_eq!(status, code, "{screen}");
    assert!(
        screen.ends_with("error: cancelled: nothing was written\n"),
        "{screen:?}"
    );
    assert!(
        cursor_is_shown(&screen),
        "the cursor is left hidden: {screen:?}"
    );
    assert_eq!(fingerprint(parent.path()), before);
}

#[test]
fn escape_at_the_database_question_cancels_and_writes_nothing() {
    assert_cancels(&[("Database (", ESCAPE)], 1);
}

#[test]
fn q_at_the_feature_question_cancels_and_writes_nothing() {
    assert_cancels(&[("Database (", "\r"), ("Features (", "q")], 1);
}

#[test]
fn ctrl_c_at_a_question_shows_the_cursor_again_and_writes_nothing() {
    assert_cancels(&[("Database (", CTRL_C)], 130);
    assert_cancels(&[("Database (", "\r"), ("Features (", CTRL_C)], 130);
}

#[test]
fn without_a_name_new_asks_for_it_and_checks_it_as_the_argument() {
    let parent = tempfile::tempdir().unwrap();
    let Some(mut terminal) = Terminal::open(parent.path(), 80, &["new", "--no-git"]) else {
        return;
    };

    terminal.answer("Project name", "café\r");
    terminal.answer("help: use a name such as `cafe`", "acme\r");
    terminal.answer("Database (", "\r");
    terminal.answer("Features (", "\r");
    let (status, screen) = terminal.finish();

    assert_eq!(status, 0, "{screen}");
    assert!(
        screen.contains(
            "error: invalid project name `café`: the character 'é' is not allowed; \
             only ASCII letters, digits, `-` and `_` are\nhelp: use a name such as `cafe`"
        ),
        "{screen:?}"
    );
    assert!(screen.contains("Project name: acme\n"), "{screen:?}");
    assert!(screen.contains("Created `acme` (sqlite; features: orgs, rbac, billing)"));
    assert!(parent.path().join("acme/saas.toml").is_file());
}

#[test]
fn with_yes_new_asks_nothing_even_for_a_missing_name() {
    let parent = tempfile::tempdir().unwrap();
    let Some(terminal) = Terminal::open(parent.path(), 80, &["new", "--yes"]) else {
        return;
    };

    let (status, screen) = terminal.finish();

    assert_eq!(status, 1, "{screen}");
    assert!(!screen.contains("Project name"), "{screen:?}");
    assert!(
        screen.contains("error: missing the project's name"),
        "{screen:?}"
    );
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

#[test]
fn the_answers_echoed_are_wrapped_between_words_to_the_terminal_width() {
    let parent = tempfile::tempdir().unwrap();
    let Some(mut terminal) = Terminal::open(parent.path(), 40, &["new", "acme", "--no-git"]) else {
        return;
    };

    terminal.answer("Database (", "\r");
    // Space unticks orgs; rbac, still ticked, brings it back.
    terminal.answer("Features (", " \r");
    let (status, screen) = terminal.finish();

    assert_eq!(status, 0, "{screen}");
    let echoed = &screen[screen.rfind(SHOW_CURSOR).unwrap() + SHOW_CURSOR.len()..];
    let echoed = &echoed[..echoed.find("Created").unwrap()];
    assert_eq!(
        echoed,
        "Features: orgs, rbac, billing (rbac\n  needs orgs: added orgs)\n"
    );
    assert!(screen.contains("Database: sqlite\n"), "{screen:?}");
}
