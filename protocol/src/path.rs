//! The one method-path check: which request paths name a method, for gRPC, gRPC-Web, Connect
//! (`/<package.Service>/<Method>`) and Twirp (`/twirp/<package.Service>/<Method>`).
//!
//! Routes match the path and the function runs the method the path names, so only a path whose
//! route and method cannot disagree is let through: two segments after the optional `/twirp`,
//! none empty, `.` or `..`, each of URI path characters (RFC 3986 `pchar`) with no
//! percent-escape (a URI reads `?` or `#` as the end of the path, and some peer would decode an
//! escape into another path). Anything else is a [`PathError`] naming the path and the reason.

use std::borrow::Cow;
use std::fmt;

/// The prefix that makes a path Twirp's: every path under `/twirp/` is Twirp's. Twirp v7 allows
/// any prefix before it; only this one is read, so that a path is Twirp's or not by its first
/// segment alone.
pub const TWIRP_PREFIX: &str = "/twirp";

/// The longest path an error message quotes; the rest is cut, marked `…` and the full length.
pub const QUOTED_PATH_MAX: usize = 256;

/// A method path, split: borrowed from the request path.
///
/// # Examples
///
/// ```
/// use grpc_lambda_protocol::path::method_path;
///
/// let grpc = method_path("/api.Prod/Alive")?;
/// assert_eq!((grpc.service(), grpc.method(), grpc.is_twirp()), ("api.Prod", "Alive", false));
///
/// let twirp = method_path("/twirp/api.Prod/Alive")?;
/// assert!(twirp.is_twirp());
/// // What the service is handed: the gRPC path, whatever the protocol.
/// assert_eq!(twirp.canonical(), "/api.Prod/Alive");
/// # Ok::<(), grpc_lambda_protocol::path::PathError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MethodPath<'a> {
    /// `/<package.Service>/<Method>`.
    canonical: &'a str,
    /// Where `Method` starts in `canonical`.
    method_at: usize,
    twirp: bool,
}

impl<'a> MethodPath<'a> {
    /// `package.Service`.
    pub fn service(&self) -> &'a str {
        self.canonical
            .get(1..self.method_at.saturating_sub(1))
            .unwrap_or_default()
    }

    /// `Method`.
    pub fn method(&self) -> &'a str {
        self.canonical.get(self.method_at..).unwrap_or_default()
    }

    /// Whether the path came with the `/twirp` prefix.
    pub fn is_twirp(&self) -> bool {
        self.twirp
    }

    /// `/<package.Service>/<Method>`: the path the service routes, without `/twirp`.
    pub fn canonical(&self) -> &'a str {
        self.canonical
    }
}

/// Why a path names no method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathProblem {
    /// The path does not start with `/`.
    NotAbsolute,
    /// The path holds a `%` escape at this byte offset.
    PercentEscape {
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// A byte that is not a URI path character (`pchar`), at this byte offset.
    NotPathCharacter {
        /// The byte.
        byte: u8,
        /// Its byte offset in the path.
        offset: usize,
    },
    /// The path has `count` segments (after `/twirp`, for Twirp), not two.
    SegmentCount {
        /// The segments found, empty ones included.
        count: usize,
    },
    /// A segment is empty (`//`, or a trailing `/`).
    EmptySegment,
    /// A segment is `.` or `..`.
    DotSegment,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathProblem::NotAbsolute => f.write_str("it does not start with /"),
            PathProblem::PercentEscape { offset } => {
                write!(f, "it has a %-escape at byte {offset}")
            }
            PathProblem::NotPathCharacter { byte, offset } => write!(
                f,
                "byte {offset} (0x{byte:02x}) is not a URI path character"
            ),
            PathProblem::SegmentCount { count } => write!(
                f,
                "it has {count} segments, not 2 (/package.Service/Method or /twirp/package.Service/Method)"
            ),
            PathProblem::EmptySegment => f.write_str("it has an empty segment"),
            PathProblem::DotSegment => f.write_str("it has a . or .. segment"),
        }
    }
}

