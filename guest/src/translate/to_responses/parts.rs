//! Chat Completions content parts → Responses content parts (FEATURES §4.2, API.md §2.2).
//!
//! | chat part | Responses part |
//! |---|---|
//! | `text` (also `input_text`) | `input_text` (`output_text` in assistant messages) |
//! | `refusal` (assistant) | `refusal` |
//! | `image_url` (also `input_image`) | `input_image {image_url, detail}`; detail `auto` unless `low`/`high`/`original` |
//! | `input_audio` (also `audio`) | `input_audio {input_audio: {data, format}}`, base64 only, `mp3` or `wav` |
//! | `file` (also `input_file`) | `input_file {file_id?, file_data?, file_url?, filename?}` |
//! | `video_url` (also `input_video`) | `input_video {video_url}` |
//!
//! URLs are passed through as sent (downloading and SSRF checks are a later step). Data URLs
//! are checked for shape — `data:<type>/<subtype>[;params];base64,<payload>` with a payload
//! in the base64 alphabet — by one scan of the bytes, never by decoding them. Anything this
//! module cannot translate faithfully is an `InvalidRequest` naming the part.

use super::invalid;
use crate::errors::GatewayError;
use serde_json::{Map, Value, json};

/// Which parts a message of a given role may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartContext {
    /// `user` messages and multimodal tool results: every input part.
    UserInput,
    /// `system` and `developer` messages: text only.
    Instructions,
    /// `assistant` messages: text and refusals.
    Assistant,
}

/// Formats `/responses` accepts for `input_audio` (API.md §2.2).
const AUDIO_FORMATS: &[&str] = &["mp3", "wav"];

/// Translates one content part; `at` names it in errors (`messages[2].content[1]`).
pub fn translate_part(at: &str, part: &Value, context: PartContext) -> Result<Value, GatewayError> {
    // Some clients put bare strings in content arrays; the original accepts them as text.
    if let Value::String(text) = part {
        return Ok(text_part(text, context));
    }
    let Value::Object(part) = part else {
        return Err(invalid(format!("{at} must be an object with a `type`")));
    };
    let kind = match part.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        _ => return Err(invalid(format!("{at} needs a string `type`"))),
    };
    match (kind, context) {
        ("text" | "input_text" | "output_text", _) => {
            let text = required_str(at, part, "text")?;
            Ok(text_part(text, context))
        }
        ("refusal", PartContext::Assistant) => {
            let refusal = required_str(at, part, "refusal")?;
            Ok(json!({"type": "refusal", "refusal": refusal}))
        }
        ("image_url" | "input_image", PartContext::UserInput) => image_part(at, part),
        ("input_audio" | "audio", PartContext::UserInput) => audio_part(at, part),
        ("file" | "input_file", PartContext::UserInput) => file_part(at, part),
        ("video_url" | "input_video", PartContext::UserInput) => video_part(at, part),
        (_, PartContext::Instructions) => Err(invalid(format!(
            "{at}: system and developer messages carry text only, not {kind:?} parts"
        ))),
        (_, PartContext::Assistant) => Err(invalid(format!(
            "{at}: assistant messages carry text or refusal parts, not {kind:?}"
        ))),
        (_, PartContext::UserInput) => Err(invalid(format!(
            "{at}: content part type {kind:?} is not supported (text, image_url, input_audio, file, video_url are)"
        ))),
    }
}

fn text_part(text: &str, context: PartContext) -> Value {
    let kind = match context {
        PartContext::Assistant => "output_text",
        PartContext::UserInput | PartContext::Instructions => "input_text",
    };
    json!({"type": kind, "text": text})
}

