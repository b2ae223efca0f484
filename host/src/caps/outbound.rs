//! Outgoing HTTP for the guest (`wasi:http/outgoing-handler`), through the host's policy.
//!
//! wasmtime's default sender opens a new connection (and TLS handshake) per request; this
//! one keeps a pool of keep-alive connections with `TCP_NODELAY`, so SSE events are not
//! held back by Nagle's algorithm. Requests to an allowed origin (OpenRouter's base URL)
//! use that pool. Any other URL is a download of a user-supplied file (a remote image):
//! only `GET`, only when remote fetches are on (`ORPIPE_REMOTE_FETCH`), and only after the
//! SSRF guard (`ssrf`) approved the URL and every address it resolves to; the connection
//! then goes to exactly those addresses, with TLS still verified against the host name.
//! Requests to a configured MCP server's origin (`ORPIPE_MCP_SERVERS`) may use any
//! method, and pass the same guard: public addresses only, unless the operator marked
//! that server `internal` (then private and loopback addresses, and plain http, are
//! allowed for that one origin). Everything else is refused with `HttpRequestDenied`.
//!
//! Connecting (TCP and TLS handshake together) is bounded by the request's
//! `connect-timeout` option, or by `ORPIPE_UPSTREAM_CONNECT_TIMEOUT_SECS` when the guest
//! sets none. The timeout belongs to the connector, so each distinct value gets its own
//! pooled client; in practice there are one or two (OpenRouter's and downloads').

use super::read_ahead::read_ahead;
use super::ssrf::{self, FetchPolicy, SystemResolver};
use crate::mcp_servers::McpOrigin;
use crate::settings::Settings;
use anyhow::Context;
use bytes::Bytes;
use http::Uri;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// When neither the request nor `upstream_connect_timeout_secs` says otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(600);
const DEFAULT_BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(600);
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(90);

/// `scheme://host:port` that the guest may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(uri: &Uri) -> Option<Self> {
        let https = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let host = uri
            .host()?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Some(Self { https, host, port })
    }
}

type PooledClient = Client<Bounded<HttpsConnector<HttpConnector>>, WasiBody>;

pub struct Outbound {
    /// Keep-alive clients for the allowed origins, one per connect timeout in use.
    clients: std::sync::Mutex<std::collections::HashMap<Duration, PooledClient>>,
    /// The host's connect timeout, for requests that set none.
    connect_timeout: Duration,
    allowed: Vec<Origin>,
    /// The configured MCP servers' origins.
    mcp: Vec<McpOrigin>,
    /// `None` when remote fetches are off.
    fetch_policy: Option<FetchPolicy>,
}

/// The TCP connector every client uses: `TCP_NODELAY`; its time is bounded by [`Bounded`].
fn tcp_connector<R>(resolver: R) -> HttpConnector<R> {
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.set_nodelay(true);
    http.enforce_http(false);
    http
}

/// TLS over `http`, the whole of it (TCP connect and handshake) bounded by `timeout`.
fn tls<R>(http: HttpConnector<R>, timeout: Duration) -> Bounded<HttpsConnector<HttpConnector<R>>> {
    Bounded {
        inner: hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http),
        timeout,
    }
}

/// A connector whose every connection attempt (TCP, then TLS) must finish within
/// `timeout`, or fails with a `TimedOut` I/O error (reported as `connection-timeout`).
#[derive(Clone)]
struct Bounded<C> {
    inner: C,
    timeout: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<C> tower_service::Service<Uri> for Bounded<C>
where
    C: tower_service::Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connecting (TCP and TLS) took longer than {timeout:?}"),
                )) as BoxError),
            }
        })
    }
}

/// A resolver that answers every name with the addresses the SSRF guard approved, so the
/// connection cannot be steered elsewhere by a second DNS answer.
#[derive(Clone)]
struct Pinned(Vec<std::net::SocketAddr>);

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for Pinned {
    type Response = std::vec::IntoIter<std::net::SocketAddr>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        std::future::ready(Ok(self.0.clone().into_iter()))
    }
}

