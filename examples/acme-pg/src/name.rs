//! The project's name, where the app's code uses it. `saas new` wrote it in these
//! constants and, in Rust, otherwise only in doc comments: the library is `app` in
//! every project, whatever the package is called.

/// For people: the API document's title, and the sender of mail without `MAIL_FROM`.
pub const TITLE: &str = "Acme Pg";

/// Every API token starts with this, so leaked ones are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "acme_pg_";

/// The database on a local server used in development and tests without `DATABASE_URL`.
pub const DATABASE: &str = "acme_pg";
