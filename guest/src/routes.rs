//! Which handler serves a request: the OpenAI-compatible surface, by method and path.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ListModels,
    ChatCompletions,
    NotFound,
    MethodNotAllowed,
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
}
