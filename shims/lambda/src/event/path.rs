//! The gRPC method an event names: derived from the fields its front door defines, then held to
//! the one form a method path has, so that the method that runs is the method the front door
//! routed.
//!
//! | front door | the method path |
//! | --- | --- |
//! | API Gateway REST API | `resource` with each `{name}` / `{name+}` segment filled in from `pathParameters`: behind the greedy `/{proxy+}` resource, `/` and `pathParameters.proxy`. Neither carries the stage nor a custom domain's base path (`path` carries the base path). An event without `resource`: `path`, which on the execute-api host carries no stage |
//! | API Gateway HTTP API | `rawPath`, its first segment taken off when it is the stage (`requestContext.stage`): a stage other than `$default` comes first in the path |
//! | Function URL, ALB, VPC Lattice, the proxy | the path as it stands |
//!
//! The result must then be canonical: `/<package.Service>/<Method>` (or, for Twirp,
//! `/twirp/<package.Service>/<Method>`), exactly two segments, none empty, `.` or `..`, each of
//! URI path characters only and no percent-escape, as `grpc_lambda_protocol::method_path`
//! checks it for the shim and the proxy alike (a URI would read
//! `?` or `#` as the end of the path, and an escape as another character). Anything else, and an
//! event whose fields do not account for its path, is a [`PathError`]: the call is answered
//! `UNIMPLEMENTED`, naming the path, in the caller's protocol.

use std::fmt;

/// The stage name an HTTP API gives its default stage, which is not in the path.
const DEFAULT_STAGE: &str = "$default";

/// An event whose path names no gRPC method; the call is answered `UNIMPLEMENTED` with this as
/// its message.
///
/// # Examples
///
/// ```
/// use grpc_lambda::Event;
///
/// let event = Event::from_slice(br#"{"grpcLambda": 1, "path": "/api.Prod/x/api.Prod/Fail"}"#)?;
/// let err = event.into_request()?.path.unwrap_err();
/// assert_eq!(err.path(), "/api.Prod/x/api.Prod/Fail");
/// assert!(err.to_string().starts_with(
///     r#"path "/api.Prod/x/api.Prod/Fail" does not name a gRPC method: "#
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError(Box<PathFault>);

/// Boxed, so that a request's path, or its refusal, is as wide as a path (the test below).
#[derive(Clone, Debug, PartialEq, Eq)]
struct PathFault {
    /// The path the event carried (`path` or `rawPath`).
    path: String,
    problem: Problem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    /// The path, as it stands, is not a method path.
    NotCanonical,
    /// A Twirp path in a gRPC call.
    TwirpForGrpc,
    /// What the path routes, `routed` (found from `how`), is not a method path.
    RoutedNotCanonical { routed: String, how: Derivation },
    /// The REST API resource names a path parameter the event has no value for.
    MissingParameter { resource: String, segment: String },
    /// The REST API resource is not a resource path API Gateway makes: it does not start with
    /// `/`, or a segment holds a `{` or `}` without being one whole `{name}` or `{name+}`.
    Resource { resource: String },
}

/// How a path was found from the event's fields, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Derivation {
    /// A REST API resource, its parameters filled in.
    Resource(String),
    /// An HTTP API stage, taken off the front of the path.
    Stage(String),
}

impl PathError {
    fn new(path: &str, problem: Problem) -> Self {
        Self(Box::new(PathFault {
            path: path.to_owned(),
            problem,
        }))
    }

    /// The path the event carried (its `path`, or `rawPath`), before anything was taken off it.
    pub fn path(&self) -> &str {
        &self.0.path
    }
}

/// What a method path is, for the messages that refuse one.
const CANONICAL: &str = "a method path is /<package.Service>/<Method> (under /twirp/ for Twirp): \
                         two segments, none empty, \".\" or \"..\", of URI path characters \
                         with no percent-escape";

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PathFault { path, problem } = &*self.0;
        write!(f, "path {path:?} does not name a gRPC method: ")?;
        match problem {
            Problem::NotCanonical => f.write_str(CANONICAL),
            Problem::TwirpForGrpc => f.write_str(
                "a path under /twirp/ is a Twirp method, and this is a gRPC call \
                 (a gRPC method path is /<package.Service>/<Method>)",
            ),
            Problem::RoutedNotCanonical { routed, how } => {
                match how {
                    Derivation::Resource(resource) => {
                        write!(f, "the REST API resource {resource:?} routes {routed:?}")?;
                    }
                    Derivation::Stage(stage) => {
                        write!(f, "without its stage {stage:?} it is {routed:?}")?;
                    }
                }
                write!(f, ", and {CANONICAL}")
            }
            Problem::MissingParameter { resource, segment } => write!(
                f,
                "the REST API resource {resource:?} has {segment}, and the event's \
                 pathParameters has no value for it"
            ),
            Problem::Resource { resource } => write!(
                f,
                "the event's resource {resource:?} is not an API Gateway resource path \
                 (segments of text or one whole {{name}} or {{name+}})"
            ),
        }
    }
}

impl std::error::Error for PathError {}