/// A path that names no method: the path and the reason.
///
/// # Examples
///
/// ```
/// use grpc_lambda_protocol::path::{method_path, PathProblem};
///
/// let err = method_path("/api.Prod/x/api.Prod/Fail").unwrap_err();
/// assert_eq!(err.problem(), PathProblem::SegmentCount { count: 4 });
/// assert_eq!(
///     err.to_string(),
///     "path \"/api.Prod/x/api.Prod/Fail\" names no method: it has 4 segments, not 2 \
///      (/package.Service/Method or /twirp/package.Service/Method)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    path: String,
    problem: PathProblem,
}

impl PathError {
    /// The path refused (whole, not cut).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Why.
    pub fn problem(&self) -> PathProblem {
        self.problem
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "path {:?} names no method: {}",
            quoted(&self.path),
            self.problem
        )
    }
}

impl std::error::Error for PathError {}

/// Reads a request path (without its query string, as `http::Uri::path` gives it) as a method
/// path.
///
/// # Errors
///
/// [`PathError`] for every path that is not exactly `/<package.Service>/<Method>` or
/// `/twirp/<package.Service>/<Method>` of URI path characters with no `%`, `.` or `..`.
///
/// # Examples
///
/// ```
/// use grpc_lambda_protocol::path::{method_path, PathProblem};
///
/// assert!(method_path("/api.Prod/Alive").is_ok());
/// let problem = |path| method_path(path).unwrap_err().problem();
/// assert_eq!(problem("/api.Prod/%46ail"), PathProblem::PercentEscape { offset: 10 });
/// assert_eq!(problem("/api.Prod/Alive?x"), PathProblem::NotPathCharacter { byte: b'?', offset: 15 });
/// assert_eq!(problem("/api.Prod//Fail"), PathProblem::SegmentCount { count: 3 });
/// assert_eq!(problem("/twirp/api.Prod"), PathProblem::SegmentCount { count: 1 });
/// ```
pub fn method_path(path: &str) -> Result<MethodPath<'_>, PathError> {
    check(path).map_err(|problem| PathError {
        path: path.to_owned(),
        problem,
    })
}

fn check(path: &str) -> Result<MethodPath<'_>, PathProblem> {
    if !path.starts_with('/') {
        return Err(PathProblem::NotAbsolute);
    }
    if let Some((offset, &byte)) = path
        .as_bytes()
        .iter()
        .enumerate()
        .find(|(_, &byte)| !is_method_path_char(byte))
    {
        return Err(if byte == b'%' {
            PathProblem::PercentEscape { offset }
        } else {
            PathProblem::NotPathCharacter { byte, offset }
        });
    }
    let (canonical, twirp) = match path.strip_prefix(TWIRP_PREFIX) {
        Some(rest) if rest.starts_with('/') => (rest, true),
        _ => (path, false),
    };
    let rest = canonical.get(1..).unwrap_or_default();
    let count = rest.split('/').count();
    let (service, method) = match rest.split_once('/') {
        Some(split) if count == 2 => split,
        _ => return Err(PathProblem::SegmentCount { count }),
    };
    for segment in [service, method] {
        if segment.is_empty() {
            return Err(PathProblem::EmptySegment);
        }
        if segment == "." || segment == ".." {
            return Err(PathProblem::DotSegment);
        }
    }
    Ok(MethodPath {
        canonical,
        method_at: service.len() + 2,
        twirp,
    })
}

/// A byte a method path may hold: `/`, and what RFC 3986 allows in a path segment as it is
/// (`pchar`) but `%`, which would start an escape.
pub fn is_method_path_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte)
}

