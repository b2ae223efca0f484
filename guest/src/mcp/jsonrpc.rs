//! JSON-RPC 2.0 messages as MCP uses them: requests with numeric ids, notifications, and
//! the one answer a request waits for among whatever else a server sends (notifications
//! and server requests arrive on the same SSE stream and are skipped).

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize)]
struct Outgoing<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'a str,
    params: &'a Value,
}

/// The bytes of request `id`.
pub fn request(id: u64, method: &str, params: &Value) -> Vec<u8> {
    encode(&Outgoing {
        jsonrpc: "2.0",
        id: Some(id),
        method,
        params,
    })
}

/// The bytes of a notification (no id: no answer expected).
pub fn notification(method: &str, params: &Value) -> Vec<u8> {
    encode(&Outgoing {
        jsonrpc: "2.0",
        id: None,
        method,
        params,
    })
}

fn encode(message: &Outgoing<'_>) -> Vec<u8> {
    // Serializing these types cannot fail (string keys, no maps with other keys).
    serde_json::to_vec(message).unwrap_or_default()
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RpcError {
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub data: Option<Value>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Result(Value),
    Error(RpcError),
}

/// Any message a server may send; only answers matter to this client.
#[derive(Deserialize)]
struct Incoming {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<RpcError>,
}

/// What one message from the server is to a client waiting for answer `id`.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The answer to `id`.
    Answer(Reply),
    /// A notification, a server request, or an answer to another id: not ours.
    Other,
}

/// Reads one JSON-RPC message. `Err` when it is not JSON-RPC at all.
pub fn read_message(json: &str, id: u64) -> Result<Message, String> {
    let incoming: Incoming =
        serde_json::from_str(json).map_err(|e| format!("not a JSON-RPC message: {e}"))?;
    if incoming.method.is_some() {
        return Ok(Message::Other);
    }
    let ours = match &incoming.id {
        Some(Value::Number(n)) => n.as_u64() == Some(id),
        Some(Value::String(s)) => s.parse::<u64>().ok() == Some(id),
        // `id: null` only comes with an error the server could not tie to a request
        // (a parse error, a refused header): it is the answer to the one we sent.
        Some(Value::Null) | None => incoming.error.is_some(),
        Some(_) => false,
    };
    if !ours {
        return Ok(Message::Other);
    }
    match (incoming.result, incoming.error) {
        (_, Some(error)) => Ok(Message::Answer(Reply::Error(error))),
        (Some(result), None) => Ok(Message::Answer(Reply::Result(result))),
        (None, None) => Err("a JSON-RPC answer with neither result nor error".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_and_notifications_are_json_rpc_2() {
        let bytes = request(7, "tools/list", &json!({}));
        let value: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(
            value,
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}})
        );
        let bytes = notification("notifications/initialized", &json!({}));
        let value: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(value.get("id"), None);
    }

    #[test]
    fn only_the_answer_to_our_id_is_taken() {
        assert_eq!(
            read_message(r#"{"jsonrpc":"2.0","id":3,"result":{"ok":true}}"#, 3),
            Ok(Message::Answer(Reply::Result(json!({"ok": true}))))
        );
        assert_eq!(
            read_message(r#"{"jsonrpc":"2.0","id":"3","result":{}}"#, 3),
            Ok(Message::Answer(Reply::Result(json!({}))))
        );
        for other in [
            r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{}}"#,
        ] {
            assert_eq!(read_message(other, 3), Ok(Message::Other), "{other}");
        }
    }

    #[test]
    fn errors_are_answers_even_without_an_id() {
        let answer = read_message(
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request"}}"#,
            9,
        );
        assert!(
            matches!(
                answer,
                Ok(Message::Answer(Reply::Error(RpcError { code: -32000, .. })))
            ),
            "{answer:?}"
        );
    }

    #[test]
    fn garbage_is_not_a_message() {
        assert!(read_message("<html>", 1).is_err());
        assert!(read_message(r#"{"jsonrpc":"2.0","id":1}"#, 1).is_err());
    }
}
