//! The live settings, in the order the Pipelines tab lists them. Keys and defaults are the
//! ones `settings.rs` and `artifacts/settings.rs` read (a unit test holds them together).
//!
//! Not here, and so changed only by a restart: secrets (the OpenRouter key, the artifact
//! keys), OpenRouter's base URL (the host's outbound allow-list is built from it at
//! start-up), and everything the host itself applies (listen address, storage, client
//! keys, admission and sandbox limits, remote fetch, job periods).

use super::{Kind, Valve};
use crate::errors::cards::ErrorClass;

const fn flag(
    key: &'static str,
    title: &'static str,
    description: &'static str,
    default: bool,
) -> Valve {
    Valve {
        key,
        title,
        description,
        kind: Kind::Flag { default },
    }
}

const fn choice(
    key: &'static str,
    title: &'static str,
    description: &'static str,
    values: &'static [&'static str],
    default: &'static str,
) -> Valve {
    Valve {
        key,
        title,
        description,
        kind: Kind::Choice { values, default },
    }
}

const fn number(
    key: &'static str,
    title: &'static str,
    description: &'static str,
    (min, max): (u64, u64),
    default: u64,
) -> Valve {
    Valve {
        key,
        title,
        description,
        kind: Kind::Number { min, max, default },
    }
}

const fn text(
    key: &'static str,
    title: &'static str,
    description: &'static str,
    max_bytes: usize,
) -> Valve {
    Valve {
        key,
        title,
        description,
        kind: Kind::Text {
            max_bytes,
            default: "",
        },
    }
}

const fn template(key: &'static str, title: &'static str, class: ErrorClass) -> Valve {
    Valve {
        key,
        title,
        description: "Markdown of this error card; {message}, {error_id}, {timestamp}, {model} and {{#if name}}…{{/if}} blocks (docs/errors.md). Write \\n for a line break. None: the built-in card.",
        kind: Kind::Template(class),
    }
}

/// A day and a week, in seconds: generous upper bounds for waits and windows.
const DAY: u64 = 86_400;

