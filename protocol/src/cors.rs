//! CORS for browsers calling with gRPC-Web, Connect or Twirp: the preflight, and the headers on
//! every answer that let a page read `grpc-status` and `grpc-message`. Connect's GET calls are
//! allowed when a preflight asks for GET; Connect's request headers are allowed (a preflight's
//! named headers are echoed; [`DEFAULT_ALLOW_HEADERS`] when it names none). Connect unary
//! answers carry their status in the HTTP status and a JSON body a page reads without exposing
//! anything; their trailers are `trailer-<name>` headers, readable through the `*` of
//! [`EXPOSE_HEADERS`] (without credentials) or by name with [`Cors::expose_headers`]. The shim takes a [`Cors`] from its builder;
//! the proxy answers with [`Cors::default`].
//!
//! The Fetch standard: a preflight is an `OPTIONS` request with `access-control-request-method`;
//! a response a page may read carries `access-control-allow-origin`, and a header a page may read
//! beyond the CORS-safelisted ones is listed in `access-control-expose-headers`.

use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

/// The methods a gRPC-Web, Connect POST or Twirp call and its preflight use.
pub const ALLOW_METHODS: &str = "POST, OPTIONS";

/// The methods allowed when a preflight asks for GET: a Connect GET call.
pub const ALLOW_METHODS_WITH_GET: &str = "GET, POST, OPTIONS";

/// Request headers gRPC-Web and Connect clients send, allowed when a preflight names none.
pub const DEFAULT_ALLOW_HEADERS: &str =
    "content-type, x-grpc-web, x-user-agent, grpc-timeout, grpc-accept-encoding, authorization, \
     connect-protocol-version, connect-timeout-ms, connect-content-encoding, \
     connect-accept-encoding, content-encoding, accept-encoding";

/// Response headers a page may read: the status travels in them for Trailers-Only answers, and
/// `*` lets a page read the call's own metadata too (the Fetch standard treats `*` as a wildcard
/// for requests without credentials; the named headers stay readable with them).
pub const EXPOSE_HEADERS: &str = "grpc-status, grpc-message, grpc-status-details-bin, *";

/// How long a browser may cache a preflight answer, in seconds.
pub const DEFAULT_MAX_AGE_SECS: u32 = 86_400;

/// Which origins may call, and how preflights are answered.
///
/// The default allows any origin, without credentials, as a public gRPC-Web API needs.
///
/// # Examples
///
/// ```
/// use grpc_lambda_protocol::cors::Cors;
///
/// let cors = Cors::allow_origins(["https://app.example.com"]);
/// assert!(cors.allows("https://app.example.com"));
/// assert!(!cors.allows("https://evil.example.net"));
/// assert!(Cors::default().allows("https://anything.example"));
/// ```
#[derive(Clone, Debug)]
pub struct Cors {
    origins: Origins,
    allow_credentials: bool,
    max_age_secs: u32,
    /// [`EXPOSE_HEADERS`] and the names added with [`Cors::expose_headers`].
    expose: HeaderValue,
}

#[derive(Clone, Debug)]
enum Origins {
    Any,
    List(Vec<String>),
    Disabled,
}

impl Default for Cors {
    fn default() -> Self {
        Self::allow_any_origin()
    }
}

impl Cors {
    /// Any origin may call.
    pub fn allow_any_origin() -> Self {
        Self {
            origins: Origins::Any,
            allow_credentials: false,
            max_age_secs: DEFAULT_MAX_AGE_SECS,
            expose: HeaderValue::from_static(EXPOSE_HEADERS),
        }
    }

