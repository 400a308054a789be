//! The protocols a call may speak, and the form in which each is told a call is refused.

use std::fmt;

use grpc_lambda_core::Envelope;

/// The protocol a call speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// gRPC over HTTP/2.
    Grpc,
    /// gRPC-Web, binary.
    GrpcWeb,
    /// gRPC-Web, base64 text.
    GrpcWebText,
    /// Connect unary over POST: the body is the bare message.
    ConnectUnary,
    /// Connect unary over GET: the message is in the query.
    ConnectUnaryGet,
    /// Connect streaming: enveloped messages, then the end-stream message.
    ConnectStream,
    /// Twirp: `POST /twirp/…`, the body is the bare message.
    Twirp,
}

impl Protocol {
    /// The protocol's name, e.g. `"connect-unary-get"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::GrpcWeb => "grpc-web",
            Protocol::GrpcWebText => "grpc-web-text",
            Protocol::ConnectUnary => "connect-unary",
            Protocol::ConnectUnaryGet => "connect-unary-get",
            Protocol::ConnectStream => "connect-stream",
            Protocol::Twirp => "twirp",
        }
    }

    /// The envelope the request body is read with; `None` when it is a bare message (Connect
    /// unary, Twirp) or in the query (Connect GET).
    pub const fn envelope(self) -> Option<Envelope> {
        match self {
            Protocol::Grpc => Some(Envelope::Grpc),
            Protocol::GrpcWeb | Protocol::GrpcWebText => Some(Envelope::GrpcWeb),
            Protocol::ConnectStream => Some(Envelope::Connect),
            Protocol::ConnectUnary | Protocol::ConnectUnaryGet | Protocol::Twirp => None,
        }
    }

    /// Whether this is one of gRPC's (gRPC, gRPC-Web, gRPC-Web-text).
    pub const fn is_grpc(self) -> bool {
        matches!(
            self,
            Protocol::Grpc | Protocol::GrpcWeb | Protocol::GrpcWebText
        )
    }

    /// Whether this is one of Connect's.
    pub const fn is_connect(self) -> bool {
        matches!(
            self,
            Protocol::ConnectUnary | Protocol::ConnectUnaryGet | Protocol::ConnectStream
        )
    }

    /// How the protocol's callers are told a call is refused.
    pub const fn error_form(self) -> ErrorForm {
        match self {
            Protocol::Grpc | Protocol::GrpcWeb | Protocol::GrpcWebText => ErrorForm::Grpc,
            Protocol::ConnectUnary | Protocol::ConnectUnaryGet => ErrorForm::Connect,
            Protocol::ConnectStream => ErrorForm::ConnectEndStream,
            Protocol::Twirp => ErrorForm::Twirp,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The form an error is answered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorForm {
    /// Not a call: an HTTP status and a text body, with `grpc-status` and `grpc-message`
    /// headers for a gRPC client (as [`crate::check_call`]'s refusals are answered).
    Http,
    /// gRPC and gRPC-Web: HTTP 200, the status in trailers or the trailer frame.
    Grpc,
    /// Connect unary: the HTTP status of the code and the JSON error body
    /// ([`crate::json::connect_error_json`]), `content-type: application/json`.
    Connect,
    /// Connect streaming: HTTP 200 and one end-stream message (flag `0x02`) carrying the error.
    ConnectEndStream,
    /// Twirp: the HTTP status of the Twirp code and the Twirp JSON error body.
    Twirp,
}
