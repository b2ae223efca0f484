//! The component's settings, read from `wasi:config` keys.
//!
//! Parsing is pure (a lookup function in, `Settings` out) so it is tested natively; the
//! component reads all keys at once at the start of every request or job
//! (`component::config`), which lets a host change them live.

use crate::breaker::BreakerPolicy;
use crate::catalog::filter::ModelFilter;
use crate::errors::cards::CardTemplates;
use crate::feature_settings::FeatureSettings;
use crate::intake;
use crate::retry::RetryPolicy;
use crate::translate::endpoint::EndpointSettings;
use crate::translate::identifiers::IdentifierSettings;
use crate::translate::image_history;
use crate::translate::image_output::ImageOutput;
use crate::translate::long_chats::LongChatSettings;
use crate::translate::server_tools::ServerToolRules;
use crate::url::HttpUrl;
use std::time::Duration;

/// `wasi:config` key names. The host maps its environment and config file onto them;
/// under `wasmtime serve` they are given with `-S config-var=KEY=VALUE`.
pub mod keys {
    pub const OPENROUTER_BASE_URL: &str = "openrouter_base_url";
    pub const OPENROUTER_API_KEY: &str = "openrouter_api_key";
    pub const CATALOG_TTL_SECS: &str = "catalog_ttl_secs";
    pub const HTTP_REFERER: &str = "http_referer";
    pub const APP_TITLE: &str = "app_title";
    /// Comma-separated model ids or `*` patterns clients may use (empty: all).
    pub const MODEL_ALLOW: &str = "model_allow";
    pub const MODEL_FREE_ONLY: &str = "model_free_only";
    pub const MODEL_TOOLS_ONLY: &str = "model_tools_only";
    /// Only models OpenRouter's ZDR list names are listed and served.
    pub const ZDR_ONLY: &str = "zdr_only";
    /// As `zdr_only`, and every request asks OpenRouter for ZDR endpoints.
    pub const ZDR_ENFORCE: &str = "zdr_enforce";
    /// Retries of a failed upstream call before the first byte (0: none).
    pub const UPSTREAM_RETRIES: &str = "upstream_retries";
    /// The most seconds one request may spend waiting between those retries.
    pub const UPSTREAM_RETRY_WAIT_SECS: &str = "upstream_retry_wait_secs";
    /// Failures within the window that disable a user for a while (0: breaker off).
    pub const BREAKER_FAILURES: &str = "breaker_failures";
    pub const BREAKER_WINDOW_SECS: &str = "breaker_window_secs";
    pub const UPSTREAM_CONNECT_TIMEOUT_SECS: &str = "upstream_connect_timeout_secs";
    pub const UPSTREAM_FIRST_BYTE_TIMEOUT_SECS: &str = "upstream_first_byte_timeout_secs";
    pub const UPSTREAM_IDLE_TIMEOUT_SECS: &str = "upstream_idle_timeout_secs";
    pub const REQUEST_DEADLINE_SECS: &str = "request_deadline_secs";
    /// The largest audio file fetched from a URL (`intake`), in MB.
    pub const REMOTE_FILE_MAX_MB: &str = "remote_file_max_mb";
    /// Images sent from the latest user turn (1–20); earlier turns' images become notes.
    pub const MAX_INPUT_IMAGES: &str = "max_input_images";
    // What answers include and what Open WebUI shows (`feature_settings`).
    pub const REASONING_DEFAULT: &str = "reasoning_default";
    pub const REASONING_EFFORT: &str = "reasoning_effort";
    pub const REASONING_SUMMARY: &str = "reasoning_summary";
    pub const TASK_REASONING_EFFORT: &str = "task_reasoning_effort";
    pub const STATUS_LINE: &str = "status_line";
    pub const STATUS_LINE_FIELDS: &str = "status_line_fields";
    pub const WEB_SEARCH_ENGINE: &str = "web_search_engine";
    pub const WEB_SEARCH_MAX_RESULTS: &str = "web_search_max_results";
    pub const WEB_SEARCH_CONTEXT_SIZE: &str = "web_search_context_size";
    pub const OWUI_EVENTS: &str = "owui_events";
    pub const ANTHROPIC_INTERLEAVED_THINKING: &str = "anthropic_interleaved_thinking";
    /// Whether `/v1/models` carries the Pipelines markers Open WebUI looks for.
    pub const OWUI_PIPELINES: &str = "owui_pipelines";
    /// Each finished turn's usage record is also written to the key-value store under
    /// `usage:` (the host sets it, with the expiry it applies to those keys).
    pub const USAGE_EXPORT: &str = "usage_export";
    /// OpenRouter's server tools for the models rules match (`translate::server_tools`).
    pub const SERVER_TOOLS: &str = "server_tools";
    // Card templates: `template_<class>`, see `errors::class::ErrorClass::config_key`.
}

pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
pub const DEFAULT_CATALOG_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub base_url: BaseUrl,
    pub api_key: Option<String>,
    pub catalog_ttl: Duration,
    /// Attribution headers OpenRouter shows in its rankings (`HTTP-Referer`, `X-OpenRouter-Title`).
    pub http_referer: Option<String>,
    pub app_title: Option<String>,
    /// Which models clients may use and see.
    pub model_filter: ModelFilter,
    /// Error cards: the defaults with the operator's overrides.
    pub templates: CardTemplates,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    pub deadlines: Deadlines,
    /// The largest audio download for a request (`intake`), in bytes.
    pub remote_file_max_bytes: usize,
    /// Images sent from the latest user turn (`translate::image_history`).
    pub max_input_images: usize,
    /// Which identifiers go upstream, and prompt caching (`translate::identifiers`).
    pub identifiers: IdentifierSettings,
    /// Context compression and tool-output pruning (`translate::long_chats`).
    pub long_chats: LongChatSettings,
    /// Reasoning defaults, the web search tool, Open WebUI's events and status line.
    pub features: FeatureSettings,
    /// `/v1/models` says "I am a Pipelines server" (`valves::pipelines`), which gives
    /// orpipe's settings a page in Open WebUI's Admin → Settings → Pipelines.
    pub owui_pipelines: bool,
    /// Which OpenRouter endpoint a request goes to (`translate::endpoint`).
    pub endpoints: EndpointSettings,
    /// Generated images: Markdown, size cap, automatic `modalities`.
    pub image_output: ImageOutput,
    /// Usage records also go to the key-value store (`usage_log`, the export).
    pub usage_export: bool,
    /// Server tools the operator switches on per model (`translate::server_tools`).
    pub server_tools: ServerToolRules,
}

/// How long a chat request may wait on OpenRouter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// TCP and TLS set-up.
    pub connect: Duration,
    /// Until the response head. OpenRouter sends headers at once, then keep-alive
    /// comments while the model thinks.
    pub first_byte: Duration,
    /// Silence between body bytes (keep-alive comments count as bytes).
    pub idle: Duration,
    /// The whole answer, checked whenever bytes arrive.
    pub total: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(180),
            idle: Duration::from_secs(300),
            // Long reasoning answers take many minutes; this only stops the endless ones.
            total: Duration::from_secs(3600),
        }
    }
}