impl Outbound {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let base: Uri = settings.openrouter_base_url.parse().with_context(|| {
            format!(
                "OPENROUTER_BASE_URL {:?} is not a URL",
                settings.openrouter_base_url
            )
        })?;
        let origin = Origin::of(&base).with_context(|| {
            format!(
                "OPENROUTER_BASE_URL {:?} needs http(s)://host",
                settings.openrouter_base_url
            )
        })?;

        let connect_timeout = settings
            .guest_settings
            .get("upstream_connect_timeout_secs")
            .and_then(|secs| secs.trim().parse::<u64>().ok())
            .filter(|secs| *secs > 0)
            .map_or(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs);
        Ok(Self {
            clients: std::sync::Mutex::default(),
            connect_timeout,
            allowed: vec![origin],
            mcp: settings.mcp_servers.origins.clone(),
            fetch_policy: settings
                .remote_fetch
                .then(|| FetchPolicy::with_insecure_hosts(&settings.allow_insecure_http_hosts)),
        })
    }

    pub fn allowed_origins(&self) -> &[Origin] {
        &self.allowed
    }

    /// The pooled client whose connections are bounded by `connect_timeout`.
    fn pooled(&self, connect_timeout: Duration) -> PooledClient {
        // A poisoned lock only means another request panicked while inserting; the map
        // itself is still whole.
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        clients
            .entry(connect_timeout)
            .or_insert_with(|| {
                Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT)
                    .build(tls(
                        tcp_connector(hyper_util::client::legacy::connect::dns::GaiResolver::new()),
                        connect_timeout,
                    ))
            })
            .clone()
    }

    fn is_allowed(&self, uri: &Uri) -> bool {
        Origin::of(uri).is_some_and(|origin| self.allowed.contains(&origin))
    }

    /// The configured MCP server `uri` belongs to, if any.
    fn mcp_server(&self, uri: &Uri) -> Option<&McpOrigin> {
        let origin = Origin::of(uri)?;
        self.mcp.iter().find(|server| server.origin == origin)
    }

    async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, Error> {
        let pinned = if self.is_allowed(request.uri()) {
            None
        } else if let Some(server) = self.mcp_server(request.uri()) {
            Some(guard_mcp(request.uri(), server).await?)
        } else {
            Some(self.guard(request.uri(), request.method()).await?)
        };
        let first_byte = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(DEFAULT_FIRST_BYTE_TIMEOUT);
        let between_bytes = options
            .and_then(|o| o.between_bytes_timeout)
            .unwrap_or(DEFAULT_BETWEEN_BYTES_TIMEOUT);
        let connect = options
            .and_then(|o| o.connect_timeout)
            .filter(|timeout| !timeout.is_zero())
            .unwrap_or(self.connect_timeout);
        let sending = async {
            match pinned {
                None => self.pooled(connect).request(request).await,
                // A fresh connection per download: pooling would reuse a socket for a
                // later request whose addresses were never checked.
                Some(addrs) => {
                    Client::builder(TokioExecutor::new())
                        .pool_max_idle_per_host(0)
                        .build(tls(tcp_connector(Pinned(addrs)), connect))
                        .request(request)
                        .await
                }
            }
        };
        let response = match tokio::time::timeout(first_byte, sending).await {
            Err(_) => return Err(Error::ConnectionReadTimeout),
            Ok(Err(error)) => return Err(client_error(&error)),
            Ok(Ok(response)) => response,
        };
        Ok(response
            .map(|body| read_ahead(BetweenBytesTimeout::new(body, between_bytes)).boxed_unsync()))
    }

    /// The addresses a download may connect to, or why it is refused.
    async fn guard(
        &self,
        uri: &Uri,
        method: &http::Method,
    ) -> Result<Vec<std::net::SocketAddr>, Error> {
        let Some(policy) = &self.fetch_policy else {
            tracing::warn!(uri = %redacted(uri), "outgoing request refused: origin not allowed and remote fetches are off");
            return Err(Error::HttpRequestDenied);
        };
        if method != http::Method::GET {
            tracing::warn!(uri = %redacted(uri), method = %method, "outgoing request refused: only GET may leave for other origins");
            return Err(Error::HttpRequestDenied);
        }
        ssrf::check(uri, policy, &SystemResolver)
            .await
            .map_err(|refusal| {
                tracing::warn!(uri = %redacted(uri), reason = %refusal, "remote fetch refused");
                Error::HttpRequestDenied
            })
    }
}

