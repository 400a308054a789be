//! The client's protocol, read from the request by `grpc_lambda_protocol::read_call`, and what
//! the Lambda hop gets for it. The hop is always gRPC-Web: the content type names the client's
//! codec (`application/grpc-web+json` for a JSON client), the path is `/<pkg.Service>/<Method>`
//! (Twirp's prefix removed), a bare message (Connect unary, Twirp, a Connect GET's query) becomes
//! one frame, a Connect client's gzip is inflated, and its deadline becomes the deadline
//! `grpc-timeout` would give. Nothing is transcoded: the function's shim reads JSON.
//! A Connect GET is the one call that goes as it came (a GET with its query): whether a method
//! may take a GET is in the function's descriptors, so the function answers it, in Connect's
//! form, and the proxy passes the answer on.
//!
//! | client | body to the function | compression | deadline |
//! | --- | --- | --- | --- |
//! | gRPC, gRPC-Web(-text) | as sent | `grpc-encoding` | `grpc-timeout` |
//! | Connect streaming | as sent, compressed messages inflated | `connect-content-encoding` | `connect-timeout-ms` |
//! | Connect unary (POST) | one frame, inflated | `content-encoding` | `connect-timeout-ms` |
//! | Connect GET | none: the GET itself, its query as it came | `compression=` | `connect-timeout-ms` |
//! | Twirp | one frame, inflated | `content-encoding` | none |
//!
//! A Connect or Twirp client's gzip message is inflated for the hop under the message limit, its
//! bytes counted in the memory budget: the function reads the call as it reads it from that
//! client directly (where the shim inflates it before the service), so a tonic service need not
//! accept gzip to serve a Connect client through the proxy. A gRPC client's compressed messages
//! stay compressed, for the service, as gRPC's are everywhere.

use std::time::Duration;

use grpc_lambda_core::content_type::{Codec, MediaType};
use grpc_lambda_core::metadata::{parse_timeout, GRPC_TIMEOUT};
use grpc_lambda_protocol::connect::{
    check_protocol_version, parse_connect_timeout, CONNECT_ACCEPT_ENCODING,
    CONNECT_CONTENT_ENCODING, CONNECT_PROTOCOL_VERSION, CONNECT_TIMEOUT_MS,
};
use grpc_lambda_protocol::{Call, Malformed, Protocol};
use http::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING};
use http::HeaderMap;

use crate::error::InvokeError;

/// The `grpc-encoding` header the hop carries for a compressed message.
const GRPC_ENCODING: &str = "grpc-encoding";

/// What a client speaks: its protocol, codec and content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wire {
    /// The protocol.
    pub(crate) protocol: Protocol,
    /// The codec its messages are in.
    pub(crate) codec: Codec,
    /// Its content type; `None` for a Connect GET.
    pub(crate) media: Option<MediaType>,
}

impl Wire {
    /// The wire of a call `read_call` accepted.
    pub(crate) fn of(call: &Call<'_>) -> Wire {
        Wire {
            protocol: call.protocol,
            codec: call.codec,
            media: call.media_type,
        }
    }

    /// The wire of a request refused as `protocol` before its call was read whole (its path):
    /// the codec from its content type, when it has one.
    pub(crate) fn refused(protocol: Protocol, content_type: Option<&[u8]>) -> Wire {
        let media = content_type.and_then(|value| MediaType::parse_bytes(value).ok());
        Wire {
            protocol,
            codec: media.map_or(Codec::Proto, MediaType::codec),
            media,
        }
    }

    /// gRPC over HTTP/2, whose status travels in HTTP/2 trailers.
    pub(crate) fn is_native(self) -> bool {
        self.protocol == Protocol::Grpc
    }

    /// gRPC-Web, binary or text: the trailer frame stays in the body.
    pub(crate) fn is_web(self) -> bool {
        matches!(self.protocol, Protocol::GrpcWeb | Protocol::GrpcWebText)
    }

    /// gRPC-Web-text: base64 both ways.
    pub(crate) fn is_text(self) -> bool {
        self.protocol == Protocol::GrpcWebText
    }

    /// A bare message (Connect unary, Twirp), or one in the query (Connect GET).
    pub(crate) fn is_bare(self) -> bool {
        self.protocol.envelope().is_none()
    }

    /// The `content-type` of a successful answer: the request's own (a Connect GET's, from
    /// its `encoding=`).
    pub(crate) fn response_content_type(self) -> &'static str {
        match (self.media, self.codec) {
            (Some(media), _) => media.response_content_type(),
            (None, Codec::Json) => "application/json",
            (None, Codec::Proto) => "application/proto",
        }
    }

    /// The label logs give the call's protocol: the content type, or the protocol of a GET.
    pub(crate) fn label(self) -> &'static str {
        match self.media {
            Some(media) => media.as_str(),
            None => self.protocol.as_str(),
        }
    }
}

