//! The function names server tools are offered to the model under. OpenAI allows
//! `^[a-zA-Z0-9_-]{1,64}$`; MCP tool names may hold dots, slashes or any Unicode, and two
//! servers may both have a `search`. So a tool is offered as `<server>__<tool>` with
//! every other character made `_`, and a name that is too long or already taken (by a
//! client tool or another server tool) gets a short hash of its true identity instead of
//! its tail. The result is the same for the same inputs, so a name survives restarts.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub const MAX_FUNCTION_NAME: usize = 64;
/// `_` and 8 hex digits.
const SUFFIX_LEN: usize = 9;

/// Which server tool a function name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRef {
    pub server: String,
    pub tool: String,
}

/// Function names and the tools they stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap {
    by_name: BTreeMap<String, ToolRef>,
}

impl NameMap {
    /// Names each tool in order, avoiding `reserved` (the client's own tool names).
    pub fn assign<'a>(
        reserved: &BTreeSet<String>,
        tools: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Self, Vec<String>) {
        let mut map = Self::default();
        let mut names = Vec::new();
        for (server, tool) in tools {
            let taken = |name: &str| reserved.contains(name) || map.by_name.contains_key(name);
            let plain = sanitize(&format!("{server}__{tool}"));
            let name = if plain.len() <= MAX_FUNCTION_NAME && !taken(&plain) {
                plain
            } else {
                let mut salt = 0u32;
                loop {
                    let candidate = hashed(&plain, server, tool, salt);
                    if !taken(&candidate) {
                        break candidate;
                    }
                    salt = salt.saturating_add(1);
                }
            };
            map.by_name.insert(
                name.clone(),
                ToolRef {
                    server: server.to_owned(),
                    tool: tool.to_owned(),
                },
            );
            names.push(name);
        }
        (map, names)
    }

    pub fn resolve(&self, function_name: &str) -> Option<&ToolRef> {
        self.by_name.get(function_name)
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `plain`'s head with a hash of the exact (server, tool) pair (and a salt for the
/// unlikely second collision).
fn hashed(plain: &str, server: &str, tool: &str, salt: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(server.as_bytes());
    hasher.update([0]);
    hasher.update(tool.as_bytes());
    hasher.update(salt.to_le_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    // `plain` is ASCII, so any byte index is a character boundary.
    let head_len = plain.len().min(MAX_FUNCTION_NAME - SUFFIX_LEN);
    format!("{}_{hex}", plain.get(..head_len).unwrap_or(plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        (1..=MAX_FUNCTION_NAME).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }

    #[test]
    fn plain_names_are_server_and_tool() {
        let (map, names) =
            NameMap::assign(&BTreeSet::new(), [("calc", "add"), ("kb", "search.docs")]);
        assert_eq!(names, ["calc__add", "kb__search_docs"]);
        assert_eq!(
            map.resolve("kb__search_docs"),
            Some(&ToolRef {
                server: "kb".into(),
                tool: "search.docs".into()
            })
        );
        assert_eq!(map.resolve("kb__search.docs"), None);
    }

    #[test]
    fn collisions_and_long_names_get_distinct_valid_names_that_map_back() {
        let reserved: BTreeSet<String> = ["calc__add".to_owned()].into();
        let long = "x".repeat(100);
        let tools = [
            ("calc", "add"),
            ("kb", "a.b"),
            ("kb", "a/b"),
            ("kb", long.as_str()),
            ("kb", "grüße"),
        ];
        let (map, names) = NameMap::assign(&reserved, tools);
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert!(
            !names.contains(&"calc__add".to_owned()),
            "the client's name is kept"
        );
        for ((server, tool), name) in tools.iter().zip(&names) {
            assert!(valid(name), "{name}");
            let back = map.resolve(name).expect("maps back");
            assert_eq!((back.server.as_str(), back.tool.as_str()), (*server, *tool));
        }
        let (_, again) = NameMap::assign(&reserved, tools);
        assert_eq!(again, names, "the same inputs give the same names");
    }
}
