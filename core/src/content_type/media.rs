//! [`MediaType`]: every `content-type` a call may arrive with — gRPC, gRPC-Web, gRPC-Web-text
//! (each bare, `+proto` or `+json`), Connect's unary `application/proto` and `application/json`,
//! Connect streaming's `application/connect+proto|+json`, and Twirp's `application/protobuf` —
//! read into a [`Family`] (how the body is framed) and a [`Codec`] (how a message is encoded).
//!
//! The content type alone does not say whether `application/json` is Connect or Twirp: the path
//! does (`/twirp/` prefix), which is the protocol crate's to read.

use alloc::string::String;
use core::fmt;
use core::str::FromStr;

use super::{strip_prefix_ignore_case, ContentType, ContentTypeError, Protocol};
use crate::frame::Envelope;

/// How a message is encoded: protobuf's binary form or its canonical JSON mapping.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::content_type::{Codec, MediaType};
///
/// assert_eq!(MediaType::parse("application/grpc-web+json")?.codec(), Codec::Json);
/// assert_eq!(Codec::Json.as_str(), "json");
/// # Ok::<(), grpc_lambda_core::content_type::ContentTypeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Protobuf's binary encoding.
    Proto,
    /// Protobuf's canonical JSON mapping.
    Json,
}

impl Codec {
    /// The codec's name as content types suffix it: `"proto"` or `"json"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Codec::Proto => "proto",
            Codec::Json => "json",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a request's body is framed, as its content type says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `application/grpc[+proto|+json]`: enveloped messages, status in HTTP/2 trailers.
    Grpc,
    /// `application/grpc-web[+proto|+json]`: enveloped messages and a trailer frame (`0x80`).
    GrpcWeb,
    /// `application/grpc-web-text[+proto|+json]`: the gRPC-Web body, base64-encoded.
    GrpcWebText,
    /// `application/proto` or `application/json`: one bare message, no envelope. Connect unary,
    /// or, for `application/json` under a `/twirp/` path, Twirp.
    BareMessage,
    /// `application/connect+proto|+json`: enveloped messages and the end-stream message (`0x02`).
    ConnectStreaming,
    /// `application/protobuf`: Twirp's binary bare message.
    TwirpProtobuf,
}

impl Family {
    /// The envelope an enveloped body is read with; `None` for a bare message.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::content_type::Family;
    /// use grpc_lambda_core::Envelope;
    ///
    /// assert_eq!(Family::GrpcWebText.envelope(), Some(Envelope::GrpcWeb));
    /// assert_eq!(Family::ConnectStreaming.envelope(), Some(Envelope::Connect));
    /// assert_eq!(Family::BareMessage.envelope(), None);
    /// ```
    pub const fn envelope(self) -> Option<Envelope> {
        match self {
            Family::Grpc => Some(Envelope::Grpc),
            Family::GrpcWeb | Family::GrpcWebText => Some(Envelope::GrpcWeb),
            Family::ConnectStreaming => Some(Envelope::Connect),
            Family::BareMessage | Family::TwirpProtobuf => None,
        }
    }

    /// Whether the body is base64 text (gRPC-Web-text).
    pub const fn is_text(self) -> bool {
        matches!(self, Family::GrpcWebText)
    }
}

/// A call's `content-type`: its [`Family`] and [`Codec`], and whether the codec was spelled out
/// (`application/grpc` and `application/grpc+proto` are the same call, answered each in its own
/// spelling).
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::content_type::{Codec, Family, MediaType};
///
/// let media = MediaType::parse("Application/Connect+JSON; charset=utf-8")?;
/// assert_eq!((media.family(), media.codec()), (Family::ConnectStreaming, Codec::Json));
/// assert_eq!(media.response_content_type(), "application/connect+json");
///
/// let json = MediaType::parse("application/json")?;
/// assert_eq!((json.family(), json.codec()), (Family::BareMessage, Codec::Json));
///
/// let err = MediaType::parse("application/grpc+thrift").unwrap_err();
/// assert!(err.to_string().contains("\"thrift\""));
/// # Ok::<(), grpc_lambda_core::content_type::ContentTypeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MediaType {
    family: Family,
    codec: Codec,
    codec_named: bool,
}

/// Every content type [`MediaType::parse`] reads, for error messages.
pub(super) const EXPECTED_ANY: &str =
    "expected application/grpc, application/grpc-web or application/grpc-web-text \
     (each optionally +proto or +json), application/proto, application/json, \
     application/connect+proto, application/connect+json or application/protobuf";

