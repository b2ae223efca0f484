//! `ORPIPE_MCP_SERVERS`: the MCP servers the operator lets the guest reach, as far as the
//! host must know them. Their origins join the outgoing allow-list (`caps::outbound`),
//! which the guest cannot widen, and `internal` decides whether the SSRF guard lets an
//! origin reach private and loopback addresses. The guest reads the whole list (tools,
//! token, timeout, pinned revision) from `wasi:config` key `mcp_servers` and checks the
//! rest of each entry itself (docs/mcp.md).

use crate::caps::outbound::Origin;
use anyhow::{Context, bail};
use http::Uri;
use serde::Deserialize;

/// The fields the host enforces; the guest owns the others.
#[derive(Deserialize)]
struct Entry {
    name: String,
    url: String,
    #[serde(default)]
    internal: bool,
}

/// One server's origin and whether it may be on a private address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpOrigin {
    pub name: String,
    pub origin: Origin,
    pub internal: bool,
}

/// The list as configured (for the guest) and the origins it opens (for the host).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct McpServers {
    /// The JSON as given; it holds bearer tokens, so `Debug` never shows it.
    pub json: Option<String>,
    pub origins: Vec<McpOrigin>,
}

impl std::fmt::Debug for McpServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServers")
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl McpServers {
    pub fn parse(json: Option<String>) -> anyhow::Result<Self> {
        let Some(json) = json else {
            return Ok(Self::default());
        };
        // serde's message names the position, never a value, so no token leaks into it.
        let entries: Vec<Entry> = serde_json::from_str(&json)
            .context("ORPIPE_MCP_SERVERS must be a JSON array of {name, url, …} objects")?;
        let mut origins = Vec::with_capacity(entries.len());
        for entry in entries {
            let uri: Uri = entry.url.parse().ok().with_context(|| {
                format!("ORPIPE_MCP_SERVERS[{}]: the url is not a URL", entry.name)
            })?;
            let origin = Origin::of(&uri).with_context(|| {
                format!(
                    "ORPIPE_MCP_SERVERS[{}]: the url needs http(s)://host",
                    entry.name
                )
            })?;
            if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
                bail!(
                    "ORPIPE_MCP_SERVERS[{}]: credentials in the url are not allowed; use `token`",
                    entry.name
                );
            }
            if !origin.https && !entry.internal {
                bail!(
                    "ORPIPE_MCP_SERVERS[{}]: plain http is only allowed for a server marked \"internal\": true",
                    entry.name
                );
            }
            // The guard is chosen per origin: two entries on one origin must agree.
            if origins
                .iter()
                .any(|o: &McpOrigin| o.origin == origin && o.internal != entry.internal)
            {
                bail!(
                    "ORPIPE_MCP_SERVERS[{}]: another entry on the same origin differs in \"internal\"",
                    entry.name
                );
            }
            origins.push(McpOrigin {
                name: entry.name,
                origin,
                internal: entry.internal,
            });
        }
        Ok(Self {
            json: Some(json),
            origins,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_the_internal_flag_are_read_and_the_json_kept_for_the_guest() {
        let json = r#"[{"name":"a","url":"https://mcp.example.com/mcp","token":"s3cret"},
                       {"name":"b","url":"http://127.0.0.1:9000/mcp","internal":true}]"#;
        let servers = McpServers::parse(Some(json.to_owned())).expect("valid");
        assert_eq!(servers.origins.len(), 2);
        assert_eq!(servers.origins[0].origin.host, "mcp.example.com");
        assert_eq!(servers.origins[0].origin.port, 443);
        assert!(!servers.origins[0].internal);
        assert!(servers.origins[1].internal && !servers.origins[1].origin.https);
        assert_eq!(servers.json.as_deref(), Some(json));
        assert!(!format!("{servers:?}").contains("s3cret"));
    }

    #[test]
    fn plain_http_credentials_and_bad_urls_stop_start_up() {
        for json in [
            r#"[{"name":"a","url":"http://mcp.example.com/mcp"}]"#,
            r#"[{"name":"a","url":"https://user:pw@mcp.example.com/mcp"}]"#,
            r#"[{"name":"a","url":"ftp://mcp.example.com/"}]"#,
            r#"{"name":"a"}"#,
            r#"[{"name":"a","url":"https://10.0.0.1/a","internal":true},
                {"name":"b","url":"https://10.0.0.1/b"}]"#,
        ] {
            assert!(McpServers::parse(Some(json.to_owned())).is_err(), "{json}");
        }
        assert!(McpServers::parse(None).expect("none").is_empty());
    }
}
