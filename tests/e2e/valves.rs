//! Open WebUI's Pipelines tab against the real binary: orpipe's live settings ("valves")
//! found, read, changed and used by the very next request, kept across a restart and
//! shared between replicas; who may read and change them; the markers in `/v1/models`;
//! and the filter calls Open WebUI makes around each chat.

use crate::{CLIENT_KEY, LOG_WAIT, PgSchema, service_unavailable, start};
use orpipe_testkit::{
    HttpClient, HttpResponse, MockOpenRouter, Orpipe, Reply, eventually, require_env,
};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const ADMIN_KEY: &str = "sk-orpipe-admin";

async fn start_with_admin(mock: &MockOpenRouter, extra: &[(&str, &str)]) -> Orpipe {
    let mut env = vec![("ORPIPE_ADMIN_KEYS", ADMIN_KEY)];
    env.extend_from_slice(extra);
    start(mock, &env).await
}

async fn get(orpipe: &Orpipe, path: &str, key: Option<&str>) -> HttpResponse {
    HttpClient::new()
        .get(&orpipe.url(path), key)
        .await
        .expect("request")
}

async fn post(orpipe: &Orpipe, path: &str, body: &Value, key: Option<&str>) -> HttpResponse {
    HttpClient::new()
        .post_json(&orpipe.url(path), body, key)
        .await
        .expect("request")
}

/// `POST /v1/orpipe/valves/update` with the admin key; the response must be a 200.
async fn update(orpipe: &Orpipe, body: Value) -> Value {
    let response = post(orpipe, "/v1/orpipe/valves/update", &body, Some(ADMIN_KEY)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json().expect("JSON")
}

async fn valves(orpipe: &Orpipe) -> Value {
    let response = get(orpipe, "/v1/orpipe/valves", Some(ADMIN_KEY)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json().expect("JSON")
}

/// A whole (not streamed) chat request for `model`; its status.
async fn chat(orpipe: &Orpipe, model: &str) -> u16 {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]});
    post(orpipe, "/v1/chat/completions", &body, Some(CLIENT_KEY))
        .await
        .status
}

#[tokio::test]
async fn open_webui_finds_the_pipeline_and_every_setting_has_a_title() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_admin(&mock, &[]).await;

    let models: Value = get(&orpipe, "/v1/models", Some(CLIENT_KEY))
        .await
        .json()
        .expect("JSON");
    assert_eq!(models["pipelines"], true, "{models}");
    let data = models["data"].as_array().expect("data");
    assert!(!data.is_empty());
    for model in data {
        assert_eq!(
            model["pipeline"],
            json!({"type": "manifold", "valves": true})
        );
    }

    for prefix in ["", "/v1"] {
        let pipelines: Value = get(&orpipe, &format!("{prefix}/pipelines"), Some(CLIENT_KEY))
            .await
            .json()
            .expect("JSON");
        assert_eq!(
            pipelines,
            json!({"data": [{"id": "orpipe", "name": "orpipe", "type": "manifold", "valves": true}]})
        );
        let spec = get(
            &orpipe,
            &format!("{prefix}/orpipe/valves/spec"),
            Some(CLIENT_KEY),
        )
        .await;
        assert_eq!(spec.status, 200, "{}", spec.text());
        let spec = spec.json().expect("JSON");
        let properties = spec["properties"].as_object().expect("properties");
        assert!(properties.len() > 30, "{}", properties.len());
        for (key, property) in properties {
            assert!(property["title"].is_string(), "{key} has no title");
            assert!(
                property["description"].is_string(),
                "{key} has no description"
            );
        }
        assert_eq!(properties["upstream_retries"]["type"], "integer");
        assert_eq!(properties["model_free_only"]["type"], "boolean");
        assert!(properties["reasoning_effort"]["enum"].is_array());
        let values = get(&orpipe, &format!("{prefix}/orpipe/valves"), Some(ADMIN_KEY)).await;
        assert_eq!(values.status, 200, "{}", values.text());
    }

    let unknown = get(&orpipe, "/v1/other/valves/spec", Some(CLIENT_KEY)).await;
    assert_eq!(unknown.status, 404);
    let unknown = unknown.json().expect("JSON");
    assert!(
        unknown["detail"]
            .as_str()
            .is_some_and(|d| d.contains("\"orpipe\"")),
        "{unknown}"
    );
}