impl MediaType {
    /// Every form, in its canonical spelling, for iteration in tests and tables.
    pub const ALL: [MediaType; 13] = [
        MediaType::new(Family::Grpc, Codec::Proto, false),
        MediaType::new(Family::Grpc, Codec::Proto, true),
        MediaType::new(Family::Grpc, Codec::Json, true),
        MediaType::new(Family::GrpcWeb, Codec::Proto, false),
        MediaType::new(Family::GrpcWeb, Codec::Proto, true),
        MediaType::new(Family::GrpcWeb, Codec::Json, true),
        MediaType::new(Family::GrpcWebText, Codec::Proto, false),
        MediaType::new(Family::GrpcWebText, Codec::Proto, true),
        MediaType::new(Family::GrpcWebText, Codec::Json, true),
        MediaType::new(Family::BareMessage, Codec::Proto, true),
        MediaType::new(Family::BareMessage, Codec::Json, true),
        MediaType::new(Family::ConnectStreaming, Codec::Proto, true),
        MediaType::new(Family::ConnectStreaming, Codec::Json, true),
    ];

    /// Twirp's binary form, `application/protobuf` (not in [`MediaType::ALL`]'s gRPC-shaped
    /// table because it has a single spelling).
    pub const TWIRP_PROTOBUF: MediaType = MediaType::new(Family::TwirpProtobuf, Codec::Proto, true);

    const fn new(family: Family, codec: Codec, codec_named: bool) -> Self {
        Self {
            family,
            codec,
            codec_named,
        }
    }

    /// Reads a `content-type` header value: ASCII case-insensitive, parameters after `;` and
    /// surrounding whitespace ignored.
    ///
    /// # Errors
    ///
    /// [`ContentTypeError::Unrecognized`] for a media type no protocol here uses, and
    /// [`ContentTypeError::CodecNotServed`] for a gRPC or Connect streaming type whose codec is
    /// neither `proto` nor `json` (`+thrift`…), naming it.
    pub fn parse(value: &str) -> Result<MediaType, ContentTypeError> {
        if let Some(media) = MediaType::from_canonical(value.as_bytes()) {
            return Ok(media);
        }
        let unrecognized = || ContentTypeError::Unrecognized {
            value: value.into(),
        };
        let media_type = value.split(';').next().unwrap_or_default().trim();
        let subtype =
            strip_prefix_ignore_case(media_type, "application/").ok_or_else(unrecognized)?;
        let (subtype, suffix) = match subtype.split_once('+') {
            Some((subtype, suffix)) => (subtype, Some(suffix)),
            None => (subtype, None),
        };
        let is = |name: &str| subtype.eq_ignore_ascii_case(name);
        let bare = |family, codec| match suffix {
            None => Ok(MediaType::new(family, codec, true)),
            Some(_) => Err(unrecognized()),
        };
        let family = if is("grpc") {
            Family::Grpc
        } else if is("grpc-web") {
            Family::GrpcWeb
        } else if is("grpc-web-text") {
            Family::GrpcWebText
        } else if is("connect") {
            Family::ConnectStreaming
        } else if is("proto") {
            return bare(Family::BareMessage, Codec::Proto);
        } else if is("json") {
            return bare(Family::BareMessage, Codec::Json);
        } else if is("protobuf") {
            return bare(Family::TwirpProtobuf, Codec::Proto);
        } else {
            return Err(unrecognized());
        };
        let codec = match suffix {
            // A bare gRPC type means proto; Connect streaming always names its codec.
            None if family == Family::ConnectStreaming => return Err(unrecognized()),
            None => return Ok(MediaType::new(family, Codec::Proto, false)),
            Some(codec) if codec.eq_ignore_ascii_case("proto") => Codec::Proto,
            Some(codec) if codec.eq_ignore_ascii_case("json") => Codec::Json,
            Some(codec) => {
                return Err(ContentTypeError::CodecNotServed {
                    value: value.into(),
                    codec: codec.into(),
                })
            }
        };
        Ok(MediaType::new(family, codec, true))
    }

    /// Reads a `content-type` header value given as bytes, as HTTP libraries hand them out.
    ///
    /// # Errors
    ///
    /// As [`MediaType::parse`]; a value that is not UTF-8 is [`ContentTypeError::Unrecognized`].
    pub fn parse_bytes(value: &[u8]) -> Result<MediaType, ContentTypeError> {
        match core::str::from_utf8(value) {
            Ok(value) => Self::parse(value),
            Err(_) => Err(ContentTypeError::Unrecognized {
                value: String::from_utf8_lossy(value).into_owned(),
            }),
        }
    }

    /// The media type whose [`MediaType::as_str`] is exactly `value`: how most clients send it.
    pub fn from_canonical(value: &[u8]) -> Option<MediaType> {
        MediaType::ALL
            .into_iter()
            .chain([MediaType::TWIRP_PROTOBUF])
            .find(|media| media.as_str().as_bytes() == value)
    }