/// `path` cut to [`QUOTED_PATH_MAX`] bytes (on a character boundary), for logs and messages.
///
/// # Examples
///
/// ```
/// use grpc_lambda_protocol::path::quoted;
///
/// assert_eq!(quoted("/a.B/C"), "/a.B/C");
/// assert!(quoted(&"x".repeat(300)).ends_with("… (300 bytes)"));
/// ```
pub fn quoted(path: &str) -> Cow<'_, str> {
    if path.len() <= QUOTED_PATH_MAX {
        return path.into();
    }
    let mut end = QUOTED_PATH_MAX;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", path.get(..end).unwrap_or(""), path.len()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_paths_split() {
        for (path, service, method, twirp, canonical) in [
            (
                "/api.Prod/Alive",
                "api.Prod",
                "Alive",
                false,
                "/api.Prod/Alive",
            ),
            (
                "/Greeter/SayHello",
                "Greeter",
                "SayHello",
                false,
                "/Greeter/SayHello",
            ),
            ("/a_b.C-d/E~f", "a_b.C-d", "E~f", false, "/a_b.C-d/E~f"),
            (
                "/twirp/api.Prod/Alive",
                "api.Prod",
                "Alive",
                true,
                "/api.Prod/Alive",
            ),
            ("/twirpx/Alive", "twirpx", "Alive", false, "/twirpx/Alive"),
        ] {
            let split = method_path(path).unwrap();
            assert_eq!(split.service(), service, "{path}");
            assert_eq!(split.method(), method, "{path}");
            assert_eq!(split.is_twirp(), twirp, "{path}");
            assert_eq!(split.canonical(), canonical, "{path}");
        }
    }

    /// Every path the proxy's `classify` and the shim's `is_canonical` refused, refused here.
    #[test]
    fn the_union_of_both_refusals() {
        use PathProblem::*;
        let refused = [
            ("", NotAbsolute),
            ("api.Prod/Alive", NotAbsolute),
            ("/", SegmentCount { count: 1 }),
            ("/api.Prod", SegmentCount { count: 1 }),
            ("/api.Prod/", EmptySegment),
            ("//Alive", EmptySegment),
            ("/api.Prod/Alive/", SegmentCount { count: 3 }),
            ("/prod/api.Prod/Alive", SegmentCount { count: 3 }),
            ("/api.Prod/x/api.Prod/Fail", SegmentCount { count: 4 }),
            ("/api.Prod//api.Prod/Fail", SegmentCount { count: 4 }),
            ("/api.Prod/../api.Prod/Fail", SegmentCount { count: 4 }),
            ("/../Fail", DotSegment),
            ("/./Alive", DotSegment),
            ("/api.Prod/.", DotSegment),
            ("/api.Prod/..", DotSegment),
            ("/api.Prod%2FFail", PercentEscape { offset: 9 }),
            (
                "/api.Prod/x%2F..%2Fapi.Prod%2FFail",
                PercentEscape { offset: 11 },
            ),
            ("/api.Prod/Al%69ve", PercentEscape { offset: 12 }),
            ("/api%2EProd/Alive", PercentEscape { offset: 4 }),
            (
                "/api.Prod/Alive?x=1",
                NotPathCharacter {
                    byte: b'?',
                    offset: 15,
                },
            ),
            (
                "/api.Prod/Alive#x",
                NotPathCharacter {
                    byte: b'#',
                    offset: 15,
                },
            ),
            (
                "/api.Prod/Al ive",
                NotPathCharacter {
                    byte: b' ',
                    offset: 12,
                },
            ),
            (
                "/api.Prod/Al\u{e9}ve",
                NotPathCharacter {
                    byte: 0xc3,
                    offset: 12,
                },
            ),
            (
                "/api.Prod/{Alive}",
                NotPathCharacter {
                    byte: b'{',
                    offset: 10,
                },
            ),
            ("/twirp/", SegmentCount { count: 1 }),
            ("/twirp/api.Prod/", EmptySegment),
            ("/twirp//Alive", EmptySegment),
            ("/twirp/api.Prod/Alive/x", SegmentCount { count: 3 }),
            ("/twirp/../Alive", DotSegment),
            ("/v1/twirp/api.Prod/Alive", SegmentCount { count: 4 }),
            // Any path under /twirp/ is Twirp's: a service named `twirp` has no method here.
            ("/twirp/Alive", SegmentCount { count: 1 }),
        ];
        for (path, problem) in refused {
            let err = method_path(path).unwrap_err();
            assert_eq!(err.problem(), problem, "{path:?}");
            assert_eq!(err.path(), path);
            assert!(err
                .to_string()
                .starts_with(&format!("path {path:?} names no method: ")));
        }
    }

    #[test]
    fn long_paths_are_quoted_cut() {
        let long = format!("/a.B/{}", "é".repeat(300));
        let cut = quoted(&long);
        assert!(cut.len() < QUOTED_PATH_MAX + 32, "{cut}");
        assert!(cut.ends_with(&format!("… ({} bytes)", long.len())), "{cut}");
        let err = method_path(&long).unwrap_err();
        assert!(err.to_string().contains("bytes)"), "{err}");
        assert_eq!(err.path(), long);
    }
}
