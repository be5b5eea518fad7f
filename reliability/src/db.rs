//! Reads the app's database with the database's own client (sqlite3, psql), so the
//! suite checks what was stored, not what the app says it stored.

use std::process::Command;

use anyhow::{Context, bail};

/// The rows `query` returns, one string per row (columns joined by `|`).
pub fn rows(database_url: &str, query: &str) -> anyhow::Result<Vec<String>> {
    let output = if let Some(path) = database_url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        // The app holds the database open: wait for its write lock rather than fail.
        Command::new("sqlite3")
            .args(["-cmd", ".timeout 10000", path, query])
            .output()
    } else {
        Command::new("psql")
            .args([database_url, "-qAt", "-c", query])
            .output()
    }
    .context("could not run the database client (sqlite3 or psql)")?;
    if !output.status.success() {
        bail!(
            "`{query}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The single number `query` returns.
pub fn number(database_url: &str, query: &str) -> anyhow::Result<i64> {
    let rows = rows(database_url, query)?;
    rows.first()
        .with_context(|| format!("`{query}` returned no row"))?
        .trim()
        .parse()
        .with_context(|| format!("`{query}` returned {rows:?}"))
}

/// `column` (a UUID) as 32 lowercase hex digits, however the database stores it.
pub fn uuid_hex(database_url: &str, column: &str) -> String {
    if database_url.starts_with("sqlite://") {
        format!("lower(hex({column}))")
    } else {
        format!("replace({column}::text, '-', '')")
    }
}

/// `column` (a timestamp) as whole Unix seconds, however the database stores it.
pub fn epoch(database_url: &str, column: &str) -> String {
    if database_url.starts_with("sqlite://") {
        format!("cast(strftime('%s', {column}) as integer)")
    } else {
        format!("extract(epoch from {column})::bigint")
    }
}

/// An id as the API writes it, in the form of [`uuid_hex`].
pub fn hex_of(id: &str) -> String {
    id.replace('-', "").to_lowercase()
}

/// A UUID as a literal of the database's type for it.
pub fn uuid_literal(database_url: &str, id: &str) -> String {
    if database_url.starts_with("sqlite://") {
        format!("x'{}'", hex_of(id))
    } else {
        format!("'{id}'::uuid")
    }
}
