//! Which handler serves a request: the OpenAI-compatible surface, and the Pipelines
//! server surface Open WebUI uses (`valves::pipelines`), by method and path.

use crate::valves::pipelines::FilterStage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    ListModels,
    ChatCompletions,
    /// `GET /pipelines`.
    ListPipelines,
    /// `/{pipeline}/valves`, `/valves/spec` or `/valves/update`; the pipeline id as sent
    /// (the handler answers 404 for one orpipe does not serve).
    Valves(ValvesAction, String),
    /// `POST /{model}/filter/inlet` or `/filter/outlet`. Open WebUI puts the model id in
    /// the path as it is, so it may hold dots and slashes: only the suffix is matched.
    Filter(FilterStage),
    /// `GET /admin/mcp/tools`: the configured MCP servers and the tools they offer.
    McpTools,
    /// `POST /admin/mcp/call`: runs one server tool (admins; for checking a server).
    McpCall,
    /// `POST /debug/fault/{loop,alloc,stream-loop}`: only in the test guest (cargo feature
    /// `test-faults`); the shipped guest answers these paths like any unknown path.
    #[cfg(feature = "test-faults")]
    TestFault(Fault),
    NotFound,
    MethodNotAllowed,
}

/// What is asked of a pipeline's valves (Open WebUI's name for settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValvesAction {
    /// `GET /{pipeline}/valves/spec`: their JSON Schema.
    Spec,
    /// `GET /{pipeline}/valves`: their values.
    Read,
    /// `POST /{pipeline}/valves/update`: new values.
    Update,
}

/// What a test-fault route makes the guest do, to prove the host's sandbox limits.
#[cfg(feature = "test-faults")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Spin without calling the host, until the CPU budget stops it.
    Loop,
    /// Allocate until the memory cap stops it.
    Alloc,
    /// Start a streamed 200 answer, write one event, then spin: a failure mid-stream.
    StreamThenLoop,
}

/// `/v1` is optional, as some clients are configured with the bare base URL; a query
/// string and a trailing slash are ignored.
pub fn route(method: &str, path_and_query: &str) -> Route {
    let path = path_and_query.split(['?', '#']).next().unwrap_or_default();
    let path = path.trim_end_matches('/');
    let path = match path.strip_prefix("/v1") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    let (expected, route) = match path {
        "/models" => ("GET", Route::ListModels),
        "/chat/completions" => ("POST", Route::ChatCompletions),
        "/pipelines" => ("GET", Route::ListPipelines),
        "/admin/mcp/tools" => ("GET", Route::McpTools),
        "/admin/mcp/call" => ("POST", Route::McpCall),
        #[cfg(feature = "test-faults")]
        "/debug/fault/loop" => ("POST", Route::TestFault(Fault::Loop)),
        #[cfg(feature = "test-faults")]
        "/debug/fault/alloc" => ("POST", Route::TestFault(Fault::Alloc)),
        #[cfg(feature = "test-faults")]
        "/debug/fault/stream-loop" => ("POST", Route::TestFault(Fault::StreamThenLoop)),
        _ => match pipelines_route(path) {
            Some(found) => found,
            None => return Route::NotFound,
        },
    };
    if method.eq_ignore_ascii_case(expected) {
        route
    } else {
        Route::MethodNotAllowed
    }
}

