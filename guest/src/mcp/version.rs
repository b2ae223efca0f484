//! Which MCP protocol revision a server is spoken to in, and how that is agreed.
//!
//! Two eras (the spec's words): *legacy* revisions open a session with the `initialize`
//! handshake (2025-06-18, 2025-11-25); the *modern* revision 2026-07-28 has no handshake
//! and no session, and every request names its revision (`_meta` and the
//! `MCP-Protocol-Version` header). A client of both eras asks `server/discover` under the
//! modern revision first: a modern server answers it (or refuses the revision with
//! `UnsupportedProtocolVersionError` listing the ones it speaks); a legacy server answers
//! with an HTTP error or "method not found", and the client falls back to `initialize`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const V2025_06_18: &str = "2025-06-18";
pub const V2025_11_25: &str = "2025-11-25";
pub const V2026_07_28: &str = "2026-07-28";

/// Every revision orpipe speaks, newest first.
pub const SUPPORTED: &[&str] = &[V2026_07_28, V2025_11_25, V2025_06_18];
/// The revisions without handshake, newest first.
const MODERN: &[&str] = &[V2026_07_28];

/// The JSON-RPC error code of `UnsupportedProtocolVersionError` (2026-07-28).
pub const UNSUPPORTED_VERSION_CODE: i64 = -32022;

pub fn is_supported(version: &str) -> bool {
    SUPPORTED.contains(&version)
}

pub fn is_modern(version: &str) -> bool {
    MODERN.contains(&version)
}

/// What was agreed with a server; cached so later requests skip the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "era", rename_all = "snake_case")]
pub enum Negotiated {
    /// Stateless: every request carries `version`.
    Modern { version: String },
    /// After `initialize`: requests carry `version` and the session the server gave, if any.
    Legacy {
        version: String,
        session_id: Option<String>,
    },
}

impl Negotiated {
    pub fn version(&self) -> &str {
        match self {
            Self::Modern { version } | Self::Legacy { version, .. } => version,
        }
    }
}

/// How the `server/discover` probe came back.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscoverAnswer {
    /// A JSON-RPC result (`supportedVersions`, `capabilities`, …).
    Result(Value),
    /// A JSON-RPC error.
    Error { code: i64, data: Option<Value> },
    /// An HTTP error without a JSON-RPC answer (a legacy server refusing the header).
    HttpStatus(u16),
}

/// The next step after the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterDiscover {
    /// Speak this modern revision; no handshake.
    Modern(String),
    /// The server is legacy (or speaks no modern revision we know): `initialize`.
    Initialize,
}

/// Decides the era from the probe. Only a server that names a modern revision we speak
/// is spoken to statelessly; anything else gets the handshake, which fails clearly if the
/// server is not an MCP server at all.
pub fn after_discover(answer: &DiscoverAnswer) -> AfterDiscover {
    let offered = match answer {
        DiscoverAnswer::Result(result) => result.get("supportedVersions"),
        DiscoverAnswer::Error {
            code: UNSUPPORTED_VERSION_CODE,
            data: Some(data),
        } => data.get("supported"),
        DiscoverAnswer::Error { .. } | DiscoverAnswer::HttpStatus(_) => None,
    };
    let offered: Vec<&str> = offered
        .and_then(Value::as_array)
        .map(|versions| versions.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    MODERN
        .iter()
        .find(|ours| offered.contains(ours))
        .map_or(AfterDiscover::Initialize, |v| {
            AfterDiscover::Modern((*v).to_owned())
        })
}

/// The revision to ask for in `initialize`: the pinned one, else our newest legacy one.
pub fn initialize_request_version(pinned: Option<&str>) -> &str {
    pinned.filter(|v| !is_modern(v)).unwrap_or(V2025_11_25)
}

/// Checks the revision a server answered `initialize` with. The server may answer an
/// older one; the client continues only if it speaks it (and, when pinned, only with it).
pub fn accept_initialize(pinned: Option<&str>, result: &Value) -> Result<String, String> {
    let answered = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or("the initialize result names no protocolVersion")?;
    let acceptable = match pinned {
        Some(pinned) => answered == pinned,
        None => is_supported(answered) && !is_modern(answered),
    };
    if acceptable {
        Ok(answered.to_owned())
    } else {
        Err(format!(
            "the server speaks MCP {answered}, which orpipe does not ({})",
            pinned.map_or_else(|| SUPPORTED.join(", "), str::to_owned)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_modern_server_is_spoken_to_without_handshake() {
        let answer = DiscoverAnswer::Result(json!({
            "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}
        }));
        assert_eq!(
            after_discover(&answer),
            AfterDiscover::Modern(V2026_07_28.into())
        );
    }

    #[test]
    fn an_unsupported_version_error_listing_a_modern_revision_is_followed() {
        let answer = DiscoverAnswer::Error {
            code: UNSUPPORTED_VERSION_CODE,
            data: Some(json!({"supported": ["2026-07-28", "2027-01-01"], "requested": "x"})),
        };
        assert_eq!(
            after_discover(&answer),
            AfterDiscover::Modern(V2026_07_28.into())
        );
    }

    #[test]
    fn legacy_servers_and_unknown_revisions_get_the_handshake() {
        for answer in [
            DiscoverAnswer::HttpStatus(400),
            DiscoverAnswer::HttpStatus(404),
            DiscoverAnswer::Error {
                code: -32601,
                data: None,
            },
            DiscoverAnswer::Error {
                code: UNSUPPORTED_VERSION_CODE,
                data: Some(json!({"supported": ["2027-01-01"]})),
            },
            DiscoverAnswer::Result(json!({"supportedVersions": "2026-07-28"})),
        ] {
            assert_eq!(
                after_discover(&answer),
                AfterDiscover::Initialize,
                "{answer:?}"
            );
        }
    }

    #[test]
    fn initialize_asks_for_the_newest_legacy_revision_or_the_pinned_one() {
        assert_eq!(initialize_request_version(None), V2025_11_25);
        assert_eq!(initialize_request_version(Some(V2025_06_18)), V2025_06_18);
    }

    #[test]
    fn the_initialize_answer_is_accepted_only_in_a_revision_we_speak() {
        let answered = |v: &str| json!({"protocolVersion": v, "capabilities": {}});
        assert_eq!(
            accept_initialize(None, &answered(V2025_06_18)),
            Ok(V2025_06_18.into())
        );
        assert_eq!(
            accept_initialize(None, &answered(V2025_11_25)),
            Ok(V2025_11_25.into())
        );
        assert!(accept_initialize(None, &answered("2024-11-05")).is_err());
        // A modern revision has no handshake: naming it in `initialize` is a broken server.
        assert!(accept_initialize(None, &answered(V2026_07_28)).is_err());
        // Pinned: nothing else is accepted.
        assert!(accept_initialize(Some(V2025_06_18), &answered(V2025_11_25)).is_err());
        assert!(accept_initialize(None, &json!({})).is_err());
    }
}
