//! Remote media: an audio part given as a URL is downloaded by the guest through the
//! host, whose SSRF guard refuses private addresses — a listener on loopback stands in
//! for an internal service here, and must never be reached.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{MockOpenRouter, client};
use serde_json::json;

#[tokio::test]
async fn audio_urls_to_private_addresses_are_refused_with_a_clear_400() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let internal_service = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = internal_service.local_addr().expect("addr").port();
    for env in [
        vec![],
        vec![("ORPIPE_ALLOW_INSECURE_HTTP_HOSTS", "127.0.0.1")],
        vec![("ORPIPE_REMOTE_FETCH", "off")],
    ] {
        for internal in [
            format!("http://127.0.0.1:{port}/a.mp3"),
            format!("https://localhost:{port}/a.mp3"),
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
            // Neither the audio URL nor OpenRouter was called (the catalog warm-up may be,
            // with its ZDR list).
            let calls: Vec<String> = mock.requests()[before..]
                .iter()
                .map(|r| r.path.clone())
                .filter(|p| p != "/api/v1/models" && p != "/api/v1/endpoints/zdr")
                .collect();
            assert!(calls.is_empty(), "{env:?}: {calls:?}");
        }
    }
    let reached = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        internal_service.accept(),
    )
    .await;
    assert!(
        reached.is_err(),
        "the internal service was never connected to"
    );
}
