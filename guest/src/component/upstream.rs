//! Calls to OpenRouter: the endpoint's URL, which headers, and what a failed call means as a
//! `GatewayError` (a non-2xx answer, a transport failure). Sending is `outgoing`'s.

use super::http_io::{BodyReader, header};
use super::outgoing::{self, Outgoing, SendError, Timeouts};
use super::wasi::http::types::{ErrorCode, IncomingResponse, Method};
use crate::errors::GatewayError;
use crate::settings::Settings;
use crate::url::HttpUrl;

/// The most we read of an error body: enough for any OpenRouter error message.
pub const ERROR_BODY_LIMIT: usize = 256 * 1024;

/// A successful (2xx) response from OpenRouter: its headers read, its body not yet.
pub struct UpstreamResponse {
    pub generation_id: Option<String>,
    pub body: BodyReader,
    // Dropped last: the body is a child of the response.
    _response: IncomingResponse,
}

/// Turns a non-2xx response into the error the client should see.
fn error_from(status: u16, retry_after: Option<&str>, body: BodyReader) -> GatewayError {
    // An HTTP-date Retry-After becomes seconds from now, the form clients receive.
    let retry_after = retry_after
        .and_then(|value| crate::retry::retry_after_secs(value, super::unix_now().0))
        .map(|seconds| seconds.to_string());
    let body = body.read_to_end(ERROR_BODY_LIMIT).unwrap_or_default();
    GatewayError::from_upstream_http(status, &body, retry_after.as_deref())
}

/// Sends one call to `endpoint` (`/responses` or `/chat/completions`); a non-2xx answer
/// comes back as the error it means. Retries are the caller's (`openrouter`).
pub fn post(
    settings: &Settings,
    endpoint: &str,
    body: &[u8],
    stream: bool,
    extra_headers: &[(&'static str, String)],
) -> Result<UpstreamResponse, GatewayError> {
    let api_key = settings
        .api_key
        .as_deref()
        .ok_or(GatewayError::MissingApiKey)?;
    let accept = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    let mut headers = vec![
        ("authorization", format!("Bearer {api_key}")),
        ("content-type", "application/json".to_owned()),
        ("content-length", body.len().to_string()),
        ("accept", accept.to_owned()),
    ];
    headers.extend(attribution_headers(settings));
    headers.extend(extra_headers.iter().cloned());
    send(settings, Method::Post, endpoint, &headers, body)
}

pub fn get_models(settings: &Settings) -> Result<UpstreamResponse, GatewayError> {
    let mut headers = vec![("accept", "application/json".to_owned())];
    // The public list needs no key, but a key is sent when known, as OpenRouter's own clients do.
    if let Some(key) = &settings.api_key {
        headers.push(("authorization", format!("Bearer {key}")));
    }
    headers.extend(attribution_headers(settings));
    send(settings, Method::Get, "/models", &headers, &[])
}

/// `GET /endpoints/zdr`: the endpoints that keep no data (`catalog::zdr`).
pub fn get_zdr_endpoints(settings: &Settings) -> Result<UpstreamResponse, GatewayError> {
    let mut headers = vec![("accept", "application/json".to_owned())];
    if let Some(key) = &settings.api_key {
        headers.push(("authorization", format!("Bearer {key}")));
    }
    headers.extend(attribution_headers(settings));
    send(settings, Method::Get, "/endpoints/zdr", &headers, &[])
}

fn attribution_headers(settings: &Settings) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    if let Some(referer) = &settings.http_referer {
        headers.push(("http-referer", referer.clone()));
    }
    if let Some(title) = &settings.app_title {
        headers.push(("x-openrouter-title", title.clone()));
    }
    headers
}

fn send(
    settings: &Settings,
    method: Method,
    endpoint: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<UpstreamResponse, GatewayError> {
    let base = &settings.base_url;
    let url = HttpUrl {
        https: base.https,
        authority: base.authority.clone(),
        path_with_query: base.endpoint(endpoint),
    };
    let deadlines = &settings.deadlines;
    let response = outgoing::send(Outgoing {
        method,
        url: &url,
        headers,
        body,
        timeouts: Timeouts {
            connect: deadlines.connect,
            first_byte: deadlines.first_byte,
            between_bytes: deadlines.idle,
        },
    })
    .map_err(|e| match e {
        SendError::Build(what) => {
            GatewayError::Internal(format!("building the upstream request: {what}"))
        }
        SendError::Transport(code) => transport_error(code),
    })?;
    let response_headers = response.headers();
    let retry_after = header(&response_headers, "retry-after");
    let generation_id = header(&response_headers, "x-generation-id");
    drop(response_headers);
    let status = response.status();
    let incoming = response
        .consume()
        .map_err(|()| GatewayError::Internal("upstream body taken twice".into()))?;
    let body = BodyReader::new(incoming)?;
    if !(200..300).contains(&status) {
        return Err(error_from(status, retry_after.as_deref(), body));
    }
    Ok(UpstreamResponse {
        generation_id,
        body,
        _response: response,
    })
}

/// Maps a `wasi:http` error code to what the client is told.
pub fn transport_error(code: Option<ErrorCode>) -> GatewayError {
    match code {
        Some(
            ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::ConnectionWriteTimeout
            | ErrorCode::HttpResponseTimeout
            | ErrorCode::DnsTimeout,
        ) => GatewayError::UpstreamTimeout("OpenRouter did not answer in time".into()),
        Some(ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited) => {
            GatewayError::Internal("the host's network policy refused the call to OpenRouter; check OPENROUTER_BASE_URL".into())
        }
        Some(ErrorCode::InternalError(Some(message))) => GatewayError::UpstreamConnection(message),
        Some(code) => GatewayError::UpstreamConnection(format!("{code:?}")),
        None => GatewayError::UpstreamConnection("the connection to OpenRouter failed".into()),
    }
}
