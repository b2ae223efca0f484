//! Remote media the model needs inline: audio parts given as URLs.
//!
//! OpenRouter's Responses API takes images, files and video by URL, but audio only as
//! base64 data (API.md §2.2). An `input_audio` part whose data is an `http(s)` URL is
//! therefore downloaded and inlined before translation. The decisions are here, pure;
//! `component::fetch` does the requests. The host enforces where they may go: https
//! only unless allowed, public addresses only, pinned connections (docs/security.md).
//! Redirects are followed by `component::fetch` (`url::HttpUrl::follow`), at most
//! `MAX_REDIRECTS`, each hop a new request that the host checks again; transient failures are retried with `crate::retry`'s policy.

use serde_json::{Value, json};

pub const MAX_REDIRECTS: usize = 3;
pub const DEFAULT_MAX_MB: u64 = 20;
/// The largest cap an operator may set: the audio travels on as base64 in one request.
pub const LARGEST_MAX_MB: u64 = 100;
/// Audio URLs fetched for one request at most.
pub const MAX_REMOTE_PARTS: usize = 8;

/// An audio part of the request that points at a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAudio {
    pub message: usize,
    pub part: usize,
    pub url: String,
}

fn audio_url(part: &Value) -> Option<&str> {
    let kind = part.get("type")?.as_str()?;
    if kind != "input_audio" && kind != "audio" {
        return None;
    }
    let data = match part.get("input_audio") {
        Some(Value::String(url)) => url.as_str(),
        Some(Value::Object(inner)) => inner.get("data")?.as_str()?,
        _ => part.get("data")?.as_str()?,
    };
    let lower = data.get(..8).unwrap_or(data).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(data)
}

/// Every user audio part given as a URL, in order.
pub fn remote_audio_parts(messages: &[Value]) -> Vec<RemoteAudio> {
    let mut found = Vec::new();
    for (m, message) in messages.iter().enumerate() {
        if message.get("role").and_then(Value::as_str) != Some("user") {
            continue;
        }
        let Some(parts) = message.get("content").and_then(Value::as_array) else {
            continue;
        };
        for (p, part) in parts.iter().enumerate() {
            if let Some(url) = audio_url(part) {
                found.push(RemoteAudio {
                    message: m,
                    part: p,
                    url: url.to_owned(),
                });
            }
        }
    }
    found
}

/// Replaces the part at `at` with the downloaded audio.
pub fn inline_audio(messages: &mut [Value], at: &RemoteAudio, base64: String, format: &str) {
    if let Some(part) = messages
        .get_mut(at.message)
        .and_then(|m| m.get_mut("content"))
        .and_then(Value::as_array_mut)
        .and_then(|parts| parts.get_mut(at.part))
    {
        *part = json!({"type": "input_audio", "input_audio": {"data": base64, "format": format}});
    }
}

/// `mp3` or `wav` from the first bytes, else from the content type; `None` for anything
/// the Responses API does not take.
pub fn audio_format(content_type: Option<&str>, bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'A',
            b'V',
            b'E',
            ..,
        ] => return Some("wav"),
        [b'I', b'D', b'3', ..] => return Some("mp3"),
        [0xFF, second, ..] if second & 0xE0 == 0xE0 => return Some("mp3"),
        _ => {}
    }
    let mime = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    match mime.as_str() {
        "audio/mpeg" | "audio/mp3" => Some("mp3"),
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => Some("wav"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_urls_are_found_in_user_messages_only() {
        let messages = [
            json!({"role": "user", "content": [
                {"type": "text", "text": "listen"},
                {"type": "input_audio", "input_audio": "https://example.com/a.mp3"},
                {"type": "input_audio", "input_audio": {"data": "HTTP://example.com/b.wav", "format": "wav"}},
                {"type": "audio", "data": "https://example.com/c"},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/i.png"}}]}),
            json!({"role": "assistant", "content": [{"type": "input_audio", "input_audio": "https://x/y"}]}),
            json!({"role": "user", "content": "text only"}),
        ];
        let found = remote_audio_parts(&messages);
        let at: Vec<(usize, usize, &str)> = found
            .iter()
            .map(|f| (f.message, f.part, f.url.as_str()))
            .collect();
        assert_eq!(
            at,
            vec![
                (0, 1, "https://example.com/a.mp3"),
                (0, 2, "HTTP://example.com/b.wav"),
                (0, 3, "https://example.com/c"),
            ]
        );
        let mut messages = messages.to_vec();
        inline_audio(&mut messages, &found[0], "SUQz".into(), "mp3");
        assert_eq!(
            messages[0]["content"][1],
            json!({"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}})
        );
    }

    #[test]
    fn formats_come_from_the_bytes_before_the_content_type() {
        assert_eq!(audio_format(None, b"RIFF\x24\0\0\0WAVEfmt "), Some("wav"));
        assert_eq!(audio_format(Some("text/html"), b"ID3\x04"), Some("mp3"));
        assert_eq!(audio_format(None, &[0xFF, 0xFB, 0x90]), Some("mp3"));
        assert_eq!(
            audio_format(Some("audio/mpeg; charset=x"), b"????"),
            Some("mp3")
        );
        assert_eq!(audio_format(Some("Audio/X-Wav"), b""), Some("wav"));
        assert_eq!(audio_format(Some("audio/ogg"), b"OggS"), None);
        assert_eq!(audio_format(Some("text/html"), b"<html>"), None);
        assert_eq!(audio_format(None, b""), None);
    }
}
