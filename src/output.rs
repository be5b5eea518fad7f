//! What commands print on stdout. A reader that went away (`saas add … --json | head -1`)
//! is not an error: the command carries on, prints nothing more, and ends as it would
//! have, where `print!` would panic.

use std::io::{self, Write};

/// Writes `text` to stdout; a closed pipe is not an error.
pub fn print(text: std::fmt::Arguments<'_>) -> io::Result<()> {
    match io::stdout().lock().write_fmt(text) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        written => written,
    }
}

/// `print!` through [`print`], returning its error with `?`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::print(format_args!($($arg)*))?
    };
}

/// `println!` through [`print`], returning its error with `?`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::print(format_args!("{}\n", format_args!($($arg)*)))?
    };
}