/// Problems an operator must fix; the component answers with a 500 naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("setting {key} is invalid: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Settings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let non_empty = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let base_url =
            non_empty(keys::OPENROUTER_BASE_URL).unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let base_url = BaseUrl::parse(&base_url).map_err(|reason| SettingsError::Invalid {
            key: keys::OPENROUTER_BASE_URL,
            reason,
        })?;
        let number = |key: &'static str, default: u64| match non_empty(key) {
            None => Ok(default),
            Some(raw) => raw.parse::<u64>().map_err(|_| SettingsError::Invalid {
                key,
                reason: format!("{raw:?} is not a whole number"),
            }),
        };
        let catalog_ttl = Duration::from_secs(number(
            keys::CATALOG_TTL_SECS,
            DEFAULT_CATALOG_TTL.as_secs(),
        )?);
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            max_retries: clamp_u32(number(keys::UPSTREAM_RETRIES, defaults.max_retries.into())?),
            max_wait: Duration::from_secs(number(
                keys::UPSTREAM_RETRY_WAIT_SECS,
                defaults.max_wait.as_secs(),
            )?),
            ..defaults
        };
        let defaults = BreakerPolicy::default();
        let breaker = BreakerPolicy {
            failures: clamp_u32(number(keys::BREAKER_FAILURES, defaults.failures.into())?),
            window_secs: number(keys::BREAKER_WINDOW_SECS, defaults.window_secs)?,
        };
        let seconds = |key: &'static str, default: Duration| match number(key, default.as_secs())? {
            0 => Err(SettingsError::Invalid {
                key,
                reason: "0 seconds leaves no time at all".into(),
            }),
            n => Ok(Duration::from_secs(n)),
        };
        let defaults = Deadlines::default();
        let deadlines = Deadlines {
            connect: seconds(keys::UPSTREAM_CONNECT_TIMEOUT_SECS, defaults.connect)?,
            first_byte: seconds(keys::UPSTREAM_FIRST_BYTE_TIMEOUT_SECS, defaults.first_byte)?,
            idle: seconds(keys::UPSTREAM_IDLE_TIMEOUT_SECS, defaults.idle)?,
            total: seconds(keys::REQUEST_DEADLINE_SECS, defaults.total)?,
        };
        let switch = |key: &'static str, default: bool| match non_empty(key) {
            None => Ok(default),
            Some(v) => parse_flag(&v).ok_or_else(|| SettingsError::Invalid {
                key,
                reason: format!("{v:?} is not true or false"),
            }),
        };
        let flag = |key: &'static str| switch(key, false);
        let model_filter = ModelFilter {
            allow: non_empty(keys::MODEL_ALLOW)
                .map(|csv| ModelFilter::parse_allow(&csv))
                .unwrap_or_default(),
            free_only: flag(keys::MODEL_FREE_ONLY)?,
            tools_only: flag(keys::MODEL_TOOLS_ONLY)?,
            zdr_only: flag(keys::ZDR_ONLY)?,
            zdr_enforce: flag(keys::ZDR_ENFORCE)?,
        };
        // Lenient, unlike the keys above: an unreadable cap means the default one.
        let remote_file_max_mb = non_empty(keys::REMOTE_FILE_MAX_MB)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(intake::DEFAULT_MAX_MB)
            .clamp(1, intake::LARGEST_MAX_MB);
        let max_input_images = match number(
            keys::MAX_INPUT_IMAGES,
            image_history::DEFAULT_MAX_IMAGES as u64,
        )? {
            n @ 1..=20 => n as usize,
            n => {
                return Err(SettingsError::Invalid {
                    key: keys::MAX_INPUT_IMAGES,
                    reason: format!("{n} is not between 1 and 20"),
                });
            }
        };
        Ok(Self {
            base_url,
            api_key: non_empty(keys::OPENROUTER_API_KEY),
            catalog_ttl,
            http_referer: non_empty(keys::HTTP_REFERER),
            app_title: non_empty(keys::APP_TITLE),
            model_filter,
            templates: CardTemplates::from_lookup(&lookup),
            retry,
            breaker,
            deadlines,
            remote_file_max_bytes: usize::try_from(remote_file_max_mb.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            max_input_images,
            identifiers: IdentifierSettings::from_lookup(&lookup)?,
            long_chats: LongChatSettings::from_lookup(&lookup)?,
            features: FeatureSettings::from_lookup(&lookup)?,
            owui_pipelines: switch(keys::OWUI_PIPELINES, true)?,
            endpoints: EndpointSettings::from_lookup(&lookup)?,
            image_output: ImageOutput::from_lookup(&lookup)?,
            usage_export: flag(keys::USAGE_EXPORT)?,
            server_tools: ServerToolRules::from_lookup(&lookup)?,
        })
    }
}

/// A yes/no setting: `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off`, in any case
/// and with spaces around; `None` for anything else. Every boolean key is read with this.
pub fn parse_flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Counts beyond `u32` mean "practically unlimited"; the policies bound them further.
fn clamp_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// OpenRouter's base URL: an `http(s)://authority/path` without query or fragment, the
/// path kept as a prefix for its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub https: bool,
    pub authority: String,
    /// Path prefix without a trailing slash, e.g. `/api/v1`.
    pub path: String,
}