/// The method path of a REST API event: `resource` filled in from `parameters` when the event
/// has one, else `path` as it stands.
pub(super) fn rest_api(
    path: String,
    resource: Option<&str>,
    parameters: &[(String, String)],
) -> Result<String, PathError> {
    let Some(resource) = resource else {
        return as_it_stands(path);
    };
    let routed = fill_in(resource, parameters).map_err(|problem| PathError::new(&path, problem))?;
    if is_canonical(&routed) {
        return Ok(routed);
    }
    Err(PathError::new(
        &path,
        Problem::RoutedNotCanonical {
            routed,
            how: Derivation::Resource(resource.to_owned()),
        },
    ))
}

/// `resource` with each `{name}` or `{name+}` segment replaced by the parameter's value (the
/// last one of that name, as a JSON object read into a map keeps it).
fn fill_in(resource: &str, parameters: &[(String, String)]) -> Result<String, Problem> {
    let bad = || Problem::Resource {
        resource: resource.to_owned(),
    };
    let segments = resource.strip_prefix('/').ok_or_else(bad)?;
    let mut routed = String::with_capacity(resource.len() + 32);
    for segment in segments.split('/') {
        routed.push('/');
        if !segment.contains(['{', '}']) {
            routed.push_str(segment);
            continue;
        }
        let name = segment
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .map(|s| s.strip_suffix('+').unwrap_or(s))
            .filter(|name| !name.is_empty() && !name.contains(['{', '}', '+']))
            .ok_or_else(bad)?;
        let value = parameters
            .iter()
            .rev()
            .find(|(parameter, _)| parameter == name)
            .map(|(_, value)| value)
            .ok_or_else(|| Problem::MissingParameter {
                resource: resource.to_owned(),
                segment: segment.to_owned(),
            })?;
        routed.push_str(value);
    }
    Ok(routed)
}

/// The method path of an HTTP API event: `raw_path`, without its first segment when that is
/// the stage (and the stage is not `$default`, which is never in the path).
pub(super) fn http_api(raw_path: String, stage: Option<&str>) -> Result<String, PathError> {
    let rest = stage
        .filter(|stage| !stage.is_empty() && *stage != DEFAULT_STAGE)
        .and_then(|stage| {
            let rest = raw_path.strip_prefix('/')?.strip_prefix(stage)?;
            rest.starts_with('/').then_some((stage, rest))
        });
    let Some((stage, rest)) = rest else {
        return as_it_stands(raw_path);
    };
    if is_canonical(rest) {
        return Ok(rest.to_owned());
    }
    Err(PathError::new(
        &raw_path,
        Problem::RoutedNotCanonical {
            routed: rest.to_owned(),
            how: Derivation::Stage(stage.to_owned()),
        },
    ))
}

/// A path that is the method path as it stands (Function URL, ALB, VPC Lattice, the proxy).
pub(super) fn as_it_stands(path: String) -> Result<String, PathError> {
    if is_canonical(&path) {
        Ok(path)
    } else {
        Err(PathError::new(&path, Problem::NotCanonical))
    }
}

/// `/<package.Service>/<Method>` or `/twirp/<package.Service>/<Method>`: the one method-path
/// check the shim and the proxy share ([`grpc_lambda_protocol::method_path`]; see the
/// [module documentation](self)).
pub(crate) fn is_canonical(path: &str) -> bool {
    grpc_lambda_protocol::method_path(path).is_ok()
}

/// A byte a method path may hold: `/`, and what RFC 3986 allows in a path segment as it is
/// (`pchar`) but `%`, which would start an escape.
pub(crate) use grpc_lambda_protocol::path::is_method_path_char;