/// The header naming a request's compression, by protocol.
fn encoding_header(protocol: Protocol) -> Option<&'static str> {
    match protocol {
        Protocol::Grpc | Protocol::GrpcWeb | Protocol::GrpcWebText => Some(GRPC_ENCODING),
        Protocol::ConnectStream => Some(CONNECT_CONTENT_ENCODING),
        Protocol::ConnectUnary | Protocol::Twirp => Some(CONTENT_ENCODING.as_str()),
        Protocol::ConnectUnaryGet => None,
    }
}

/// Whether the request's messages are compressed, from the header its protocol names.
///
/// # Errors
///
/// [`InvokeError::UnsupportedEncoding`] for an encoding other than `identity` and `gzip`.
pub(crate) fn compressed(wire: Wire, headers: &HeaderMap) -> Result<bool, InvokeError> {
    let value = encoding_header(wire.protocol)
        .and_then(|name| headers.get(name))
        .map(HeaderValue::as_bytes);
    crate::request::check_encoding(value)
}

/// The client's timeout: `grpc-timeout` for gRPC, `connect-timeout-ms` for Connect, none for
/// Twirp; a Connect call's `connect-protocol-version` is checked here too.
///
/// # Errors
///
/// [`InvokeError::Malformed`] for a `grpc-timeout` that cannot be read,
/// [`InvokeError::ConnectHeader`] for a Connect header that cannot.
pub(crate) fn timeout(wire: Wire, headers: &HeaderMap) -> Result<Option<Duration>, InvokeError> {
    if wire.protocol.is_grpc() {
        return headers
            .get(GRPC_TIMEOUT)
            .map(|value| {
                parse_timeout(value.as_bytes()).map_err(|err| InvokeError::Malformed {
                    kind: Malformed::Timeout,
                    reason: format!("malformed grpc-timeout: {err}"),
                })
            })
            .transpose();
    }
    if !wire.protocol.is_connect() {
        return Ok(None);
    }
    if wire.protocol != Protocol::ConnectUnaryGet {
        check_protocol_version(
            headers
                .get(CONNECT_PROTOCOL_VERSION)
                .map(HeaderValue::as_bytes),
        )
        .map_err(InvokeError::ConnectHeader)?;
    }
    headers
        .get(CONNECT_TIMEOUT_MS)
        .map(|value| parse_connect_timeout(value.as_bytes()).map_err(InvokeError::ConnectHeader))
        .transpose()
}

/// The client's metadata for the hop: a Connect or Twirp client's own headers (its timeout,
/// version, compression) left out, as they are said again in gRPC's terms; `grpc-encoding:
/// gzip` when the message is compressed.
pub(crate) fn hop_metadata(wire: Wire, mut metadata: HeaderMap, compressed: bool) -> HeaderMap {
    // A Connect GET goes to the function as it came.
    if wire.protocol.is_grpc() || wire.protocol == Protocol::ConnectUnaryGet {
        return metadata;
    }
    for name in [
        CONNECT_PROTOCOL_VERSION,
        CONNECT_TIMEOUT_MS,
        CONNECT_CONTENT_ENCODING,
        CONNECT_ACCEPT_ENCODING,
        CONTENT_ENCODING.as_str(),
        ACCEPT_ENCODING.as_str(),
        GRPC_ENCODING,
        "grpc-accept-encoding",
    ] {
        metadata.remove(name);
    }
    if compressed {
        metadata.insert(GRPC_ENCODING, HeaderValue::from_static("gzip"));
    }
    let client = if wire.protocol == Protocol::Twirp {
        "twirp"
    } else {
        "connect"
    };
    metadata.insert(
        grpc_lambda_protocol::CLIENT_PROTOCOL_HEADER,
        HeaderValue::from_static(client),
    );
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_message_becomes_one_frame() {
        use crate::request::frame;
        assert_eq!(&frame(b"hi", false).unwrap()[..], b"\0\0\0\0\x02hi");
        assert_eq!(&frame(b"", true).unwrap()[..], b"\x01\0\0\0\0");
    }

    #[test]
    fn connect_headers_become_grpc_terms() {
        let wire = Wire::refused(Protocol::ConnectUnary, Some(b"application/json"));
        let mut headers = HeaderMap::new();
        headers.insert(CONNECT_TIMEOUT_MS, HeaderValue::from_static("1500"));
        headers.insert(CONNECT_PROTOCOL_VERSION, HeaderValue::from_static("1"));
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert("x-user", HeaderValue::from_static("a"));
        assert_eq!(
            timeout(wire, &headers).unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert!(compressed(wire, &headers).unwrap());
        let metadata = hop_metadata(wire, headers, true);
        let names: Vec<&str> = metadata.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            ["x-user", "grpc-encoding", "grpc-lambda-client-protocol"]
        );
        let mut bad = HeaderMap::new();
        bad.insert(CONNECT_PROTOCOL_VERSION, HeaderValue::from_static("2"));
        assert!(matches!(
            timeout(wire, &bad),
            Err(InvokeError::ConnectHeader(_))
        ));
    }
}