/// The addresses an MCP server's request may connect to, or why it is refused.
async fn guard_mcp(uri: &Uri, server: &McpOrigin) -> Result<Vec<std::net::SocketAddr>, Error> {
    let policy = FetchPolicy::mcp_server(&server.origin, server.internal);
    ssrf::check(uri, &policy, &SystemResolver)
        .await
        .map_err(|refusal| {
            tracing::warn!(server = %server.name, uri = %redacted(uri), reason = %refusal, "request to an MCP server refused");
            Error::HttpRequestDenied
        })
}

/// Scheme, host and path of a URI, for logs: query strings may carry tokens.
fn redacted(uri: &Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("?"),
        uri.host().unwrap_or("?"),
        uri.path()
    )
}

/// The per-store hooks value: wasmtime-wasi-http calls `send_request` for every
/// `outgoing-handler.handle`.
pub struct OutboundHooks {
    pub outbound: std::sync::Arc<Outbound>,
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_io: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), Error>> + Send> {
        let outbound = self.outbound.clone();
        Box::new(async move {
            let response = outbound.send(request, options).await?;
            // The pool drives the connection; there is no per-request I/O task to report on.
            Ok((response, Box::new(async { Ok(()) }) as IoFuture))
        })
    }
}

/// Describes a client failure to the guest as precisely as `wasi:http` error codes allow.
fn client_error(error: &hyper_util::client::legacy::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut chain = Vec::new();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Error::ConnectionRefused,
                std::io::ErrorKind::TimedOut => return Error::ConnectionTimeout,
                _ => {}
            }
        }
        chain.push(err.to_string());
        source = err.source();
    }
    let message = chain.join(": ");
    tracing::warn!(error = %message, "outgoing request failed");
    if error.is_connect() && message.contains("dns error") {
        return Error::DnsError {
            rcode: Some(message),
            info_code: None,
        };
    }
    Error::InternalError(Some(message))
}