    /// How the body is framed.
    pub const fn family(self) -> Family {
        self.family
    }

    /// How a message is encoded.
    pub const fn codec(self) -> Codec {
        self.codec
    }

    /// Whether the codec was spelled out (`+proto`, `+json`, or a type that always names it).
    pub const fn codec_named(self) -> bool {
        self.codec_named
    }

    /// The media type, lowercase, in the spelling it was read in, e.g. `"application/grpc+json"`.
    pub const fn as_str(self) -> &'static str {
        match (self.family, self.codec, self.codec_named) {
            (Family::Grpc, Codec::Proto, false) => "application/grpc",
            (Family::Grpc, Codec::Proto, true) => "application/grpc+proto",
            (Family::Grpc, Codec::Json, _) => "application/grpc+json",
            (Family::GrpcWeb, Codec::Proto, false) => "application/grpc-web",
            (Family::GrpcWeb, Codec::Proto, true) => "application/grpc-web+proto",
            (Family::GrpcWeb, Codec::Json, _) => "application/grpc-web+json",
            (Family::GrpcWebText, Codec::Proto, false) => "application/grpc-web-text",
            (Family::GrpcWebText, Codec::Proto, true) => "application/grpc-web-text+proto",
            (Family::GrpcWebText, Codec::Json, _) => "application/grpc-web-text+json",
            (Family::BareMessage, Codec::Proto, _) => "application/proto",
            (Family::BareMessage, Codec::Json, _) => "application/json",
            (Family::ConnectStreaming, Codec::Proto, _) => "application/connect+proto",
            (Family::ConnectStreaming, Codec::Json, _) => "application/connect+json",
            (Family::TwirpProtobuf, _, _) => "application/protobuf",
        }
    }

    /// The `content-type` a successful answer carries: the request's own spelling (Connect and
    /// Twirp answer a unary call in the request's type; gRPC clients compare it with what they
    /// sent). Errors of Connect unary and Twirp are `application/json` whatever the request.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::content_type::MediaType;
    ///
    /// for media in MediaType::ALL {
    ///     assert_eq!(media.response_content_type(), media.as_str());
    /// }
    /// assert_eq!(MediaType::TWIRP_PROTOBUF.response_content_type(), "application/protobuf");
    /// ```
    pub const fn response_content_type(self) -> &'static str {
        self.as_str()
    }

    /// The gRPC [`ContentType`] of the same spelling, for a gRPC-family proto call: what the
    /// readers that know only protobuf over gRPC and gRPC-Web take.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::content_type::MediaType;
    /// use grpc_lambda_core::ContentType;
    ///
    /// let media = MediaType::parse("application/grpc-web+proto")?;
    /// assert_eq!(media.grpc_content_type(), Some(ContentType::GrpcWebProto));
    /// assert_eq!(MediaType::parse("application/grpc+json")?.grpc_content_type(), None);
    /// # Ok::<(), grpc_lambda_core::content_type::ContentTypeError>(())
    /// ```
    pub const fn grpc_content_type(self) -> Option<ContentType> {
        Some(match (self.family, self.codec, self.codec_named) {
            (Family::Grpc, Codec::Proto, false) => ContentType::Grpc,
            (Family::Grpc, Codec::Proto, true) => ContentType::GrpcProto,
            (Family::GrpcWeb, Codec::Proto, false) => ContentType::GrpcWeb,
            (Family::GrpcWeb, Codec::Proto, true) => ContentType::GrpcWebProto,
            (Family::GrpcWebText, Codec::Proto, false) => ContentType::GrpcWebText,
            (Family::GrpcWebText, Codec::Proto, true) => ContentType::GrpcWebTextProto,
            _ => return None,
        })
    }

    /// The envelope an enveloped body is read with; `None` for a bare message.
    pub const fn envelope(self) -> Option<Envelope> {
        self.family.envelope()
    }
}

impl From<ContentType> for MediaType {
    fn from(content_type: ContentType) -> Self {
        let family = match content_type.protocol() {
            Protocol::Grpc => Family::Grpc,
            Protocol::GrpcWeb => Family::GrpcWeb,
            Protocol::GrpcWebText => Family::GrpcWebText,
        };
        MediaType::new(family, Codec::Proto, content_type.has_proto_suffix())
    }
}

