//! Whether the PostgreSQL tests can run: a reachable server, or a clear skip. With
//! `SAAS_REQUIRE_POSTGRES=1` (as `.ci/run` sets it) a missing server fails them instead.

use std::{
    io::Write,
    net::{TcpStream, ToSocketAddrs},
    time::Duration,
};

/// The variable that turns a skip into a failure.
pub const REQUIRE_VARIABLE: &str = "SAAS_REQUIRE_POSTGRES";

/// The server URL (without a database) of `SAAS_TEST_POSTGRES_URL`, or the local default.
pub fn server_url() -> String {
    std::env::var("SAAS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// What a PostgreSQL test does, given whether the server answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Availability {
    Run,
    /// Skip, for this reason.
    Skip(String),
}

/// Decides for the server at `url`: run when it accepts a connection; otherwise skip,
/// or fail (`Err`) when `required`.
pub fn availability(url: &str, required: bool) -> Result<Availability, String> {
    let Err(reason) = reachable(url) else {
        return Ok(Availability::Run);
    };
    let reason = format!("no PostgreSQL at {url}: {reason}");
    if required {
        Err(format!(
            "{reason}; {REQUIRE_VARIABLE}=1 requires the PostgreSQL tests to run (start PostgreSQL or set SAAS_TEST_POSTGRES_URL)"
        ))
    } else {
        Ok(Availability::Skip(reason))
    }
}

/// The server's URL if the test `test` can run; `None` after printing why it is skipped.
/// Panics when the server is missing and `SAAS_REQUIRE_POSTGRES=1`.
pub fn server_or_skip(test: &str) -> Option<String> {
    let url = server_url();
    let required = std::env::var(REQUIRE_VARIABLE).is_ok_and(|value| value == "1");
    match availability(&url, required) {
        Ok(Availability::Run) => Some(url),
        Ok(Availability::Skip(reason)) => {
            // Straight to the process's stderr: the test harness captures `eprintln!`
            // of passing tests, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr().lock(),
                "\nSKIPPED {test}: {reason} (set {REQUIRE_VARIABLE}=1 to make this a failure)"
            );
            None
        }
        Err(message) => panic!("{test}: {message}"),
    }
}

/// Whether something accepts TCP connections at the URL's host and port.
fn reachable(url: &str) -> Result<(), String> {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let addresses = host_port
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve `{host_port}` ({error})"))?;
    let mut last_error = format!("`{host_port}` resolves to no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, Duration::from_secs(3)) {
            Ok(_) => return Ok(()),
            Err(error) => last_error = format!("cannot connect to {address} ({error})"),
        }
    }
    Err(last_error)
}

mod tests {
    use super::*;

    /// Nothing listens on port 1 of the loopback address.
    const NOWHERE: &str = "postgres://postgres@127.0.0.1:1";

    #[test]
    fn an_unreachable_server_is_a_skip_that_says_why() {
        match availability(NOWHERE, false) {
            Ok(Availability::Skip(reason)) => {
                assert!(
                    reason.contains("no PostgreSQL at postgres://postgres@127.0.0.1:1"),
                    "{reason}"
                );
                assert!(reason.contains("cannot connect to 127.0.0.1:1"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unreachable_server_fails_when_postgres_is_required() {
        let message = availability(NOWHERE, true).unwrap_err();
        assert!(
            message.contains("SAAS_REQUIRE_POSTGRES=1 requires"),
            "{message}"
        );
    }

    #[test]
    fn a_listening_server_runs_the_tests() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("postgres://postgres@{}", listener.local_addr().unwrap());
        assert_eq!(availability(&url, true), Ok(Availability::Run));
    }
}
