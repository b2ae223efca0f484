//! The SSRF guard: which user-supplied URLs (remote images and files the guest downloads)
//! the host will fetch, and at which addresses.
//!
//! A URL passes only if it is `https` (or `http` to a host the operator listed), carries
//! no credentials, and **every** address its host resolves to is a public unicast
//! address. Private, loopback, link-local (cloud metadata), unique-local, CGNAT,
//! multicast, reserved, documentation and benchmarking ranges are refused, in IPv4 and in
//! every IPv6 form that embeds an IPv4 address (mapped, compatible, NAT64, 6to4). Hosts
//! spelled as legacy IPv4 numbers (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`), which
//! the system resolver would quietly accept, are decoded and judged as the address they
//! are. The addresses that passed are returned so the connection is made to exactly those
//! (no second lookup a rebinding DNS server could answer differently). Redirects are never
//! followed by the host: each hop is a new request from the guest and passes this check
//! again.

use http::Uri;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("only https URLs are fetched (got {0:?})")]
    Scheme(String),
    #[error("plain http is not allowed for {0}")]
    InsecureHttp(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("URLs with credentials are not fetched")]
    Credentials,
    #[error("{host} resolves to {ip}, which is not a public address")]
    NotPublic { host: String, ip: IpAddr },
    #[error("{host} could not be resolved: {reason}")]
    Unresolved { host: String, reason: String },
}

/// Hosts that may be fetched over plain http: `host` (any port) or `host:port`; and
/// whether private addresses are allowed (only for an MCP server marked internal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchPolicy {
    insecure_hosts: Vec<(String, Option<u16>)>,
    private_allowed: bool,
}

impl FetchPolicy {
    /// `entries` as in `ORPIPE_ALLOW_INSECURE_HTTP_HOSTS`: comma-separated `host[:port]`.
    pub fn with_insecure_hosts(entries: &str) -> Self {
        let insecure_hosts = entries
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|entry| {
                let entry = entry.to_ascii_lowercase();
                match entry.rsplit_once(':') {
                    Some((host, port)) if !host.contains(':') => match port.parse() {
                        Ok(port) => (host.to_owned(), Some(port)),
                        Err(_) => (entry.clone(), None),
                    },
                    _ => (entry.trim_matches(['[', ']']).to_owned(), None),
                }
            })
            .collect();
        Self {
            insecure_hosts,
            private_allowed: false,
        }
    }

    /// The policy for one configured MCP server: https to public addresses, or, when
    /// the operator marked it internal, also plain http and private addresses.
    pub fn mcp_server(origin: &super::outbound::Origin, internal: bool) -> Self {
        Self {
            insecure_hosts: if internal {
                vec![(origin.host.clone(), Some(origin.port))]
            } else {
                Vec::new()
            },
            private_allowed: internal,
        }
    }

    fn allows_http(&self, host: &str, port: u16) -> bool {
        self.insecure_hosts
            .iter()
            .any(|(h, p)| h == host && p.is_none_or(|p| p == port))
    }
}

/// Looks up a host name's addresses. The system resolver in production; tests map names.
pub trait Resolver {
    fn lookup(&self, host: &str) -> impl Future<Output = std::io::Result<Vec<IpAddr>>> + Send;
}

/// The operating system's resolver (`getaddrinfo` through tokio).
pub struct SystemResolver;

impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|addr| addr.ip())
            .collect())
    }
}

/// Checks `uri`; on success, the addresses to connect to (port included).
pub async fn check(
    uri: &Uri,
    policy: &FetchPolicy,
    resolver: &impl Resolver,
) -> Result<Vec<SocketAddr>, Refusal> {
    let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
    let host = uri
        .host()
        .ok_or(Refusal::NoHost)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if host.is_empty() {
        return Err(Refusal::NoHost);
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(Refusal::Credentials);
    }
    let port = match scheme.as_str() {
        "https" => uri.port_u16().unwrap_or(443),
        "http" => {
            let port = uri.port_u16().unwrap_or(80);
            if !policy.allows_http(&host, port) {
                return Err(Refusal::InsecureHttp(host));
            }
            port
        }
        _ => return Err(Refusal::Scheme(scheme)),
    };
    let ips = match literal_ip(&host) {
        Some(ip) => vec![ip],
        None => {
            let ips = resolver
                .lookup(&host)
                .await
                .map_err(|e| Refusal::Unresolved {
                    host: host.clone(),
                    reason: e.to_string(),
                })?;
            if ips.is_empty() {
                return Err(Refusal::Unresolved {
                    host,
                    reason: "no addresses".into(),
                });
            }
            ips
        }
    };
    if !policy.private_allowed
        && let Some(ip) = ips.iter().find(|ip| !is_public(**ip))
    {
        return Err(Refusal::NotPublic { host, ip: *ip });
    }
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

/// The host as an IP address, including the legacy IPv4 spellings `inet_aton` accepts.
fn literal_ip(host: &str) -> Option<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    legacy_ipv4(host).map(IpAddr::V4)
}