    /// Only these origins (`scheme://host[:port]`, compared exactly) may call.
    pub fn allow_origins<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            origins: Origins::List(origins.into_iter().map(Into::into).collect()),
            ..Self::allow_any_origin()
        }
    }

    /// No CORS headers at all (a front door or CDN adds them).
    pub fn disabled() -> Self {
        Self {
            origins: Origins::Disabled,
            ..Self::allow_any_origin()
        }
    }

    /// Whether browsers may send cookies and credentials (`access-control-allow-credentials`).
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.allow_credentials = allow;
        self
    }

    /// How long a browser may cache the preflight answer.
    pub fn max_age_secs(mut self, seconds: u32) -> Self {
        self.max_age_secs = seconds;
        self
    }

    /// Response headers a page may read beyond [`EXPOSE_HEADERS`], by name: the way to expose a
    /// Connect unary call's `trailer-<name>` headers or the call's metadata when credentials are
    /// allowed (`*` then means a header named `*`). Names that are not valid header values are
    /// left out.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_protocol::cors::Cors;
    ///
    /// let cors = Cors::default().allow_credentials(true).expose_headers(["trailer-x-count"]);
    /// let mut response = http::HeaderMap::new();
    /// cors.apply(Some(&"https://app.example".parse()?), &mut response);
    /// assert_eq!(
    ///     response["access-control-expose-headers"],
    ///     "grpc-status, grpc-message, grpc-status-details-bin, *, trailer-x-count"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expose_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut expose = String::from(EXPOSE_HEADERS);
        for name in names {
            expose.push_str(", ");
            expose.push_str(name.as_ref());
        }
        if let Ok(value) = HeaderValue::from_str(&expose) {
            self.expose = value;
        }
        self
    }

    /// Whether `origin` may call.
    pub fn allows(&self, origin: &str) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|allowed| allowed == origin),
            Origins::Disabled => false,
        }
    }

    fn enabled(&self) -> bool {
        !matches!(self.origins, Origins::Disabled)
    }

    /// The answer to an `OPTIONS` request: status and headers. A preflight from an origin
    /// that may call echoes it and the headers it asked for; one from another origin is 403.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_protocol::cors::Cors;
    ///
    /// let mut request = http::HeaderMap::new();
    /// request.insert("origin", "https://app.example".parse()?);
    /// let (status, headers) = Cors::default().preflight(&request);
    /// assert_eq!(status, http::StatusCode::NO_CONTENT);
    /// assert_eq!(headers["access-control-allow-origin"], "https://app.example");
    /// assert_eq!(headers["access-control-allow-methods"], "POST, OPTIONS");
    ///
    /// // A Connect GET's preflight.
    /// request.insert("access-control-request-method", "GET".parse()?);
    /// let (_, headers) = Cors::default().preflight(&request);
    /// assert_eq!(headers["access-control-allow-methods"], "GET, POST, OPTIONS");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn preflight(&self, request: &HeaderMap) -> (StatusCode, HeaderMap) {
        let mut headers = HeaderMap::new();
        // The answer to a gRPC-Web preflight names POST only, as it always has; GET is named
        // when asked for.
        let methods = match request.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
            Some(method) if method.as_bytes().eq_ignore_ascii_case(b"GET") => {
                ALLOW_METHODS_WITH_GET
            }
            _ => ALLOW_METHODS,
        };
        headers.insert(header::ALLOW, HeaderValue::from_static(methods));
        let Some(origin) = request.get(header::ORIGIN).filter(|_| self.enabled()) else {
            return (StatusCode::NO_CONTENT, headers);
        };
        if !origin.to_str().is_ok_and(|origin| self.allows(origin)) {
            return (StatusCode::FORBIDDEN, headers);
        }
        self.allow_origin(origin, &mut headers);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        let requested = request
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static(DEFAULT_ALLOW_HEADERS));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(self.max_age_secs),
        );
        (StatusCode::NO_CONTENT, headers)
    }

    /// Adds the headers an actual (non-preflight) answer needs for a browser to read it, given
    /// the request's `origin`.
    pub fn apply(&self, origin: Option<&HeaderValue>, response: &mut HeaderMap) {
        let Some(origin) = origin.filter(|_| self.enabled()) else {
            return;
        };
        if !origin.to_str().is_ok_and(|origin| self.allows(origin)) {
            return;
        }
        self.allow_origin(origin, response);
        response.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose.clone());
    }

    fn allow_origin(&self, origin: &HeaderValue, headers: &mut HeaderMap) {
        // The origin is echoed rather than `*`, which browsers refuse together with credentials.
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        headers
    }

    #[test]
    fn preflight_from_an_allowed_origin() {
        let cors = Cors::allow_origins(["https://a.example"]);
        let (status, headers) = cors.preflight(&request("https://a.example"));
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://a.example"
        );
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_METHODS],
            "POST, OPTIONS"
        );
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_HEADERS],
            DEFAULT_ALLOW_HEADERS
        );
        assert_eq!(headers[header::ACCESS_CONTROL_MAX_AGE], "86400");
    }

    #[test]
    fn a_connect_get_preflight_allows_get_and_connects_headers() {
        let mut preflight = request("https://a.example");
        preflight.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("GET"),
        );
        let (status, headers) = Cors::default().preflight(&preflight);
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET, POST, OPTIONS"
        );
        assert_eq!(headers[header::ALLOW], "GET, POST, OPTIONS");
        let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap();
        for name in [
            "connect-protocol-version",
            "connect-timeout-ms",
            "connect-content-encoding",
            "connect-accept-encoding",
            "content-encoding",
            "accept-encoding",
            "content-type",
            "x-grpc-web",
        ] {
            assert!(allowed.split(", ").any(|allowed| allowed == name), "{name}");
        }
        // A POST preflight is answered as before.
        let (_, headers) = Cors::default().preflight(&request("https://a.example"));
        assert_eq!(headers[header::ALLOW], "POST, OPTIONS");
    }

    #[test]
    fn preflight_from_another_origin_is_refused() {
        let cors = Cors::allow_origins(["https://a.example"]);
        let (status, headers) = cors.preflight(&request("https://b.example"));
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    }

    #[test]
    fn answers_expose_the_status_headers() {
        let mut response = HeaderMap::new();
        Cors::default().allow_credentials(true).apply(
            request("https://c.example").get(header::ORIGIN),
            &mut response,
        );
        assert_eq!(
            response[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://c.example"
        );
        assert_eq!(
            response[header::ACCESS_CONTROL_EXPOSE_HEADERS],
            EXPOSE_HEADERS
        );
        assert_eq!(response[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        let mut response = HeaderMap::new();
        Cors::disabled().apply(
            request("https://c.example").get(header::ORIGIN),
            &mut response,
        );
        assert!(response.is_empty());
    }
}
