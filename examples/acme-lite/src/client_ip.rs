//! Who is calling: the client's IP address, from the TCP peer or, behind proxies we
//! trust, from `X-Forwarded-For`; and the key that rate limits count that client by.

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    str::FromStr,
    sync::atomic::{AtomicBool, Ordering},
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};

use crate::{AppState, error::AppError};

/// The address of the client. Without `TRUST_PROXY_HEADERS` it is the TCP peer. With
/// it, and only when the peer is one of `TRUSTED_PROXIES`, it is the right-most address
/// of `X-Forwarded-For` that is not a trusted proxy: every proxy appends the address it
/// saw, so entries left of that are whatever the client chose to claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the server was started without connect info"))?;
        let config = &state.config;
        if !config.trust_proxy_headers {
            if parts.headers.contains_key("x-forwarded-for") {
                warn_of_an_untrusted_proxy_once(peer.ip());
            }
            return Ok(Self(peer.ip()));
        }
        Ok(Self(client_behind_proxies(
            peer.ip(),
            &parts.headers,
            &config.trusted_proxies,
        )))
    }
}

/// A proxy in front of the app while `TRUST_PROXY_HEADERS` is off makes every client
/// the proxy's address, sharing one auth rate limit: say so in the log, once.
fn warn_of_an_untrusted_proxy_once(peer: IpAddr) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            %peer,
            "a request came with X-Forwarded-For while TRUST_PROXY_HEADERS is off: every \
             client behind that proxy counts as its address and shares its rate limits; \
             behind a load balancer set TRUST_PROXY_HEADERS=true and TRUSTED_PROXIES"
        );
    }
}

impl ClientIp {
    /// What rate limits count this client by. An IPv6 client is counted by its /64,
    /// the block one subscriber usually holds, so it cannot step round a limit by
    /// changing addresses within it.
    pub fn rate_limit_key(self) -> String {
        match self.0 {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(ip) => ip.to_string(),
                None => {
                    let network = u128::from(ip) & (u128::MAX << 64);
                    format!("{}/64", Ipv6Addr::from(network))
                }
            },
        }
    }
}

fn client_behind_proxies(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|entry| entry.trim().parse::<IpAddr>().ok());
    let entries: Vec<Option<IpAddr>> = forwarded.collect();
    // Walk from our side: the nearest hop the client could not have written itself.
    let mut client = peer;
    for entry in entries.into_iter().rev() {
        match entry {
            Some(ip) if is_trusted(ip) => client = ip,
            Some(ip) => return ip,
            // Garbage can only come from beyond our proxies: trust nothing left of it.
            None => return client,
        }
    }
    client
}

/// A block of addresses in CIDR notation, such as `10.0.0.0/8` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        match (self.network, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    /// Parses `address/prefix`; a bare address is a block of one.
    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{address}` is not an IP address"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= max)
                .ok_or_else(|| format!("`/{prefix}` is not a prefix length from 0 to {max}"))?,
        };
        Ok(Self { network, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &str) -> Vec<IpNet> {
        list.split(',').map(|net| net.parse().unwrap()).collect()
    }

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_contain_exactly_their_addresses() {
        let private = "10.0.0.0/8".parse::<IpNet>().unwrap();
        assert!(private.contains(ip("10.255.1.2")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(private.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6");
        let loopback = "::1".parse::<IpNet>().unwrap();
        assert!(loopback.contains(ip("::1")));
        assert!(!loopback.contains(ip("::2")));
        assert!(
            "0.0.0.0/0"
                .parse::<IpNet>()
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("ten/8".parse::<IpNet>().is_err());
    }

    #[test]
    fn the_client_is_the_rightmost_address_that_is_not_our_proxy() {
        let trusted = nets("127.0.0.1/32,10.0.0.0/8");
        let proxy = ip("10.0.0.2");
        let chain = forwarded("6.6.6.6, 198.51.100.9, 10.1.2.3");
        assert_eq!(
            client_behind_proxies(proxy, &chain, &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_behind_proxies(proxy, &forwarded("garbage, 10.1.2.3"), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_behind_proxies(proxy, &HeaderMap::new(), &trusted),
            proxy
        );
    }

    #[test]
    fn a_peer_that_is_not_our_proxy_is_the_client_whatever_it_claims() {
        let trusted = nets("10.0.0.0/8");
        assert_eq!(
            client_behind_proxies(ip("203.0.113.7"), &forwarded("1.2.3.4"), &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        let a = ClientIp(ip("2001:db8:1:2:aaaa::1")).rate_limit_key();
        let b = ClientIp(ip("2001:db8:1:2:bbbb::2")).rate_limit_key();
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, ClientIp(ip("2001:db8:1:3::1")).rate_limit_key());
        assert_eq!(
            ClientIp(ip("::ffff:192.0.2.1")).rate_limit_key(),
            "192.0.2.1"
        );
        assert_eq!(ClientIp(ip("192.0.2.1")).rate_limit_key(), "192.0.2.1");
    }
}