/// `a`, `a.b`, `a.b.c` or `a.b.c.d` with decimal, octal (`0…`) or hex (`0x…`) parts, the
/// last part filling the remaining bytes.
fn legacy_ipv4(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|part| {
            let (digits, radix) =
                if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                    (hex, 16)
                } else if part.len() > 1 && part.starts_with('0') {
                    (&part[1..], 8)
                } else {
                    (*part, 10)
                };
            if digits.is_empty() && radix == 16 {
                return Some(0);
            }
            u64::from_str_radix(digits, radix).ok()
        })
        .collect::<Option<_>>()?;
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|n| *n > 255) {
        return None;
    }
    let last_bytes = 4 - leading.len();
    if *last >= 1u64 << (8 * last_bytes) {
        return None;
    }
    let mut value = *last;
    for (i, n) in leading.iter().enumerate() {
        value |= n << (8 * (3 - i));
    }
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

/// True only for public unicast addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || (a == 100 && (64..128).contains(&b)) // CGNAT, 100.64/10 (Alibaba metadata too)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || ip.is_multicast()
        || a >= 240; // reserved and broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (AWS metadata fd00:ec2::254)
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || ip.is_multicast()
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x2001 && segments[1] == 0) // Teredo: tunnels to anywhere
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]) // discard-only
        || (segments[0] & 0xe000) != 0x2000; // outside global unicast 2000::/3
    !refused
}

