//! Which address a request comes from: the peer of the connection, or,
//! when that peer is a proxy the configuration trusts (`trusted-proxies`),
//! the client the proxies name in `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`.
//!
//! Those headers are whatever the client and each proxy wrote, so they are
//! untrusted input: only the entries appended by trusted proxies are
//! believed. The chain is walked from its right end, the hop nearest to
//! errata, and the first address that is not a trusted proxy is the
//! client. A client can prepend anything it likes; it cannot get past the
//! entry its first trusted proxy appended. An identifier that is not an
//! address (`unknown`, an obfuscated `_name`, an element without `for=`)
//! ends the walk at the last trusted hop, and a header that does not parse
//! counts for nothing: the answer is then the peer. From any other peer
//! the headers are ignored, so nobody chooses their own rate-limit key.
//!
//! Only the one header the proxies write is read (`trusted-proxy-header`):
//! proxies append to theirs and pass the other through as the client wrote
//! it, so reading the other would let a client name its own address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use axum::http::HeaderMap;
use axum::http::header::FORWARDED;
use ipnet::IpNet;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

/// The legacy header most proxies still send.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Which header the trusted proxies append to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeader {
    /// `X-Forwarded-For`, which nginx (`$proxy_add_x_forwarded_for`),
    /// HAProxy and most load balancers append to.
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

impl ProxyHeader {
    fn name(self) -> &'static str {
        match self {
            ProxyHeader::XForwardedFor => X_FORWARDED_FOR,
            ProxyHeader::Forwarded => FORWARDED.as_str(),
        }
    }
}

/// The proxies whose forwarding headers are believed: addresses and CIDR
/// blocks, IPv4 and IPv6. Empty by default: no header is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list: `10.0.0.0/8, 192.0.2.1, 2001:db8::/32`.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        TrustedProxies::from_entries(text.split(','))
    }

    /// Parses each entry, an address or a CIDR block; blank entries are
    /// skipped.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in entries {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => {
                        let shown: String = entry.chars().take(64).collect();
                        return Err(format!(
                            "`{shown}` in trusted-proxies is not an address or a CIDR block: \
                             write `192.0.2.1`, `10.0.0.0/8` or `2001:db8::/32`"
                        ));
                    }
                },
            };
            if net.prefix_len() == 0 {
                return Err(format!(
                    "`{entry}` in trusted-proxies would trust every address, and so let any \
                     client name its own address: list the proxies' addresses or networks"
                ));
            }
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy; an IPv4-mapped IPv6 address is its
    /// IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    /// A list of strings (the configuration file), or one comma-separated
    /// string (an environment variable or the flag).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TrustedProxies, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = TrustedProxies;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of addresses and CIDR blocks")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<TrustedProxies, E> {
                TrustedProxies::parse(text).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TrustedProxies, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element::<String>()? {
                    entries.push(entry);
                }
                TrustedProxies::from_entries(entries.iter().map(String::as_str))
                    .map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_any(Entries)
    }
}

/// The client's address for a request from `peer` carrying `headers`.
pub fn from_headers(
    peer: IpAddr,
    trusted: &TrustedProxies,
    header: ProxyHeader,
    headers: &HeaderMap,
) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    let lines: Vec<&[u8]> = headers
        .get_all(header.name())
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    client_address(peer, trusted, header, &lines)
}

/// The client's address for a request from `peer`, given the lines of its
/// `header` in the order they came; ignored unless `peer` is trusted. The
/// answer is `peer` or an address the header names.
pub fn client_address(
    peer: IpAddr,
    trusted: &TrustedProxies,
    header: ProxyHeader,
    lines: &[&[u8]],
) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    let chain = match header {
        ProxyHeader::XForwardedFor => x_forwarded_for_chain(lines),
        ProxyHeader::Forwarded => forwarded_chain(lines),
    };
    match chain {
        Some(chain) => walk(peer, trusted, &chain),
        None => peer,
    }
}

/// One hop a forwarding header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    /// An address.
    Address(IpAddr),
    /// `unknown`, an obfuscated identifier, or a hop that named nobody.
    Hidden,
}

