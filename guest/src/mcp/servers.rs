//! The MCP servers the operator configured (`ORPIPE_MCP_SERVERS`, a JSON array; the host
//! validates it and hands it to the guest as the `mcp_servers` key). A server's bearer
//! token is a secret: `Debug` never prints it, and only the client of that server sends it.

use crate::url::HttpUrl;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// When a server entry names no timeout.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// The longest timeout an entry may ask for.
pub const MAX_TIMEOUT_SECS: u64 = 600;
/// Server names become part of function names (`names`), which are at most 64 characters.
pub const MAX_NAME_LEN: usize = 32;

#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServer {
    /// Letters, digits, `_` and `-`; unique. Prefixes its tools' function names.
    pub name: String,
    /// The Streamable HTTP endpoint, e.g. `https://tools.example.com/mcp`.
    pub url: String,
    /// Sent as `Authorization: Bearer …` to this server only.
    #[serde(default)]
    pub token: Option<String>,
    /// The tools to offer (by their MCP name); absent: all of them.
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    /// Bounds every exchange with the server, a tool call included.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The server is on a private or loopback address on purpose: the host's SSRF guard
    /// lets this one origin reach such addresses (and plain http).
    #[serde(default)]
    pub internal: bool,
    /// Speak only this protocol revision instead of negotiating.
    #[serde(default)]
    pub protocol_version: Option<String>,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tools", &self.tools)
            .field("timeout_secs", &self.timeout_secs)
            .field("internal", &self.internal)
            .field("protocol_version", &self.protocol_version)
            .finish()
    }
}

impl McpServer {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Whether the operator lets the model see `tool`.
    pub fn exposes(&self, tool: &str) -> bool {
        self.tools
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|name| name == tool))
    }

    /// What the cached state of this server depends on: a changed URL or pinned version
    /// makes the cache stale at once. Holds no secret.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}|{}",
            self.url,
            self.protocol_version.as_deref().unwrap_or("")
        )
    }
}

/// Parses and checks the server list; an empty or absent value means no servers.
pub fn parse(json: Option<&str>) -> Result<Vec<McpServer>, String> {
    let Some(json) = json.map(str::trim).filter(|j| !j.is_empty()) else {
        return Ok(Vec::new());
    };
    let servers: Vec<McpServer> =
        serde_json::from_str(json).map_err(|e| format!("mcp_servers is not valid: {e}"))?;
    let mut names = BTreeSet::new();
    for server in &servers {
        check(server)?;
        if !names.insert(server.name.as_str()) {
            return Err(format!(
                "mcp_servers: the name {:?} is used twice",
                server.name
            ));
        }
    }
    Ok(servers)
}

fn check(server: &McpServer) -> Result<(), String> {
    let name = &server.name;
    let valid_name = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        return Err(format!(
            "mcp_servers: the name {name:?} must be 1 to {MAX_NAME_LEN} letters, digits, `_` or `-`"
        ));
    }
    let url = HttpUrl::parse(&server.url)
        .ok_or_else(|| format!("mcp_servers[{name}]: the url is not an http(s) URL"))?;
    if !url.https && !server.internal {
        return Err(format!(
            "mcp_servers[{name}]: plain http is only allowed for a server marked internal"
        ));
    }
    if !(1..=MAX_TIMEOUT_SECS).contains(&server.timeout_secs) {
        return Err(format!(
            "mcp_servers[{name}]: timeout_secs must be between 1 and {MAX_TIMEOUT_SECS}"
        ));
    }
    if let Some(version) = &server.protocol_version
        && !crate::mcp::version::is_supported(version)
    {
        return Err(format!(
            "mcp_servers[{name}]: protocol_version {version:?} is not one orpipe speaks ({})",
            crate::mcp::version::SUPPORTED.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_entry_and_the_defaults_are_read() {
        let servers = parse(Some(
            r#"[{"name":"calc","url":"https://mcp.example.com/mcp","token":"s3cret",
                 "tools":["add"],"timeout_secs":5,"protocol_version":"2025-06-18"},
                {"name":"local-kb","url":"http://10.0.0.7:8000/mcp","internal":true}]"#,
        ))
        .expect("valid");
        assert_eq!(servers.len(), 2);
        assert!(servers[0].exposes("add") && !servers[0].exposes("echo"));
        assert_eq!(servers[0].timeout(), Duration::from_secs(5));
        assert!(servers[1].exposes("anything"));
        assert_eq!(servers[1].timeout_secs, DEFAULT_TIMEOUT_SECS);
        assert_eq!(parse(None), Ok(Vec::new()));
        assert_eq!(parse(Some("  ")), Ok(Vec::new()));
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let servers = parse(Some(
            r#"[{"name":"a","url":"https://a.example/mcp","token":"s3cret"}]"#,
        ))
        .expect("valid");
        let shown = format!("{servers:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        for (json, reason) in [
            (r#"[{"name":"a b","url":"https://a.example/"}]"#, "name"),
            (r#"[{"name":"a","url":"ftp://a.example/"}]"#, "url"),
            (r#"[{"name":"a","url":"http://a.example/"}]"#, "plain http"),
            (
                r#"[{"name":"a","url":"https://a.example/","timeout_secs":0}]"#,
                "timeout_secs",
            ),
            (
                r#"[{"name":"a","url":"https://a.example/","protocol_version":"2024-11-05"}]"#,
                "protocol_version",
            ),
            (
                r#"[{"name":"a","url":"https://a.example/"},{"name":"a","url":"https://b.example/"}]"#,
                "twice",
            ),
            (
                r#"[{"name":"a","url":"https://a.example/","tokn":"x"}]"#,
                "unknown field",
            ),
            (r#"{"name":"a"}"#, "not valid"),
        ] {
            let error = parse(Some(json)).expect_err(json);
            assert!(error.contains(reason), "{json}: {error}");
        }
    }
}
