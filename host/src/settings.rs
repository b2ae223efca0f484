//! The host's settings: command-line flags over environment variables over an optional
//! config file over defaults, resolved and validated once at start-up.
//! docs/configuration.md lists every setting.

use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./orpipe-data";
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
pub const DEFAULT_REDIS_PREFIX: &str = "orpipe:";

/// Settings only the guest interprets: the host passes each environment variable (or
/// config file entry) through as the `wasi:config` key beside it, unchanged. The guest
/// validates them and logs what it cannot use.
pub const GUEST_SETTINGS: &[(&str, &str)] = &[
    ("ORPIPE_PERSIST_REASONING", "persist_reasoning"),
    ("ORPIPE_ARTIFACT_KEY", "artifact_key"),
    ("ORPIPE_ARTIFACT_OLD_KEYS", "artifact_old_keys"),
    ("ORPIPE_ARTIFACT_RETENTION_DAYS", "artifact_retention_days"),
    ("ORPIPE_ARTIFACT_CLEANUP_BATCH", "artifact_cleanup_batch"),
    ("ORPIPE_REMOTE_FILE_MAX_MB", "remote_file_max_mb"),
    ("ORPIPE_MAX_INPUT_IMAGES", "max_input_images"),
    ("ORPIPE_ZDR_ONLY", "zdr_only"),
    ("ORPIPE_DEFAULT_ENDPOINT", "default_endpoint"),
    (
        "ORPIPE_FORCE_CHAT_COMPLETIONS_MODELS",
        "force_chat_completions_models",
    ),
    ("ORPIPE_FORCE_RESPONSES_MODELS", "force_responses_models"),
    (
        "ORPIPE_AUTO_FALLBACK_CHAT_COMPLETIONS",
        "auto_fallback_chat_completions",
    ),
    ("ORPIPE_IMAGE_OUTPUT_AUTO", "image_output_auto"),
    ("ORPIPE_IMAGE_OUTPUT_MARKDOWN", "image_output_markdown"),
    ("ORPIPE_IMAGE_OUTPUT_MAX_MB", "image_output_max_mb"),
    (
        "ORPIPE_AUTO_CONTEXT_COMPRESSION",
        "auto_context_compression",
    ),
    (
        "ORPIPE_TOOL_OUTPUT_RETENTION_TURNS",
        "tool_output_retention_turns",
    ),
    (
        "ORPIPE_TOOL_OUTPUT_BUDGET_PERCENT",
        "tool_output_budget_percent",
    ),
    ("ORPIPE_ZDR_ENFORCE", "zdr_enforce"),
    ("ORPIPE_SEND_USER_ID", "send_user_id"),
    ("ORPIPE_SEND_CACHE_SESSION_ID", "send_cache_session_id"),
    ("ORPIPE_SEND_CHAT_ID", "send_chat_id"),
    ("ORPIPE_SEND_MESSAGE_ID", "send_message_id"),
    ("ORPIPE_SEND_SESSION_ID", "send_session_id"),
    (
        "ORPIPE_ANTHROPIC_PROMPT_CACHING",
        "anthropic_prompt_caching",
    ),
    ("ORPIPE_ANTHROPIC_CACHE_TTL", "anthropic_cache_ttl"),
    (
        "ORPIPE_ANTHROPIC_INTERLEAVED_THINKING",
        "anthropic_interleaved_thinking",
    ),
    ("ORPIPE_UPSTREAM_RETRIES", "upstream_retries"),
    (
        "ORPIPE_UPSTREAM_RETRY_WAIT_SECS",
        "upstream_retry_wait_secs",
    ),
    ("ORPIPE_BREAKER_FAILURES", "breaker_failures"),
    ("ORPIPE_BREAKER_WINDOW_SECS", "breaker_window_secs"),
    ("ORPIPE_TOOL_LOOP_MAX_ROUNDS", "tool_loop_max_rounds"),
    (
        "ORPIPE_TOOL_LOOP_PARALLEL_CALLS",
        "tool_loop_parallel_calls",
    ),
    ("ORPIPE_TOOL_OUTPUT_MAX_BYTES", "tool_output_max_bytes"),
    ("ORPIPE_TOOL_CALL_TIMEOUT_SECS", "tool_call_timeout_secs"),
    ("ORPIPE_TOOL_BREAKER_FAILURES", "tool_breaker_failures"),
    (
        "ORPIPE_TOOL_BREAKER_WINDOW_SECS",
        "tool_breaker_window_secs",
    ),
    (
        "ORPIPE_TOOL_BREAKER_COOLDOWN_SECS",
        "tool_breaker_cooldown_secs",
    ),
    (
        "ORPIPE_UPSTREAM_CONNECT_TIMEOUT_SECS",
        "upstream_connect_timeout_secs",
    ),
    (
        "ORPIPE_UPSTREAM_FIRST_BYTE_TIMEOUT_SECS",
        "upstream_first_byte_timeout_secs",
    ),
    (
        "ORPIPE_UPSTREAM_IDLE_TIMEOUT_SECS",
        "upstream_idle_timeout_secs",
    ),
    ("ORPIPE_REQUEST_DEADLINE_SECS", "request_deadline_secs"),
    // Reasoning defaults, web search, Open WebUI's events and status line (open-webui.md).
    ("ORPIPE_REASONING_DEFAULT", "reasoning_default"),
    ("ORPIPE_REASONING_EFFORT", "reasoning_effort"),
    ("ORPIPE_REASONING_SUMMARY", "reasoning_summary"),
    ("ORPIPE_TASK_REASONING_EFFORT", "task_reasoning_effort"),
    ("ORPIPE_STATUS_LINE", "status_line"),
    ("ORPIPE_STATUS_LINE_FIELDS", "status_line_fields"),
    ("ORPIPE_WEB_SEARCH_ENGINE", "web_search_engine"),
    ("ORPIPE_WEB_SEARCH_MAX_RESULTS", "web_search_max_results"),
    ("ORPIPE_WEB_SEARCH_CONTEXT_SIZE", "web_search_context_size"),
    ("ORPIPE_OWUI_EVENTS", "owui_events"),
    // The Pipelines markers in /v1/models (docs/open-webui.md).
    ("ORPIPE_OWUI_PIPELINES", "owui_pipelines"),
    // Error card templates, one per failure class (docs/errors.md).
    (
        "ORPIPE_TEMPLATE_INVALID_REQUEST",
        "template_invalid_request",
    ),
    ("ORPIPE_TEMPLATE_AUTHENTICATION", "template_authentication"),
    ("ORPIPE_TEMPLATE_CREDITS", "template_credits"),
    ("ORPIPE_TEMPLATE_REFUSED", "template_refused"),
    ("ORPIPE_TEMPLATE_TIMEOUT", "template_timeout"),
    ("ORPIPE_TEMPLATE_RATE_LIMIT", "template_rate_limit"),
    (
        "ORPIPE_TEMPLATE_UPSTREAM_SERVER",
        "template_upstream_server",
    ),
    ("ORPIPE_TEMPLATE_CONNECTION", "template_connection"),
    ("ORPIPE_TEMPLATE_INTERRUPTED", "template_interrupted"),
    ("ORPIPE_TEMPLATE_INTERNAL", "template_internal"),
    ("ORPIPE_TEMPLATE_DISABLED", "template_disabled"),
    (
        "ORPIPE_TEMPLATE_PAYLOAD_TOO_LARGE",
        "template_payload_too_large",
    ),
    ("ORPIPE_TEMPLATE_SERVER_TIMEOUT", "template_server_timeout"),
    (
        "ORPIPE_TEMPLATE_MODEL_RESTRICTED",
        "template_model_restricted",
    ),
    // Support contacts the cards show (docs/errors.md).
    ("ORPIPE_SUPPORT_EMAIL", "support_email"),
    ("ORPIPE_SUPPORT_URL", "support_url"),
    // How often an MCP server that is up is asked for its tools again (docs/mcp.md).
    ("ORPIPE_MCP_REFRESH_SECS", "mcp_refresh_secs"),
    // OpenRouter's server tools per model pattern (docs/configuration.md).
    ("ORPIPE_SERVER_TOOLS", "server_tools"),
];

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub component: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub listen: SocketAddr,
    /// `ORPIPE_METRICS_ADDR`: a second listener serving only `/metrics`, without
    /// authentication (docs/metrics.md); unset: `/metrics` on the main listener, for admins.
    pub metrics_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// A guest component to load instead of the embedded one.
    pub component: Option<PathBuf>,
    /// `ORPIPE_COMPONENT_WATCH`: reload `component` when the file changes (see `reload.rs`).
    pub component_watch: bool,
    /// `ORPIPE_COMPILE_CACHE`: keep the compiled guest in `<data dir>/cache` so the next
    /// start skips compiling it (see `compile_cache.rs`).
    pub compile_cache: bool,
    /// Bearer keys clients must present; empty (with no admin keys either) means no client
    /// authentication.
    pub client_api_keys: Vec<String>,
    /// `ORPIPE_ADMIN_KEYS`: bearer keys that are client keys and may also read and change
    /// the live settings (Open WebUI's Pipelines tab).
    pub admin_api_keys: Vec<String>,
    pub openrouter_api_key: Option<String>,
    pub openrouter_base_url: String,
    pub catalog_ttl_secs: u64,
    pub catalog_refresh_secs: u64,
    /// Guest instances alive at once (each in-flight request holds one).
    pub max_concurrent: usize,
    /// Requests that may wait for an instance slot (0: refuse at once when all are busy).
    pub max_queued: usize,
    /// How long a queued request waits before it gets a 503.
    pub queue_timeout: Duration,
    /// Linear-memory cap of one guest instance, in MiB.
    pub guest_memory_mb: usize,
    /// Time one guest instance may spend running wasm code.
    pub guest_cpu: Duration,
    /// How long running requests may finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// `ORPIPE_SQL_DEFER_MS`: how long a write queued with the `sql` import's `defer` (the
    /// usage log) waits for others to share its transaction.
    pub sql_defer_window: Duration,
    pub http_referer: Option<String>,
    pub app_title: Option<String>,
    /// `postgres://…` selects PostgreSQL for the `sql` capability; unset means SQLite in
    /// the data directory. The scheme is checked here, reachability at start-up.
    pub database_url: Option<String>,
    /// `redis://…` selects Redis for key-value; unset means the in-process map.
    pub redis_url: Option<String>,
    /// Prepended to every Redis key so several deployments can share one Redis.
    pub redis_prefix: String,
    /// `ORPIPE_USAGE_EXPORT_TTL_SECS`: each turn's usage record is also written to Redis
    /// under `usage:`, expiring after this long; unset or 0: no export. Needs Redis.
    pub usage_export_ttl: Option<Duration>,
    /// Whether the guest may download user-supplied URLs (through the SSRF guard).
    pub remote_fetch: bool,
    /// `ORPIPE_ALLOW_INSECURE_HTTP_HOSTS`: `host[:port]` entries downloads may use plain http for.
    pub allow_insecure_http_hosts: String,
    /// How often the `cleanup-artifacts` job runs (0: never).
    pub artifact_cleanup_secs: u64,
    /// `GUEST_SETTINGS` that are set, by `wasi:config` key.
    pub guest_settings: BTreeMap<String, String>,
    /// Model filters, passed to the guest, which parses them (the flags are checked here):
    /// `ORPIPE_MODEL_ALLOW`, `ORPIPE_MODEL_FREE_ONLY`, `ORPIPE_MODEL_TOOLS_ONLY`.
    pub model_allow: Option<String>,
    pub model_free_only: Option<String>,
    pub model_tools_only: Option<String>,
    /// `ORPIPE_MCP_SERVERS`: the MCP servers the guest may reach (docs/mcp.md).
    pub mcp_servers: crate::mcp_servers::McpServers,
}

