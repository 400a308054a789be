//! Which protocol a request speaks, read from its `content-type`, and what to answer with.
//!
//! PROTOCOL-HTTP2.md: "Content-Type → "content-type" "application/grpc" [("+proto" / "+json" /
//! {custom})]". PROTOCOL-WEB.md: "Content-Type: application/grpc-web", "e.g.
//! application/grpc-web+[proto, json, thrift]", and "application/grpc-web-text" for the
//! base64-encoded form. [`ContentType`] is the six protobuf forms of gRPC and gRPC-Web (`+proto`,
//! or no suffix, which means proto), other codecs refused by name; [`MediaType`] reads every
//! form a call may come in, `+json`, Connect's and Twirp's included, as a [`Family`] and a
//! [`Codec`].

use alloc::string::String;
use core::fmt;
use core::str::FromStr;

mod media;

pub use media::{Codec, Family, MediaType};

/// The wire protocol of a call.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::{ContentType, Protocol};
///
/// assert_eq!(ContentType::parse("application/grpc-web-text")?.protocol(), Protocol::GrpcWebText);
/// # Ok::<(), grpc_lambda_core::content_type::ContentTypeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Native gRPC over HTTP/2: messages in the body, status in HTTP/2 trailers.
    Grpc,
    /// gRPC-Web: messages in the body, followed by a trailer frame (flag 0x80).
    GrpcWeb,
    /// gRPC-Web-text: the gRPC-Web body, base64-encoded.
    GrpcWebText,
}

impl Protocol {
    /// Whether the status travels in a trailer frame inside the body (gRPC-Web, either form).
    pub const fn is_web(self) -> bool {
        matches!(self, Protocol::GrpcWeb | Protocol::GrpcWebText)
    }

    /// Whether the body is base64 text (gRPC-Web-text).
    pub const fn is_text(self) -> bool {
        matches!(self, Protocol::GrpcWebText)
    }

    /// The protocol's name, e.g. `"grpc-web-text"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::GrpcWeb => "grpc-web",
            Protocol::GrpcWebText => "grpc-web-text",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gRPC `content-type`, one of the six forms this crate serves.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::{ContentType, Protocol};
///
/// let content_type = ContentType::parse("Application/gRPC-Web+Proto; charset=utf-8")?;
/// assert_eq!(content_type, ContentType::GrpcWebProto);
/// assert_eq!(content_type.protocol(), Protocol::GrpcWeb);
/// assert_eq!(content_type.response_content_type(), "application/grpc-web+proto");
/// assert!(ContentType::parse("application/json").is_err());
/// # Ok::<(), grpc_lambda_core::content_type::ContentTypeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// `application/grpc`
    Grpc,
    /// `application/grpc+proto`
    GrpcProto,
    /// `application/grpc-web`
    GrpcWeb,
    /// `application/grpc-web+proto`
    GrpcWebProto,
    /// `application/grpc-web-text`
    GrpcWebText,
    /// `application/grpc-web-text+proto`
    GrpcWebTextProto,
}

/// A `content-type` this crate does not serve.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentTypeError {
    /// The media type is not one of gRPC's.
    NotGrpc {
        /// The value received.
        value: String,
    },
    /// A gRPC media type with a codec other than `proto`.
    UnsupportedCodec {
        /// The value received.
        value: String,
        /// The codec named after `+`.
        codec: String,
    },
    /// The media type is none of those [`MediaType::parse`] reads.
    Unrecognized {
        /// The value received.
        value: String,
    },
    /// A gRPC or Connect streaming media type whose codec is neither `proto` nor `json`.
    CodecNotServed {
        /// The value received.
        value: String,
        /// The codec named after `+`.
        codec: String,
    },
}

/// What a gRPC `content-type` looks like, for error messages.
const EXPECTED: &str =
    "expected application/grpc, application/grpc-web or application/grpc-web-text, optionally +proto";

impl fmt::Display for ContentTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotGrpc { value } => write!(f, "content-type {value:?} is not gRPC ({EXPECTED})"),
            Self::UnsupportedCodec { value, codec } => write!(
                f,
                "content-type {value:?} asks for codec {codec:?}, but only proto is served ({EXPECTED})"
            ),
            Self::Unrecognized { value } => write!(
                f,
                "content-type {value:?} is not one this server reads ({})",
                media::EXPECTED_ANY
            ),
            Self::CodecNotServed { value, codec } => write!(
                f,
                "content-type {value:?} asks for codec {codec:?}, but only proto and json are served ({})",
                media::EXPECTED_ANY
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ContentTypeError {}

/// Strips an ASCII-case-insensitive `prefix` from `value`.
fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        value.get(prefix.len()..)
    } else {
        None
    }
}

impl ContentType {
    /// Every form, for iteration in tests and tables.
    pub const ALL: [ContentType; 6] = [
        ContentType::Grpc,
        ContentType::GrpcProto,
        ContentType::GrpcWeb,
        ContentType::GrpcWebProto,
        ContentType::GrpcWebText,
        ContentType::GrpcWebTextProto,
    ];

