//! The default card of every failure class: the original pipe's default templates
//! (its `core/config.py`, FEATURES §9.2), word for word, so a person sees the cards they
//! knew. orpipe adds only lines that render nothing with the original's inputs: the
//! support contacts where a template lacked them, the provider's request id on the
//! cards of upstream failures (the OpenRouter card had it), the error id on the two
//! cards that had none, and a card for its request breaker.
//!
//! Each template is rendered by `template::render` with the variables of `vars`.

/// `INVALID_REQUEST` and `REFUSED`: the original's `OPENROUTER_ERROR_TEMPLATE` (400, other 4xx,
/// in-stream errors), with the support lines added.
pub const OPENROUTER: &str = "{{#if heading}}\n\
### 🚫 {heading} could not process your request.\n\
\n\
{{/if}}\n\
{{#if error_id}}\n\
- **Error ID**: `{error_id}`\n\
{{/if}}\n\
{{#if timestamp}}\n\
- **Time**: {timestamp}\n\
{{/if}}\n\
{{#if session_id}}\n\
- **Session**: `{session_id}`\n\
{{/if}}\n\
{{#if user_id}}\n\
- **User**: `{user_id}`\n\
{{/if}}\n\
{{#if sanitized_detail}}\n\
### Error: `{sanitized_detail}`\n\
\n\
{{/if}}\n\
{{#if openrouter_message}}\n\
- **OpenRouter message**: `{openrouter_message}`\n\
{{/if}}\n\
{{#if upstream_message}}\n\
- **Provider message**: `{upstream_message}`\n\
{{/if}}\n\
{{#if model_identifier}}\n\
- **Model**: `{model_identifier}`\n\
{{/if}}\n\
{{#if provider}}\n\
- **Provider**: `{provider}`\n\
{{/if}}\n\
{{#if requested_model}}\n\
- **Requested model**: `{requested_model}`\n\
{{/if}}\n\
{{#if api_model_id}}\n\
- **API model id**: `{api_model_id}`\n\
{{/if}}\n\
{{#if normalized_model_id}}\n\
- **Normalized model id**: `{normalized_model_id}`\n\
{{/if}}\n\
{{#if openrouter_code}}\n\
- **OpenRouter code**: `{openrouter_code}`\n\
{{/if}}\n\
{{#if upstream_type}}\n\
- **Provider error**: `{upstream_type}`\n\
{{/if}}\n\
{{#if reason}}\n\
- **Reason**: `{reason}`\n\
{{/if}}\n\
{{#if request_id}}\n\
- **Request ID**: `{request_id}`\n\
{{/if}}\n\
{{#if native_finish_reason}}\n\
- **Finish reason**: `{native_finish_reason}`\n\
{{/if}}\n\
{{#if error_chunk_id}}\n\
- **Chunk ID**: `{error_chunk_id}`\n\
{{/if}}\n\
{{#if error_chunk_created}}\n\
- **Chunk time**: {error_chunk_created}\n\
{{/if}}\n\
{{#if streaming_provider}}\n\
- **Streaming provider**: `{streaming_provider}`\n\
{{/if}}\n\
{{#if streaming_model}}\n\
- **Streaming model**: `{streaming_model}`\n\
{{/if}}\n\
{{#if include_model_limits}}\n\
\n\
**Model limits:**\n\
{{#if context_limit_tokens}}Context window: {context_limit_tokens} tokens\n\
{{/if}}\n\
{{#if max_output_tokens}}Max output tokens: {max_output_tokens} tokens\n\
{{/if}}\n\
Adjust your prompt or requested output to stay within these limits.\n\
{{/if}}\n\
{{#if moderation_reasons}}\n\
\n\
**Moderation reasons:**\n\
{moderation_reasons}\n\
Please review the flagged content or contact your administrator if you believe this is a mistake.\n\
{{/if}}\n\
{{#if flagged_excerpt}}\n\
\n\
**Flagged text excerpt:**\n\
```\n\
{flagged_excerpt}\n\
```\n\
Provide this excerpt when following up with your administrator.\n\
{{/if}}\n\
{{#if raw_body}}\n\
\n\
**Raw provider response:**\n\
```\n\
{raw_body}\n\
```\n\
{{/if}}\n\
{{#if metadata_json}}\n\
\n\
**Metadata:**\n\
```\n\
{metadata_json}\n\
```\n\
{{/if}}\n\
{{#if provider_raw_json}}\n\
\n\
**Provider raw error:**\n\
```\n\
{provider_raw_json}\n\
```\n\
{{/if}}\n\
\n\
Please adjust the request and try again, or ask your admin to enable the middle-out option.\n\
{{#if request_id_reference}}\n\
{request_id_reference}\n\
{{/if}}\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `AUTHENTICATION`: `AUTHENTICATION_ERROR_TEMPLATE` (401), with the request id and
/// `support_url` added.
pub const AUTHENTICATION: &str = "### 🔐 Authentication Failed\n\
\n\
OpenRouter rejected your credentials.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if request_id}}\n\
**Request ID:** `{request_id}`\n\
{{/if}}\n\
{{#if openrouter_code}}\n\
**Status:** {openrouter_code}\n\
{{/if}}\n\
{{#if openrouter_message}}\n\
**Details:** {openrouter_message}\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
**What to do:**\n\
1. Verify the API key configured for this pipe\n\
2. Generate a new key at https://openrouter.ai/keys if needed\n\
3. If using OAuth, re-authenticate your session\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `CREDITS`: `INSUFFICIENT_CREDITS_TEMPLATE` (402), with the request id and
/// `support_url` added.
pub const CREDITS: &str = "### 💳 Insufficient Credits\n\
\n\
OpenRouter could not run this request because the account is out of credits.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if request_id}}\n\
**Request ID:** `{request_id}`\n\
{{/if}}\n\
{{#if openrouter_code}}\n\
**Status:** {openrouter_code}\n\
{{/if}}\n\
{{#if openrouter_message}}\n\
**Details:** {openrouter_message}\n\
{{/if}}\n\
{{#if required_cost}}\n\
**Estimated cost:** ${required_cost}\n\
{{/if}}\n\
{{#if account_balance}}\n\
**Current balance:** ${account_balance}\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
**What to do:**\n\
- Add credits at https://openrouter.ai/credits\n\
- Review usage at https://openrouter.ai/usage\n\
- Consider enabling auto-recharge to avoid interruptions\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `PAYLOAD_TOO_LARGE`: `PAYLOAD_TOO_LARGE_TEMPLATE` (413), with the request id and
/// `support_url` added.
pub const PAYLOAD_TOO_LARGE: &str = "### 📦 Request Too Large\n\
\n\
The request payload exceeds the size limit accepted by OpenRouter.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if request_id}}\n\
**Request ID:** `{request_id}`\n\
{{/if}}\n\
{{#if openrouter_code}}\n\
**Status:** {openrouter_code}\n\
{{/if}}\n\
{{#if openrouter_message}}\n\
**Details:** {openrouter_message}\n\
{{/if}}\n\
{{#if model_identifier}}\n\
**Model:** `{model_identifier}`\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
**What to do:**\n\
- Shorten your prompt or reduce the conversation history\n\
- Remove or compress large attachments\n\
- Try a model with a larger context window\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `SERVER_TIMEOUT`: `SERVER_TIMEOUT_TEMPLATE` (408), with the request id and
/// `support_url` added.
pub const SERVER_TIMEOUT: &str = "### 🕒 OpenRouter Timed Out\n\
\n\
OpenRouter started the request but couldn't finish within its timeout window.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if request_id}}\n\
**Request ID:** `{request_id}`\n\
{{/if}}\n\
{{#if openrouter_code}}\n\
**Status:** {openrouter_code}\n\
{{/if}}\n\
{{#if openrouter_message}}\n\
**Details:** {openrouter_message}\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
**Next steps:**\n\
- Retry shortly; the upstream provider may be busy\n\
- Reduce prompt size or requested work\n\
- Contact support if the issue persists\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `TIMEOUT`: `NETWORK_TIMEOUT_TEMPLATE` (orpipe's own deadlines), with `support_url` added.
pub const NETWORK_TIMEOUT: &str = "### ⏱️ Request Timeout\n\
\n\
The request to OpenRouter took too long to complete.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if timeout_seconds}}\n\
**Timeout:** {timeout_seconds}s\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
**Possible causes:**\n\
- OpenRouter's servers are slow or overloaded\n\
- Network congestion\n\
- Large request taking longer than expected\n\
\n\
**What to do:**\n\
- Wait a few moments and try again\n\
- Try a smaller request if possible\n\
- Check [OpenRouter Status](https://status.openrouter.ai/)\n\
{{#if support_email}}\n\
- Contact support: {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
- Support: {support_url}\n\
{{/if}}\n\
";

/// `RATE_LIMIT`: `RATE_LIMIT_TEMPLATE` (429), with the request id and
/// `support_url` added.
pub const RATE_LIMIT: &str = "### ⏸️ Rate Limit Exceeded\n\
\n\
OpenRouter is protecting the service because too many requests were made quickly.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if request_id}}\n\
**Request ID:** `{request_id}`\n\
{{/if}}\n\
{{#if openrouter_code}}\n\
**Status:** {openrouter_code}\n\
{{/if}}\n\
{{#if retry_after_seconds}}\n\
**Retry after:** {retry_after_seconds}s\n\
{{/if}}\n\
{{#if rate_limit_type}}\n\
**Limit type:** {rate_limit_type}\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
**Tips:**\n\
- Back off and retry with exponential delays\n\
- Queue requests or lower parallelism\n\
- Contact OpenRouter if you need higher limits\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `UPSTREAM_SERVER`: `SERVICE_ERROR_TEMPLATE` (5xx), with the request id and
/// `support_url` added.
pub const SERVICE_ERROR: &str = "### 🔴 OpenRouter Service Error\n\
\n\
OpenRouter's servers are experiencing issues.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if request_id}}\n\
**Request ID:** `{request_id}`\n\
{{/if}}\n\
{{#if status_code}}\n\
**Status:** {status_code} {reason}\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
This is **not** a problem with your request. The issue is on OpenRouter's side.\n\
\n\
**What to do:**\n\
- Wait a few minutes and try again\n\
- Check [OpenRouter Status](https://status.openrouter.ai/) for updates\n\
- If the problem persists for more than 15 minutes, contact OpenRouter support\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `CONNECTION`: `CONNECTION_ERROR_TEMPLATE`, with `support_url` added.
pub const CONNECTION_ERROR: &str = "### 🔌 Connection Failed\n\
\n\
Unable to reach OpenRouter's servers.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if error_type}}\n\
**Error type:** `{error_type}`\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
**Possible causes:**\n\
- Network connectivity issues\n\
- Firewall blocking HTTPS traffic\n\
- DNS resolution failure\n\
- OpenRouter service outage\n\
\n\
**What to do:**\n\
1. Check your internet connection\n\
2. Verify firewall allows HTTPS (port 443)\n\
3. Check [OpenRouter Status](https://status.openrouter.ai/)\n\
4. Contact your network administrator if the issue persists\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `INTERRUPTED`: `STREAM_INTERRUPTED_TEMPLATE`, with the error id added (orpipe puts it on
/// every card: it is how an operator finds the request's log line).
pub const STREAM_INTERRUPTED: &str = "---\n\
### ⚠️ Response interrupted\n\
\n\
The stream ended unexpectedly before the model finished responding.\n\
\n\
{{#if model}}\n\
**Model:** `{model}`\n\
{{/if}}\n\
{{#if error_id}}\n\
**Error ID:** `{error_id}`\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
Retry the message — this is usually a transient issue.\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `INTERNAL`: `INTERNAL_ERROR_TEMPLATE`, as it was.
pub const INTERNAL_ERROR: &str = "### ⚠️ Unexpected Error\n\
\n\
Something unexpected went wrong while processing your request.\n\
\n\
**Error ID:** `{error_id}` -- Share this with support\n\
{{#if error_type}}\n\
**Error type:** `{error_type}`\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
The error has been logged and will be investigated.\n\
\n\
**What to do:**\n\
- Try your request again\n\
- If the problem persists, contact support with the Error ID above\n\
{{#if support_email}}\n\
- Email: {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
- Support: {support_url}\n\
{{/if}}\n\
";

/// `MODEL_RESTRICTED`: `MODEL_RESTRICTED_TEMPLATE` (case C18), with the error id, time and
/// support lines added.
pub const MODEL_RESTRICTED: &str = "### 🚫 Model restricted\n\
\n\
This pipe rejected the requested model due to configuration restrictions.\n\
\n\
- **Requested model**: `{requested_model}`\n\
{{#if normalized_model_id}}\n\
- **Normalized model id**: `{normalized_model_id}`\n\
{{/if}}\n\
{{#if restriction_reasons}}\n\
- **Restricted by**: {restriction_reasons}\n\
{{/if}}\n\
{{#if model_id_filter}}\n\
- **MODEL_ID**: `{model_id_filter}`\n\
{{/if}}\n\
{{#if free_model_filter}}\n\
- **FREE_MODEL_FILTER**: `{free_model_filter}`\n\
{{/if}}\n\
{{#if tool_calling_filter}}\n\
- **TOOL_CALLING_FILTER**: `{tool_calling_filter}`\n\
{{/if}}\n\
{{#if error_id}}\n\
- **Error ID**: `{error_id}`\n\
{{/if}}\n\
{{#if timestamp}}\n\
- **Time**: {timestamp}\n\
{{/if}}\n\
\n\
Choose an allowed model or ask your admin to update the pipe filters.\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";

/// `DISABLED`: orpipe's own (the original's breaker answered with a fixed line, which this
/// card starts with), in the style of the others.
pub const DISABLED: &str = "### ⛔ Temporarily disabled\n\
\n\
Temporarily disabled due to repeated errors. Please retry later.\n\
\n\
**Error ID:** `{error_id}`\n\
{{#if failures}}\n\
**Failed requests:** {failures} within {window_seconds}s\n\
{{/if}}\n\
{{#if retry_after_seconds}}\n\
**Retry after:** {retry_after_seconds}s\n\
{{/if}}\n\
{{#if timestamp}}\n\
**Time:** {timestamp}\n\
{{/if}}\n\
\n\
Your recent requests kept failing upstream, so orpipe pauses yours for a moment instead of adding load to a failing provider.\n\
\n\
**What to do:**\n\
- Wait a little, then retry\n\
- If it keeps happening, check the earlier error cards for the cause\n\
{{#if support_email}}\n\
\n\
**Support:** {support_email}\n\
{{/if}}\n\
{{#if support_url}}\n\
\n\
**Support:** {support_url}\n\
{{/if}}\n\
";