impl BaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let split = HttpUrl::parse(url)
            .ok_or_else(|| format!("{url:?} must be an https:// or http:// URL with a host"))?;
        if split.authority.contains('@') {
            return Err(format!("{url:?} has no usable host"));
        }
        if url.contains(['?', '#']) {
            return Err(format!("{url:?} must not carry a query or fragment"));
        }
        Ok(Self {
            https: split.https,
            authority: split.authority,
            path: split.path_with_query.trim_end_matches('/').to_owned(),
        })
    }

    /// The path and query for an endpoint below the base, e.g. `endpoint("/responses")`.
    pub fn endpoint(&self, endpoint: &str) -> String {
        format!("{}{}", self.path, endpoint)
    }
}

/// Test support: asserts that host/src/settings.rs maps each environment variable to its
/// `wasi:config` key, as a `("ORPIPE_…", "key")` row.
#[cfg(test)]
pub(crate) fn assert_host_passes(rows: impl IntoIterator<Item = (String, String)>) {
    let host = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../host/src/settings.rs"
    ))
    .split_whitespace()
    .collect::<String>()
    // rustfmt breaks long rows over lines, with a trailing comma.
    .replace(",)", ")");
    for (variable, key) in rows {
        let row = format!("(\"{variable}\",\"{key}\")");
        assert!(host.contains(&row), "host/src/settings.rs lacks {row}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_point_at_openrouter_without_a_key() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(
            s.base_url,
            BaseUrl {
                https: true,
                authority: "openrouter.ai".into(),
                path: "/api/v1".into()
            }
        );
        assert_eq!(s.api_key, None);
        assert_eq!(s.catalog_ttl, DEFAULT_CATALOG_TTL);
        assert_eq!(s.base_url.endpoint("/responses"), "/api/v1/responses");
        assert_eq!(s.model_filter, ModelFilter::default(), "no filter");
        assert_eq!(s.retry, RetryPolicy::default());
        assert_eq!(s.retry.max_retries, 2);
        assert_eq!(s.breaker, BreakerPolicy::default());
        assert_eq!((s.breaker.failures, s.breaker.window_secs), (5, 60));
        assert!(s.templates.rejected().is_empty());
        assert!(s.owui_pipelines, "the Pipelines markers are on by default");
    }

    #[test]
    fn the_host_passes_the_retry_breaker_deadline_and_fetch_keys_through() {
        let keys = [
            keys::UPSTREAM_RETRIES,
            keys::UPSTREAM_RETRY_WAIT_SECS,
            keys::BREAKER_FAILURES,
            keys::BREAKER_WINDOW_SECS,
            keys::UPSTREAM_CONNECT_TIMEOUT_SECS,
            keys::UPSTREAM_FIRST_BYTE_TIMEOUT_SECS,
            keys::UPSTREAM_IDLE_TIMEOUT_SECS,
            keys::REQUEST_DEADLINE_SECS,
            keys::REMOTE_FILE_MAX_MB,
            keys::OWUI_PIPELINES,
        ];
        assert_host_passes(keys.map(|key| {
            (
                format!("ORPIPE_{}", key.to_ascii_uppercase()),
                key.to_owned(),
            )
        }));
    }

    #[test]
    fn deadlines_are_read_and_zero_is_refused() {
        let s = settings(&[
            (keys::UPSTREAM_IDLE_TIMEOUT_SECS, "2"),
            (keys::REQUEST_DEADLINE_SECS, "60"),
        ])
        .expect("valid");
        assert_eq!(s.deadlines.idle, Duration::from_secs(2));
        assert_eq!(s.deadlines.total, Duration::from_secs(60));
        assert_eq!(s.deadlines.connect, Deadlines::default().connect);
        let error = settings(&[(keys::UPSTREAM_FIRST_BYTE_TIMEOUT_SECS, "0")]).expect_err("0");
        assert!(
            error
                .to_string()
                .contains("upstream_first_byte_timeout_secs")
        );
    }

    #[test]
    fn retry_breaker_and_template_keys_are_read() {
        let s = settings(&[
            (keys::UPSTREAM_RETRIES, "0"),
            (keys::UPSTREAM_RETRY_WAIT_SECS, "3"),
            (keys::BREAKER_FAILURES, "2"),
            (keys::BREAKER_WINDOW_SECS, "10"),
            ("template_rate_limit", "Slow down {message}"),
            ("template_internal", "{{#if message}}never closed"),
        ])
        .expect("valid");
        assert_eq!(s.retry.max_retries, 0);
        assert_eq!(s.retry.max_wait, Duration::from_secs(3));
        assert_eq!((s.breaker.failures, s.breaker.window_secs), (2, 10));
        let rejected = s.templates.rejected();
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert_eq!(rejected[0].0, crate::errors::cards::ErrorClass::Internal);
    }

    #[test]
    fn model_filters_are_read_from_their_keys() {
        let s = settings(&[
            (keys::MODEL_ALLOW, "openai/*, anthropic.claude-sonnet-4.5"),
            (keys::MODEL_FREE_ONLY, "TRUE"),
            (keys::MODEL_TOOLS_ONLY, "0"),
            (keys::ZDR_ENFORCE, "on"),
        ])
        .expect("valid");
        assert_eq!(
            s.model_filter,
            ModelFilter {
                allow: vec!["openai/*".into(), "anthropic.claude-sonnet-4.5".into()],
                free_only: true,
                tools_only: false,
                zdr_only: false,
                zdr_enforce: true,
            }
        );
    }

    #[test]
    fn a_mock_base_url_and_blank_key_are_read() {
        let s = settings(&[
            (keys::OPENROUTER_BASE_URL, "http://127.0.0.1:9000/api/v1/"),
            (keys::OPENROUTER_API_KEY, "  "),
            (keys::CATALOG_TTL_SECS, "5"),
        ])
        .expect("valid");
        assert_eq!(
            s.base_url,
            BaseUrl {
                https: false,
                authority: "127.0.0.1:9000".into(),
                path: "/api/v1".into()
            }
        );
        assert_eq!(s.api_key, None, "a blank key counts as missing");
        assert_eq!(s.catalog_ttl, Duration::from_secs(5));
    }

    #[test]
    fn flags_read_the_usual_words_in_any_case() {
        for yes in ["true", "TRUE", " 1 ", "yes", "On"] {
            assert_eq!(parse_flag(yes), Some(true), "{yes}");
        }
        for no in ["false", "0", "No", " off"] {
            assert_eq!(parse_flag(no), Some(false), "{no}");
        }
        for neither in ["", "2", "sometimes", "y", "enabled"] {
            assert_eq!(parse_flag(neither), None, "{neither}");
        }
    }

    #[test]
    fn the_remote_file_cap_is_read_in_megabytes_and_clamped() {
        let mb = |value: &str| {
            settings(&[(keys::REMOTE_FILE_MAX_MB, value)])
                .expect("never invalid")
                .remote_file_max_bytes
                / (1024 * 1024)
        };
        assert_eq!(
            settings(&[]).expect("defaults").remote_file_max_bytes,
            20 * 1024 * 1024
        );
        assert_eq!(mb("5"), 5);
        assert_eq!(mb(" 0 "), 1);
        assert_eq!(mb("1000"), 100);
        assert_eq!(mb("lots"), 20, "unreadable means the default");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            (keys::OPENROUTER_BASE_URL, "ftp://x"),
            (keys::OPENROUTER_BASE_URL, "https://"),
            (keys::OPENROUTER_BASE_URL, "https://h/p?q=1"),
            (keys::OPENROUTER_BASE_URL, "https://h#top"),
            (keys::OPENROUTER_BASE_URL, "https://user@h/api"),
            (keys::CATALOG_TTL_SECS, "ten"),
            (keys::MODEL_FREE_ONLY, "sometimes"),
            (keys::MODEL_TOOLS_ONLY, "2"),
            (keys::OWUI_PIPELINES, "maybe"),
            (keys::UPSTREAM_RETRIES, "-1"),
            (keys::UPSTREAM_RETRY_WAIT_SECS, "1.5"),
            (keys::BREAKER_FAILURES, "many"),
            (keys::BREAKER_WINDOW_SECS, "1m"),
        ] {
            match settings(&[(key, value)]) {
                Err(SettingsError::Invalid { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}={value} gave {other:?}"),
            }
        }
    }
}