#[tokio::test]
async fn an_admin_change_is_used_by_the_very_next_request_and_null_undoes_it() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_admin(&mock, &[]).await;
    assert_eq!(chat(&orpipe, "openai/gpt-4o-mini").await, 200);

    // Through the root path, as a connection without /v1 would send it; numbers as the
    // tab's text boxes send them.
    let response = post(
        &orpipe,
        "/orpipe/valves/update",
        &json!({"model_allow": "anthropic/*", "upstream_retries": "0"}),
        Some(ADMIN_KEY),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let answer = response.json().expect("JSON");
    assert_eq!(answer["model_allow"], "anthropic/*");
    assert_eq!(answer["upstream_retries"], 0);
    assert_eq!(answer["breaker_failures"], 5, "the rest as before");
    assert_eq!(
        valves(&orpipe).await,
        answer,
        "GET shows what the update answered"
    );

    let before = mock.responses_requests().len();
    assert_eq!(
        chat(&orpipe, "openai/gpt-4o-mini").await,
        403,
        "outside the new allow-list"
    );
    assert_eq!(
        mock.responses_requests().len(),
        before,
        "refused before going upstream"
    );
    mock.enqueue(service_unavailable());
    assert_eq!(chat(&orpipe, "anthropic/claude-sonnet-4.5").await, 502);
    assert_eq!(
        mock.responses_requests().len(),
        before + 1,
        "no retries: the failure reached the client after one call"
    );

    let answer = update(
        &orpipe,
        json!({"model_allow": null, "upstream_retries": null}),
    )
    .await;
    assert_eq!(answer["model_allow"], Value::Null);
    assert_eq!(answer["upstream_retries"], 2);
    assert_eq!(chat(&orpipe, "openai/gpt-4o-mini").await, 200);

    assert!(orpipe.wait_for_log("settings changed", LOG_WAIT).await);
    let log = orpipe.stderr_log();
    let line = log
        .lines()
        .find(|line| line.contains("settings changed"))
        .expect("a log line per change");
    assert!(
        line.contains("model_allow") && line.contains("upstream_retries"),
        "{line}"
    );
    assert!(line.contains("key-"), "the caller's key label: {line}");
    assert!(
        !log.contains(ADMIN_KEY) && !log.contains(CLIENT_KEY),
        "keys are never logged"
    );
}

#[tokio::test]
async fn a_card_template_changed_live_shapes_the_next_card() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_admin(&mock, &[]).await;
    update(
        &orpipe,
        json!({"template_interrupted": "#### Cut off live: {message}\\n(ref {error_id})"}),
    )
    .await;
    mock.enqueue(Reply::stream("stream_text.sse").cut_after_events(6));
    let body = json!({"model": "openai/gpt-4o-mini", "stream": true,
                      "messages": [{"role": "user", "content": "Hi"}]});
    let result = orpipe_testkit::client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &body,
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    let text: String = result.data().concat();
    assert!(text.contains("#### Cut off live: "), "{text}");
    assert!(!text.contains("Response interrupted"), "{text}");
}

#[tokio::test]
async fn overrides_survive_a_restart() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("data dir");
    let env = [
        ("ORPIPE_API_KEYS", CLIENT_KEY),
        ("ORPIPE_ADMIN_KEYS", ADMIN_KEY),
    ];
    let spawn = async || {
        Orpipe::spawn_in(
            Path::new(env!("CARGO_BIN_EXE_orpipe")),
            &mock.base_url(),
            &env,
            Some(dir.path()),
        )
        .await
        .expect("orpipe starts")
    };
    let first = spawn().await;
    update(
        &first,
        json!({"breaker_failures": "3", "reasoning_effort": "high"}),
    )
    .await;
    drop(first);

    let second = spawn().await;
    let values = valves(&second).await;
    assert_eq!(values["breaker_failures"], 3);
    assert_eq!(values["reasoning_effort"], "high");
}

#[tokio::test]
async fn a_bad_update_changes_nothing_and_names_the_field() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_admin(&mock, &[]).await;
    let before = valves(&orpipe).await;

    for (body, field) in [
        (
            json!({"upstream_retries": "0", "breaker_failures": "many"}),
            "breaker_failures",
        ),
        (
            json!({"upstream_retries": "0", "no_such_setting": true}),
            "no_such_setting",
        ),
        (
            json!({"template_timeout": "{{#if message}}never closed"}),
            "template_timeout",
        ),
        (
            json!({"web_search_max_results": 100}),
            "web_search_max_results",
        ),
        (json!({"reasoning_effort": "extreme"}), "reasoning_effort"),
        (json!({"app_title": "x".repeat(10_000)}), "app_title"),
    ] {
        let response = post(&orpipe, "/v1/orpipe/valves/update", &body, Some(ADMIN_KEY)).await;
        assert_eq!(response.status, 400, "{field}: {}", response.text());
        let error = response.json().expect("JSON");
        assert_eq!(error["error"]["param"], field, "{error}");
        let detail = error["detail"].as_str().expect("detail");
        assert!(
            detail.contains(field) && detail.contains("nothing changed"),
            "{detail}"
        );
        assert!(detail.len() < 1000, "a huge value is not echoed");
    }
    let response = post(
        &orpipe,
        "/v1/orpipe/valves/update",
        &json!([1]),
        Some(ADMIN_KEY),
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(valves(&orpipe).await, before, "nothing was stored");
}

