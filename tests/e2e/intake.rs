//! Remote media: an audio part given as a URL is downloaded by the guest through the
//! host, whose SSRF guard refuses private addresses — the mock on loopback stands in for
//! an internal service here, and must never be reached.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{MockOpenRouter, client};
use serde_json::json;

#[tokio::test]
async fn audio_urls_to_private_addresses_are_refused_with_a_clear_400() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let internal = format!("{}/models", mock.base_url());
    for env in [
        vec![],
        vec![("ORPIPE_ALLOW_INSECURE_HTTP_HOSTS", "127.0.0.1")],
        vec![("ORPIPE_REMOTE_FETCH", "off")],
    ] {
        let orpipe = start(&mock, &env).await;
        let before = mock.requests().len();
        let body = json!({"model": "openai/gpt-4o-audio-preview", "stream": true, "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Transcribe this."},
                {"type": "input_audio", "input_audio": internal.clone()}]}]});
        let response =
            client::post_json(&orpipe.url("/v1/chat/completions"), &body, Some(CLIENT_KEY))
                .await
                .expect("request");
        assert_eq!(response.status, 400, "{env:?}: {}", response.text());
        let message = response.json().expect("json")["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains("messages[0].content[1]") && message.contains("not allowed"),
            "{env:?}: {message}"
        );
        // Neither the audio URL nor OpenRouter was called (the catalog warm-up may be).
        let calls: Vec<String> = mock.requests()[before..]
            .iter()
            .map(|r| r.path.clone())
            .filter(|p| p != "/api/v1/models")
            .collect();
        assert!(calls.is_empty(), "{env:?}: {calls:?}");
    }
}