/// From the right: the first untrusted address; or, when the walk reaches
/// the left end or a hidden hop with every address trusted so far, the
/// last trusted one (the peer when there is none).
fn walk(peer: IpAddr, trusted: &TrustedProxies, chain: &[Node]) -> IpAddr {
    let mut nearest = peer;
    for node in chain.iter().rev() {
        match *node {
            Node::Hidden => return nearest,
            Node::Address(ip) => {
                if !trusted.contains(ip) {
                    return ip;
                }
                nearest = ip;
            }
        }
    }
    nearest
}

/// The `for=` of every element of every line, left to right; `None` when
/// any line is not RFC 7239's syntax.
fn forwarded_chain(lines: &[&[u8]]) -> Option<Vec<Node>> {
    let mut chain = Vec::new();
    for line in lines {
        let mut p = Cursor { text: line, at: 0 };
        loop {
            p.skip_whitespace();
            match p.peek() {
                None => break,
                // An empty list element, which recipients must accept.
                Some(b',') => {
                    p.at += 1;
                    continue;
                }
                Some(_) => {}
            }
            chain.push(forwarded_element(&mut p)?);
        }
    }
    Some(chain)
}

/// One element, `for=...;proto=...`, up to its `,` or the end; its node is
/// hidden when it has no `for`. A parameter given twice is malformed.
fn forwarded_element(p: &mut Cursor<'_>) -> Option<Node> {
    let mut node = None;
    let mut names: Vec<&[u8]> = Vec::new();
    loop {
        p.skip_whitespace();
        match p.peek() {
            None => break,
            Some(b',') => {
                p.at += 1;
                break;
            }
            Some(b';') => {
                p.at += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = p.token()?;
        if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return None;
        }
        names.push(name);
        if p.peek() != Some(b'=') {
            return None;
        }
        p.at += 1;
        let value = if p.peek() == Some(b'"') {
            p.quoted()?
        } else {
            p.token()?.to_vec()
        };
        if name.eq_ignore_ascii_case(b"for") {
            node = Some(forwarded_node(&value)?);
        }
        p.skip_whitespace();
        match p.peek() {
            None | Some(b',') | Some(b';') => {}
            Some(_) => return None,
        }
    }
    Some(node.unwrap_or(Node::Hidden))
}

/// RFC 7239's `node`: `unknown`, `_obfuscated`, an IPv4 address or a
/// bracketed IPv6 address, each with an optional `:port`.
fn forwarded_node(value: &[u8]) -> Option<Node> {
    let text = std::str::from_utf8(value).ok()?;
    let (name, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            let ip = inside.parse::<Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':')?),
            };
            if let Some(port) = port {
                node_port(port)?;
            }
            return Some(Node::Address(IpAddr::V6(ip).to_canonical()));
        }
        None => match text.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text, None),
        },
    };
    if let Some(port) = port {
        node_port(port)?;
    }
    if name.eq_ignore_ascii_case("unknown") {
        return Some(Node::Hidden);
    }
    if name.starts_with('_') {
        return obfuscated(name).then_some(Node::Hidden);
    }
    name.parse::<Ipv4Addr>()
        .ok()
        .map(|ip| Node::Address(IpAddr::V4(ip)))
}

/// `node-port`: up to five digits, or an obfuscated port.
fn node_port(port: &str) -> Option<()> {
    let digits = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    (digits || port.starts_with('_') && obfuscated(port)).then_some(())
}