/// `path` as a gRPC call's method: a Twirp path (`/twirp/…`) names a method only for Twirp.
///
/// # Errors
///
/// [`PathError`] naming the path, for a Twirp path.
pub(crate) fn grpc_method(path: String) -> Result<String, PathError> {
    if path
        .strip_prefix(grpc_lambda_protocol::path::TWIRP_PREFIX)
        .is_some_and(|rest| rest.starts_with('/'))
    {
        return Err(PathError::new(&path, Problem::TwirpForGrpc));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameters(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_path_or_its_refusal_is_as_wide_as_a_path() {
        assert_eq!(
            std::mem::size_of::<Result<String, PathError>>(),
            std::mem::size_of::<String>()
        );
    }

    #[test]
    fn canonical_paths_are_two_plain_segments() {
        for path in [
            "/api.Prod/Alive",
            "/Greeter/SayHello",
            "/grpc.testing.TestService/UnaryCall",
            "/a_b.C-d/E~f",
        ] {
            assert!(is_canonical(path), "{path}");
        }
        for path in [
            "",
            "/",
            "api.Prod/Alive",
            "/api.Prod",
            "/api.Prod/",
            "//Alive",
            "/api.Prod/Alive/",
            "/prod/api.Prod/Alive",
            "/api.Prod/x/api.Prod/Fail",
            "/api.Prod//api.Prod/Fail",
            "/api.Prod/../api.Prod/Fail",
            "/./Alive",
            "/api.Prod/..",
            "/api.Prod/Al%69ve",
            "/api%2EProd/Alive",
            "/api.Prod/Alive?x=1",
            "/api.Prod/Alive#x",
            "/api.Prod/Al ive",
            "/api.Prod/Al\u{e9}ve",
            "/api.Prod/{Alive}",
        ] {
            assert!(!is_canonical(path), "{path}");
        }
    }

    #[test]
    fn a_rest_api_method_is_its_resource_filled_in() {
        let proxy = parameters(&[("proxy", "api.Prod/Alive")]);
        // The execute-api host: `path` has no stage.
        assert_eq!(
            rest_api("/api.Prod/Alive".into(), Some("/{proxy+}"), &proxy),
            Ok("/api.Prod/Alive".into())
        );
        // A custom domain's base path is in `path`, not in the parameter.
        assert_eq!(
            rest_api("/v1/api.Prod/Alive".into(), Some("/{proxy+}"), &proxy),
            Ok("/api.Prod/Alive".into())
        );
        // A resource per service, or per method.
        let method = parameters(&[("method", "Alive")]);
        assert_eq!(
            rest_api(
                "/v1/api.Prod/Alive".into(),
                Some("/api.Prod/{method}"),
                &method
            ),
            Ok("/api.Prod/Alive".into())
        );
        assert_eq!(
            rest_api("/v1/api.Prod/Alive".into(), Some("/api.Prod/Alive"), &[]),
            Ok("/api.Prod/Alive".into())
        );
        // The last value of a name repeated, as a map keeps it.
        let twice = parameters(&[("proxy", "api.Prod/Fail"), ("proxy", "api.Prod/Alive")]);
        assert_eq!(
            rest_api("/x".into(), Some("/{proxy+}"), &twice),
            Ok("/api.Prod/Alive".into())
        );
        // No resource: `path` as it stands.
        assert_eq!(
            rest_api("/api.Prod/Alive".into(), None, &[]),
            Ok("/api.Prod/Alive".into())
        );
    }

    #[test]
    fn a_rest_api_path_its_fields_do_not_account_for_is_refused() {
        let err = rest_api(
            "/api.Prod/x/api.Prod/Fail".into(),
            Some("/{proxy+}"),
            &parameters(&[("proxy", "api.Prod/x/api.Prod/Fail")]),
        )
        .unwrap_err();
        assert_eq!(err.path(), "/api.Prod/x/api.Prod/Fail");
        assert_eq!(
            err.to_string(),
            format!(
                "path \"/api.Prod/x/api.Prod/Fail\" does not name a gRPC method: the REST API \
                 resource \"/{{proxy+}}\" routes \"/api.Prod/x/api.Prod/Fail\", and {CANONICAL}"
            )
        );
        let err = rest_api("/api.Prod/Fail".into(), Some("/{proxy+}"), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "path \"/api.Prod/Fail\" does not name a gRPC method: the REST API resource \
             \"/{proxy+}\" has {proxy+}, and the event's pathParameters has no value for it"
        );
        for resource in ["api.Prod/{proxy+}", "/a{b}", "/{}", "/{+}", "/{a}}"] {
            let err = rest_api("/a.B/C".into(), Some(resource), &[]).unwrap_err();
            assert!(
                err.to_string()
                    .contains("is not an API Gateway resource path"),
                "{resource}: {err}"
            );
        }
        // No resource: the path must be the method.
        let err = rest_api("/prod/api.Prod/Alive".into(), None, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("path \"/prod/api.Prod/Alive\" does not name a gRPC method: {CANONICAL}")
        );
    }

    #[test]
    fn an_http_api_stage_is_taken_off_only_when_it_is_the_stage() {
        assert_eq!(
            http_api("/prod/api.Prod/Alive".into(), Some("prod")),
            Ok("/api.Prod/Alive".into())
        );
        assert_eq!(
            http_api("/api.Prod/Alive".into(), Some("$default")),
            Ok("/api.Prod/Alive".into())
        );
        // Not the stage, or a stage not in the path: as it stands.
        assert_eq!(
            http_api("/api.Prod/Alive".into(), Some("prod")),
            Ok("/api.Prod/Alive".into())
        );
        assert!(http_api("/prod/api.Prod/Alive".into(), Some("test")).is_err());
        assert!(http_api("/prod/api.Prod/Alive".into(), Some("$default")).is_err());
        assert!(http_api("/prod/api.Prod/Alive".into(), None).is_err());
        assert!(http_api("/production/api.Prod/Alive".into(), Some("prod")).is_err());
        let err = http_api("/prod/x/api.Prod/Fail".into(), Some("prod")).unwrap_err();
        assert_eq!(err.path(), "/prod/x/api.Prod/Fail");
        assert_eq!(
            err.to_string(),
            format!(
                "path \"/prod/x/api.Prod/Fail\" does not name a gRPC method: without its stage \
                 \"prod\" it is \"/x/api.Prod/Fail\", and {CANONICAL}"
            )
        );
    }
}
