//! Which request paths are method paths. Routes match the path, and the function runs the method
//! the path names, so only a path whose route and method cannot disagree is let through: exactly
//! `/<package.Service>/<Method>`. Anything else (`/api.Prod/x/api.Prod/Fail`, an empty or dot
//! segment, a percent-escape) is refused before routing, whatever the routes are.

use std::fmt;

/// The longest path a log line or an error message quotes; the rest is cut, marked `…`.
pub const QUOTED_PATH_MAX: usize = 256;

/// A canonical method path, split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodPath<'a> {
    /// `/<package.Service>/<Method>`: native gRPC and gRPC-Web.
    Grpc {
        /// `package.Service`.
        service: &'a str,
        /// `Method`.
        method: &'a str,
    },
}

/// Why a path is not a method path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// The path has `count` segments, not two.
    SegmentCount {
        /// The segments found (empty ones included).
        count: usize,
    },
    /// A segment is empty (`//`, or a trailing `/`).
    EmptySegment,
    /// A segment is `.` or `..`.
    DotSegment,
    /// The path holds a `%` escape, which would be decoded into a different path by some peer.
    PercentEscape,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NotAbsolute => f.write_str("it does not start with /"),
            PathError::SegmentCount { count } => {
                write!(
                    f,
                    "it has {count} segments, not 2 (/package.Service/Method)"
                )
            }
            PathError::EmptySegment => f.write_str("it has an empty segment"),
            PathError::DotSegment => f.write_str("it has a . or .. segment"),
            PathError::PercentEscape => f.write_str("it has a %-escape"),
        }
    }
}

impl std::error::Error for PathError {}

/// Classifies a request path (without its query string, as `http::Uri::path` gives it).
///
/// # Errors
///
/// [`PathError`] for every path that is not exactly `/<package.Service>/<Method>`.
pub fn classify(path: &str) -> Result<MethodPath<'_>, PathError> {
    let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    if rest.contains('%') {
        return Err(PathError::PercentEscape);
    }
    let count = rest.split('/').count();
    if count != 2 {
        return Err(PathError::SegmentCount { count });
    }
    let (service, method) = rest
        .split_once('/')
        .ok_or(PathError::SegmentCount { count })?;
    for segment in [service, method] {
        if segment.is_empty() {
            return Err(PathError::EmptySegment);
        }
        if segment == "." || segment == ".." {
            return Err(PathError::DotSegment);
        }
    }
    // A `/twirp/<package.Service>/<Method>` form would be one more variant here, recognised by
    // its first segment before the count check.
    Ok(MethodPath::Grpc { service, method })
}

/// `path` cut to [`QUOTED_PATH_MAX`] bytes (on a character boundary), for logs and messages.
pub fn quoted(path: &str) -> std::borrow::Cow<'_, str> {
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
    fn only_two_plain_segments_pass() {
        assert!(classify("/Greeter/SayHello").is_ok());
        let refused = [
            ("", PathError::NotAbsolute),
            ("api.Prod/Alive", PathError::NotAbsolute),
            ("/", PathError::SegmentCount { count: 1 }),
            ("/api.Prod", PathError::SegmentCount { count: 1 }),
            ("/api.Prod/", PathError::EmptySegment),
            ("//Alive", PathError::EmptySegment),
            ("/api.Prod/Alive/", PathError::SegmentCount { count: 3 }),
            (
                "/api.Prod//api.Prod/Fail",
                PathError::SegmentCount { count: 4 },
            ),
            (
                "/api.Prod/../api.Prod/Fail",
                PathError::SegmentCount { count: 4 },
            ),
            ("/../Fail", PathError::DotSegment),
            ("/api.Prod/.", PathError::DotSegment),
            ("/api.Prod%2FFail", PathError::PercentEscape),
            (
                "/api.Prod/x%2F..%2Fapi.Prod%2FFail",
                PathError::PercentEscape,
            ),
        ];
        for (path, err) in refused {
            assert_eq!(classify(path), Err(err), "{path:?}");
        }
    }

    #[test]
    fn long_paths_are_quoted_cut() {
        assert_eq!(quoted("/a.B/C"), "/a.B/C");
        let long = format!("/a.B/{}", "é".repeat(300));
        let cut = quoted(&long);
        assert!(cut.len() < QUOTED_PATH_MAX + 32, "{cut}");
        assert!(cut.ends_with(&format!("… ({} bytes)", long.len())), "{cut}");
    }
}
