//! The recorded OpenRouter payloads in `tests/fixtures/` and typed access to them.
//!
//! The files are copies of `shared/openrouter/fixtures/` (plus the two scenarios API.md §10
//! describes but does not ship: `stream_incomplete.sse`, `stream_eof_without_completed.sse`).
//! JSON fixtures other than the catalog wrap their payload as `{"_fixture": {...}, "body"|"cases": ...}`;
//! the readers here unwrap that so callers get what OpenRouter would have sent.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::Value;

/// Every `.sse` fixture, for tests that loop over all recorded streams.
pub const STREAM_FIXTURES: &[&str] = &[
    "stream_text.sse",
    "stream_reasoning.sse",
    "stream_reasoning_summary.sse",
    "stream_tool_call.sse",
    "stream_web_search_citations.sse",
    "stream_error_midstream.sse",
    "stream_error_event.sse",
    "stream_incomplete.sse",
    "stream_eof_without_completed.sse",
];

/// `tests/fixtures/` of this crate, resolved at compile time so it works from any working directory.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The raw bytes of one fixture file.
pub fn read_fixture(name: &str) -> anyhow::Result<Vec<u8>> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).with_context(|| format!("reading fixture {}", path.display()))
}

/// A fixture parsed as JSON, as stored (wrapper included).
pub fn read_json_fixture(name: &str) -> anyhow::Result<Value> {
    let bytes = read_fixture(name)?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing fixture {name} as JSON"))
}

/// The payload under `body` of a wrapped JSON fixture such as `response_nonstream_text.json`.
pub fn fixture_body(name: &str) -> anyhow::Result<Value> {
    let mut wrapped = read_json_fixture(name)?;
    match wrapped.get_mut("body") {
        Some(body) => Ok(body.take()),
        None => bail!("fixture {name} has no `body` key"),
    }
}

/// One pre-stream HTTP error from `errors_http.json`, as OpenRouter would send it.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpErrorCase {
    /// The case's name, e.g. `upstream_rate_limited`.
    pub case: String,
    pub status: u16,
    /// Response headers in the fixture's spelling (e.g. `Retry-After`).
    pub headers: Vec<(String, String)>,
    /// The JSON body exactly as the fixture holds it (an object, not a string).
    pub body: Value,
    /// Where the case came from (observed, documented or inferred).
    pub provenance: String,
}

#[derive(Deserialize)]
struct ErrorCasesFile {
    cases: Vec<RawErrorCase>,
}

/// The fixture stores headers as a JSON object whose values must all be strings.
#[derive(Deserialize)]
struct RawErrorCase {
    case: String,
    status: u16,
    headers: serde_json::Map<String, Value>,
    body: Value,
    #[serde(default)]
    provenance: String,
}

/// Every case of `errors_http.json`, in file order.
pub fn http_error_cases() -> anyhow::Result<Vec<HttpErrorCase>> {
    let bytes = read_fixture("errors_http.json")?;
    let file: ErrorCasesFile =
        serde_json::from_slice(&bytes).context("parsing errors_http.json cases")?;
    file.cases
        .into_iter()
        .map(|raw| {
            let headers = raw
                .headers
                .into_iter()
                .map(|(name, value)| match value {
                    Value::String(text) => Ok((name, text)),
                    other => bail!("case {}: header {name} is not a string: {other}", raw.case),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(HttpErrorCase {
                case: raw.case,
                status: raw.status,
                headers,
                body: raw.body,
                provenance: raw.provenance,
            })
        })
        .collect()
}

/// Which `errors_http.json` case to use: by position or by its `case` name.
#[derive(Debug, Clone, Copy)]
pub enum CaseRef<'a> {
    Index(usize),
    Name(&'a str),
}

impl From<usize> for CaseRef<'_> {
    fn from(index: usize) -> Self {
        CaseRef::Index(index)
    }
}

impl<'a> From<&'a str> for CaseRef<'a> {
    fn from(name: &'a str) -> Self {
        CaseRef::Name(name)
    }
}

/// One case of `errors_http.json`, looked up by index or name.
pub fn http_error_case<'a>(which: impl Into<CaseRef<'a>>) -> anyhow::Result<HttpErrorCase> {
    let cases = http_error_cases()?;
    let count = cases.len();
    match which.into() {
        CaseRef::Index(index) => cases
            .into_iter()
            .nth(index)
            .with_context(|| format!("errors_http.json has {count} cases, no index {index}")),
        CaseRef::Name(name) => cases
            .into_iter()
            .find(|case| case.case == name)
            .with_context(|| format!("errors_http.json has no case named {name:?}")),
    }
}
