//! One MCP request as HTTP: the JSON-RPC body and the headers its revision requires.
//!
//! Legacy revisions: `MCP-Protocol-Version` on every request after `initialize`, and the
//! session id the server gave (`Mcp-Session-Id`). The modern revision (2026-07-28): the
//! revision, the client's capabilities and identity in the request's `_meta`, the same
//! revision in `MCP-Protocol-Version`, and the method (`Mcp-Method`) and tool name
//! (`Mcp-Name`) mirrored in headers so gateways can route without reading the body.

use super::jsonrpc;
use super::version::Negotiated;
use base64::Engine as _;
use serde_json::{Value, json};

pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";
pub const SESSION_HEADER: &str = "mcp-session-id";
const METHOD_HEADER: &str = "mcp-method";
const NAME_HEADER: &str = "mcp-name";

/// How the client names itself to servers.
pub fn client_info() -> Value {
    json!({"name": "orpipe", "version": env!("CARGO_PKG_VERSION")})
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// The request the protocol is in once negotiated (or, with `None`, the legacy
/// `initialize` itself, which carries no revision header).
pub fn request(
    negotiated: Option<&Negotiated>,
    id: u64,
    method: &str,
    mut params: Value,
) -> Envelope {
    let mut headers = Vec::new();
    match negotiated {
        None => {}
        Some(Negotiated::Legacy {
            version,
            session_id,
        }) => {
            headers.push((PROTOCOL_VERSION_HEADER, version.clone()));
            if let Some(session) = session_id {
                headers.push((SESSION_HEADER, session.clone()));
            }
        }
        Some(Negotiated::Modern { version }) => {
            headers.push((PROTOCOL_VERSION_HEADER, version.clone()));
            headers.push((METHOD_HEADER, method.to_owned()));
            if let Some(name) = named(method, &params) {
                headers.push((NAME_HEADER, header_safe(&name)));
            }
            if let Some(object) = params.as_object_mut() {
                let meta = object.entry("_meta").or_insert_with(|| json!({}));
                if let Some(meta) = meta.as_object_mut() {
                    meta.insert(
                        "io.modelcontextprotocol/protocolVersion".into(),
                        json!(version),
                    );
                    meta.insert(
                        "io.modelcontextprotocol/clientCapabilities".into(),
                        json!({}),
                    );
                    meta.insert("io.modelcontextprotocol/clientInfo".into(), client_info());
                }
            }
        }
    }
    Envelope {
        body: jsonrpc::request(id, method, &params),
        headers,
    }
}

/// The legacy `notifications/initialized`, sent once after `initialize`.
pub fn initialized(negotiated: &Negotiated) -> Envelope {
    let mut envelope = request(Some(negotiated), 0, "", json!({}));
    envelope.body = jsonrpc::notification("notifications/initialized", &json!({}));
    envelope
}

/// The parameter `Mcp-Name` mirrors, for the methods that name something.
fn named(method: &str, params: &Value) -> Option<String> {
    let key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return None,
    };
    params.get(key)?.as_str().map(str::to_owned)
}

/// Header values are visible ASCII; anything else is sent as `=?base64?…?=`, the form
/// the transport defines for such names.
fn header_safe(value: &str) -> String {
    if value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        value.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(envelope: &'a Envelope, name: &str) -> Option<&'a str> {
        envelope
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn body(envelope: &Envelope) -> Value {
        serde_json::from_slice(&envelope.body).expect("json")
    }

    #[test]
    fn modern_requests_carry_the_revision_in_meta_and_headers() {
        let modern = Negotiated::Modern {
            version: "2026-07-28".into(),
        };
        let envelope = request(
            Some(&modern),
            5,
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1}}),
        );
        assert_eq!(
            header(&envelope, "mcp-protocol-version"),
            Some("2026-07-28")
        );
        assert_eq!(header(&envelope, "mcp-method"), Some("tools/call"));
        assert_eq!(header(&envelope, "mcp-name"), Some("add"));
        assert_eq!(header(&envelope, "mcp-session-id"), None);
        let body = body(&envelope);
        assert_eq!(
            body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        assert_eq!(body["params"]["arguments"], json!({"a": 1}));
        assert_eq!(body["id"], 5);
    }

    #[test]
    fn legacy_requests_carry_the_revision_and_session_only() {
        let legacy = Negotiated::Legacy {
            version: "2025-06-18".into(),
            session_id: Some("abc".into()),
        };
        let envelope = request(Some(&legacy), 2, "tools/list", json!({}));
        assert_eq!(
            header(&envelope, "mcp-protocol-version"),
            Some("2025-06-18")
        );
        assert_eq!(header(&envelope, "mcp-session-id"), Some("abc"));
        assert_eq!(header(&envelope, "mcp-method"), None);
        assert_eq!(body(&envelope)["params"], json!({}));
        let first = request(None, 1, "initialize", json!({}));
        assert!(first.headers.is_empty());
        let note = initialized(&legacy);
        assert_eq!(body(&note)["method"], "notifications/initialized");
        assert_eq!(header(&note, "mcp-session-id"), Some("abc"));
    }

    #[test]
    fn names_outside_visible_ascii_are_base64_encoded() {
        assert_eq!(header_safe("add"), "add");
        assert_eq!(header_safe("grüße"), "=?base64?Z3LDvMOfZQ==?=");
    }
}