impl Settings {
    /// `env` looks up an environment variable; `file` holds the config file's entries,
    /// keyed by the same names as the environment variables.
    pub fn resolve(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
        file: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let get = |key: &str| {
            env(key)
                .or_else(|| file.get(key).cloned())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let number = |key: &str, default: u64| -> anyhow::Result<u64> {
            match get(key) {
                None => Ok(default),
                Some(raw) => raw
                    .parse()
                    .with_context(|| format!("{key}={raw:?} is not a whole number")),
            }
        };
        let listen_raw = overrides
            .listen
            .clone()
            .or_else(|| get("ORPIPE_LISTEN"))
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen = listen_raw
            .parse()
            .with_context(|| format!("listen address {listen_raw:?} is not IP:PORT"))?;
        let metrics_listen = get("ORPIPE_METRICS_ADDR")
            .map(|raw| {
                raw.parse()
                    .with_context(|| format!("ORPIPE_METRICS_ADDR={raw:?} is not IP:PORT"))
            })
            .transpose()?;
        let key_list = |variable: &str| -> Vec<String> {
            get(variable)
                .map(|keys| {
                    keys.split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let client_api_keys = key_list("ORPIPE_API_KEYS");
        let admin_api_keys = key_list("ORPIPE_ADMIN_KEYS");
        // Checked here so a typo stops start-up; the guest reads the same words.
        let flag = |key: &str| -> anyhow::Result<Option<String>> {
            match get(key).map(|v| v.to_ascii_lowercase()) {
                None => Ok(None),
                Some(v)
                    if ["true", "1", "yes", "on", "false", "0", "no", "off"]
                        .contains(&v.as_str()) =>
                {
                    Ok(Some(v))
                }
                Some(v) => bail!("{key}={v:?} is not true or false"),
            }
        };
        let switch = |key: &str, default: bool| -> anyhow::Result<bool> {
            Ok(match flag(key)?.as_deref() {
                None => default,
                Some(v) => ["true", "1", "yes", "on"].contains(&v),
            })
        };
        let max_concurrent = number("ORPIPE_MAX_CONCURRENT", 256)?;
        if max_concurrent == 0 {
            bail!("ORPIPE_MAX_CONCURRENT must be at least 1");
        }
        let guest_memory_mb = number("ORPIPE_GUEST_MEMORY_MB", 256)?;
        if !(1..=4096).contains(&guest_memory_mb) {
            bail!("ORPIPE_GUEST_MEMORY_MB must be between 1 and 4096 (MiB)");
        }
        let guest_cpu_ms = number("ORPIPE_GUEST_CPU_MS", 30_000)?;
        if guest_cpu_ms == 0 {
            bail!("ORPIPE_GUEST_CPU_MS must be at least 1");
        }
        let component = overrides
            .component
            .clone()
            .or_else(|| get("ORPIPE_COMPONENT").map(PathBuf::from));
        let component_watch = switch("ORPIPE_COMPONENT_WATCH", false)?;
        if component_watch && component.is_none() {
            bail!(
                "ORPIPE_COMPONENT_WATCH needs a component file to watch: set ORPIPE_COMPONENT (or --component)"
            );
        }
        let database_url = get("ORPIPE_DATABASE_URL");
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            bail!(
                "ORPIPE_DATABASE_URL must be a postgres:// or postgresql:// URL (got scheme {:?}); \
                 unset it to use SQLite in the data directory",
                scheme(url)
            );
        }
        let redis_url = get("ORPIPE_REDIS_URL");
        if let Some(url) = &redis_url
            && !url.starts_with("redis://")
        {
            bail!(
                "ORPIPE_REDIS_URL must be a redis:// URL (got scheme {:?}; TLS is not supported yet); \
                 unset it to keep key-value in memory",
                scheme(url)
            );
        }
        let usage_export_ttl = match number("ORPIPE_USAGE_EXPORT_TTL_SECS", 0)? {
            0 => None,
            _ if redis_url.is_none() => bail!(
                "ORPIPE_USAGE_EXPORT_TTL_SECS exports usage to Redis: set ORPIPE_REDIS_URL too, \
                 or unset it"
            ),
            secs => Some(Duration::from_secs(secs)),
        };
        Ok(Self {
            listen,
            metrics_listen,
            usage_export_ttl,
            data_dir: overrides
                .data_dir
                .clone()
                .or_else(|| get("ORPIPE_DATA_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            component,
            component_watch,
            compile_cache: switch("ORPIPE_COMPILE_CACHE", true)?,
            client_api_keys,
            admin_api_keys,
            openrouter_api_key: get("OPENROUTER_API_KEY"),
            openrouter_base_url: get("OPENROUTER_BASE_URL")
                .unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            catalog_ttl_secs: number("ORPIPE_CATALOG_TTL_SECS", 600)?,
            catalog_refresh_secs: number("ORPIPE_CATALOG_REFRESH_SECS", 300)?,
            max_concurrent: usize::try_from(max_concurrent).unwrap_or(usize::MAX),
            max_queued: usize::try_from(number("ORPIPE_MAX_QUEUED", 512)?).unwrap_or(usize::MAX),
            queue_timeout: Duration::from_millis(number("ORPIPE_QUEUE_TIMEOUT_MS", 30_000)?),
            guest_memory_mb: usize::try_from(guest_memory_mb).unwrap_or(usize::MAX),
            guest_cpu: Duration::from_millis(guest_cpu_ms),
            shutdown_grace: Duration::from_secs(number("ORPIPE_SHUTDOWN_GRACE_SECS", 30)?),
            sql_defer_window: Duration::from_millis(number("ORPIPE_SQL_DEFER_MS", 50)?),
            http_referer: get("ORPIPE_HTTP_REFERER"),
            app_title: get("ORPIPE_APP_TITLE"),
            database_url,
            redis_url,
            // Not through `get`: an explicitly empty prefix is a valid choice.
            redis_prefix: env("ORPIPE_REDIS_PREFIX")
                .or_else(|| file.get("ORPIPE_REDIS_PREFIX").cloned())
                .unwrap_or_else(|| DEFAULT_REDIS_PREFIX.into()),
            remote_fetch: switch("ORPIPE_REMOTE_FETCH", true)?,
            allow_insecure_http_hosts: get("ORPIPE_ALLOW_INSECURE_HTTP_HOSTS").unwrap_or_default(),
            artifact_cleanup_secs: number("ORPIPE_ARTIFACT_CLEANUP_SECS", 3600)?,
            guest_settings: GUEST_SETTINGS
                .iter()
                .filter_map(|(var, key)| Some(((*key).to_owned(), get(var)?)))
                .collect(),
            model_allow: get("ORPIPE_MODEL_ALLOW"),
            model_free_only: flag("ORPIPE_MODEL_FREE_ONLY")?,
            model_tools_only: flag("ORPIPE_MODEL_TOOLS_ONLY")?,
            mcp_servers: crate::mcp_servers::McpServers::parse(get("ORPIPE_MCP_SERVERS"))?,
        })
    }

    /// Whether stored artifacts are encrypted (a key is configured).
    pub fn artifacts_encrypted(&self) -> bool {
        self.guest_settings.contains_key("artifact_key")
    }

    /// Whether clients must present a key: some client or admin key is configured.
    pub fn client_auth(&self) -> bool {
        !(self.client_api_keys.is_empty() && self.admin_api_keys.is_empty())
    }

    /// Without client keys anyone who can reach the port spends the OpenRouter credit
    /// (and is an admin of orpipe's live settings), so only loopback is allowed then.
    pub fn check_exposure(&self) -> anyhow::Result<()> {
        if !self.client_auth() && !self.listen.ip().is_loopback() {
            bail!(
                "refusing to listen on {} without client keys: set ORPIPE_API_KEYS (comma-separated bearer keys) \
                 or listen on a loopback address such as 127.0.0.1",
                self.listen
            );
        }
        Ok(())
    }
}

/// The part of a URL before `://`, for error messages that must not echo credentials.
fn scheme(url: &str) -> &str {
    url.split_once("://").map_or("(none)", |(scheme, _)| scheme)
}

/// Reads a config file: TOML whose keys are the environment variable names, e.g.
/// `OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"`.
pub fn read_config_file(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("parsing config file {}", path.display()))?;
    table
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| item.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => bail!(
                    "{}: {key} must be a string, number, boolean or list, not {other}",
                    path.display()
                ),
            };
            Ok((key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        env: &[(&str, &str)],
        file: &[(&str, &str)],
        overrides: Overrides,
    ) -> anyhow::Result<Settings> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let file: BTreeMap<String, String> = file
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(&overrides, |k| env.get(k).cloned(), &file)
    }

    #[test]
    fn defaults_are_loopback_and_openrouter() {
        let s = resolve(&[], &[], Overrides::default()).expect("defaults");
        assert_eq!(s.listen, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(s.data_dir, PathBuf::from("./orpipe-data"));
        assert_eq!(s.openrouter_base_url, DEFAULT_BASE_URL);
        assert!(s.client_api_keys.is_empty());
        s.check_exposure().expect("loopback without keys is fine");
    }

    #[test]
    fn the_metrics_address_is_optional_and_must_be_ip_and_port() {
        let unset = resolve(&[], &[], Overrides::default()).expect("defaults");
        assert_eq!(unset.metrics_listen, None);
        let set = resolve(
            &[("ORPIPE_METRICS_ADDR", "10.0.0.5:9464")],
            &[],
            Overrides::default(),
        )
        .expect("an address");
        assert_eq!(
            set.metrics_listen,
            Some("10.0.0.5:9464".parse().expect("addr"))
        );
        let error = resolve(
            &[("ORPIPE_METRICS_ADDR", "9464")],
            &[],
            Overrides::default(),
        )
        .expect_err("a port alone");
        assert!(error.to_string().contains("ORPIPE_METRICS_ADDR"), "{error}");
    }

    #[test]
    fn flags_beat_environment_which_beats_the_file() {
        let s = resolve(
            &[
                ("ORPIPE_LISTEN", "127.0.0.1:9001"),
                ("OPENROUTER_API_KEY", "env-key"),
            ],
            &[
                ("ORPIPE_LISTEN", "127.0.0.1:9002"),
                ("OPENROUTER_API_KEY", "file-key"),
                ("ORPIPE_API_KEYS", " a, b ,,"),
            ],
            Overrides {
                listen: Some("127.0.0.1:9003".into()),
                ..Default::default()
            },
        )
        .expect("valid");
        assert_eq!(s.listen.port(), 9003);
        assert_eq!(s.openrouter_api_key.as_deref(), Some("env-key"));
        assert_eq!(s.client_api_keys, vec!["a".to_string(), "b".to_string()]);
        assert!(s.admin_api_keys.is_empty());
    }

    #[test]
    fn admin_keys_are_read_and_turn_client_authentication_on() {
        let s = resolve(
            &[
                ("ORPIPE_LISTEN", "0.0.0.0:8080"),
                ("ORPIPE_ADMIN_KEYS", " root ,, second"),
            ],
            &[],
            Overrides::default(),
        )
        .expect("valid");
        assert_eq!(
            s.admin_api_keys,
            vec!["root".to_owned(), "second".to_owned()]
        );
        assert!(s.client_api_keys.is_empty());
        assert!(s.client_auth());
        s.check_exposure()
            .expect("admin keys alone protect a public address");
    }

    #[test]
    fn a_public_address_needs_client_keys() {
        let open = resolve(
            &[("ORPIPE_LISTEN", "0.0.0.0:8080")],
            &[],
            Overrides::default(),
        )
        .expect("parses");
        let error = open.check_exposure().expect_err("must refuse");
        assert!(error.to_string().contains("ORPIPE_API_KEYS"), "{error}");
        let keyed = resolve(
            &[("ORPIPE_LISTEN", "0.0.0.0:8080"), ("ORPIPE_API_KEYS", "k")],
            &[],
            Overrides::default(),
        )
        .expect("parses");
        keyed.check_exposure().expect("keys make it fine");
    }

    #[test]
    fn bad_values_are_named() {
        for (key, value) in [
            ("ORPIPE_LISTEN", "localhost"),
            ("ORPIPE_CATALOG_TTL_SECS", "soon"),
            ("ORPIPE_MAX_CONCURRENT", "0"),
            ("ORPIPE_MAX_QUEUED", "-1"),
            ("ORPIPE_QUEUE_TIMEOUT_MS", "30s"),
            ("ORPIPE_GUEST_MEMORY_MB", "0"),
            ("ORPIPE_GUEST_MEMORY_MB", "100000"),
            ("ORPIPE_GUEST_CPU_MS", "0"),
            ("ORPIPE_SHUTDOWN_GRACE_SECS", "soon"),
            ("ORPIPE_SQL_DEFER_MS", "50ms"),
            ("ORPIPE_MODEL_FREE_ONLY", "sometimes"),
        ] {
            let error = resolve(&[(key, value)], &[], Overrides::default()).expect_err("invalid");
            assert!(
                format!("{error:#}").contains(key) || format!("{error:#}").contains(value),
                "{key}: {error:#}"
            );
        }
    }

    #[test]
    fn watching_the_component_is_off_by_default_and_needs_a_file() {
        let s = resolve(&[], &[], Overrides::default()).expect("defaults");
        assert!(!s.component_watch);
        let error = resolve(
            &[("ORPIPE_COMPONENT_WATCH", "on")],
            &[],
            Overrides::default(),
        )
        .expect_err("nothing to watch");
        assert!(
            format!("{error:#}").contains("ORPIPE_COMPONENT"),
            "{error:#}"
        );
        let s = resolve(
            &[("ORPIPE_COMPONENT_WATCH", "on")],
            &[],
            Overrides {
                component: Some(PathBuf::from("/srv/guest.wasm")),
                ..Overrides::default()
            },
        )
        .expect("a file to watch");
        assert!(s.component_watch);
    }

    #[test]
    fn admission_and_sandbox_limits_have_defaults_and_overrides() {
        let s = resolve(&[], &[], Overrides::default()).expect("defaults");
        assert_eq!(
            (
                s.max_queued,
                s.queue_timeout,
                s.guest_memory_mb,
                s.guest_cpu
            ),
            (512, Duration::from_secs(30), 256, Duration::from_secs(30))
        );
        assert_eq!(s.shutdown_grace, Duration::from_secs(30));
        assert_eq!(s.sql_defer_window, Duration::from_millis(50));
        let s = resolve(
            &[
                ("ORPIPE_MAX_QUEUED", "0"),
                ("ORPIPE_QUEUE_TIMEOUT_MS", "250"),
                ("ORPIPE_GUEST_MEMORY_MB", "64"),
                ("ORPIPE_GUEST_CPU_MS", "500"),
                ("ORPIPE_SHUTDOWN_GRACE_SECS", "0"),
                ("ORPIPE_SQL_DEFER_MS", "0"),
            ],
            &[],
            Overrides::default(),
        )
        .expect("valid");
        assert_eq!(s.max_queued, 0, "0 means no queue");
        assert_eq!(s.queue_timeout, Duration::from_millis(250));
        assert_eq!(s.guest_memory_mb, 64);
        assert_eq!(s.guest_cpu, Duration::from_millis(500));
        assert_eq!(s.shutdown_grace, Duration::ZERO);
        assert_eq!(
            s.sql_defer_window,
            Duration::ZERO,
            "0: write as soon as queued"
        );
    }

    #[test]
    fn storage_urls_select_backends_by_scheme() {
        let s = resolve(&[], &[], Overrides::default()).expect("defaults");
        assert_eq!(s.database_url, None, "SQLite by default");
        assert_eq!(s.redis_url, None, "memory by default");
        assert_eq!(s.redis_prefix, "orpipe:");

        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgresql://u:p@db/orpipe",
        ] {
            let s = resolve(&[("ORPIPE_DATABASE_URL", url)], &[], Overrides::default())
                .expect("postgres URL");
            assert_eq!(s.database_url.as_deref(), Some(url));
        }
        let s = resolve(
            &[("ORPIPE_REDIS_URL", "redis://127.0.0.1:6379")],
            &[("ORPIPE_REDIS_PREFIX", "team-a:")],
            Overrides::default(),
        )
        .expect("redis URL");
        assert_eq!(s.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(s.redis_prefix, "team-a:");
        let s = resolve(&[("ORPIPE_REDIS_PREFIX", "")], &[], Overrides::default())
            .expect("empty prefix");
        assert_eq!(s.redis_prefix, "", "an empty prefix is allowed");
    }

    #[test]
    fn the_usage_export_is_off_by_default_and_needs_redis() {
        let off = resolve(&[], &[], Overrides::default()).expect("defaults");
        assert_eq!(off.usage_export_ttl, None);
        let zero = resolve(
            &[("ORPIPE_USAGE_EXPORT_TTL_SECS", "0")],
            &[],
            Overrides::default(),
        )
        .expect("0 is off");
        assert_eq!(zero.usage_export_ttl, None);
        let error = resolve(
            &[("ORPIPE_USAGE_EXPORT_TTL_SECS", "900")],
            &[],
            Overrides::default(),
        )
        .expect_err("no Redis to export to");
        assert!(error.to_string().contains("ORPIPE_REDIS_URL"), "{error}");
        let on = resolve(
            &[
                ("ORPIPE_USAGE_EXPORT_TTL_SECS", "900"),
                ("ORPIPE_REDIS_URL", "redis://127.0.0.1:6379"),
            ],
            &[],
            Overrides::default(),
        )
        .expect("export to Redis");
        assert_eq!(on.usage_export_ttl, Some(Duration::from_secs(900)));
    }

    #[test]
    fn other_storage_schemes_are_refused_without_echoing_secrets() {
        for (key, url) in [
            ("ORPIPE_DATABASE_URL", "mysql://root:hunter2@db/orpipe"),
            ("ORPIPE_DATABASE_URL", "sqlite:///tmp/x.db"),
            ("ORPIPE_REDIS_URL", "rediss://:hunter2@cache:6380"),
            ("ORPIPE_REDIS_URL", "127.0.0.1:6379"),
        ] {
            let error = resolve(&[(key, url)], &[], Overrides::default()).expect_err("refused");
            let text = format!("{error:#}");
            assert!(text.contains(key), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn guest_settings_pass_through_under_their_config_keys() {
        let s = resolve(
            &[
                ("ORPIPE_ARTIFACT_KEY", "s3cret"),
                ("ORPIPE_PERSIST_REASONING", " "),
            ],
            &[("ORPIPE_ARTIFACT_RETENTION_DAYS", "30")],
            Overrides::default(),
        )
        .expect("valid");
        assert_eq!(
            s.guest_settings,
            BTreeMap::from([
                ("artifact_key".to_owned(), "s3cret".to_owned()),
                ("artifact_retention_days".to_owned(), "30".to_owned()),
            ])
        );
        assert!(s.artifacts_encrypted());
        assert_eq!(s.artifact_cleanup_secs, 3600);
    }

    #[test]
    fn config_files_are_toml_keyed_by_variable_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("orpipe.toml");
        std::fs::write(&path, "OPENROUTER_BASE_URL = \"http://127.0.0.1:1/api/v1\"\nORPIPE_MAX_CONCURRENT = 8\nORPIPE_API_KEYS = [\"x\", \"y\"]\n")
            .expect("write");
        let file = read_config_file(&path).expect("parses");
        assert_eq!(
            file.get("ORPIPE_MAX_CONCURRENT").map(String::as_str),
            Some("8")
        );
        assert_eq!(file.get("ORPIPE_API_KEYS").map(String::as_str), Some("x,y"));
        std::fs::write(&path, "not toml [").expect("write");
        assert!(read_config_file(&path).is_err());
    }
}