#[tokio::test]
async fn only_admins_read_or_change_settings() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_admin(&mock, &[]).await;

    let read = get(&orpipe, "/v1/orpipe/valves", Some(CLIENT_KEY)).await;
    assert_eq!(read.status, 403);
    let read = read.json().expect("JSON");
    assert_eq!(read["error"]["code"], "admin_key_required");
    assert!(
        read["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ORPIPE_ADMIN_KEYS")),
        "{read}"
    );
    // A client cannot make itself an admin with the host's own header.
    let spoofed = HttpClient::new()
        .post_json_with_headers(
            &orpipe.url("/v1/orpipe/valves/update"),
            &json!({"upstream_retries": 0}),
            Some(CLIENT_KEY),
            &[("x-orpipe-admin", "1")],
        )
        .await
        .expect("request");
    assert_eq!(spoofed.status, 403);
    assert_eq!(get(&orpipe, "/v1/orpipe/valves", None).await.status, 401);
    assert_eq!(
        get(&orpipe, "/v1/orpipe/valves/spec", Some(CLIENT_KEY))
            .await
            .status,
        200,
        "the schema is no secret"
    );
    assert_eq!(valves(&orpipe).await["upstream_retries"], 2, "unchanged");

    // Without any keys (loopback only) whoever reaches orpipe is its admin.
    let open = Orpipe::spawn(
        Path::new(env!("CARGO_BIN_EXE_orpipe")),
        &mock.base_url(),
        &[],
    )
    .await
    .expect("orpipe starts");
    assert_eq!(get(&open, "/v1/orpipe/valves", None).await.status, 200);
}

#[tokio::test]
async fn the_markers_follow_owui_pipelines_live() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_admin(&mock, &[("ORPIPE_OWUI_PIPELINES", "false")]).await;
    let models = async || -> Value {
        get(&orpipe, "/v1/models", Some(CLIENT_KEY))
            .await
            .json()
            .expect("JSON")
    };
    let list = models().await;
    assert!(list.get("pipelines").is_none(), "{list}");
    assert!(
        list["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|model| model.get("pipeline").is_none())
    );
    assert_eq!(valves(&orpipe).await["owui_pipelines"], false);

    update(&orpipe, json!({"owui_pipelines": true})).await;
    let list = models().await;
    assert_eq!(list["pipelines"], true);
    assert!(list["data"][0]["pipeline"].is_object());
}

#[tokio::test]
async fn the_inlet_adds_the_chat_context_and_the_outlet_passes_the_body_through() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let body = json!({
        "model": "openai.gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}],
        "metadata": {"chat_id": "c1", "message_id": "m1", "features": {"web_search": true}},
    });
    let call = json!({"body": body, "user": {"id": "u1", "name": "Ann", "role": "user"}});
    // The inlet: the body with its context added and Open WebUI's own search switched off
    // (orpipe searches through OpenRouter); never the user's name.
    let mut expected = body.clone();
    expected["metadata"]["features"]["web_search"] = json!(false);
    expected["orpipe_context"] = json!({"chat_id": "c1", "message_id": "m1", "user_id": "u1",
        "user_role": "user", "features": {"web_search": true}});
    for path in [
        "/v1/openai.gpt-4o-mini/filter/inlet",
        "/openai/gpt-4o-mini/filter/inlet",
    ] {
        let response = post(&orpipe, path, &call, Some(CLIENT_KEY)).await;
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        assert_eq!(response.json().expect("JSON"), expected, "{path}");
    }
    let response = post(
        &orpipe,
        "/v1/openai.gpt-4o-mini/filter/outlet",
        &call,
        Some(CLIENT_KEY),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json().expect("JSON"),
        body,
        "the outlet changes nothing"
    );
    let bad = post(
        &orpipe,
        "/v1/openai.gpt-4o-mini/filter/inlet",
        &json!({"user": {}}),
        Some(CLIENT_KEY),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json().expect("JSON")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("\"body\""))
    );
}

/// Two processes sharing PostgreSQL but each with its own in-memory key-value: a change
/// made through one reaches the other once its cached copy is a few seconds old.
#[tokio::test]
async fn two_replicas_sharing_postgres_share_an_override() {
    let Some(pg) = require_env("ORPIPE_TEST_POSTGRES_URL") else {
        return;
    };
    let schema = PgSchema::create(&pg).await;
    let mock = MockOpenRouter::start().await.expect("mock");
    let env = [("ORPIPE_DATABASE_URL", schema.database_url.as_str())];
    let (a, b) = tokio::join!(start_with_admin(&mock, &env), start_with_admin(&mock, &env));
    assert_eq!(valves(&b).await["upstream_retries"], 2);
    update(&a, json!({"upstream_retries": "0"})).await;
    eventually(
        "the other replica to use the override",
        Duration::from_secs(30),
        async || valves(&b).await["upstream_retries"] == 0,
    )
    .await;
    let rows = schema
        .admin
        .query(
            &format!(
                "SELECT setting, value FROM {}.orpipe_setting_overrides",
                schema.name
            ),
            &[],
        )
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "upstream_retries");

    drop((a, b));
    schema.drop_schema().await;
}
