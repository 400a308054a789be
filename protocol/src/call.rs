//! Which protocol a request speaks, read from the request itself — method, path, `content-type`
//! and query — never configured, and the refusal, in that protocol's own error form, of a
//! request that is not a call.
//!
//! | request | protocol |
//! | --- | --- |
//! | `POST`, `application/grpc[+proto\|+json]` | [`Protocol::Grpc`] |
//! | `POST`, `application/grpc-web[+proto\|+json]` | [`Protocol::GrpcWeb`] |
//! | `POST`, `application/grpc-web-text[+proto\|+json]` | [`Protocol::GrpcWebText`] |
//! | `POST /<pkg.Service>/<Method>`, `application/proto\|json` | [`Protocol::ConnectUnary`] |
//! | `GET /<pkg.Service>/<Method>?encoding=…&message=…` | [`Protocol::ConnectUnaryGet`] |
//! | `POST`, `application/connect+proto\|+json` | [`Protocol::ConnectStream`] |
//! | `POST /twirp/<pkg.Service>/<Method>`, `application/protobuf\|json` | [`Protocol::Twirp`] |
//!
//! Only the `/twirp/` prefix means Twirp: a JSON POST to `/<pkg.Service>/<Method>` is Connect.

use std::fmt;

use grpc_lambda_core::content_type::{Codec, Family, MediaType};
use grpc_lambda_core::status::TwirpCode;
use grpc_lambda_core::Status;
use http::{Method, StatusCode};

use crate::connect::{get_codec, is_connect_get};
use crate::json::{connect_end_stream_json, connect_error_json, twirp_error_json};
use crate::malformed::NotACall;
use crate::path::{method_path, MethodPath, TWIRP_PREFIX};
pub use crate::protocols::{ErrorForm, Protocol};

/// A call: its protocol, codec, media type and method path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// The protocol.
    pub protocol: Protocol,
    /// How messages are encoded.
    pub codec: Codec,
    /// The request's content type; `None` for a Connect GET, which has no body.
    pub media_type: Option<MediaType>,
    /// The method path.
    pub path: MethodPath<'a>,
}

/// A request that is not a call, and the protocol whose error form answers it (`None` when the
/// request is no protocol's at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    protocol: Option<Protocol>,
    reason: NotACall,
}

impl Refusal {
    /// A refusal of a request of `protocol` (for checks made after [`read_call`], such as
    /// [`crate::connect::check_protocol_version`]).
    pub fn new(protocol: Option<Protocol>, reason: NotACall) -> Self {
        Self { protocol, reason }
    }

    /// The protocol the request was read as, if any.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// Why the request is refused.
    pub fn reason(&self) -> &NotACall {
        &self.reason
    }

    /// How the refusal is answered: [`ErrorForm::Http`] for a request of no protocol and for a
    /// gRPC request refused by content type or method (as [`crate::check_call`] answers them),
    /// and a request refused by method in Connect; the protocol's own form otherwise.
    pub fn error_form(&self) -> ErrorForm {
        match (self.protocol, &self.reason) {
            (None, _) => ErrorForm::Http,
            (Some(protocol), NotACall::Method(_) | NotACall::ContentType(_))
                if protocol.is_grpc() =>
            {
                ErrorForm::Http
            }
            (Some(protocol), NotACall::MethodFor { .. }) if protocol.is_connect() => {
                ErrorForm::Http
            }
            (Some(protocol), _) => protocol.error_form(),
        }
    }

    /// The status: the reason's gRPC code and its text.
    pub fn status(&self) -> Status {
        Status::new(self.reason.code(), self.reason.to_string())
    }

    /// The Twirp code: `bad_route` for a path, method or content type Twirp does not route
    /// (Twirp v7: "bad_route … wrong HTTP method, or wrong Content-Type"), else the status's.
    pub fn twirp_code(&self) -> TwirpCode {
        match self.reason {
            NotACall::Path(_)
            | NotACall::MethodFor { .. }
            | NotACall::Method(_)
            | NotACall::NoContentType
            | NotACall::ContentType(_)
            | NotACall::ContentTypeForPath { .. } => TwirpCode::BadRoute,
            _ => TwirpCode::from(self.reason.code()),
        }
    }