/// The Pipelines routes, whose paths start with a pipeline or model id.
fn pipelines_route(path: &str) -> Option<(&'static str, Route)> {
    let model_before = |suffix: &str| {
        path.strip_suffix(suffix)
            .is_some_and(|model| model.len() > 1 && model.starts_with('/'))
    };
    if model_before("/filter/inlet") {
        return Some(("POST", Route::Filter(FilterStage::Inlet)));
    }
    if model_before("/filter/outlet") {
        return Some(("POST", Route::Filter(FilterStage::Outlet)));
    }
    let (method, action, pipeline) = [
        ("/valves/spec", "GET", ValvesAction::Spec),
        ("/valves/update", "POST", ValvesAction::Update),
        ("/valves", "GET", ValvesAction::Read),
    ]
    .into_iter()
    .find_map(|(suffix, method, action)| {
        let pipeline = path.strip_suffix(suffix)?.strip_prefix('/')?;
        Some((method, action, pipeline))
    })?;
    (!pipeline.is_empty() && !pipeline.contains('/'))
        .then(|| (method, Route::Valves(action, pipeline.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openai_paths_route_with_or_without_prefix() {
        assert_eq!(route("GET", "/v1/models"), Route::ListModels);
        assert_eq!(route("GET", "/models/?x=1"), Route::ListModels);
        assert_eq!(
            route("POST", "/v1/chat/completions"),
            Route::ChatCompletions
        );
        assert_eq!(route("POST", "/chat/completions/"), Route::ChatCompletions);
        assert_eq!(
            route("GET", "/v1/chat/completions"),
            Route::MethodNotAllowed
        );
        assert_eq!(route("DELETE", "/v1/models"), Route::MethodNotAllowed);
        assert_eq!(route("GET", "/v1/completions"), Route::NotFound);
        assert_eq!(route("GET", "/v2/models"), Route::NotFound);
        assert_eq!(route("GET", "/v1models"), Route::NotFound);
        assert_eq!(route("GET", ""), Route::NotFound);
    }

    #[test]
    fn the_mcp_admin_paths_route_with_or_without_prefix() {
        assert_eq!(route("GET", "/admin/mcp/tools"), Route::McpTools);
        assert_eq!(route("GET", "/v1/admin/mcp/tools"), Route::McpTools);
        assert_eq!(route("POST", "/admin/mcp/call"), Route::McpCall);
        assert_eq!(route("GET", "/admin/mcp/call"), Route::MethodNotAllowed);
        assert_eq!(route("POST", "/admin/mcp/tools"), Route::MethodNotAllowed);
    }

    #[test]
    fn the_pipelines_paths_route_with_or_without_prefix() {
        for prefix in ["", "/v1"] {
            let at = |path: &str| format!("{prefix}{path}");
            assert_eq!(route("GET", &at("/pipelines")), Route::ListPipelines);
            assert_eq!(
                route("GET", &at("/orpipe/valves/spec")),
                Route::Valves(ValvesAction::Spec, "orpipe".into())
            );
            assert_eq!(
                route("GET", &at("/orpipe/valves/")),
                Route::Valves(ValvesAction::Read, "orpipe".into())
            );
            assert_eq!(
                route("POST", &at("/orpipe/valves/update?urlIdx=0")),
                Route::Valves(ValvesAction::Update, "orpipe".into())
            );
            assert_eq!(
                route("GET", &at("/other/valves")),
                Route::Valves(ValvesAction::Read, "other".into()),
                "the handler refuses unknown pipelines by name"
            );
            assert_eq!(
                route("GET", &at("/orpipe/valves/update")),
                Route::MethodNotAllowed
            );
            assert_eq!(
                route("POST", &at("/orpipe/valves")),
                Route::MethodNotAllowed
            );
        }
        assert_eq!(route("GET", "/valves"), Route::NotFound);
        assert_eq!(route("GET", "/a/b/valves"), Route::NotFound);
        assert_eq!(route("GET", "//valves/spec"), Route::NotFound);
    }

    #[test]
    fn filter_paths_match_on_their_suffix_whatever_the_model_id() {
        for path in [
            "/v1/openai.gpt-4o/filter/inlet",
            "/openai/gpt-4o:free/filter/inlet",
            "/v1/orpipe.anthropic.claude-sonnet-4.5/filter/inlet",
        ] {
            assert_eq!(
                route("POST", path),
                Route::Filter(FilterStage::Inlet),
                "{path}"
            );
        }
        assert_eq!(
            route("POST", "/v1/x-ai/grok-4/filter/outlet"),
            Route::Filter(FilterStage::Outlet)
        );
        assert_eq!(route("GET", "/m/filter/inlet"), Route::MethodNotAllowed);
        assert_eq!(route("POST", "/filter/inlet"), Route::NotFound);
        assert_eq!(route("POST", "/v1/filter/inlet"), Route::NotFound);
        assert_eq!(
            route("POST", "/v1beta/filter/inlet"),
            Route::Filter(FilterStage::Inlet),
            "a model id starting with v1 is not a prefix"
        );
    }

    #[cfg(feature = "test-faults")]
    #[test]
    fn fault_routes_are_recognised_only_at_their_exact_paths() {
        assert_eq!(
            route("POST", "/debug/fault/loop"),
            Route::TestFault(Fault::Loop)
        );
        assert_eq!(
            route("POST", "/debug/fault/alloc"),
            Route::TestFault(Fault::Alloc)
        );
        assert_eq!(
            route("POST", "/debug/fault/stream-loop"),
            Route::TestFault(Fault::StreamThenLoop)
        );
        assert_eq!(route("POST", "/debug/fault/other"), Route::NotFound);
        assert_eq!(route("GET", "/debug/fault/loop"), Route::MethodNotAllowed);
    }

    #[cfg(not(feature = "test-faults"))]
    #[test]
    fn without_the_test_feature_fault_paths_are_unknown() {
        for path in [
            "/debug/fault/loop",
            "/debug/fault/alloc",
            "/debug/fault/stream-loop",
        ] {
            assert_eq!(route("POST", path), Route::NotFound, "{path}");
        }
    }
}
