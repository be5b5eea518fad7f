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

/// `text` with `line` added at `marker`, or `None` if the line is there already. The
/// new line ends as the marker's line does, and every other line keeps its ending.
pub fn inject(text: &str, marker: &Marker, line: &str) -> Result<Option<String>, Error> {
    let mut lines = split(text);
    if lines.iter().any(|(content, _)| *content == line) {
        return Ok(None);
    }
    let at = lines
        .iter()
        .position(|(candidate, _)| candidate.trim() == marker.marker)
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
                .rposition(|(above, _)| {
                    above.trim().is_empty() || above.trim_start().starts_with("//")
                })
                .map_or(0, |blank| blank + 1);
            block_start
                + lines[block_start..at]
                    .iter()
                    .take_while(|(above, _)| *above < line)
                    .count()
        }
    };
    let ending = match lines[at].1 {
        "" => first_ending(text),
        ending => ending,
    };
    lines.insert(index, (line, ending));
    Ok(Some(join(&lines)))
}

/// `text` without `line` (its first exact occurrence), or `None` if it is not there.
pub fn remove(text: &str, line: &str) -> Option<String> {
    let mut lines = split(text);
    let at = lines.iter().position(|(candidate, _)| *candidate == line)?;
    lines.remove(at);
    Some(join(&lines))
}

/// Each line of `text` without its ending, and the ending (`"\n"`, `"\r\n"`, or `""`
/// for a last line without one).
fn split(text: &str) -> Vec<(&str, &str)> {
    text.split_inclusive('\n')
        .map(|line| {
            let content = line.strip_suffix('\n').unwrap_or(line);
            let content = content.strip_suffix('\r').unwrap_or(content);
            (content, &line[content.len()..])
        })
        .collect()
}

/// The line ending `text` uses first, `"\n"` if it has none.
fn first_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(at) if text[..at].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

fn join(lines: &[(&str, &str)]) -> String {
    lines
        .iter()
        .flat_map(|(content, ending)| [*content, *ending])
        .collect()
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
    fn line_endings_are_kept_as_they_were() {
        let crlf = "    .merge(auth::router())\r\n    // saas:routes\r\n    .split();";
        let injected = inject(crlf, &ROUTES, "    .merge(x::router())")
            .unwrap()
            .unwrap();
        assert_eq!(
            injected,
            "    .merge(auth::router())\r\n    .merge(x::router())\r\n    // saas:routes\r\n    .split();"
        );
        assert_eq!(remove(&injected, "    .merge(x::router())").unwrap(), crlf);

        let marker_last = "pub mod a;\r\n// saas:resource-modules";
        let injected = inject(marker_last, &MODS, "pub mod b;").unwrap().unwrap();
        assert_eq!(
            injected,
            "pub mod a;\r\npub mod b;\r\n// saas:resource-modules"
        );

        let mixed = "pub mod a;\n// saas:resource-modules\r\nuse x;\n";
        let injected = inject(mixed, &MODS, "pub mod b;").unwrap().unwrap();
        assert_eq!(
            injected,
            "pub mod a;\npub mod b;\r\n// saas:resource-modules\r\nuse x;\n"
        );
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
