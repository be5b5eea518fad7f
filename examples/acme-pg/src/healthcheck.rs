//! `app healthcheck`: the container's health check, with nothing but the app's own
//! binary (no curl in the image). It asks `GET /health/live` on the address the server
//! listens on (`BIND_ADDR`, and `PORT`, as serving reads them) and succeeds on a 200
//! only; the process's exit status, 0 or 1, is the verdict the Dockerfile's
//! `HEALTHCHECK` reads.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use anyhow::{Context, bail};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::config;

/// Within the image's `HEALTHCHECK --timeout` (3 s), so that a server that accepts but
/// never answers is reported by this command rather than killed with it.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The most of an answer read: its status line comes first.
const MAX_ANSWER_BYTES: u64 = 16 * 1024;

/// Checks the server of this environment's configuration.
pub async fn run() -> anyhow::Result<()> {
    let address = reach(config::bind_addr_from_env().context("invalid configuration")?);
    let status = tokio::time::timeout(TIMEOUT, live_status(address))
        .await
        .with_context(|| format!("no answer from {address} within {TIMEOUT:?}"))??;
    if status != 200 {
        bail!("GET /health/live on {address} answered {status}");
    }
    println!("ok");
    Ok(())
}

/// Where a server listening on `bind` is reached from the same host: an unspecified
/// address (`0.0.0.0`, `[::]`) listens on loopback too.
fn reach(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// The status of `GET /health/live` at `address`.
async fn live_status(address: SocketAddr) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("could not connect to {address}"))?;
    let request =
        format!("GET /health/live HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut answer)
        .await?;
    status_of(&answer).with_context(|| format!("{address} did not answer in HTTP"))
}

/// The status code of an HTTP/1.x answer: the second word of its first line.
fn status_of(answer: &[u8]) -> Option<u16> {
    let line = answer.split(|&byte| byte == b'\n').next()?;
    let mut words = std::str::from_utf8(line).ok()?.split_whitespace();
    words
        .next()
        .filter(|version| version.starts_with("HTTP/1."))?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_address_is_reached_over_loopback() {
        let reached = |bind: &str| reach(bind.parse().unwrap()).to_string();
        assert_eq!(reached("0.0.0.0:3000"), "127.0.0.1:3000");
        assert_eq!(reached("[::]:8080"), "[::1]:8080");
        assert_eq!(reached("10.0.0.5:3000"), "10.0.0.5:3000");
    }

    #[test]
    fn the_status_is_read_from_the_status_line() {
        assert_eq!(
            status_of(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            Some(200)
        );
        assert_eq!(
            status_of(b"HTTP/1.1 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(status_of(b"SSH-2.0-OpenSSH_9.6\r\n"), None);
        assert_eq!(status_of(b""), None);
    }
}