    /// Reads a `content-type` header value: ASCII case-insensitive, parameters after `;` and
    /// surrounding whitespace ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::ContentType;
    ///
    /// assert_eq!(ContentType::parse(" application/grpc ")?, ContentType::Grpc);
    /// let err = ContentType::parse("application/grpc+json").unwrap_err();
    /// assert!(err.to_string().contains("\"json\""));
    /// # Ok::<(), grpc_lambda_core::content_type::ContentTypeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ContentTypeError::NotGrpc`] for any other media type, and
    /// [`ContentTypeError::UnsupportedCodec`] for a gRPC media type with a codec other than
    /// `proto` (`+json`, `+thrift`…).
    pub fn parse(value: &str) -> Result<ContentType, ContentTypeError> {
        // Most clients spell it exactly as `as_str` does.
        if let Some(content_type) = ContentType::from_canonical(value.as_bytes()) {
            return Ok(content_type);
        }
        let not_grpc = || ContentTypeError::NotGrpc {
            value: value.into(),
        };
        let media_type = value.split(';').next().unwrap_or_default().trim();
        let subtype = strip_prefix_ignore_case(media_type, "application/").ok_or_else(not_grpc)?;
        let (subtype, codec) = match subtype.split_once('+') {
            Some((subtype, codec)) => (subtype, Some(codec)),
            None => (subtype, None),
        };
        let protocol = if subtype.eq_ignore_ascii_case("grpc") {
            Protocol::Grpc
        } else if subtype.eq_ignore_ascii_case("grpc-web") {
            Protocol::GrpcWeb
        } else if subtype.eq_ignore_ascii_case("grpc-web-text") {
            Protocol::GrpcWebText
        } else {
            return Err(not_grpc());
        };
        let proto = match codec {
            None => false,
            Some(codec) if codec.eq_ignore_ascii_case("proto") => true,
            Some(codec) => {
                return Err(ContentTypeError::UnsupportedCodec {
                    value: value.into(),
                    codec: codec.into(),
                })
            }
        };
        Ok(match (protocol, proto) {
            (Protocol::Grpc, false) => ContentType::Grpc,
            (Protocol::Grpc, true) => ContentType::GrpcProto,
            (Protocol::GrpcWeb, false) => ContentType::GrpcWeb,
            (Protocol::GrpcWeb, true) => ContentType::GrpcWebProto,
            (Protocol::GrpcWebText, false) => ContentType::GrpcWebText,
            (Protocol::GrpcWebText, true) => ContentType::GrpcWebTextProto,
        })
    }

    /// The content type whose [`ContentType::as_str`] is exactly `value`, with no parameters,
    /// spacing or case folding: how most clients send it.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::ContentType;
    ///
    /// assert_eq!(
    ///     ContentType::from_canonical(b"application/grpc-web+proto"),
    ///     Some(ContentType::GrpcWebProto)
    /// );
    /// assert_eq!(ContentType::from_canonical(b"Application/grpc"), None);
    /// ```
    pub fn from_canonical(value: &[u8]) -> Option<ContentType> {
        ContentType::ALL
            .into_iter()
            .find(|content_type| content_type.as_str().as_bytes() == value)
    }

    /// Reads a `content-type` header value given as bytes, as HTTP libraries hand them out.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::ContentType;
    ///
    /// assert_eq!(ContentType::parse_bytes(b"application/grpc-web")?, ContentType::GrpcWeb);
    /// # Ok::<(), grpc_lambda_core::content_type::ContentTypeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ContentType::parse`]; a value that is not UTF-8 is [`ContentTypeError::NotGrpc`].
    pub fn parse_bytes(value: &[u8]) -> Result<ContentType, ContentTypeError> {
        match core::str::from_utf8(value) {
            Ok(value) => Self::parse(value),
            Err(_) => Err(ContentTypeError::NotGrpc {
                value: String::from_utf8_lossy(value).into_owned(),
            }),
        }
    }

    /// The protocol this content type speaks.
    pub const fn protocol(self) -> Protocol {
        match self {
            ContentType::Grpc | ContentType::GrpcProto => Protocol::Grpc,
            ContentType::GrpcWeb | ContentType::GrpcWebProto => Protocol::GrpcWeb,
            ContentType::GrpcWebText | ContentType::GrpcWebTextProto => Protocol::GrpcWebText,
        }
    }

    /// The media type, lowercase, e.g. `"application/grpc-web+proto"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(grpc_lambda_core::ContentType::GrpcProto.as_str(), "application/grpc+proto");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ContentType::Grpc => "application/grpc",
            ContentType::GrpcProto => "application/grpc+proto",
            ContentType::GrpcWeb => "application/grpc-web",
            ContentType::GrpcWebProto => "application/grpc-web+proto",
            ContentType::GrpcWebText => "application/grpc-web-text",
            ContentType::GrpcWebTextProto => "application/grpc-web-text+proto",
        }
    }

    /// The `content-type` to answer a request of this type with: the same form, so a `+proto`
    /// request gets `+proto` back and a bare one a bare one (clients compare it with what they
    /// sent).
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::ContentType;
    ///
    /// assert_eq!(ContentType::GrpcWebText.response_content_type(), "application/grpc-web-text");
    /// assert_eq!(ContentType::GrpcProto.response_content_type(), "application/grpc+proto");
    /// ```
    pub const fn response_content_type(self) -> &'static str {
        self.as_str()
    }

    /// Whether the body is base64 text (gRPC-Web-text).
    pub const fn is_text(self) -> bool {
        self.protocol().is_text()
    }

    /// Whether this is gRPC-Web, binary or text: the status travels in a trailer frame.
    pub const fn is_web(self) -> bool {
        self.protocol().is_web()
    }

    /// Whether the codec is named explicitly (`+proto`).
    pub const fn has_proto_suffix(self) -> bool {
        matches!(
            self,
            ContentType::GrpcProto | ContentType::GrpcWebProto | ContentType::GrpcWebTextProto
        )
    }
}

