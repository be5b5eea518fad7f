//! Idempotent edits of generated files at marker comments.

use crate::Error;

/// Where an injected line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the line just before the marker.
    BeforeMarker,
    /// Into the block of lines just above the marker, in sorted order (rustfmt sorts
    /// `mod` declarations, so the file stays formatted).
    SortedAboveMarker,
}

/// A marker comment in a generated file that commands inject at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub path: &'static str,
    pub marker: &'static str,
    pub placement: Placement,
    /// Where the marker belongs, for the message when it is missing.
    pub place: &'static str,
}

/// `text` with `line` added at `marker`, or `None` if the line is there already.
pub fn inject(text: &str, marker: &Marker, line: &str) -> Result<Option<String>, Error> {
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.contains(&line) {
        return Ok(None);
    }
    let at = lines
        .iter()
        .position(|candidate| candidate.trim() == marker.marker)
        .ok_or(Error::MissingMarker {
            path: marker.path.to_owned(),
            marker: marker.marker,
            where_: marker.place,
        })?;
    let index = match marker.placement {
        Placement::BeforeMarker => at,
        Placement::SortedAboveMarker => {
            let block_start = lines[..at]
                .iter()
                .rposition(|above| above.trim().is_empty() || above.trim_start().starts_with("//"))
                .map_or(0, |blank| blank + 1);
            block_start
                + lines[block_start..at]
                    .iter()
                    .take_while(|above| **above < line)
                    .count()
        }
    };
    lines.insert(index, line);
    Ok(Some(join(&lines, text)))
}

/// `text` without `line` (its first exact occurrence), or `None` if it is not there.
pub fn remove(text: &str, line: &str) -> Option<String> {
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|candidate| *candidate == line)?;
    lines.remove(at);
    Some(join(&lines, text))
}

fn join(lines: &[&str], original: &str) -> String {
    let mut joined = lines.join("\n");
    if original.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODS: Marker = Marker {
        path: "src/resources/mod.rs",
        marker: "// saas:resource-modules",
        placement: Placement::SortedAboveMarker,
        place: "after the `pub mod` lines",
    };
    const ROUTES: Marker = Marker {
        path: "src/lib.rs",
        marker: "// saas:routes",
        placement: Placement::BeforeMarker,
        place: "in app(), before `.split_for_parts()`",
    };

    #[test]
    fn lines_go_in_sorted_order_above_the_marker_once() {
        let text =
            "//! doc\n\npub mod fields;\npub mod tasks;\n// saas:resource-modules\n\nuse x;\n";
        let once = inject(text, &MODS, "pub mod projects;").unwrap().unwrap();
        assert_eq!(
            once,
            "//! doc\n\npub mod fields;\npub mod projects;\npub mod tasks;\n// saas:resource-modules\n\nuse x;\n"
        );
        assert_eq!(inject(&once, &MODS, "pub mod projects;").unwrap(), None);
        let first = inject("// saas:resource-modules\n", &MODS, "pub mod a;")
            .unwrap()
            .unwrap();
        assert_eq!(first, "pub mod a;\n// saas:resource-modules\n");
    }

    #[test]
    fn a_line_goes_just_before_a_plain_marker_and_comes_out_again() {
        let text = "    .merge(auth::router())\n    // saas:routes\n    .split();\n";
        let injected = inject(text, &ROUTES, "    .merge(x::router())")
            .unwrap()
            .unwrap();
        assert_eq!(
            injected,
            "    .merge(auth::router())\n    .merge(x::router())\n    // saas:routes\n    .split();\n"
        );
        assert_eq!(remove(&injected, "    .merge(x::router())").unwrap(), text);
        assert_eq!(remove(text, "nothing"), None);
    }

    #[test]
    fn a_missing_marker_names_the_file_and_the_marker() {
        let error = inject("fn main() {}\n", &ROUTES, "x")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`// saas:routes` is missing from `src/lib.rs`"),
            "{error}"
        );
        assert!(error.contains("help: put the line"), "{error}");
    }
}