/// The IPv4 address inside IPv4-mapped, IPv4-compatible, NAT64 and 6to4 addresses.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0, 0, 0, 0, 0]
        && (s[5] == 0xffff || (s[5] == 0 && !ip.is_loopback() && !ip.is_unspecified()))
    {
        return Some(tail);
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(tail);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Names of the test table, as a DNS server under an attacker's control could answer.
    struct FakeDns(HashMap<&'static str, Vec<IpAddr>>);

    impl Resolver for FakeDns {
        async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
            self.0
                .get(host)
                .cloned()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such host"))
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP")
    }

    fn dns() -> FakeDns {
        FakeDns(HashMap::from([
            ("localhost", vec![ip("127.0.0.1"), ip("::1")]),
            ("metadata.google.internal", vec![ip("169.254.169.254")]),
            ("internal.corp.example", vec![ip("10.20.30.40")]),
            (
                "rebind.example",
                vec![ip("93.184.216.34"), ip("192.168.0.10")],
            ),
            ("v6-private.example", vec![ip("fd12:3456::1")]),
            ("mapped.example", vec![ip("::ffff:10.0.0.1")]),
            ("localtest.me", vec![ip("127.0.0.1")]),
            ("empty.example", vec![]),
            (
                "example.com",
                vec![
                    ip("93.184.216.34"),
                    ip("2606:2800:220:1:248:1893:25c8:1946"),
                ],
            ),
            ("cdn.example.org", vec![ip("151.101.1.1")]),
        ]))
    }

    async fn verdict(url: &str, policy: &FetchPolicy) -> Result<Vec<SocketAddr>, Refusal> {
        let uri: Uri = url.parse().expect("a URI");
        check(&uri, policy, &dns()).await
    }

    #[tokio::test]
    async fn every_unsafe_url_of_the_table_is_refused() {
        let policy = FetchPolicy::with_insecure_hosts("insecure.example");
        let unsafe_urls = [
            // IPv4 private, loopback, link-local, special ranges.
            "https://127.0.0.1/a.png",
            "https://127.255.255.254/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://172.31.255.255/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://0.0.0.0/",
            "https://0.1.2.3/",
            "https://100.64.0.1/",
            "https://100.100.100.200/latest/meta-data/",
            "https://198.18.0.1/",
            "https://192.0.2.1/",
            "https://224.0.0.1/",
            "https://240.0.0.1/",
            "https://255.255.255.255/",
            // Legacy spellings of loopback and metadata.
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0177.0.0.1/",
            "https://0x7f.0.0.1/",
            "https://127.1/",
            "https://0/",
            "https://2852039166/",
            // IPv6 forms.
            "https://[::1]/",
            "https://[::]/",
            "https://[fe80::1]/",
            "https://[fc00::1]/",
            "https://[fd00:ec2::254]/",
            "https://[ff02::1]/",
            "https://[2001:db8::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://[::127.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:7f00:1::]/",
            "https://[2001::1]/",
            // Names resolving to private addresses, one private answer among public ones,
            // names that do not resolve.
            "https://localhost/",
            "https://localhost./",
            "https://LOCALHOST:8443/",
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://internal.corp.example/",
            "https://rebind.example/",
            "https://v6-private.example/",
            "https://mapped.example/",
            "https://localtest.me/",
            "https://nxdomain.example/",
            "https://empty.example/",
            // Schemes, plain http, credentials.
            "http://example.com/",
            "http://169.254.169.254/",
            "ftp://example.com/a.png",
            "file:///etc/passwd",
            "https://user:pass@example.com/",
            "https://example.com@127.0.0.1/",
            "http://insecure.example.evil.com/",
        ];
        assert!(unsafe_urls.len() >= 30);
        for url in unsafe_urls {
            let uri = url.parse::<Uri>();
            let refused = match uri {
                Ok(uri) => check(&uri, &policy, &dns()).await.is_err(),
                Err(_) => true,
            };
            assert!(refused, "{url} must be refused");
        }
    }

    #[tokio::test]
    async fn public_urls_pass_and_are_pinned_to_the_checked_addresses() {
        let policy = FetchPolicy::with_insecure_hosts("insecure.example, 8.8.4.4:8080");
        assert_eq!(
            verdict("https://example.com/cat.png", &policy).await,
            Ok(vec![
                "93.184.216.34:443".parse().expect("addr"),
                "[2606:2800:220:1:248:1893:25c8:1946]:443"
                    .parse()
                    .expect("addr"),
            ])
        );
        for url in [
            "https://8.8.8.8/",
            "https://[2001:4860:4860::8888]/",
            "https://[::ffff:8.8.8.8]/",
            "https://cdn.example.org:8443/img?x=1",
            "http://8.8.4.4:8080/a",
        ] {
            assert!(verdict(url, &policy).await.is_ok(), "{url}");
        }
        assert!(
            verdict("http://8.8.4.4/a", &policy).await.is_err(),
            "only port 8080"
        );
    }

    #[tokio::test]
    async fn each_redirect_hop_is_checked_like_a_first_request() {
        // The host never follows redirects; the guest's next request for a `Location`
        // goes through `check` again. These are typical hops an attacker's server sends.
        let policy = FetchPolicy::default();
        let first: Uri = "https://example.com/image.png".parse().expect("uri");
        for location in [
            "http://169.254.169.254/latest/meta-data/",
            "https://127.0.0.1/",
            "//10.0.0.1/x",
            "https://internal.corp.example/admin",
        ] {
            let hop = resolve_location(&first, location);
            assert!(verdict(&hop, &policy).await.is_err(), "{hop}");
        }
    }

    /// A `Location` against the URL that answered it (enough of RFC 3986 for the test).
    fn resolve_location(base: &Uri, location: &str) -> String {
        match location.strip_prefix("//") {
            Some(rest) => format!("{}://{rest}", base.scheme_str().unwrap_or("https")),
            None => location.to_owned(),
        }
    }

    #[test]
    fn legacy_ipv4_spellings_decode_like_inet_aton() {
        for (text, expected) in [
            ("2130706433", Some("127.0.0.1")),
            ("0x7f000001", Some("127.0.0.1")),
            ("0177.0.0.1", Some("127.0.0.1")),
            ("127.1", Some("127.0.0.1")),
            ("10.1.2", Some("10.1.0.2")),
            ("0x7f.1", Some("127.0.0.1")),
            ("256.1.1.1", None),
            ("1.2.3.4.5", None),
            ("example", None),
            ("08.1.1.1", None),
            ("4294967296", None),
        ] {
            assert_eq!(
                legacy_ipv4(text),
                expected.map(|e| e.parse().expect("ip")),
                "{text}"
            );
        }
    }
}