pub static VALVES: &[Valve] = &[
    // Open WebUI integration.
    flag(
        "owui_pipelines",
        "Open WebUI: Pipelines markers",
        "Mark /v1/models as a Pipelines server, which gives these settings their page in Admin → Settings → Pipelines and makes Open WebUI call the filter inlet/outlet. Off: a plain OpenAI connection and this page disappears; turn it back on with POST /v1/orpipe/valves/update {\"owui_pipelines\": null} and an admin key.",
        true,
    ),
    flag(
        "owui_events",
        "Open WebUI: event chunks",
        "Send Open WebUI's status and source events in the stream to Open WebUI clients (never to other clients).",
        true,
    ),
    // Reasoning.
    flag(
        "reasoning_default",
        "Reasoning: on by default",
        "Ask reasoning models to reason when the request does not say.",
        true,
    ),
    choice(
        "reasoning_effort",
        "Reasoning: default effort",
        "The effort asked for when the request names none (lowered to what the model accepts).",
        &["minimal", "low", "medium", "high", "xhigh"],
        "medium",
    ),
    choice(
        "reasoning_summary",
        "Reasoning: summary",
        "The reasoning summary asked for: auto, concise, detailed, or none.",
        &["auto", "concise", "detailed", "none"],
        "auto",
    ),
    choice(
        "task_reasoning_effort",
        "Reasoning: effort for background tasks",
        "Effort for Open WebUI's background tasks (titles, tags, follow-ups); none keeps them cheap.",
        &["none", "minimal", "low", "medium"],
        "none",
    ),
    // Status line.
    flag(
        "status_line",
        "Status line",
        "Show a status line (time, speed, cost, tokens) when an answer ends.",
        true,
    ),
    Valve {
        key: "status_line_fields",
        title: "Status line: fields",
        description: "Comma-separated, in order: any of time, speed, cost, tokens.",
        kind: Kind::List {
            values: &["time", "speed", "cost", "tokens"],
            default: "time,speed,cost,tokens",
        },
    },
    // Web search.
    choice(
        "web_search_engine",
        "Web search: engine",
        "Which search engine OpenRouter's web search uses; auto lets OpenRouter choose (native where the provider has one).",
        &[
            "auto",
            "native",
            "exa",
            "firecrawl",
            "parallel",
            "perplexity",
        ],
        "auto",
    ),
    number(
        "web_search_max_results",
        "Web search: results",
        "The most search results given to the model (1–25).",
        (1, 25),
        5,
    ),
    choice(
        "web_search_context_size",
        "Web search: context size",
        "How much of the search results native search puts in the model's context.",
        &["low", "medium", "high"],
        "medium",
    ),
    // Models.
    text(
        "model_allow",
        "Models: allow-list",
        "Comma-separated model ids or * patterns clients may use, e.g. openai/*,anthropic.claude-sonnet-4.5. None: every model.",
        8 * 1024,
    ),
    flag(
        "model_free_only",
        "Models: free only",
        "List and accept only free models (every price zero).",
        false,
    ),
    flag(
        "model_tools_only",
        "Models: tool calling only",
        "List and accept only models with tool calling.",
        false,
    ),
    number(
        "catalog_ttl_secs",
        "Models: catalog lifetime (s)",
        "How long the cached OpenRouter model list counts as fresh, in seconds.",
        (0, 7 * DAY),
        600,
    ),
    // Resilience.
    number(
        "upstream_retries",
        "Retries",
        "Retries of a chat request whose call to OpenRouter failed transiently before anything reached the client; 0 turns retries off.",
        (0, 10),
        2,
    ),
    number(
        "upstream_retry_wait_secs",
        "Retries: most wait (s)",
        "The most one request waits between those retries, in total, in seconds.",
        (0, 600),
        10,
    ),
    number(
        "breaker_failures",
        "Breaker: failures",
        "Upstream failures within the window after which a user's requests are refused for a while; 0 turns the breaker off.",
        (0, 1_000),
        5,
    ),
    number(
        "breaker_window_secs",
        "Breaker: window (s)",
        "The breaker's window, in seconds.",
        (1, DAY),
        60,
    ),
    number(
        "tool_breaker_failures",
        "Tool breaker: failures",
        "Failed calls of one server (MCP) tool by one user within the window after which that tool is left out for that user for the cool-down; 0 turns it off.",
        (0, 100),
        3,
    ),
    number(
        "tool_breaker_window_secs",
        "Tool breaker: window (s)",
        "The tool breaker's window, in seconds.",
        (1, DAY),
        300,
    ),
    number(
        "tool_breaker_cooldown_secs",
        "Tool breaker: cool-down (s)",
        "How long a tool stays left out, in seconds; then it is offered again, and one more failure soon after leaves it out again at once.",
        (1, DAY),
        300,
    ),
    number(
        "tool_loop_max_rounds",
        "Tools: rounds per answer",
        "How many times in one answer orpipe runs server (MCP) tools and asks the model again; then the model must answer without tools.",
        (1, 50),
        8,
    ),
    number(
        "tool_loop_parallel_calls",
        "Tools: calls at once",
        "Server tool calls of one response run together, at most this many at a time.",
        (1, 32),
        4,
    ),
    number(
        "tool_output_max_bytes",
        "Tools: output cap (bytes)",
        "Bytes of one server tool's output the model reads; the rest is cut with a note.",
        (1024, 8 * 1024 * 1024),
        64 * 1024,
    ),
    number(
        "tool_call_timeout_secs",
        "Tools: call timeout (s)",
        "Seconds one server tool call may take (an MCP server's own timeout may be shorter); then the model reads that it timed out.",
        (1, 600),
        60,
    ),
    // Deadlines.
    number(
        "upstream_connect_timeout_secs",
        "Deadline: connect (s)",
        "Connecting to OpenRouter (TCP and TLS), in seconds.",
        (1, 600),
        10,
    ),
    number(
        "upstream_first_byte_timeout_secs",
        "Deadline: first byte (s)",
        "Until OpenRouter's response head arrives, in seconds.",
        (1, DAY),
        180,
    ),
    number(
        "upstream_idle_timeout_secs",
        "Deadline: idle (s)",
        "Silence allowed between bytes of an answer, in seconds.",
        (1, DAY),
        300,
    ),
    number(
        "request_deadline_secs",
        "Deadline: whole answer (s)",
        "The longest one answer may take, in seconds.",
        (1, DAY),
        3600,
    ),
    number(
        "remote_file_max_mb",
        "Remote audio: largest file (MB)",
        "Largest audio file fetched for an input_audio part given as a URL (1–100).",
        (1, 100),
        20,
    ),
    flag(
        "zdr_only",
        "Models: zero data retention only",
        "List and accept only models OpenRouter can serve from endpoints that keep no data (its ZDR list, loaded with the catalog; without the list every model is refused).",
        false,
    ),
    flag(
        "zdr_enforce",
        "Models: enforce zero data retention",
        "As ZDR only, and every request asks OpenRouter for ZDR endpoints (provider.zdr).",
        false,
    ),
    // Endpoint choice (translate::endpoint).
    choice(
        "default_endpoint",
        "Endpoint: default",
        "responses (OpenRouter's Responses API) or chat_completions. Presets, stop sequences and image output use chat_completions whatever this says.",
        &["responses", "chat_completions"],
        "responses",
    ),
    text(
        "force_chat_completions_models",
        "Endpoint: models forced to chat_completions",
        "Comma-separated globs (*) over OpenRouter or listed ids, e.g. mistralai/*.",
        2000,
    ),
    text(
        "force_responses_models",
        "Endpoint: models kept on responses",
        "Comma-separated globs; they win over the chat_completions list and turn the fallback off for their models.",
        2000,
    ),
    flag(
        "auto_fallback_chat_completions",
        "Endpoint: fall back to chat_completions",
        "When /responses refuses a model as unsupported before the answer starts, ask /chat/completions once.",
        true,
    ),
    // Image output (translate::image_output).
    flag(
        "image_output_auto",
        "Images: ask image models for images",
        "Models whose catalog lists image output get modalities [image, text] when the client sent none (Open WebUI never does). Background tasks never do.",
        true,
    ),
    flag(
        "image_output_markdown",
        "Images: also as Markdown",
        "Also put each generated image in the text as a Markdown data-URL image, for clients that render only text. The image then lives in the chat text and is resent with the history.",
        false,
    ),
    number(
        "image_output_max_mb",
        "Images: largest image (MB)",
        "A generated image larger than this (as a data URL) is replaced by a note (1–64).",
        (1, 64),
        10,
    ),
    // Long chats and history.
    number(
        "max_input_images",
        "History: images per request",
        "Images sent from the latest user turn (1–20); earlier turns' images become a short note.",
        (1, 20),
        5,
    ),
    flag(
        "auto_context_compression",
        "History: context compression",
        "Add OpenRouter's context-compression plugin unless the request chose; off sends truncation: disabled, so an overflow fails clearly.",
        true,
    ),
    number(
        "tool_output_retention_turns",
        "History: tool output retention (turns)",
        "Tool outputs of 800+ characters this many user turns old keep only their head and tail (0: never by age).",
        (0, 1000),
        10,
    ),
    number(
        "tool_output_budget_percent",
        "History: tool output budget (%)",
        "Share of the model's context all tool outputs of a request may take together; the oldest are pruned first.",
        (1, 100),
        50,
    ),
    flag(
        "anthropic_interleaved_thinking",
        "Reasoning: Anthropic interleaved thinking",
        "Anthropic models get x-anthropic-beta: interleaved-thinking-2025-05-14, so they may think between tool calls.",
        true,
    ),
    // Identifiers and caching.
    flag(
        "send_user_id",
        "Identifiers: user id",
        "Send the user's Open WebUI id (or the client's own user) as user. Never an email or a name.",
        true,
    ),
    flag(
        "send_cache_session_id",
        "Identifiers: sticky session id",
        "Send a keyed hash of the chat id as session_id, so OpenRouter keeps a chat on one provider and its prompt cache.",
        true,
    ),
    flag(
        "send_chat_id",
        "Identifiers: chat id in metadata",
        "Send Open WebUI's chat id as metadata.chat_id.",
        false,
    ),
    flag(
        "send_message_id",
        "Identifiers: message id in metadata",
        "Send Open WebUI's message id as metadata.message_id.",
        false,
    ),
    flag(
        "send_session_id",
        "Identifiers: session id in metadata",
        "Send Open WebUI's session id as metadata.session_id.",
        false,
    ),
    flag(
        "anthropic_prompt_caching",
        "Caching: Anthropic prompt caching",
        "Add cache_control to requests for Anthropic models unless the request has one.",
        true,
    ),
    choice(
        "anthropic_cache_ttl",
        "Caching: Anthropic cache lifetime",
        "5m or 1h (longer costs more to write).",
        &["5m", "1h"],
        "5m",
    ),
    // Attribution.
    text(
        "http_referer",
        "Attribution: HTTP-Referer",
        "Sent to OpenRouter as HTTP-Referer (app attribution in its rankings). None: not sent.",
        2048,
    ),
    text(
        "app_title",
        "Attribution: app title",
        "Sent to OpenRouter as X-OpenRouter-Title (only effective with a referer).",
        256,
    ),
    // Stored reasoning.
    flag(
        "persist_reasoning",
        "Stored reasoning",
        "Store reasoning and replay it to the model on later turns (marker lines in answers). Off stops storing; histories with markers are still cleaned.",
        true,
    ),
    number(
        "artifact_retention_days",
        "Stored reasoning: retention (days)",
        "Stored reasoning not replayed for this many days is deleted.",
        (1, 36_500),
        90,
    ),
    // Error cards, one per failure class.
    template(
        "template_invalid_request",
        "Card: invalid request",
        ErrorClass::InvalidRequest,
    ),
    template(
        "template_authentication",
        "Card: authentication",
        ErrorClass::Authentication,
    ),
    template("template_credits", "Card: credits", ErrorClass::Credits),
    template("template_refused", "Card: refused", ErrorClass::Refused),
    template("template_timeout", "Card: timeout", ErrorClass::Timeout),
    template(
        "template_rate_limit",
        "Card: rate limit",
        ErrorClass::RateLimit,
    ),
    template(
        "template_upstream_server",
        "Card: upstream server",
        ErrorClass::UpstreamServer,
    ),
    template(
        "template_connection",
        "Card: connection",
        ErrorClass::Connection,
    ),
    template(
        "template_interrupted",
        "Card: interrupted",
        ErrorClass::Interrupted,
    ),
    template(
        "template_internal",
        "Card: internal error",
        ErrorClass::Internal,
    ),
    template(
        "template_disabled",
        "Card: temporarily disabled",
        ErrorClass::Disabled,
    ),
    template(
        "template_payload_too_large",
        "Card: request too large",
        ErrorClass::PayloadTooLarge,
    ),
    template(
        "template_server_timeout",
        "Card: OpenRouter timed out",
        ErrorClass::ServerTimeout,
    ),
    template(
        "template_model_restricted",
        "Card: model restricted",
        ErrorClass::ModelRestricted,
    ),
    text(
        "support_email",
        "Cards: support email",
        "Shown at the end of every built-in error card ({support_email} in templates). None: no support line.",
        300,
    ),
    text(
        "support_url",
        "Cards: support URL",
        "A support URL or other contact, shown on every built-in error card ({support_url}). None: no support line.",
        300,
    ),
    // OpenRouter's server tools (translate::server_tools).
    text(
        "server_tools",
        "Tools: OpenRouter server tools",
        "JSON list of rules [{\"models\": \"openai/*,anthropic/*\", \"tools\": [{\"type\": \"openrouter:datetime\"}, {\"type\": \"openrouter:web_search\", \"parameters\": {\"max_results\": 5}}]}]: chat turns with a matching model get these tools OpenRouter runs itself, unless the request has one of the same type. None: no server tools.",
        8000,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::settings::{ArtifactSettings, keys as artifact_keys};
    use crate::settings::{Settings, keys};
    use crate::translate::{endpoint, image_output};
    use crate::valves::find;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_and_every_property_has_a_title_and_description() {
        let mut seen = HashSet::new();
        for valve in VALVES {
            assert!(seen.insert(valve.key), "{} twice", valve.key);
            assert!(!valve.title.trim().is_empty(), "{}", valve.key);
            assert!(!valve.description.trim().is_empty(), "{}", valve.key);
            assert!(
                valve
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                valve.key
            );
        }
    }

    #[test]
    fn every_card_class_has_its_template_row() {
        for class in ErrorClass::ALL {
            let valve = find(&class.config_key()).expect("a row per class");
            assert_eq!(valve.kind, Kind::Template(class));
        }
    }

    /// Every key of `settings::keys` and `artifacts::settings::keys` is live or a secret;
    /// `defaults_agree_with_the_settings_parsers` finds the numbers and flags by them.
    #[test]
    fn the_settings_keys_are_the_ones_the_settings_read() {
        for key in [keys::HTTP_REFERER, keys::APP_TITLE, keys::MODEL_ALLOW] {
            assert!(find(key).is_some(), "{key} is live");
        }
        for secret in [
            keys::OPENROUTER_API_KEY,
            keys::OPENROUTER_BASE_URL,
            artifact_keys::ARTIFACT_KEY,
            artifact_keys::ARTIFACT_OLD_KEYS,
            // The MCP servers' list holds bearer tokens, and widening it is the host's call.
            "mcp_servers",
        ] {
            assert!(find(secret).is_none(), "{secret} must never be live");
        }
    }

    /// Each default is what the settings parse to when the key is unset, so the tab
    /// never shows a default orpipe does not use.
    #[test]
    fn defaults_agree_with_the_settings_parsers() {
        let s = Settings::from_lookup(|_| None).expect("defaults");
        let a = ArtifactSettings::from_lookup(|_| None).expect("defaults");
        let number = |key: &str| match find(key).map(|v| v.kind) {
            Some(Kind::Number { default, .. }) => default,
            other => panic!("{key}: {other:?}"),
        };
        let flag = |key: &str| match find(key).map(|v| v.kind) {
            Some(Kind::Flag { default }) => default,
            other => panic!("{key}: {other:?}"),
        };
        assert_eq!(number(keys::CATALOG_TTL_SECS), s.catalog_ttl.as_secs());
        assert_eq!(
            number(keys::UPSTREAM_RETRIES),
            u64::from(s.retry.max_retries)
        );
        assert_eq!(
            number(keys::UPSTREAM_RETRY_WAIT_SECS),
            s.retry.max_wait.as_secs()
        );
        assert_eq!(
            number(keys::BREAKER_FAILURES),
            u64::from(s.breaker.failures)
        );
        assert_eq!(number(keys::BREAKER_WINDOW_SECS), s.breaker.window_secs);
        assert_eq!(
            number(keys::UPSTREAM_CONNECT_TIMEOUT_SECS),
            s.deadlines.connect.as_secs()
        );
        assert_eq!(
            number(keys::UPSTREAM_FIRST_BYTE_TIMEOUT_SECS),
            s.deadlines.first_byte.as_secs()
        );
        assert_eq!(
            number(keys::UPSTREAM_IDLE_TIMEOUT_SECS),
            s.deadlines.idle.as_secs()
        );
        assert_eq!(
            number(keys::REQUEST_DEADLINE_SECS),
            s.deadlines.total.as_secs()
        );
        assert_eq!(
            number(keys::REMOTE_FILE_MAX_MB) * 1024 * 1024,
            s.remote_file_max_bytes as u64
        );
        assert_eq!(number(artifact_keys::RETENTION_DAYS), a.retention_days);
        assert_eq!(flag(keys::MODEL_FREE_ONLY), s.model_filter.free_only);
        assert_eq!(flag(keys::MODEL_TOOLS_ONLY), s.model_filter.tools_only);
        assert_eq!(flag(keys::OWUI_PIPELINES), s.owui_pipelines);
        assert_eq!(
            flag(keys::ANTHROPIC_INTERLEAVED_THINKING),
            s.features.anthropic_interleaved_thinking
        );
        assert_eq!(
            flag(endpoint::keys::AUTO_FALLBACK),
            s.endpoints.auto_fallback
        );
        assert_eq!(
            flag(image_output::keys::AUTO),
            s.image_output.auto_modalities
        );
        assert_eq!(flag(image_output::keys::MARKDOWN), s.image_output.markdown);
        assert_eq!(
            number(image_output::keys::MAX_MB) * 1024 * 1024,
            s.image_output.max_bytes as u64
        );
        assert_eq!(flag(artifact_keys::PERSIST_REASONING), a.persist);
    }

    #[test]
    fn the_open_webui_guide_lists_every_live_setting() {
        let guide = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/open-webui.md"
        ));
        for valve in VALVES {
            assert!(
                guide.contains(&format!("`{}`", valve.key)),
                "{} is not in docs/open-webui.md",
                valve.key
            );
        }
    }

    #[test]
    fn defaults_lie_within_their_ranges_and_choices() {
        for valve in VALVES {
            match valve.kind {
                Kind::Number { min, max, default } => {
                    assert!((min..=max).contains(&default), "{}", valve.key)
                }
                Kind::Choice { values, default } => {
                    assert!(values.contains(&default), "{}", valve.key)
                }
                Kind::List { values, default } => assert!(
                    default.split(',').all(|item| values.contains(&item)),
                    "{}",
                    valve.key
                ),
                Kind::Flag { .. } | Kind::Text { .. } | Kind::Template(_) => {}
            }
        }
    }

    #[test]
    fn tool_loop_defaults_agree_with_their_parser() {
        use crate::tool_loop::ToolLoopSettings;
        use crate::tool_loop::settings::keys as loop_keys;
        let s = ToolLoopSettings::default();
        let number = |key: &str| match find(key).map(|v| v.kind) {
            Some(Kind::Number { default, .. }) => default,
            other => panic!("{key}: {other:?}"),
        };
        assert_eq!(number(loop_keys::MAX_ROUNDS), u64::from(s.max_rounds));
        assert_eq!(number(loop_keys::PARALLEL_CALLS), s.parallel_calls as u64);
        assert_eq!(
            number(loop_keys::OUTPUT_MAX_BYTES),
            s.output_max_bytes as u64
        );
        assert_eq!(number(loop_keys::CALL_TIMEOUT_SECS), s.call_timeout_secs);
    }

    #[test]
    fn tool_breaker_defaults_agree_with_their_parser() {
        use crate::tool_loop::breaker::{ToolBreakerPolicy, keys as tool_keys};
        let p = ToolBreakerPolicy::from_lookup(|_| None).expect("defaults");
        let number = |key: &str| match find(key).map(|v| v.kind) {
            Some(Kind::Number { default, .. }) => default,
            other => panic!("{key}: {other:?}"),
        };
        assert_eq!(number(tool_keys::FAILURES), u64::from(p.failures));
        assert_eq!(number(tool_keys::WINDOW_SECS), p.window_secs);
        assert_eq!(number(tool_keys::COOLDOWN_SECS), p.cooldown_secs);
    }
}