/// A response body that fails with `ConnectionReadTimeout` after `timeout` of silence.
struct BetweenBytesTimeout {
    body: Incoming,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl BetweenBytesTimeout {
    fn new(body: Incoming, timeout: Duration) -> Self {
        Self {
            body,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl Body for BetweenBytesTimeout {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + self.timeout;
                self.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Error::from(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbound(env: &[(&str, &str)]) -> Outbound {
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let settings = Settings::resolve(
            &crate::settings::Overrides::default(),
            |key| env.get(key).cloned(),
            &std::collections::BTreeMap::new(),
        )
        .expect("settings");
        Outbound::new(&settings).expect("outbound")
    }

    fn request(method: &str, url: &str) -> http::Request<WasiBody> {
        let body = http_body_util::Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync();
        http::Request::builder()
            .method(method)
            .uri(url)
            .body(body)
            .expect("request")
    }

    #[tokio::test]
    async fn downloads_from_private_addresses_never_connect() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // Even with plain http allowed for the host, loopback stays refused.
        let outbound = outbound(&[("ORPIPE_ALLOW_INSECURE_HTTP_HOSTS", "127.0.0.1, localhost")]);
        for url in [
            format!("http://127.0.0.1:{port}/cat.png"),
            format!("http://localhost:{port}/cat.png"),
            format!("https://[::ffff:127.0.0.1]:{port}/"),
        ] {
            let result = outbound.send(request("GET", &url), None).await;
            assert!(matches!(result, Err(Error::HttpRequestDenied)), "{url}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
    }

    #[tokio::test]
    async fn mcp_servers_reach_loopback_only_when_marked_internal() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let url = format!("https://127.0.0.1:{port}/mcp");
        let public = format!(r#"[{{"name":"a","url":"{url}"}}]"#);
        let outbound_public = outbound(&[("ORPIPE_MCP_SERVERS", public.as_str())]);
        let result = outbound_public.send(request("POST", &url), None).await;
        assert!(matches!(result, Err(Error::HttpRequestDenied)));
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");

        let url = format!("http://127.0.0.1:{port}/mcp");
        let internal = format!(r#"[{{"name":"a","url":"{url}","internal":true}}]"#);
        let outbound_internal =
            std::sync::Arc::new(outbound(&[("ORPIPE_MCP_SERVERS", internal.as_str())]));
        // Another port of the same host is not the configured origin.
        let other = format!("http://127.0.0.1:{}/mcp", port.wrapping_add(1));
        let result = outbound_internal.send(request("POST", &other), None).await;
        assert!(matches!(result, Err(Error::HttpRequestDenied)));
        let sender = outbound_internal.clone();
        let sending = tokio::spawn(async move { sender.send(request("POST", &url), None).await });
        let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
        assert!(
            matches!(accepted, Ok(Ok(_))),
            "the POST reached the internal server"
        );
        sending.abort();
    }

    #[tokio::test]
    async fn only_downloads_leave_for_other_origins_and_they_can_be_turned_off() {
        let on = outbound(&[]);
        let result = on
            .send(request("POST", "https://example.com/collect"), None)
            .await;
        assert!(matches!(result, Err(Error::HttpRequestDenied)));
        let off = outbound(&[("ORPIPE_REMOTE_FETCH", "off")]);
        let result = off
            .send(request("GET", "https://8.8.8.8/image.png"), None)
            .await;
        assert!(matches!(result, Err(Error::HttpRequestDenied)));
    }

    #[tokio::test]
    async fn the_request_connect_timeout_bounds_tcp_and_tls_together() {
        // Accepts, then never says a word of TLS.
        let (port, holder) = orpipe_testkit::mute::mute_listener()
            .await
            .expect("listener");
        let base = format!("https://127.0.0.1:{port}/api/v1");
        let outbound = outbound(&[("OPENROUTER_BASE_URL", base.as_str())]);
        let options = RequestOptions {
            connect_timeout: Some(Duration::from_millis(300)),
            first_byte_timeout: Some(Duration::from_secs(30)),
            between_bytes_timeout: None,
        };
        let started = std::time::Instant::now();
        let result = outbound
            .send(request("POST", &format!("{base}/responses")), Some(options))
            .await;
        assert!(
            matches!(result, Err(Error::ConnectionTimeout)),
            "{:?}",
            result.err()
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        holder.abort();
    }

    #[test]
    fn origins_compare_scheme_host_and_effective_port() {
        let base =
            Origin::of(&"https://openrouter.ai/api/v1".parse().expect("uri")).expect("origin");
        let same = Origin::of(
            &"https://OpenRouter.ai:443/api/v1/responses"
                .parse()
                .expect("uri"),
        );
        assert_eq!(same.as_ref(), Some(&base));
        for other in [
            "http://openrouter.ai/api/v1",
            "https://openrouter.ai:8443/",
            "https://evil.example/",
        ] {
            assert_ne!(
                Origin::of(&other.parse().expect("uri")).as_ref(),
                Some(&base),
                "{other}"
            );
        }
        assert_eq!(Origin::of(&"/relative".parse().expect("uri")), None);
    }
}