/// `{"type":"image_url","image_url":{"url":U,"detail":D}}` (or `image_url: U`, or the
/// Responses form `{"type":"input_image","image_url":U,"detail":D}`).
fn image_part(at: &str, part: &Map<String, Value>) -> Result<Value, GatewayError> {
    let (url, detail) = match part.get("image_url") {
        Some(Value::String(url)) => (url.as_str(), part.get("detail")),
        Some(Value::Object(inner)) => match inner.get("url") {
            Some(Value::String(url)) => (url.as_str(), inner.get("detail")),
            _ => return Err(invalid(format!("{at}.image_url needs a string `url`"))),
        },
        _ => return Err(invalid(format!("{at} needs `image_url` with a `url`"))),
    };
    let url = if url.starts_with("data:") {
        let data = DataUrl::parse(url).map_err(|why| invalid(format!("{at}: {why}")))?;
        if !data.media_type.starts_with("image/") {
            return Err(invalid(format!(
                "{at}: the data URL holds {:?}, not an image",
                data.media_type
            )));
        }
        // The original's fix-up: `image/jpg` is not a registered type and some providers refuse it.
        if data.media_type.eq_ignore_ascii_case("image/jpg") {
            format!(
                "data:image/jpeg{}",
                url.get("data:image/jpg".len()..).unwrap_or_default()
            )
        } else {
            url.to_owned()
        }
    } else {
        remote_url(at, url)?.to_owned()
    };
    // The original maps any other detail to "auto" rather than failing the request.
    let detail = detail
        .and_then(Value::as_str)
        .filter(|d| matches!(*d, "low" | "high" | "original"))
        .unwrap_or("auto");
    // Built by hand: `json!` would serialize (copy) `url`, which can be a ~60 MiB image.
    let mut out = Map::new();
    out.insert("type".into(), Value::from("input_image"));
    out.insert("image_url".into(), Value::String(url));
    out.insert("detail".into(), Value::from(detail));
    Ok(Value::Object(out))
}

/// `{"type":"input_audio","input_audio":{"data":B64,"format":F}}`; also the original's
/// `{"type":"audio","mimeType":M,"data":B64}` and data URLs in `data`.
fn audio_part(at: &str, part: &Map<String, Value>) -> Result<Value, GatewayError> {
    let (data, format, mime) = match part.get("input_audio") {
        Some(Value::Object(inner)) => (
            inner.get("data"),
            inner.get("format"),
            inner.get("mime_type").or_else(|| inner.get("mimeType")),
        ),
        Some(Value::String(_)) => (part.get("input_audio"), part.get("format"), None),
        _ => (
            part.get("data"),
            part.get("format"),
            part.get("mimeType").or_else(|| part.get("mime_type")),
        ),
    };
    let Some(Value::String(data)) = data else {
        return Err(invalid(format!("{at} needs base64 audio `data`")));
    };
    if data.starts_with("http://") || data.starts_with("https://") {
        return Err(invalid(format!(
            "{at}: audio must be sent inline as base64; URLs are not accepted"
        )));
    }
    let (payload, data_url_mime) = if data.starts_with("data:") {
        let parsed = DataUrl::parse(data).map_err(|why| invalid(format!("{at}: {why}")))?;
        (parsed.payload, Some(parsed.media_type))
    } else {
        check_base64(data).map_err(|why| invalid(format!("{at}: the audio data {why}")))?;
        (data.as_str(), None)
    };
    let format = match format.and_then(Value::as_str) {
        Some(format) => format.to_ascii_lowercase(),
        None => match data_url_mime.or(mime.and_then(Value::as_str)) {
            Some(mime) => audio_format_of_mime(mime).unwrap_or(mime).to_owned(),
            // The original's default.
            None => "mp3".to_owned(),
        },
    };
    if !AUDIO_FORMATS.contains(&format.as_str()) {
        return Err(invalid(format!(
            "{at}: audio format {format:?} is not accepted by OpenRouter's Responses API (only mp3 and wav are)"
        )));
    }
    Ok(json!({"type": "input_audio", "input_audio": {"data": payload, "format": format}}))
}

fn audio_format_of_mime(mime: &str) -> Option<&'static str> {
    match mime.to_ascii_lowercase().as_str() {
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => Some("wav"),
        "audio/mpeg" | "audio/mp3" | "audio/mpeg3" | "audio/x-mpeg-3" => Some("mp3"),
        _ => None,
    }
}

