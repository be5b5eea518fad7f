//! Formats generated Rust with rustfmt, as `cargo fmt` would. Without rustfmt, or when
//! it fails, the code is kept as rendered (valid, but not formatted) and the caller is
//! told why, so it can say so. Only `add resource` needs it: a resource's and its
//! fields' names are in its code, and their lengths decide where lines wrap. `saas new`
//! writes no name into Rust code (the library is `app`, the name is in `src/name.rs`'s
//! constants), so its templates are formatted as written.

use std::{
    io::Write,
    process::{Command, Stdio},
};

/// Why generated code was left unformatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unformatted {
    /// No `rustfmt` on the PATH (or it could not be started).
    Missing(String),
    /// rustfmt ran and failed, with what it said.
    Failed(String),
}

impl Unformatted {
    /// The warning for people, with the command that formats the project.
    pub fn warning(&self) -> String {
        let reason = match self {
            Self::Missing(error) => format!("rustfmt could not be run ({error})"),
            Self::Failed(stderr) => format!("rustfmt failed: {stderr}"),
        };
        format!(
            "warning: {reason}; the generated code is valid but not formatted\nhelp: run `cargo fmt` in the project (install rustfmt with `rustup component add rustfmt`)"
        )
    }
}

/// The sources formatted, one rustfmt process per source running side by side; on any
/// problem the sources as given and why.
pub fn format_rust<const N: usize>(sources: [String; N]) -> ([String; N], Option<Unformatted>) {
    let children = sources.each_ref().map(|source| {
        let mut child = Command::new("rustfmt")
            .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| Unformatted::Missing(error.to_string()))?;
        // Dropping stdin after the write closes it, so rustfmt starts formatting. A
        // rustfmt that exits without reading breaks the pipe: what it said explains more.
        let written = child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(source.as_bytes());
        Ok((child, written))
    });
    let outputs = children.map(|child| {
        let (child, written) = child?;
        let output = child
            .wait_with_output()
            .map_err(|error| Unformatted::Failed(error.to_string()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            return Err(Unformatted::Failed(if stderr.is_empty() {
                output.status.to_string()
            } else {
                stderr
            }));
        }
        written.map_err(|error| Unformatted::Failed(format!("writing to rustfmt: {error}")))?;
        String::from_utf8(output.stdout)
            .map_err(|_| Unformatted::Failed("its output is not UTF-8".to_owned()))
    });
    if let Some(problem) = outputs.iter().find_map(|output| output.as_ref().err()) {
        return (sources, Some(problem.clone()));
    }
    (outputs.map(|output| output.expect("no error")), None)
}