/// `"_" 1*( ALPHA / DIGIT / "." / "_" / "-" )`.
fn obfuscated(text: &str) -> bool {
    text.len() > 1
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Every address of every line, left to right: comma-separated, each an
/// IPv4 address, an IPv6 address bare or bracketed, optionally with a port
/// (as some proxies write them), or `unknown`. `None` when any is none of
/// those.
fn x_forwarded_for_chain(lines: &[&[u8]]) -> Option<Vec<Node>> {
    let mut chain = Vec::new();
    for line in lines {
        let text = std::str::from_utf8(line).ok()?;
        for item in text.split(',') {
            let item = item.trim_matches([' ', '\t']);
            if item.is_empty() {
                continue;
            }
            chain.push(x_forwarded_for_node(item)?);
        }
    }
    Some(chain)
}

fn x_forwarded_for_node(item: &str) -> Option<Node> {
    if item.eq_ignore_ascii_case("unknown") {
        return Some(Node::Hidden);
    }
    if let Ok(ip) = item.parse::<IpAddr>() {
        return Some(Node::Address(ip.to_canonical()));
    }
    let port_ok = |port: &str| {
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
    };
    if let Some(rest) = item.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let ip = inside.parse::<Ipv6Addr>().ok()?;
        return match after {
            "" => Some(Node::Address(IpAddr::V6(ip).to_canonical())),
            _ => port_ok(after.strip_prefix(':')?)
                .then_some(Node::Address(IpAddr::V6(ip).to_canonical())),
        };
    }
    let (name, port) = item.split_once(':')?;
    let ip = name.parse::<Ipv4Addr>().ok()?;
    port_ok(port).then_some(Node::Address(IpAddr::V4(ip)))
}

