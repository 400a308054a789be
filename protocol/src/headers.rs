//! HTTP headers ↔ gRPC metadata: which headers are the connection's rather than the call's, and
//! the conversion both ways.
//!
//! PROTOCOL-HTTP2.md: "Custom-Metadata → Binary-Header / ASCII-Header"; a `-bin` header's value is
//! base64 on the wire and travels as that text on both sides (neither the proxy nor the shim
//! decodes it: the application's gRPC library does).

use bytes::Bytes;
use grpc_lambda_core::metadata::GRPC_TIMEOUT;
use grpc_lambda_core::status::{GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS_BIN};
use grpc_lambda_core::{Code, Metadata};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Headers that belong to one HTTP connection or message, never to a call's metadata: the
/// hop-by-hop headers of RFC 9110 §7.6.1 (`connection`, `keep-alive`, `proxy-connection`, `te`,
/// `transfer-encoding`, `upgrade`), and those that describe one hop's message (`host`,
/// `content-length`, `accept-encoding`).
pub const CONNECTION_HEADERS: [&str; 9] = [
    "connection",
    "keep-alive",
    "te",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "proxy-connection",
    "accept-encoding",
];

/// Whether `name` (lowercase, as `http` keeps names) is one of [`CONNECTION_HEADERS`].
///
/// # Examples
///
/// ```
/// assert!(grpc_lambda_protocol::is_connection_header("te"));
/// assert!(!grpc_lambda_protocol::is_connection_header("authorization"));
/// ```
pub fn is_connection_header(name: &str) -> bool {
    CONNECTION_HEADERS.contains(&name)
}

/// A client's request headers as the metadata a call carries to its handler: all but
/// [`CONNECTION_HEADERS`], `content-type` and `grpc-timeout` (whoever hands the call on writes
/// those two itself: the content type of its own framing, the deadline that is left).
///
/// # Examples
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("te", "trailers".parse()?);
/// headers.insert("content-type", "application/grpc".parse()?);
/// headers.insert("grpc-timeout", "1S".parse()?);
/// headers.insert("x-user-bin", "AAEC".parse()?);
/// let metadata = grpc_lambda_protocol::request_metadata(headers);
/// assert_eq!(metadata.len(), 1);
/// assert_eq!(metadata["x-user-bin"], "AAEC");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request_metadata(mut headers: HeaderMap) -> HeaderMap {
    // One pass to find what to drop (usually `content-type` and `te`), then removal by name
    // without parsing the names again.
    let mut dropped: Vec<HeaderName> = Vec::new();
    for name in headers.keys() {
        let text = name.as_str();
        if is_connection_header(text) || text == GRPC_TIMEOUT || text == "content-type" {
            dropped.push(name.clone());
        }
    }
    for name in &dropped {
        headers.remove(name);
    }
    headers
}

/// Whether a header of a handler's response is metadata for the client: not the framing the
/// answering side writes itself (`content-type`, `content-length`, [`CONNECTION_HEADERS`],
/// `date`, `server`), nor CORS (`access-control-*`, which [`crate::cors`] decides).
///
/// # Examples
///
/// ```
/// use grpc_lambda_protocol::is_response_metadata;
///
/// assert!(is_response_metadata("x-cost"));
/// assert!(!is_response_metadata("content-length"));
/// assert!(!is_response_metadata("access-control-allow-origin"));
/// ```
pub fn is_response_metadata(name: &str) -> bool {
    !(is_connection_header(name)
        || matches!(name, "content-type" | "date" | "server")
        || name.starts_with("access-control-"))
}

/// HTTP headers as gRPC metadata. A name outside gRPC's narrower alphabet (PROTOCOL-HTTP2.md:
/// `Header-Name → 1*( %x30-39 / %x61-7A / "_" / "-" / ".")`) is dropped.
///
/// # Examples
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("grpc-status", "0".parse()?);
/// headers.insert("x-trace-bin", "AAEC".parse()?);
/// let metadata = grpc_lambda_protocol::metadata_from_headers(&headers);
/// assert_eq!(metadata.get("grpc-status"), Some(&b"0"[..]));
/// assert_eq!(metadata.get("x-trace-bin"), Some(&b"AAEC"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn metadata_from_headers(headers: &HeaderMap) -> Metadata {
    let mut metadata = Metadata::with_capacity(headers.len());
    for (name, value) in headers {
        let _ = metadata.append_bytes(metadata_name(name), metadata_value(name, value));
    }
    metadata
}

/// A header's name as metadata: the names every call ends with are not copied.
fn metadata_name(name: &HeaderName) -> Bytes {
    match name.as_str() {
        GRPC_STATUS => Bytes::from_static(GRPC_STATUS.as_bytes()),
        GRPC_MESSAGE => Bytes::from_static(GRPC_MESSAGE.as_bytes()),
        GRPC_STATUS_DETAILS_BIN => Bytes::from_static(GRPC_STATUS_DETAILS_BIN.as_bytes()),
        other => Bytes::copy_from_slice(other.as_bytes()),
    }
}

/// A header's value as metadata: a `grpc-status` code (every call ends with one) is not copied.
fn metadata_value(name: &HeaderName, value: &HeaderValue) -> Bytes {
    if name == GRPC_STATUS {
        if let Some(code) = Code::parse(value.as_bytes()) {
            let text = code.as_header_value();
            // The code's own text, unless the value spelled it otherwise (`07`).
            if text.as_bytes() == value.as_bytes() {
                return Bytes::from_static(text.as_bytes());
            }
        }
    }
    Bytes::copy_from_slice(value.as_bytes())
}

/// gRPC metadata appended to HTTP headers; the values are shared with `metadata`, not copied.
/// An entry that is not a valid HTTP header is dropped.
///
/// # Examples
///
/// ```
/// let mut metadata = grpc_lambda_core::Metadata::new();
/// metadata.append("grpc-status", "3")?;
/// metadata.append("x-trace-bin", "AAEC")?;
/// let mut headers = http::HeaderMap::new();
/// grpc_lambda_protocol::metadata_to_headers(&metadata, &mut headers);
/// assert_eq!(headers["grpc-status"], "3");
/// assert_eq!(headers["x-trace-bin"], "AAEC");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn metadata_to_headers(metadata: &Metadata, headers: &mut HeaderMap) {
    for (name, value) in metadata.iter_bytes() {
        // The status names are in every trailer block: static names, no allocation.
        let name = match &name[..] {
            b"grpc-status" => Ok(HeaderName::from_static(GRPC_STATUS)),
            b"grpc-message" => Ok(HeaderName::from_static(GRPC_MESSAGE)),
            b"grpc-status-details-bin" => Ok(HeaderName::from_static(GRPC_STATUS_DETAILS_BIN)),
            other => HeaderName::from_bytes(other),
        };
        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_maybe_shared(value.clone())) {
            headers.append(name, value);
        }
    }
}