/// `{"type":"file","file":{"file_data":D,"file_id":I,"filename":N}}` (also flat, and
/// `file_url`). A remote URL in `file_data` is sent as `file_url`.
fn file_part(at: &str, part: &Map<String, Value>) -> Result<Value, GatewayError> {
    let fields = match part.get("file") {
        Some(Value::Object(inner)) => inner,
        Some(_) => return Err(invalid(format!("{at}.file must be an object"))),
        None => part,
    };
    let mut out = Map::new();
    out.insert("type".into(), json!("input_file"));
    if let Some(id) = optional_part_str(at, fields, "file_id")? {
        out.insert("file_id".into(), json!(id));
    }
    if let Some(name) = optional_part_str(at, fields, "filename")? {
        out.insert("filename".into(), json!(name));
    }
    if let Some(data) = optional_part_str(at, fields, "file_data")? {
        if data.starts_with("http://") || data.starts_with("https://") {
            out.insert("file_url".into(), json!(data));
        } else {
            DataUrl::parse(data).map_err(|why| invalid(format!("{at}.file_data: {why}")))?;
            out.insert("file_data".into(), json!(data));
        }
    }
    if let Some(url) = optional_part_str(at, fields, "file_url")? {
        out.insert("file_url".into(), json!(remote_url(at, url)?));
    }
    if !["file_id", "file_data", "file_url"]
        .iter()
        .any(|key| out.contains_key(*key))
    {
        return Err(invalid(format!(
            "{at} needs `file_data`, `file_id` or `file_url`"
        )));
    }
    Ok(Value::Object(out))
}

fn video_part(at: &str, part: &Map<String, Value>) -> Result<Value, GatewayError> {
    let url = match part.get("video_url") {
        Some(Value::String(url)) => url.as_str(),
        Some(Value::Object(inner)) => match inner.get("url") {
            Some(Value::String(url)) => url.as_str(),
            _ => return Err(invalid(format!("{at}.video_url needs a string `url`"))),
        },
        _ => return Err(invalid(format!("{at} needs `video_url` with a `url`"))),
    };
    if url.starts_with("data:") {
        DataUrl::parse(url).map_err(|why| invalid(format!("{at}: {why}")))?;
    } else {
        remote_url(at, url)?;
    }
    Ok(json!({"type": "input_video", "video_url": url}))
}

fn remote_url<'a>(at: &str, url: &'a str) -> Result<&'a str, GatewayError> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        Ok(url)
    } else {
        Err(invalid(format!(
            "{at}: the URL must be http(s) or a base64 data URL"
        )))
    }
}

fn required_str<'a>(
    at: &str,
    part: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a str, GatewayError> {
    match part.get(key) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(invalid(format!("{at} needs a string `{key}`"))),
    }
}

fn optional_part_str<'a>(
    at: &str,
    part: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, GatewayError> {
    match part.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("{at}: `{key}` must be a string"))),
    }
}

/// A checked `data:` URL, borrowing from the original string.
#[derive(Debug, PartialEq, Eq)]
pub struct DataUrl<'a> {
    pub media_type: &'a str,
    pub payload: &'a str,
}