/// A position in a header line.
struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// RFC 9110's `token`: one or more `tchar`.
    fn token(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        (self.at > start).then(|| &self.text[start..self.at])
    }

    /// RFC 9110's `quoted-string`, unescaped; the cursor is on its `"`.
    fn quoted(&mut self) -> Option<Vec<u8>> {
        self.at += 1;
        let mut value = Vec::new();
        loop {
            let b = self.peek()?;
            self.at += 1;
            match b {
                b'"' => return Some(value),
                b'\\' => {
                    let escaped = self.peek()?;
                    if !(escaped == b'\t' || escaped == b' ' || escaped.is_ascii_graphic()) {
                        return None;
                    }
                    value.push(escaped);
                    self.at += 1;
                }
                b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e => value.push(b),
                _ => return None,
            }
        }
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).unwrap()
    }

    /// The client for a request from `peer` with these header lines,
    /// behind 10.0.0.0/8 and 2001:db8:ffff::/48: proxies that write
    /// `Forwarded` when `forwarded` has lines, else `X-Forwarded-For`.
    fn client(peer: &str, forwarded: &[&str], xff: &[&str]) -> IpAddr {
        let trusted = proxies("10.0.0.0/8, 2001:db8:ffff::/48");
        let (header, lines) = if forwarded.is_empty() {
            (ProxyHeader::XForwardedFor, xff)
        } else {
            (ProxyHeader::Forwarded, forwarded)
        };
        let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        client_address(ip(peer), &trusted, header, &lines)
    }

    #[test]
    fn only_the_header_the_proxies_write_is_read() {
        let trusted = proxies("10.0.0.0/8");
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "198.51.100.1".parse().unwrap());
        headers.insert("forwarded", "for=203.0.113.66".parse().unwrap());
        let peer = ip("10.0.0.1");
        assert_eq!(
            from_headers(peer, &trusted, ProxyHeader::XForwardedFor, &headers),
            ip("198.51.100.1"),
            "the client's own Forwarded is not believed"
        );
        assert_eq!(
            from_headers(peer, &trusted, ProxyHeader::Forwarded, &headers),
            ip("203.0.113.66")
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_and_blocks() {
        let trusted = proxies(" 10.0.0.0/8,192.0.2.1 , 2001:db8::/32,,::ffff:198.51.100.7");
        for inside in [
            "10.1.2.3",
            "192.0.2.1",
            "2001:db8:1::9",
            "::ffff:10.0.0.1",
            "198.51.100.7",
        ] {
            assert!(trusted.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "192.0.2.2", "2001:db9::1", "::1"] {
            assert!(!trusted.contains(ip(outside)), "{outside}");
        }
        assert!(proxies("").is_empty());
        assert!(
            proxies("10.1.2.3/8").contains(ip("10.9.9.9")),
            "host bits are dropped"
        );
        for bad in [
            "10.0.0.0/33",
            "localhost",
            "10.0.0",
            "2001:db8::/129",
            "0.0.0.0/0",
            "::/0",
        ] {
            let err = TrustedProxies::parse(bad).unwrap_err();
            assert!(err.contains("trusted-proxies"), "{bad}: {err}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        assert_eq!(
            client("203.0.113.9", &["for=198.51.100.1"], &[]),
            ip("203.0.113.9")
        );
        assert_eq!(
            client("203.0.113.9", &[], &["198.51.100.1"]),
            ip("203.0.113.9")
        );
        let nobody = TrustedProxies::default();
        assert_eq!(
            client_address(
                ip("10.0.0.1"),
                &nobody,
                ProxyHeader::Forwarded,
                &[b"for=198.51.100.1"]
            ),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn x_forwarded_for_is_read_from_the_right() {
        assert_eq!(
            client("10.0.0.1", &[], &["198.51.100.1"]),
            ip("198.51.100.1")
        );
        // The client prepended a lie; the proxy appended what it saw.
        assert_eq!(
            client("10.0.0.1", &[], &["1.2.3.4, 198.51.100.1"]),
            ip("198.51.100.1")
        );
        // Two trusted hops, each appending.
        assert_eq!(
            client("10.0.0.1", &[], &["1.2.3.4, 198.51.100.1, 10.0.0.2"]),
            ip("198.51.100.1")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            client("10.0.0.1", &[], &["1.2.3.4", "198.51.100.1,10.0.0.2"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.1", &[], &["2001:db8::1, 2001:db8:ffff::2"]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client("10.0.0.1", &[], &["[2001:db8::1]:4711, 198.51.100.1:80"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.1", &[], &["[2001:db8::1]:4711"]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client("10.0.0.1", &[], &["::ffff:198.51.100.1"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn when_every_address_is_trusted_the_leftmost_is_the_client() {
        assert_eq!(
            client("10.0.0.1", &[], &["10.0.0.3, 10.0.0.2"]),
            ip("10.0.0.3")
        );
        assert_eq!(client("10.0.0.1", &["for=10.0.0.3"], &[]), ip("10.0.0.3"));
        assert_eq!(client("10.0.0.1", &[], &[]), ip("10.0.0.1"));
        assert_eq!(client("10.0.0.1", &[], &[""]), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_is_read_from_the_right_and_wins() {
        assert_eq!(
            client("10.0.0.1", &["for=198.51.100.1"], &["203.0.113.1"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client(
                "10.0.0.1",
                &["for=1.2.3.4, for=198.51.100.1;proto=https;by=10.0.0.1, for=10.0.0.2"],
                &[]
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            client(
                "10.0.0.1",
                &["for=1.2.3.4", "For=\"198.51.100.1:8080\""],
                &[]
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.1", &["for=\"[2001:db8::1]:4711\""], &[]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client(
                "10.0.0.1",
                &["for=\"[2001:db8::1]\", for=\"[2001:db8:ffff::9]\""],
                &[]
            ),
            ip("2001:db8::1")
        );
        assert_eq!(
            client(
                "10.0.0.1",
                &["for=\"_gazonk\";proto=http , for=198.51.100.1"],
                &[]
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            client(
                "10.0.0.1",
                &["proto=https;for=198.51.100.1;host=\"a,b;c\""],
                &[]
            ),
            ip("198.51.100.1"),
            "quoted commas and semicolons are text"
        );
    }

    #[test]
    fn unknown_and_obfuscated_hops_end_the_walk_at_the_last_trusted_one() {
        assert_eq!(client("10.0.0.1", &["for=unknown"], &[]), ip("10.0.0.1"));
        assert_eq!(
            client(
                "10.0.0.1",
                &["for=198.51.100.1, for=unknown, for=10.0.0.2"],
                &[]
            ),
            ip("10.0.0.2")
        );
        assert_eq!(
            client("10.0.0.1", &["for=_hidden, for=10.0.0.2"], &[]),
            ip("10.0.0.2")
        );
        assert_eq!(
            client("10.0.0.1", &["for=198.51.100.1, proto=https"], &[]),
            ip("10.0.0.1"),
            "a hop that names nobody hides everything before it"
        );
        assert_eq!(
            client("10.0.0.1", &[], &["198.51.100.1, unknown"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn malformed_headers_count_for_nothing() {
        for forwarded in [
            "for=[2001:db8::1]",
            "for=\"2001:db8::1\"",
            "for=198.51.100.1:80",
            "for=\"198.51.100.1",
            "for=198.51.100.300",
            "for=\"198.51.100.1:port\"",
            "for=\"_\"",
            "for==1.2.3.4",
            "for 1.2.3.4",
            "for=1.2.3.4;for=5.6.7.8",
            "for=1.2.3.4 junk",
            "for=\"1.2.3.4\u{7f}\"",
            "=1.2.3.4",
        ] {
            assert_eq!(
                client("10.0.0.1", &[forwarded], &["198.51.100.1"]),
                ip("10.0.0.1"),
                "{forwarded}"
            );
        }
        for xff in [
            "198.51.100.1 203.0.113.1",
            "example.com",
            "198.51.100.1:",
            "198.51.100.1:123456",
            "[2001:db8::1",
            "[198.51.100.1]",
            "_hidden",
        ] {
            assert_eq!(client("10.0.0.1", &[], &[xff]), ip("10.0.0.1"), "{xff}");
        }
        assert_eq!(
            client_address(
                ip("10.0.0.1"),
                &proxies("10.0.0.0/8"),
                ProxyHeader::XForwardedFor,
                &[b"198.51.100.\xff"]
            ),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn headers_are_read_from_a_header_map() {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "1.2.3.4".parse().unwrap());
        headers.append("x-forwarded-for", "198.51.100.1".parse().unwrap());
        let trusted = proxies("127.0.0.1");
        assert_eq!(
            from_headers(
                ip("127.0.0.1"),
                &trusted,
                ProxyHeader::XForwardedFor,
                &headers
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            from_headers(
                ip("127.0.0.2"),
                &trusted,
                ProxyHeader::XForwardedFor,
                &headers
            ),
            ip("127.0.0.2")
        );
        headers.append("forwarded", "for=203.0.113.1".parse().unwrap());
        assert_eq!(
            from_headers(
                ip("127.0.0.1"),
                &trusted,
                ProxyHeader::XForwardedFor,
                &headers
            ),
            ip("198.51.100.1"),
            "a Forwarded header the proxies did not write is not read"
        );
        assert_eq!(
            from_headers(ip("127.0.0.1"), &trusted, ProxyHeader::Forwarded, &headers),
            ip("203.0.113.1")
        );
    }

    /// A hop of a generated chain: an address (trusted or not) or hidden.
    #[derive(Debug, Clone)]
    enum Hop {
        Address(IpAddr),
        Hidden,
    }

    fn hop() -> impl Strategy<Value = Hop> {
        prop_oneof![
            4 => prop_oneof![
                (0u8..4).prop_map(|n| IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))),
                (0u8..4).prop_map(|n| IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))),
                (0u16..4).prop_map(|n| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, n))),
                (0u16..4).prop_map(|n| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n))),
            ]
            .prop_map(Hop::Address),
            1 => Just(Hop::Hidden),
        ]
    }

    /// `hop` as a `Forwarded` element, in one of the forms RFC 7239 allows.
    fn forwarded_element(hop: &Hop, style: u8) -> String {
        match hop {
            Hop::Hidden if style.is_multiple_of(2) => "for=unknown".to_owned(),
            Hop::Hidden => "for=\"_hidden\";proto=https".to_owned(),
            Hop::Address(IpAddr::V4(v4)) if style.is_multiple_of(2) => format!("for={v4}"),
            Hop::Address(IpAddr::V4(v4)) => format!("proto=http;For=\"{v4}:{style}\""),
            Hop::Address(IpAddr::V6(v6)) if style.is_multiple_of(2) => format!("for=\"[{v6}]\""),
            Hop::Address(IpAddr::V6(v6)) => format!("for=\"[{v6}]:_p{style}\";by=_x"),
        }
    }

    fn x_forwarded_for_item(hop: &Hop, style: u8) -> String {
        match hop {
            Hop::Hidden => "unknown".to_owned(),
            Hop::Address(IpAddr::V4(v4)) if style.is_multiple_of(2) => v4.to_string(),
            Hop::Address(IpAddr::V4(v4)) => format!("{v4}:{style}"),
            Hop::Address(IpAddr::V6(v6)) if style.is_multiple_of(2) => v6.to_string(),
            Hop::Address(IpAddr::V6(v6)) => format!("[{v6}]:{style}"),
        }
    }

    proptest! {
        #[test]
        fn the_client_is_the_peer_or_the_first_untrusted_hop_from_the_right(
            peer in prop_oneof![Just(ip("10.0.0.200")), Just(ip("203.0.113.1"))],
            hops in proptest::collection::vec(hop(), 0..6),
            styles in proptest::collection::vec(any::<u8>(), 6),
            lines in 1usize..3,
            use_forwarded in any::<bool>(),
        ) {
            let trusted = proxies("10.0.0.0/8, 2001:db8:ffff::/48");
            let items: Vec<String> = hops
                .iter()
                .zip(&styles)
                .map(|(hop, &style)| if use_forwarded {
                    forwarded_element(hop, style)
                } else {
                    x_forwarded_for_item(hop, style)
                })
                .collect();
            // Split across header lines, as proxies that append a line do.
            let split = items.len().min(lines - 1);
            let texts = [items[..split].join(", "), items[split..].join(",")];
            let header: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
            let client = if use_forwarded {
                client_address(peer, &trusted, ProxyHeader::Forwarded, &header)
            } else {
                client_address(peer, &trusted, ProxyHeader::XForwardedFor, &header)
            };
            if !trusted.contains(peer) {
                prop_assert_eq!(client, peer);
                return Ok(());
            }
            let addresses: Vec<IpAddr> = hops
                .iter()
                .filter_map(|h| match h { Hop::Address(ip) => Some(*ip), Hop::Hidden => None })
                .collect();
            prop_assert!(client == peer || addresses.contains(&client));
            // The rightmost hop that is not a trusted address decides: an
            // untrusted address is the client; at a hidden hop, or with
            // none, the client is the leftmost of the trusted hops right of
            // it, or the peer when there is none.
            let stop = hops
                .iter()
                .rposition(|h| !matches!(h, Hop::Address(ip) if trusted.contains(*ip)));
            let expected = match stop.map(|i| (i, &hops[i])) {
                Some((_, Hop::Address(untrusted))) => *untrusted,
                Some((i, Hop::Hidden)) => match hops.get(i + 1) {
                    Some(Hop::Address(ip)) => *ip,
                    _ => peer,
                },
                None => match hops.first() {
                    Some(Hop::Address(ip)) => *ip,
                    _ => peer,
                },
            };
            prop_assert_eq!(client, expected, "{:?}", hops);
            prop_assert!(
                !trusted.contains(client)
                    || stop.is_none_or(|i| matches!(hops[i], Hop::Hidden)),
                "a trusted client only when every identifiable hop is trusted: {:?} -> {}",
                hops,
                client
            );
        }

        #[test]
        fn any_bytes_give_the_peer_or_an_address_without_panicking(
            forwarded in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..3),
            xff in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..3),
            text in "[fFoOrR=\"\\[\\]:;, _0-9a-f.unkow]{0,60}",
        ) {
            let trusted = proxies("10.0.0.0/8");
            let forwarded: Vec<&[u8]> = forwarded.iter().map(Vec::as_slice).collect();
            let xff: Vec<&[u8]> = xff.iter().map(Vec::as_slice).collect();
            for (header, lines) in [(ProxyHeader::Forwarded, &forwarded), (ProxyHeader::XForwardedFor, &xff)] {
                let from_stranger = client_address(ip("203.0.113.1"), &trusted, header, lines);
                prop_assert_eq!(from_stranger, ip("203.0.113.1"));
                let _ = client_address(ip("10.0.0.1"), &trusted, header, lines);
                let _ = client_address(ip("10.0.0.1"), &trusted, header, &[text.as_bytes()]);
            }
        }
    }
}
