//! Downloads of remote media through `wasi:http`, for `intake`: redirects followed (each
//! hop checked again by the host), retries with back-off, a size cap, and every failure
//! explained in one line the client can act on.

use super::http_io::{BodyReader, header};
use super::outgoing::{self, Outgoing, SendError, Timeouts};
use super::wasi::http::types::{ErrorCode, IncomingResponse, Method};
use super::wasi::random::random;
use crate::errors::GatewayError;
use crate::intake;
use crate::retry::{Decision, RetryPolicy, decide};
use crate::url::HttpUrl;
use std::time::Duration;

pub struct Downloaded {
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Fetches `url`, at most `max_bytes` of body. Transient failures are retried with the
/// same policy as calls to OpenRouter (`crate::retry`).
pub fn download(url: &str, max_bytes: usize) -> Result<Downloaded, String> {
    let policy = RetryPolicy::default();
    let mut target = HttpUrl::parse(url).ok_or("the URL is not an http(s) URL")?;
    let mut redirects = 0;
    let mut attempts = 0;
    let mut waited = Duration::ZERO;
    loop {
        attempts += 1;
        let response = match get(&target) {
            Ok(response) => response,
            Err(failure) if failure.refused => return Err(failure.text),
            Err(failure) => {
                let error = GatewayError::UpstreamConnection(failure.text.clone());
                match decide(&policy, &error, attempts, waited, random::get_random_u64()) {
                    Decision::RetryAfter(wait) => {
                        super::sleep(wait);
                        waited += wait;
                        continue;
                    }
                    Decision::GiveUp(_) => return Err(failure.text),
                }
            }
        };
        let status = response.status();
        let headers = response.headers();
        let location = header(&headers, "location");
        let retry_after = header(&headers, "retry-after");
        let content_type = header(&headers, "content-type");
        let length = header(&headers, "content-length").and_then(|l| l.parse::<usize>().ok());
        drop(headers);
        match status {
            200 => {
                if length.is_some_and(|l| l > max_bytes) {
                    return Err(too_large(max_bytes));
                }
                let incoming = response
                    .consume()
                    .map_err(|()| "the response body was taken twice".to_owned())?;
                let bytes = BodyReader::new(incoming)
                    .and_then(|body| body.read_to_end(max_bytes))
                    .map_err(|e| match e {
                        GatewayError::PayloadTooLarge(_) => too_large(max_bytes),
                        other => other.to_string(),
                    })?;
                return Ok(Downloaded {
                    content_type,
                    bytes,
                });
            }
            301 | 302 | 303 | 307 | 308 => {
                redirects += 1;
                if redirects > intake::MAX_REDIRECTS {
                    return Err(format!("more than {} redirects", intake::MAX_REDIRECTS));
                }
                target = location
                    .as_deref()
                    .and_then(|l| target.follow(l))
                    .ok_or("a redirect without a usable Location")?;
            }
            status => {
                let error = GatewayError::from_upstream_http(status, &[], retry_after.as_deref());
                match decide(&policy, &error, attempts, waited, random::get_random_u64()) {
                    Decision::RetryAfter(wait) => {
                        super::sleep(wait);
                        waited += wait;
                    }
                    Decision::GiveUp(_) => {
                        return Err(format!("the server answered HTTP {status}"));
                    }
                }
            }
        }
    }
}

fn too_large(max_bytes: usize) -> String {
    format!("the file is larger than {} MB", max_bytes / (1024 * 1024))
}

struct Failure {
    text: String,
    /// The host's policy refused it: trying again cannot help.
    refused: bool,
}

/// Remote media: any content type, and timeouts for a file server rather than a model.
fn get(target: &HttpUrl) -> Result<IncomingResponse, Failure> {
    outgoing::send(Outgoing {
        method: Method::Get,
        url: target,
        headers: &[("accept", "*/*".to_owned())],
        body: &[],
        timeouts: Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(30),
            between_bytes: Duration::from_secs(30),
        },
    })
    .map_err(|e| match e {
        SendError::Build(what) => Failure {
            text: format!("building the request failed ({what})"),
            refused: true,
        },
        SendError::Transport(code) => failure(code),
    })
}

fn failure(code: Option<ErrorCode>) -> Failure {
    match code {
        Some(ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited) => Failure {
            text: "the address is not allowed (only public https addresses are fetched)".into(),
            refused: true,
        },
        Some(code) => Failure {
            text: format!("the download failed ({code:?})"),
            refused: false,
        },
        None => Failure {
            text: "the download failed".into(),
            refused: false,
        },
    }
}

/// Downloads every audio part given as a URL, at most `max_bytes` each, and puts the
/// audio inline (`intake`).
pub fn inline_remote_audio(
    request: &mut serde_json::Map<String, serde_json::Value>,
    max_bytes: usize,
) -> Result<(), GatewayError> {
    use base64::Engine as _;
    let Some(serde_json::Value::Array(messages)) = request.get_mut("messages") else {
        return Ok(());
    };
    let remote = intake::remote_audio_parts(messages);
    if remote.len() > intake::MAX_REMOTE_PARTS {
        return Err(GatewayError::InvalidRequest(format!(
            "at most {} audio URLs are fetched per request; send the audio inline as base64",
            intake::MAX_REMOTE_PARTS
        )));
    }
    for at in &remote {
        let place = format!("messages[{}].content[{}]", at.message, at.part);
        let downloaded = download(&at.url, max_bytes).map_err(|why| {
            GatewayError::InvalidRequest(format!(
                "{place}: the audio URL could not be fetched: {why}"
            ))
        })?;
        let format = intake::audio_format(downloaded.content_type.as_deref(), &downloaded.bytes)
            .ok_or_else(|| {
                GatewayError::InvalidRequest(format!(
                    "{place}: the file at the audio URL is not mp3 or wav audio"
                ))
            })?;
        let data = base64::engine::general_purpose::STANDARD.encode(&downloaded.bytes);
        intake::inline_audio(messages, at, data, format);
    }
    Ok(())
}
