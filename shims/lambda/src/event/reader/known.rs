//! Header names and values front doors and gRPC-Web clients send on most requests, as
//! constants made when the crate is compiled.

use grpc_lambda_core::ContentType;
use http::{HeaderName, HeaderValue};

/// The names front doors and gRPC-Web clients send on most requests, as payload 2.0 events
/// carry them (lower case), as constants: `HeaderName::from_bytes` lowercases and matches every
/// name at run time, and allocates for each name outside `http`'s standard set.
pub(super) fn known_name(name: &[u8]) -> Option<HeaderName> {
    use http::header;
    const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
    const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
    const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
    const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    const X_AMZN_TLS_VERSION: HeaderName = HeaderName::from_static("x-amzn-tls-version");
    const X_AMZN_TLS_CIPHER_SUITE: HeaderName = HeaderName::from_static("x-amzn-tls-cipher-suite");
    const X_GRPC_WEB: HeaderName = HeaderName::from_static("x-grpc-web");
    const X_USER_AGENT: HeaderName = HeaderName::from_static("x-user-agent");
    const GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
    const GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");
    Some(match name {
        b"accept" => header::ACCEPT,
        b"accept-encoding" => header::ACCEPT_ENCODING,
        b"accept-language" => header::ACCEPT_LANGUAGE,
        b"authorization" => header::AUTHORIZATION,
        b"content-length" => header::CONTENT_LENGTH,
        b"content-type" => header::CONTENT_TYPE,
        b"host" => header::HOST,
        b"origin" => header::ORIGIN,
        b"referer" => header::REFERER,
        b"te" => header::TE,
        b"user-agent" => header::USER_AGENT,
        b"x-amzn-trace-id" => X_AMZN_TRACE_ID,
        b"x-forwarded-for" => X_FORWARDED_FOR,
        b"x-forwarded-port" => X_FORWARDED_PORT,
        b"x-forwarded-proto" => X_FORWARDED_PROTO,
        b"x-amzn-tls-version" => X_AMZN_TLS_VERSION,
        b"x-amzn-tls-cipher-suite" => X_AMZN_TLS_CIPHER_SUITE,
        b"x-grpc-web" => X_GRPC_WEB,
        b"x-user-agent" => X_USER_AGENT,
        b"grpc-timeout" => crate::deadline::GRPC_TIMEOUT,
        b"grpc-encoding" => GRPC_ENCODING,
        b"grpc-accept-encoding" => GRPC_ACCEPT_ENCODING,
        _ => return None,
    })
}

/// Header values that gRPC-Web clients and front doors send on most requests, as constants:
/// one of these costs neither an allocation nor a check of its bytes (it is checked when the
/// crate is compiled), and is freed for nothing.
pub(super) fn known_value(value: &[u8]) -> Option<HeaderValue> {
    const GRPC_WEB_JAVASCRIPT: HeaderValue = HeaderValue::from_static("grpc-web-javascript/0.1");
    const ONE: HeaderValue = HeaderValue::from_static("1");
    const HTTPS: HeaderValue = HeaderValue::from_static("https");
    const HTTP: HeaderValue = HeaderValue::from_static("http");
    const PORT_443: HeaderValue = HeaderValue::from_static("443");
    const PORT_80: HeaderValue = HeaderValue::from_static("80");
    const TRAILERS: HeaderValue = HeaderValue::from_static("trailers");
    const IDENTITY: HeaderValue = HeaderValue::from_static("identity");
    // The gRPC media types, as the core spells them.
    if let Some(content_type) = ContentType::from_canonical(value) {
        return Some(content_type_value(content_type));
    }
    Some(match value {
        b"grpc-web-javascript/0.1" => GRPC_WEB_JAVASCRIPT,
        b"1" => ONE,
        b"https" => HTTPS,
        b"http" => HTTP,
        b"443" => PORT_443,
        b"80" => PORT_80,
        b"trailers" => TRAILERS,
        b"identity" => IDENTITY,
        _ => return None,
    })
}

/// A gRPC media type as a header value, made when the crate is compiled: `from_static` at run
/// time checks every byte of it on every call.
fn content_type_value(content_type: ContentType) -> HeaderValue {
    const fn value(content_type: ContentType) -> HeaderValue {
        HeaderValue::from_static(content_type.as_str())
    }
    const GRPC: HeaderValue = value(ContentType::Grpc);
    const GRPC_PROTO: HeaderValue = value(ContentType::GrpcProto);
    const GRPC_WEB: HeaderValue = value(ContentType::GrpcWeb);
    const GRPC_WEB_PROTO: HeaderValue = value(ContentType::GrpcWebProto);
    const GRPC_WEB_TEXT: HeaderValue = value(ContentType::GrpcWebText);
    const GRPC_WEB_TEXT_PROTO: HeaderValue = value(ContentType::GrpcWebTextProto);
    match content_type {
        ContentType::Grpc => GRPC,
        ContentType::GrpcProto => GRPC_PROTO,
        ContentType::GrpcWeb => GRPC_WEB,
        ContentType::GrpcWebProto => GRPC_WEB_PROTO,
        ContentType::GrpcWebText => GRPC_WEB_TEXT,
        ContentType::GrpcWebTextProto => GRPC_WEB_TEXT_PROTO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_and_values_are_what_they_spell() {
        let names = [
            "accept",
            "accept-encoding",
            "accept-language",
            "authorization",
            "content-length",
            "content-type",
            "host",
            "origin",
            "referer",
            "te",
            "user-agent",
            "x-amzn-trace-id",
            "x-forwarded-for",
            "x-forwarded-port",
            "x-forwarded-proto",
            "x-amzn-tls-version",
            "x-amzn-tls-cipher-suite",
            "x-grpc-web",
            "x-user-agent",
            "grpc-timeout",
            "grpc-encoding",
            "grpc-accept-encoding",
        ];
        for name in names {
            let known = known_name(name.as_bytes()).expect(name);
            assert_eq!(known, HeaderName::from_static(name));
        }
        let values = [
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
            "application/grpc-web-text+proto",
            "application/grpc",
            "application/grpc+proto",
            "grpc-web-javascript/0.1",
            "1",
            "https",
            "http",
            "443",
            "80",
            "trailers",
            "identity",
        ];
        for value in values {
            let known = known_value(value.as_bytes()).expect(value);
            assert_eq!(known.as_bytes(), value.as_bytes());
        }
        // Matched as they are: a name or value spelled otherwise takes the checked path.
        assert!(known_name(b"Content-Type").is_none());
        assert!(known_value(b"Application/grpc-web").is_none());
        assert!(known_value(b"443 ").is_none());
    }
}
