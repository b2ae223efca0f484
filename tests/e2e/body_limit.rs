//! Request bodies near and over the 64 MiB limit: refused early with a clear 413 when
//! `Content-Length` says too much, a clean 413 when a chunked body runs over, and a body
//! just under the limit served without the guest running out of memory.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: usize = 64 * 1024 * 1024;

/// Sends `head` and then `body_chunks` (stopping at the first failed write, as the server
/// may close early), while reading whatever the server answers; returns the response
/// bytes read until the server closes or `within` passes.
async fn exchange(
    orpipe: &Orpipe,
    head: String,
    body_chunks: usize,
    chunk: &[u8],
    within: Duration,
) -> Vec<u8> {
    let address = orpipe.base_url().trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    // Read while writing, so an early answer is seen before the connection is torn down.
    let reading = tokio::spawn(async move {
        let mut received = Vec::new();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
            if response_complete(&received) {
                break;
            }
        }
        received
    });
    let chunk = chunk.to_vec();
    let writing = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..body_chunks {
            let framed = [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk.clone(),
                b"\r\n".to_vec(),
            ]
            .concat();
            if writer.write_all(&framed).await.is_err() {
                return;
            }
        }
        if body_chunks > 0 {
            let _ = writer.write_all(b"0\r\n\r\n").await;
        }
        // Keep the write side open: the server must answer without more from us.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let received = tokio::time::timeout(within, reading)
        .await
        .map(|joined| joined.expect("reader"))
        .unwrap_or_default();
    writing.abort();
    received
}

/// Whether `bytes` hold a whole response (`content-length` or chunked body).
fn response_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        return bytes.ends_with(b"\r\n0\r\n\r\n");
    }
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok());
    length.is_some_and(|length| bytes.len() >= end + 4 + length)
}

/// The body of a chunked transfer, its framing removed.
fn dechunk(mut framed: &str) -> String {
    let mut body = String::new();
    while let Some((size, rest)) = framed.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        body.push_str(&rest[..size]);
        framed = rest[size..].trim_start_matches("\r\n");
    }
    body
}

fn status_and_body(response: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn head(orpipe: &Orpipe, framing: &str) -> String {
    let host = orpipe.base_url().trim_start_matches("http://");
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {CLIENT_KEY}\r\ncontent-type: application/json\r\n{framing}\r\n"
    )
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_refused_before_the_body_is_sent() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let framing = format!("content-length: {}\r\n", LIMIT + 1);
    // Not one byte of the body is sent: only an early refusal can answer in time.
    let response = exchange(
        &orpipe,
        head(&orpipe, &framing),
        0,
        b"",
        Duration::from_secs(10),
    )
    .await;
    let (status, body) = status_and_body(&response);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&response));
    assert_eq!(body["error"]["code"], "request_too_large", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("64 MiB")),
        "{body}"
    );
    assert!(mock.responses_requests().is_empty());
    assert!(!orpipe.stderr_log().contains("no response from the guest"));
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_ends_in_a_clean_413() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let chunk = vec![b' '; 1024 * 1024];
    // 65 chunks of 1 MiB: one more than the limit allows.
    let response = exchange(
        &orpipe,
        head(&orpipe, "transfer-encoding: chunked\r\n"),
        65,
        &chunk,
        Duration::from_secs(60),
    )
    .await;
    let (status, body) = status_and_body(&response);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&response));
    assert_eq!(body["error"]["code"], "request_too_large", "{body}");
    assert!(mock.responses_requests().is_empty());
    assert!(!orpipe.stderr_log().contains("guest failed"), "no trap");
}

#[tokio::test]
async fn an_image_just_under_the_limit_never_traps_the_guest() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    // 63 MiB of base64, the rest of the request small: just under the 64 MiB limit.
    let image = format!("data:image/png;base64,{}", "A".repeat(63 * 1024 * 1024));
    let request = json!({
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": image}}
        ]}]
    });
    drop(image);
    let response = HttpClient::new()
        .with_timeout(Duration::from_secs(120))
        .post_json(
            &orpipe.url("/v1/chat/completions"),
            &request,
            Some(CLIENT_KEY),
        )
        .await
        .expect("a response");
    // The mock accepts it, so the whole path runs: translation, the upstream request, the answer.
    assert!(
        response.status == 200,
        "{} {}\n{}",
        response.status,
        response.text().chars().take(500).collect::<String>(),
        orpipe
            .stderr_log()
            .lines()
            .filter(|line| line.contains("guest failed"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!orpipe.stderr_log().contains("guest failed"), "no trap");
    let sent = mock.responses_requests();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].body.len() > 63 * 1024 * 1024,
        "the image went upstream"
    );
}
