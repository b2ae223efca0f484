//! Small HTTP and JSON-RPC helpers of the mock MCP server.

use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::Value;

use crate::mock::script::ScriptBody;

pub(super) fn json_response(status: StatusCode, message: &Value) -> Response<ScriptBody> {
    let mut response = Response::new(ScriptBody::full(message.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(super) fn plain(status: StatusCode, text: &'static str) -> Response<ScriptBody> {
    let mut response = Response::new(ScriptBody::full(text));
    *response.status_mut() = status;
    response
}

/// A JSON-RPC body's `method` (`""` without one).
pub(super) fn method_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|message| message.get("method")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(super) fn header_of(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
