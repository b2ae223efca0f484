//! Calls to OpenRouter through `wasi:http/outgoing-handler`. The host decides how the
//! connection is made (pooling, allow-list); this module only shapes requests and maps
//! transport failures to `GatewayError`.

use super::http_io::{BodyReader, header};
use super::wasi::http::outgoing_handler;
use super::wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest, RequestOptions,
    Scheme,
};
use crate::errors::GatewayError;
use crate::settings::Settings;

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

/// Sends one `/responses` call; a non-2xx answer comes back as the error it means.
/// Retries are the caller's (`openrouter`).
pub fn post_responses(
    settings: &Settings,
    body: &[u8],
    stream: bool,
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
        ("authorization".to_owned(), format!("Bearer {api_key}")),
        ("content-type".to_owned(), "application/json".to_owned()),
        ("content-length".to_owned(), body.len().to_string()),
        ("accept".to_owned(), accept.to_owned()),
    ];
    headers.extend(attribution_headers(settings));
    send(settings, Method::Post, "/responses", headers, body)
}

pub fn get_models(settings: &Settings) -> Result<UpstreamResponse, GatewayError> {
    let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
    // The public list needs no key, but a key is sent when known, as OpenRouter's own clients do.
    if let Some(key) = &settings.api_key {
        headers.push(("authorization".to_owned(), format!("Bearer {key}")));
    }
    headers.extend(attribution_headers(settings));
    send(settings, Method::Get, "/models", headers, &[])
}

fn attribution_headers(settings: &Settings) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    if let Some(referer) = &settings.http_referer {
        headers.push(("http-referer".to_owned(), referer.clone()));
    }
    if let Some(title) = &settings.app_title {
        headers.push(("x-openrouter-title".to_owned(), title.clone()));
    }
    headers
}

fn send(
    settings: &Settings,
    method: Method,
    endpoint: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<UpstreamResponse, GatewayError> {
    let internal =
        |what: &str| GatewayError::Internal(format!("building the upstream request: {what}"));
    let list: Vec<(String, Vec<u8>)> = headers
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    let fields = Fields::from_list(&list).map_err(|e| internal(&format!("headers: {e:?}")))?;
    let request = OutgoingRequest::new(fields);
    let base = &settings.base_url;
    let scheme = if base.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    request
        .set_method(&method)
        .map_err(|()| internal("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| internal("scheme"))?;
    request
        .set_authority(Some(&base.authority))
        .map_err(|()| internal("authority"))?;
    request
        .set_path_with_query(Some(&base.endpoint(endpoint)))
        .map_err(|()| internal("path"))?;
    let outgoing_body = request.body().map_err(|()| internal("body"))?;

    let options = RequestOptions::new();
    // Hosts may not support every timeout; an unsupported one is simply not applied.
    let deadlines = &settings.deadlines;
    let _ = options.set_connect_timeout(Some(super::nanos(deadlines.connect)));
    let _ = options.set_first_byte_timeout(Some(super::nanos(deadlines.first_byte)));
    let _ = options.set_between_bytes_timeout(Some(super::nanos(deadlines.idle)));

    // An empty body is finished before `handle` so the host sees a complete request;
    // a non-empty one is written after, because the host only drains it once sending.
    let pending_body = if body.is_empty() {
        OutgoingBody::finish(outgoing_body, None).map_err(|e| transport_error(Some(e)))?;
        None
    } else {
        Some(outgoing_body)
    };
    let future =
        outgoing_handler::handle(request, Some(options)).map_err(|e| transport_error(Some(e)))?;
    if let Some(outgoing_body) = pending_body {
        write_body(outgoing_body, body)?;
    }

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(transport_error(Some(code))),
        Some(Err(())) | None => {
            return Err(GatewayError::Internal(
                "upstream response taken twice".into(),
            ));
        }
    };
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

fn write_body(outgoing_body: OutgoingBody, body: &[u8]) -> Result<(), GatewayError> {
    let stream = outgoing_body
        .write()
        .map_err(|()| GatewayError::Internal("upstream request stream taken twice".into()))?;
    for piece in body.chunks(4096) {
        if let Err(e) = stream.blocking_write_and_flush(piece) {
            drop(stream);
            let code = match e {
                super::wasi::io::streams::StreamError::LastOperationFailed(err) => {
                    super::wasi::http::types::http_error_code(&err)
                }
                super::wasi::io::streams::StreamError::Closed => None,
            };
            return Err(transport_error(code));
        }
    }
    drop(stream);
    OutgoingBody::finish(outgoing_body, None).map_err(|e| transport_error(Some(e)))
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
