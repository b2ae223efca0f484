//! The mock MCP server on the wire: handshake, sessions, a lost session.

use super::*;
use crate::client::HttpClient;

async fn post(server: &MockMcpServer, body: Value, session: Option<&str>) -> crate::HttpResponse {
    let mut headers = vec![("accept", "application/json, text/event-stream")];
    if let Some(session) = session {
        headers.push((SESSION_HEADER, session));
    }
    HttpClient::new()
        .post_json_with_headers(&server.url(), &body, None, &headers)
        .await
        .expect("request")
}

#[tokio::test]
async fn the_handshake_opens_a_session_that_can_be_lost() {
    let server = MockMcpServer::start().await.expect("start");
    let discover = post(
        &server,
        json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover"}),
        None,
    )
    .await;
    assert_eq!(discover.json().expect("json")["error"]["code"], -32601);
    let init = post(
        &server,
        json!({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {}}),
        None,
    )
    .await;
    assert_eq!(init.status, 200);
    let session = init.header(SESSION_HEADER).expect("session").to_owned();
    assert_eq!(
        init.json().expect("json")["result"]["protocolVersion"],
        "2025-06-18"
    );
    let note = post(
        &server,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some(&session),
    )
    .await;
    assert_eq!(note.status, 202);
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let listed = post(&server, list.clone(), Some(&session)).await;
    assert_eq!(
        listed.json().expect("json")["result"]["tools"][7]["name"],
        "huge"
    );
    assert_eq!(post(&server, list.clone(), None).await.status, 400);
    server.lose_session();
    assert_eq!(post(&server, list, Some(&session)).await.status, 404);
    assert_eq!(server.count("initialize"), 1);
    assert_eq!(server.methods().len(), 6);
    // Each request's own time is kept under its method (the bench's MCP share).
    let timed: Vec<String> = server.service_times().into_iter().map(|(m, _)| m).collect();
    assert_eq!(timed, server.methods());
}
