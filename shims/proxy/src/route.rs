//! Routes: `/package.Service/Method` (exact) or `package.Service` (every method of a service),
//! or `/` (everything), each to a target. The exact route wins, then the longest prefix.

use std::collections::HashMap;
use std::sync::Arc;

use crate::invoke::Upstream;

/// What a route pattern matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// One method: `/package.Service/Method`.
    Method(String),
    /// Every path under a prefix: `/package.Service/`, or `/` for everything.
    Prefix(String),
}

impl Pattern {
    /// Reads a pattern: `/pkg.Svc/Method`, `/pkg.Svc/`, `pkg.Svc`, `/pkg.Svc`, `/` or `*`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_proxy::route::Pattern;
    ///
    /// assert_eq!(Pattern::parse("/api.Prod/Alive"), Pattern::Method("/api.Prod/Alive".into()));
    /// assert_eq!(Pattern::parse("api.Prod"), Pattern::Prefix("/api.Prod/".into()));
    /// assert_eq!(Pattern::parse("*"), Pattern::Prefix("/".into()));
    /// ```
    pub fn parse(text: &str) -> Pattern {
        let text = text.trim();
        if text == "*" || text == "/" || text.is_empty() {
            return Pattern::Prefix("/".to_owned());
        }
        let trimmed = text.trim_start_matches('/');
        match trimmed.split_once('/') {
            Some((service, method)) if !method.is_empty() => {
                Pattern::Method(format!("/{service}/{method}"))
            }
            Some((service, _)) => Pattern::Prefix(format!("/{service}/")),
            None => Pattern::Prefix(format!("/{trimmed}/")),
        }
    }
}

/// A route found for a path: the pattern that matched (the label metrics count the call
/// under: a configured pattern, never the client's path) and the target.
#[derive(Clone)]
pub(crate) struct Route {
    /// The pattern as [`Pattern::parse`] normalised it: `/pkg.Svc/Method`, `/pkg.Svc/` or `/`.
    pub(crate) pattern: Arc<str>,
    /// Where the call goes.
    pub(crate) target: Arc<dyn Upstream>,
    /// The target's name ([`Upstream::name`]), shared so counting a call does not copy it.
    pub(crate) target_name: Arc<str>,
}

/// Paths to targets.
#[derive(Default, Clone)]
pub(crate) struct Router {
    exact: HashMap<String, Route>,
    prefixes: Vec<Route>,
}

impl Router {
    /// A router with no routes.
    pub(crate) fn new() -> Router {
        Router::default()
    }

    /// Adds a route. A later route for the same pattern replaces the earlier one.
    pub(crate) fn add(&mut self, pattern: Pattern, target: Arc<dyn Upstream>) {
        match pattern {
            Pattern::Method(path) => {
                let route = Route {
                    pattern: Arc::from(path.as_str()),
                    target_name: Arc::from(target.name()),
                    target,
                };
                self.exact.insert(path, route);
            }
            Pattern::Prefix(prefix) => {
                self.prefixes.retain(|route| *route.pattern != *prefix);
                self.prefixes.push(Route {
                    pattern: Arc::from(prefix),
                    target_name: Arc::from(target.name()),
                    target,
                });
                self.prefixes
                    .sort_by_key(|route| std::cmp::Reverse(route.pattern.len()));
            }
        }
    }

    /// The route for `path`, if one matches.
    pub(crate) fn lookup(&self, path: &str) -> Option<&Route> {
        self.exact.get(path).or_else(|| {
            self.prefixes
                .iter()
                .find(|route| path.starts_with(&*route.pattern))
        })
    }

    /// The target for `path`, if a route matches.
    #[cfg(test)]
    fn route(&self, path: &str) -> Option<&Arc<dyn Upstream>> {
        self.lookup(path).map(|route| &route.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::InvokeError;
    use crate::invoke::{BoxFuture, UpstreamReply, UpstreamRequest};

    struct Named(&'static str);

    impl Upstream for Named {
        fn call(&self, _: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>> {
            Box::pin(async {
                Err(InvokeError::NoRoute {
                    path: String::new(),
                })
            })
        }
        fn name(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn exact_then_longest_prefix() {
        let mut router = Router::new();
        router.add(Pattern::parse("/"), Arc::new(Named("all")));
        router.add(Pattern::parse("api.Prod"), Arc::new(Named("service")));
        router.add(Pattern::parse("/api.Prod/Fail"), Arc::new(Named("method")));
        let name = |path| router.route(path).map(|t| t.name().to_owned());
        assert_eq!(name("/api.Prod/Fail").as_deref(), Some("method"));
        assert_eq!(name("/api.Prod/Alive").as_deref(), Some("service"));
        assert_eq!(name("/other.S/M").as_deref(), Some("all"));
        let pattern = |path| router.lookup(path).map(|r| r.pattern.to_string());
        assert_eq!(pattern("/api.Prod/Alive").as_deref(), Some("/api.Prod/"));
        assert_eq!(pattern("/api.Prod/Fail").as_deref(), Some("/api.Prod/Fail"));
        let mut only = Router::new();
        only.add(Pattern::parse("/api.Prod/"), Arc::new(Named("service")));
        assert!(only.route("/api.Prodx/Alive").is_none());
    }
}
