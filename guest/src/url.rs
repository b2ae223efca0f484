//! `http(s)://authority/path?query` URLs split the way `wasi:http` requests want them:
//! OpenRouter's base URL (`settings::BaseUrl`) and remote media (`intake`).

/// Where a request goes, as `wasi:http` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub https: bool,
    pub authority: String,
    pub path_with_query: String,
}

impl HttpUrl {
    pub fn parse(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains(char::is_whitespace) {
            return None;
        }
        let path_with_query = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Some(Self {
            https,
            authority: authority.to_owned(),
            path_with_query,
        })
    }

    /// The target of a redirect's `Location` (absolute, scheme-relative or a path).
    pub fn follow(&self, location: &str) -> Option<Self> {
        let location = location.trim();
        if location.contains("://") {
            return Self::parse(location);
        }
        let scheme = if self.https { "https" } else { "http" };
        if let Some(rest) = location.strip_prefix("//") {
            return Self::parse(&format!("{scheme}://{rest}"));
        }
        if location.starts_with('/') {
            return Self::parse(&format!("{scheme}://{}{location}", self.authority));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_redirect_locations_are_split() {
        let t = HttpUrl::parse("https://cdn.example.com:8443/a/b.mp3?x=1#frag").expect("url");
        assert_eq!(
            t,
            HttpUrl {
                https: true,
                authority: "cdn.example.com:8443".into(),
                path_with_query: "/a/b.mp3?x=1".into()
            }
        );
        assert_eq!(
            HttpUrl::parse("http://example.com").map(|t| t.path_with_query),
            Some("/".into())
        );
        assert_eq!(
            HttpUrl::parse("https://example.com?q").map(|t| t.path_with_query),
            Some("/?q".into())
        );
        for bad in [
            "ftp://x/y",
            "https:///path",
            "example.com/a",
            "https://a b/",
        ] {
            assert_eq!(HttpUrl::parse(bad), None, "{bad}");
        }
        assert_eq!(
            t.follow("/other").map(|t| (t.authority, t.path_with_query)),
            Some(("cdn.example.com:8443".into(), "/other".into()))
        );
        assert_eq!(
            t.follow("//10.0.0.1/x").map(|t| (t.https, t.authority)),
            Some((true, "10.0.0.1".into()))
        );
        assert_eq!(
            t.follow("http://169.254.169.254/").map(|t| t.https),
            Some(false)
        );
        assert_eq!(t.follow("relative/path"), None);
    }
}