impl<'a> DataUrl<'a> {
    /// Checks `data:<type>/<subtype>[;param…];base64,<payload>`; the error says what is wrong.
    pub fn parse(url: &'a str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("data:")
            .ok_or("a data URL must start with `data:`")?;
        let (header, payload) = rest
            .split_once(',')
            .ok_or("the data URL has no `,` before its payload")?;
        let mut params = header.split(';');
        let media_type = params.next().unwrap_or_default();
        let valid_type = media_type
            .split_once('/')
            .is_some_and(|(t, s)| is_token(t) && is_token(s));
        if !valid_type {
            return Err(format!(
                "the data URL's media type {media_type:?} is not `type/subtype`"
            ));
        }
        if !params.any(|p| p.eq_ignore_ascii_case("base64")) {
            return Err("the data URL must be base64-encoded (`;base64,`)".to_owned());
        }
        check_base64(payload).map_err(|why| format!("the data URL's payload {why}"))?;
        Ok(Self {
            media_type,
            payload,
        })
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
}

/// Standard base64 (padding optional, as many encoders omit it): one pass over the bytes.
fn check_base64(payload: &str) -> Result<(), String> {
    if payload.is_empty() {
        return Err("is empty".to_owned());
    }
    let body = payload.trim_end_matches('=');
    let padding = payload.len() - body.len();
    if let Some(at) = body
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/'))
    {
        return Err(format!("is not base64 (unexpected character at byte {at})"));
    }
    if padding > 2 || (padding > 0 && !payload.len().is_multiple_of(4)) || body.len() % 4 == 1 {
        return Err("is not base64 (wrong length or padding)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(part: Value) -> Result<Value, GatewayError> {
        translate_part("messages[0].content[0]", &part, PartContext::UserInput)
    }

    const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    #[test]
    fn every_supported_part_has_its_exact_responses_shape() {
        let cases = [
            (
                json!({"type": "text", "text": "hi"}),
                json!({"type": "input_text", "text": "hi"}),
            ),
            (json!("bare"), json!({"type": "input_text", "text": "bare"})),
            (
                json!({"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}),
                json!({"type": "input_image", "image_url": "https://x.test/a.png", "detail": "auto"}),
            ),
            (
                json!({"type": "image_url", "image_url": {"url": PNG, "detail": "high"}}),
                json!({"type": "input_image", "image_url": PNG, "detail": "high"}),
            ),
            (
                json!({"type": "image_url", "image_url": {"url": "http://x.test/a.png", "detail": "ultra"}}),
                json!({"type": "input_image", "image_url": "http://x.test/a.png", "detail": "auto"}),
            ),
            (
                json!({"type": "image_url", "image_url": "data:image/jpg;base64,/9j/4AAQ"}),
                json!({"type": "input_image", "image_url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "auto"}),
            ),
            (
                json!({"type": "input_image", "image_url": "https://x.test/b.png", "detail": "low"}),
                json!({"type": "input_image", "image_url": "https://x.test/b.png", "detail": "low"}),
            ),
            (
                json!({"type": "input_audio", "input_audio": {"data": "SUQzBAAA", "format": "mp3"}}),
                json!({"type": "input_audio", "input_audio": {"data": "SUQzBAAA", "format": "mp3"}}),
            ),
            (
                json!({"type": "input_audio", "input_audio": {"data": "data:audio/wav;base64,UklGRg==", "format": null}}),
                json!({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}),
            ),
            (
                json!({"type": "input_audio", "input_audio": {"data": "UklGRg=="}}),
                json!({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}}),
            ),
            (
                json!({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}}),
                json!({"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"}),
            ),
            (
                json!({"type": "file", "file": {"file_data": "https://x.test/spec.pdf", "filename": "spec.pdf"}}),
                json!({"type": "input_file", "file_url": "https://x.test/spec.pdf", "filename": "spec.pdf"}),
            ),
            (
                json!({"type": "input_file", "file_url": "https://x.test/s.pdf"}),
                json!({"type": "input_file", "file_url": "https://x.test/s.pdf"}),
            ),
            (
                json!({"type": "video_url", "video_url": {"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}}),
                json!({"type": "input_video", "video_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(user(input.clone()).expect("valid"), expected, "{input}");
        }
        assert_eq!(
            translate_part(
                "a",
                &json!({"type": "text", "text": "ok"}),
                PartContext::Assistant
            )
            .expect("valid"),
            json!({"type": "output_text", "text": "ok"})
        );
        assert_eq!(
            translate_part(
                "a",
                &json!({"type": "refusal", "refusal": "no"}),
                PartContext::Assistant
            )
            .expect("valid"),
            json!({"type": "refusal", "refusal": "no"})
        );
    }

    /// FEATURES §11.2 C7, adapted: orpipe answers a clear 400 for an audio URL instead of
    /// the original's empty `data`, and sends video as the Responses `input_video` part.
    #[test]
    fn c7_media_blocks() {
        let parts = [
            json!({"type": "audio", "mimeType": "audio/wav", "data": "RkFLRV9BVURJT19EQVRB"}),
            json!({"type": "video_url", "video_url": {"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}}),
            json!({"type": "file", "file": {"file_id": "file-abc", "filename": "report.pdf"}}),
        ];
        let translated: Vec<Value> = parts
            .iter()
            .map(|p| user(p.clone()).expect("valid"))
            .collect();
        assert_eq!(
            translated,
            vec![
                json!({"type": "input_audio", "input_audio": {"data": "RkFLRV9BVURJT19EQVRB", "format": "wav"}}),
                json!({"type": "input_video", "video_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}),
                json!({"type": "input_file", "file_id": "file-abc", "filename": "report.pdf"}),
            ]
        );
        let url = user(json!({"type": "input_audio", "input_audio": "https://example.com/a.mp3"}))
            .expect_err("audio URLs are refused");
        assert!(url.to_string().contains("URLs are not accepted"), "{url}");
    }

    #[test]
    fn bad_parts_are_refused_with_the_part_named() {
        let cases = [
            (
                json!({"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}),
                "http(s)",
            ),
            (
                json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}),
                "not base64",
            ),
            (
                json!({"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}),
                "base64-encoded",
            ),
            (
                json!({"type": "image_url", "image_url": {"url": "data:;base64,AAAA"}}),
                "media type",
            ),
            (
                json!({"type": "image_url", "image_url": {"url": "data:text/plain;base64,AAAA"}}),
                "not an image",
            ),
            (
                json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,A"}}),
                "length",
            ),
            (
                json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAAA==="}}),
                "padding",
            ),
            (json!({"type": "image_url"}), "image_url"),
            (
                json!({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "flac"}}),
                "\"flac\"",
            ),
            (
                json!({"type": "input_audio", "input_audio": {"data": "data:audio/ogg;base64,AAAA"}}),
                "audio/ogg",
            ),
            (
                json!({"type": "input_audio", "input_audio": {"data": "not base64!"}}),
                "not base64",
            ),
            (
                json!({"type": "input_audio", "input_audio": {}}),
                "audio `data`",
            ),
            (
                json!({"type": "file", "file": {"filename": "a.pdf"}}),
                "file_data",
            ),
            (
                json!({"type": "file", "file": {"file_data": "JVBERi0x"}}),
                "data:",
            ),
            (json!({"type": "file", "file": "x"}), "must be an object"),
            (json!({"type": "hologram"}), "\"hologram\""),
            (json!({"text": "no type"}), "`type`"),
            (json!(42), "object"),
        ];
        for (part, needle) in cases {
            let error = user(part.clone()).expect_err("invalid");
            let message = error.to_string();
            assert!(
                message.starts_with("messages[0].content[0]"),
                "{part}: {message}"
            );
            assert!(message.contains(needle), "{part}: {message}");
        }
        let system = translate_part(
            "messages[0].content[0]",
            &json!({"type": "image_url", "image_url": {"url": PNG}}),
            PartContext::Instructions,
        )
        .expect_err("text only");
        assert!(system.to_string().contains("text only"), "{system}");
        let assistant = translate_part(
            "m",
            &json!({"type": "image_url", "image_url": {"url": PNG}}),
            PartContext::Assistant,
        )
        .expect_err("text only");
        assert!(assistant.to_string().contains("assistant"), "{assistant}");
    }

    #[test]
    fn data_urls_are_checked_without_decoding() {
        let big = format!("data:application/pdf;base64,{}", "QUFB".repeat(250_000));
        assert_eq!(
            DataUrl::parse(&big).expect("valid").media_type,
            "application/pdf"
        );
        assert!(DataUrl::parse("data:image/png;charset=x;base64,AAAA").is_ok());
        assert!(
            DataUrl::parse("data:image/png;base64,AAA").is_ok(),
            "unpadded is accepted"
        );
        assert!(DataUrl::parse("data:image/png;base64").is_err());
        assert!(DataUrl::parse("image/png;base64,AAAA").is_err());
    }
}
