//! Which handler serves a request: the OpenAI-compatible surface, by method and path.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ListModels,
    ChatCompletions,
    /// `POST /debug/fault/{loop,alloc,stream-loop}`: only in the test guest (cargo feature
    /// `test-faults`); the shipped guest answers these paths like any unknown path.
    #[cfg(feature = "test-faults")]
    TestFault(Fault),
    NotFound,
    MethodNotAllowed,
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
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let (expected, route) = match path {
        "/models" => ("GET", Route::ListModels),
        "/chat/completions" => ("POST", Route::ChatCompletions),
        #[cfg(feature = "test-faults")]
        "/debug/fault/loop" => ("POST", Route::TestFault(Fault::Loop)),
        #[cfg(feature = "test-faults")]
        "/debug/fault/alloc" => ("POST", Route::TestFault(Fault::Alloc)),
        #[cfg(feature = "test-faults")]
        "/debug/fault/stream-loop" => ("POST", Route::TestFault(Fault::StreamThenLoop)),
        _ => return Route::NotFound,
    };
    if method.eq_ignore_ascii_case(expected) {
        route
    } else {
        Route::MethodNotAllowed
    }
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
        assert_eq!(route("GET", ""), Route::NotFound);
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