impl FromStr for ContentType {
    type Err = ContentTypeError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_form_round_trips() {
        for content_type in ContentType::ALL {
            assert_eq!(ContentType::parse(content_type.as_str()), Ok(content_type));
            assert_eq!(content_type.to_string(), content_type.as_str());
            assert_eq!(content_type.response_content_type(), content_type.as_str());
            assert_eq!(
                content_type.as_str().parse::<ContentType>(),
                Ok(content_type)
            );
            assert_eq!(
                content_type.has_proto_suffix(),
                content_type.as_str().ends_with("+proto")
            );
        }
    }

    #[test]
    fn protocols() {
        assert_eq!(ContentType::Grpc.protocol(), Protocol::Grpc);
        assert_eq!(ContentType::GrpcProto.protocol(), Protocol::Grpc);
        assert_eq!(ContentType::GrpcWeb.protocol(), Protocol::GrpcWeb);
        assert_eq!(ContentType::GrpcWebProto.protocol(), Protocol::GrpcWeb);
        assert_eq!(ContentType::GrpcWebText.protocol(), Protocol::GrpcWebText);
        assert_eq!(
            ContentType::GrpcWebTextProto.protocol(),
            Protocol::GrpcWebText
        );
        let web: alloc::vec::Vec<bool> = ContentType::ALL.iter().map(|c| c.is_web()).collect();
        assert_eq!(web, [false, false, true, true, true, true]);
        let text: alloc::vec::Vec<bool> = ContentType::ALL.iter().map(|c| c.is_text()).collect();
        assert_eq!(text, [false, false, false, false, true, true]);
        assert_eq!(Protocol::GrpcWebText.to_string(), "grpc-web-text");
    }

    #[test]
    fn case_parameters_and_whitespace_are_ignored() {
        assert_eq!(
            ContentType::parse("APPLICATION/GRPC"),
            Ok(ContentType::Grpc)
        );
        assert_eq!(
            ContentType::parse("application/grpc+PROTO"),
            Ok(ContentType::GrpcProto)
        );
        assert_eq!(
            ContentType::parse("\tapplication/grpc-web-text ; charset=utf-8"),
            Ok(ContentType::GrpcWebText)
        );
        assert_eq!(
            ContentType::parse("application/grpc-web+proto;a=b;c=d"),
            Ok(ContentType::GrpcWebProto)
        );
        assert_eq!(
            ContentType::parse_bytes(b"application/grpc;"),
            Ok(ContentType::Grpc)
        );
    }

    #[test]
    fn other_media_types_are_named() {
        let err = ContentType::parse("application/json").unwrap_err();
        assert_eq!(
            err,
            ContentTypeError::NotGrpc {
                value: "application/json".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "content-type \"application/json\" is not gRPC (expected application/grpc, application/grpc-web or application/grpc-web-text, optionally +proto)"
        );
        for value in [
            "",
            "application/",
            "application",
            "application/grpcweb",
            "application/grpc-webtext",
            "application/grpc-web-text-x",
            "application/octet-stream",
            "text/grpc",
            "application /grpc",
            "application/grpc web",
            "applicatio\u{e9}/grpc",
        ] {
            assert_eq!(
                ContentType::parse(value),
                Err(ContentTypeError::NotGrpc {
                    value: value.into()
                }),
                "{value:?}"
            );
        }
        assert!(matches!(
            ContentType::parse_bytes(b"application/grpc\xff"),
            Err(ContentTypeError::NotGrpc { .. })
        ));
    }

    #[test]
    fn other_codecs_are_named() {
        let err = ContentType::parse("application/grpc-web+json").unwrap_err();
        assert_eq!(
            err,
            ContentTypeError::UnsupportedCodec {
                value: "application/grpc-web+json".into(),
                codec: "json".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "content-type \"application/grpc-web+json\" asks for codec \"json\", but only proto is served (expected application/grpc, application/grpc-web or application/grpc-web-text, optionally +proto)"
        );
        assert!(matches!(
            ContentType::parse("application/grpc+"),
            Err(ContentTypeError::UnsupportedCodec { codec, .. }) if codec.is_empty()
        ));
        assert!(matches!(
            ContentType::parse("application/grpc+proto+proto"),
            Err(ContentTypeError::UnsupportedCodec { codec, .. }) if codec == "proto+proto"
        ));
    }
}
