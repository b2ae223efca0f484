//! The `route` label of the HTTP metrics: a request path folded into one of a few
//! fixed names, so a client cannot grow the label set by sending made-up paths. The
//! guest decides what a path means (guest/src/routes.rs); this only names families of
//! paths for counting, with the same optional `/v1` prefix.

/// The label for `path` (without the query string, as `Uri::path` gives it).
pub fn route_label(path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    match path {
        "/healthz" => return "/healthz",
        "/metrics" => return "/metrics",
        _ => {}
    }
    let path = match path.strip_prefix("/v1") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    match path {
        "/chat/completions" => "/v1/chat/completions",
        "/models" => "/v1/models",
        "/pipelines" => "/pipelines",
        _ if path.ends_with("/filter/inlet") || path.ends_with("/filter/outlet") => {
            "/{model}/filter"
        }
        _ if path.ends_with("/valves")
            || path.ends_with("/valves/spec")
            || path.ends_with("/valves/update") =>
        {
            "/{pipeline}/valves"
        }
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn paths_fold_into_a_few_route_names() {
        let cases = [
            ("/v1/chat/completions", "/v1/chat/completions"),
            ("/chat/completions/", "/v1/chat/completions"),
            ("/v1/models", "/v1/models"),
            ("/healthz", "/healthz"),
            ("/metrics", "/metrics"),
            ("/v1/pipelines", "/pipelines"),
            ("/openai/gpt-4o/filter/inlet", "/{model}/filter"),
            ("/v1/orpipe/valves/update", "/{pipeline}/valves"),
            ("/v1/anything/else", "other"),
            ("/v1x/models", "other"),
            ("", "other"),
        ];
        for (path, label) in cases {
            assert_eq!(route_label(path), label, "{path}");
        }
    }
}