impl FromStr for MediaType {
    type Err = ContentTypeError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_form_round_trips_and_reads_its_family_and_codec() {
        let table = [
            ("application/grpc", Family::Grpc, Codec::Proto),
            ("application/grpc+proto", Family::Grpc, Codec::Proto),
            ("application/grpc+json", Family::Grpc, Codec::Json),
            ("application/grpc-web", Family::GrpcWeb, Codec::Proto),
            ("application/grpc-web+proto", Family::GrpcWeb, Codec::Proto),
            ("application/grpc-web+json", Family::GrpcWeb, Codec::Json),
            (
                "application/grpc-web-text",
                Family::GrpcWebText,
                Codec::Proto,
            ),
            (
                "application/grpc-web-text+proto",
                Family::GrpcWebText,
                Codec::Proto,
            ),
            (
                "application/grpc-web-text+json",
                Family::GrpcWebText,
                Codec::Json,
            ),
            ("application/proto", Family::BareMessage, Codec::Proto),
            ("application/json", Family::BareMessage, Codec::Json),
            (
                "application/connect+proto",
                Family::ConnectStreaming,
                Codec::Proto,
            ),
            (
                "application/connect+json",
                Family::ConnectStreaming,
                Codec::Json,
            ),
            ("application/protobuf", Family::TwirpProtobuf, Codec::Proto),
        ];
        let all: alloc::vec::Vec<&str> = MediaType::ALL
            .iter()
            .chain([&MediaType::TWIRP_PROTOBUF])
            .map(|media| media.as_str())
            .collect();
        let expected: alloc::vec::Vec<&str> = table.iter().map(|(value, _, _)| *value).collect();
        assert_eq!(all, expected);
        for (value, family, codec) in table {
            let media = MediaType::parse(value).unwrap();
            assert_eq!((media.family(), media.codec()), (family, codec), "{value}");
            assert_eq!(media.as_str(), value);
            assert_eq!(media.to_string(), value);
            assert_eq!(media.response_content_type(), value);
            // The slow path reads the same.
            let spelled = alloc::format!(" {} ; charset=utf-8", value.to_ascii_uppercase());
            assert_eq!(MediaType::parse(&spelled), Ok(media), "{spelled}");
            assert_eq!(value.parse::<MediaType>(), Ok(media));
            assert_eq!(MediaType::parse_bytes(value.as_bytes()), Ok(media));
        }
    }

    #[test]
    fn grpc_content_types_convert_both_ways() {
        for content_type in ContentType::ALL {
            let media = MediaType::from(content_type);
            assert_eq!(media.as_str(), content_type.as_str());
            assert_eq!(media.grpc_content_type(), Some(content_type));
            assert_eq!(MediaType::parse(content_type.as_str()), Ok(media));
        }
        let others = MediaType::ALL
            .iter()
            .filter(|media| media.grpc_content_type().is_none())
            .count();
        assert_eq!(others, 7);
    }

    #[test]
    fn envelopes_follow_the_family() {
        let envelope = |value: &str| MediaType::parse(value).unwrap().envelope();
        assert_eq!(envelope("application/grpc+json"), Some(Envelope::Grpc));
        assert_eq!(
            envelope("application/grpc-web-text+json"),
            Some(Envelope::GrpcWeb)
        );
        assert_eq!(
            envelope("application/connect+proto"),
            Some(Envelope::Connect)
        );
        assert_eq!(envelope("application/json"), None);
        assert_eq!(envelope("application/protobuf"), None);
        assert!(Family::GrpcWebText.is_text() && !Family::GrpcWeb.is_text());
    }

    #[test]
    fn other_codecs_and_types_are_refused_by_name() {
        for (value, codec) in [
            ("application/grpc+thrift", "thrift"),
            ("application/grpc-web+avro", "avro"),
            ("application/connect+thrift", "thrift"),
            ("application/grpc+", ""),
        ] {
            let err = MediaType::parse(value).unwrap_err();
            assert_eq!(
                err,
                ContentTypeError::CodecNotServed {
                    value: value.into(),
                    codec: codec.into()
                }
            );
            assert!(
                err.to_string().contains(&alloc::format!("{codec:?}")),
                "{err}"
            );
        }
        for value in [
            "",
            "text/html",
            "application/connect",
            "application/proto+json",
            "application/json+proto",
            "application/protobuf+x",
            "application/x-protobuf",
            "application/grpcweb",
        ] {
            assert_eq!(
                MediaType::parse(value),
                Err(ContentTypeError::Unrecognized {
                    value: value.into()
                }),
                "{value:?}"
            );
        }
        assert_eq!(
            MediaType::parse("text/html").unwrap_err().to_string(),
            "content-type \"text/html\" is not one this server reads (expected application/grpc, \
             application/grpc-web or application/grpc-web-text (each optionally +proto or +json), \
             application/proto, application/json, application/connect+proto, \
             application/connect+json or application/protobuf)"
        );
        assert!(matches!(
            MediaType::parse_bytes(b"application/json\xff"),
            Err(ContentTypeError::Unrecognized { .. })
        ));
    }
}