    /// The HTTP status of the answer.
    pub fn http_status(&self) -> StatusCode {
        let status = match self.error_form() {
            ErrorForm::Http => return self.reason.http_status(),
            ErrorForm::Grpc | ErrorForm::ConnectEndStream => 200,
            ErrorForm::Connect => self.reason.code().connect_http_status(),
            ErrorForm::Twirp => self.twirp_code().http_status(),
        };
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON body of a Connect or Twirp answer (for [`ErrorForm::ConnectEndStream`], the
    /// end-stream message's payload, to be framed with flag `0x02`); `None` for the other forms.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_protocol::call::{read_call, ErrorForm};
    ///
    /// let refused = read_call(&http::Method::POST, "/twirp/a.B/C", Some(b"application/grpc"), None)
    ///     .unwrap_err();
    /// assert_eq!(refused.error_form(), ErrorForm::Twirp);
    /// assert_eq!(refused.http_status(), http::StatusCode::NOT_FOUND);
    /// let body = String::from_utf8(refused.json_body().unwrap())?;
    /// assert!(body.starts_with(r#"{"code":"bad_route","msg":"#), "{body}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn json_body(&self) -> Option<Vec<u8>> {
        match self.error_form() {
            ErrorForm::Http | ErrorForm::Grpc => None,
            ErrorForm::Connect => Some(connect_error_json(&self.status())),
            ErrorForm::ConnectEndStream => Some(connect_end_stream_json(
                &self.status(),
                &grpc_lambda_core::Metadata::new(),
            )),
            ErrorForm::Twirp => Some(twirp_error_json(
                self.twirp_code(),
                &self.reason.to_string(),
                [],
            )),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}

impl std::error::Error for Refusal {}

/// Reads the call a request makes: its protocol, codec and method path.
///
/// The order is [`crate::check_call`]'s — content type, then method — with the path last: a
/// browser's GET of a page is told what a call looks like. A `GET` whose query names `connect`,
/// `encoding` or `message` is a Connect GET, read without a content type.
///
/// # Errors
///
/// A [`Refusal`] naming what is wrong and the protocol whose error form answers it.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::content_type::Codec;
/// use grpc_lambda_protocol::call::{read_call, Protocol};
/// use http::Method;
///
/// let call = read_call(&Method::POST, "/api.Prod/Alive", Some(b"application/json"), None)?;
/// assert_eq!((call.protocol, call.codec), (Protocol::ConnectUnary, Codec::Json));
///
/// let call = read_call(&Method::POST, "/twirp/api.Prod/Alive", Some(b"application/json"), None)?;
/// assert_eq!(call.protocol, Protocol::Twirp);
/// assert_eq!(call.path.canonical(), "/api.Prod/Alive");
///
/// let call = read_call(&Method::GET, "/api.Prod/Alive", None, Some("encoding=proto&message="))?;
/// assert_eq!(call.protocol, Protocol::ConnectUnaryGet);
///
/// let call = read_call(&Method::POST, "/api.Prod/Alive", Some(b"application/grpc-web+json"), None)?;
/// assert_eq!((call.protocol, call.codec), (Protocol::GrpcWeb, Codec::Json));
/// # Ok::<(), grpc_lambda_protocol::call::Refusal>(())
/// ```
pub fn read_call<'a>(
    method: &Method,
    path: &'a str,
    content_type: Option<&[u8]>,
    query: Option<&str>,
) -> Result<Call<'a>, Refusal> {
    let twirp_path = path
        .strip_prefix(TWIRP_PREFIX)
        .is_some_and(|rest| rest.starts_with('/'));
    if method == Method::GET && !twirp_path && is_connect_get(query) {
        let refuse = |reason| Refusal::new(Some(Protocol::ConnectUnaryGet), reason);
        let codec =
            get_codec(query.unwrap_or_default()).map_err(|err| refuse(NotACall::Query(err)))?;
        let path = method_path(path).map_err(|err| refuse(NotACall::Path(err)))?;
        return Ok(Call {
            protocol: Protocol::ConnectUnaryGet,
            codec,
            media_type: None,
            path,
        });
    }
    let unknown = if twirp_path {
        Some(Protocol::Twirp)
    } else {
        None
    };
    let media_type = match content_type.map(MediaType::parse_bytes) {
        Some(Ok(media_type)) => media_type,
        Some(Err(err)) => return Err(Refusal::new(unknown, NotACall::ContentType(err))),
        None => return Err(Refusal::new(unknown, NotACall::NoContentType)),
    };
    let protocol = match (twirp_path, media_type.family(), media_type.codec()) {
        (true, Family::TwirpProtobuf, _) | (true, Family::BareMessage, Codec::Json) => {
            Protocol::Twirp
        }
        (false, Family::Grpc, _) => Protocol::Grpc,
        (false, Family::GrpcWeb, _) => Protocol::GrpcWeb,
        (false, Family::GrpcWebText, _) => Protocol::GrpcWebText,
        (false, Family::BareMessage, _) => Protocol::ConnectUnary,
        (false, Family::ConnectStreaming, _) => Protocol::ConnectStream,
        (twirp_path, _, _) => {
            return Err(Refusal::new(
                Some(Protocol::Twirp),
                NotACall::ContentTypeForPath {
                    content_type: media_type.as_str(),
                    twirp_path,
                },
            ))
        }
    };
    let refuse = |reason| Refusal::new(Some(protocol), reason);
    if method != Method::POST {
        return Err(refuse(if protocol.is_grpc() {
            NotACall::Method(method.clone())
        } else {
            NotACall::MethodFor {
                protocol,
                method: method.clone(),
            }
        }));
    }
    let path = method_path(path).map_err(|err| refuse(NotACall::Path(err)))?;
    Ok(Call {
        protocol,
        codec: media_type.codec(),
        media_type: Some(media_type),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use grpc_lambda_core::Code;

    const PATH: &str = "/api.Prod/Alive";

    fn post(path: &str, content_type: &str) -> Result<Call<'static>, Refusal> {
        let path: &'static str = Box::leak(path.to_owned().into_boxed_str());
        read_call(&Method::POST, path, Some(content_type.as_bytes()), None)
    }

    #[test]
    fn each_protocol_is_read_from_the_request() {
        for (path, content_type, protocol, codec) in [
            (PATH, "application/grpc", Protocol::Grpc, Codec::Proto),
            (PATH, "application/grpc+json", Protocol::Grpc, Codec::Json),
            (
                PATH,
                "application/grpc-web+proto",
                Protocol::GrpcWeb,
                Codec::Proto,
            ),
            (
                PATH,
                "application/grpc-web+json",
                Protocol::GrpcWeb,
                Codec::Json,
            ),
            (
                PATH,
                "application/grpc-web-text",
                Protocol::GrpcWebText,
                Codec::Proto,
            ),
            (
                PATH,
                "application/proto",
                Protocol::ConnectUnary,
                Codec::Proto,
            ),
            (
                PATH,
                "application/json",
                Protocol::ConnectUnary,
                Codec::Json,
            ),
            (
                PATH,
                "application/connect+proto",
                Protocol::ConnectStream,
                Codec::Proto,
            ),
            (
                PATH,
                "application/connect+json",
                Protocol::ConnectStream,
                Codec::Json,
            ),
            (
                "/twirp/api.Prod/Alive",
                "application/protobuf",
                Protocol::Twirp,
                Codec::Proto,
            ),
            (
                "/twirp/api.Prod/Alive",
                "application/json",
                Protocol::Twirp,
                Codec::Json,
            ),
        ] {
            let call = post(path, content_type).unwrap();
            assert_eq!(
                (call.protocol, call.codec),
                (protocol, codec),
                "{content_type}"
            );
            assert_eq!(call.path.canonical(), PATH);
            assert_eq!(call.media_type.map(|m| m.as_str()), Some(content_type));
        }
        let get = read_call(
            &Method::GET,
            PATH,
            None,
            Some("connect=v1&encoding=json&message=%7B%7D"),
        )
        .unwrap();
        assert_eq!(
            (get.protocol, get.codec, get.media_type),
            (Protocol::ConnectUnaryGet, Codec::Json, None)
        );
    }

    #[test]
    fn refusals_answer_in_the_protocols_form() {
        // Not a call: as check_call answers.
        let refused = post(PATH, "text/html").unwrap_err();
        assert_eq!(refused.error_form(), ErrorForm::Http);
        assert_eq!(refused.http_status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let refused = read_call(&Method::GET, PATH, None, Some("a=1")).unwrap_err();
        assert_eq!(refused.reason(), &NotACall::NoContentType);
        let refused = read_call(&Method::PUT, PATH, Some(b"application/grpc"), None).unwrap_err();
        assert_eq!(
            (refused.error_form(), refused.http_status()),
            (ErrorForm::Http, StatusCode::METHOD_NOT_ALLOWED)
        );
        // gRPC: a bad path is UNIMPLEMENTED in trailers.
        let refused = post("/a/b/c", "application/grpc").unwrap_err();
        assert_eq!(refused.error_form(), ErrorForm::Grpc);
        assert_eq!(refused.status().code(), Code::Unimplemented);
        assert_eq!(refused.http_status(), StatusCode::OK);
        // Connect unary: JSON at the code's HTTP status.
        let refused = post("/a/b/c", "application/json").unwrap_err();
        assert_eq!(refused.error_form(), ErrorForm::Connect);
        assert_eq!(refused.http_status(), StatusCode::NOT_IMPLEMENTED);
        let body = String::from_utf8(refused.json_body().unwrap()).unwrap();
        assert!(
            body.starts_with(
                r#"{"code":"unimplemented","message":"path \"/a/b/c\" names no method"#
            ),
            "{body}"
        );
        let refused =
            read_call(&Method::GET, PATH, None, Some("encoding=xml&message=")).unwrap_err();
        assert_eq!(refused.http_status(), StatusCode::BAD_REQUEST);
        assert_eq!(refused.status().code(), Code::InvalidArgument);
        let refused =
            read_call(&Method::DELETE, PATH, Some(b"application/proto"), None).unwrap_err();
        assert_eq!(refused.http_status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(
            refused
                .to_string()
                .starts_with("Connect calls are POST requests"),
            "{refused}"
        );
        // Connect streaming: an end-stream message.
        let refused = post("/a.B/", "application/connect+json").unwrap_err();
        assert_eq!(
            (refused.error_form(), refused.http_status()),
            (ErrorForm::ConnectEndStream, StatusCode::OK)
        );
        assert!(refused
            .json_body()
            .unwrap()
            .starts_with(br#"{"error":{"code":"unimplemented""#));
        // Twirp: bad_route for what Twirp does not route.
        for (method, path, content_type) in [
            (
                Method::POST,
                "/twirp/api.Prod/Alive",
                Some(&b"application/proto"[..]),
            ),
            (
                Method::POST,
                "/twirp/api.Prod/Alive",
                Some(b"application/grpc"),
            ),
            (Method::POST, "/twirp/api.Prod/Alive", None),
            (Method::POST, "/twirp/api.Prod/Alive", Some(b"text/html")),
            (
                Method::GET,
                "/twirp/api.Prod/Alive",
                Some(b"application/json"),
            ),
            (
                Method::POST,
                "/twirp/api.Prod/x/y",
                Some(b"application/json"),
            ),
            (Method::POST, PATH, Some(b"application/protobuf")),
        ] {
            let refused = read_call(&method, path, content_type, None).unwrap_err();
            assert_eq!(
                refused.error_form(),
                ErrorForm::Twirp,
                "{path} {content_type:?}"
            );
            assert_eq!(refused.twirp_code(), TwirpCode::BadRoute);
            assert_eq!(refused.http_status(), StatusCode::NOT_FOUND);
        }
        let refused = post(PATH, "application/protobuf").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "content-type application/protobuf is Twirp's, whose paths start with /twirp/"
        );
    }
}
