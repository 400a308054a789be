//! The request body out of its event encoding: base64 through `grpc-lambda-core`, one pass (the
//! response body is encoded where its JSON is written, `event::response`); and a message out of
//! its compression, under the message limit.

use bytes::Bytes;
use grpc_lambda_core::base64;

use crate::error::Error;
use crate::event::EventBody;

/// The gRPC frames of a request: the event body as the deserializer decoded it (from base64
/// into one buffer, or its text's bytes), decoded once more for gRPC-Web-text.
pub(crate) fn decode_request(body: EventBody, web_text: bool) -> Result<Bytes, Error> {
    let bytes = match body {
        EventBody::Empty => return Ok(Bytes::new()),
        // The front door passed the body as text: its bytes are the body, no copy.
        EventBody::Text(text) => Bytes::from(text.into_bytes()),
        EventBody::Binary(bytes) => bytes,
        EventBody::InvalidBase64(err) => return Err(Error::EventBase64(err)),
    };
    if web_text {
        return base64::decode(&bytes).map_err(Error::WebTextBase64);
    }
    Ok(bytes)
}

/// A message that came compressed with `encoding` (`gzip`; `identity` or none is as it is),
/// decompressed under the message limit.
///
/// # Errors
///
/// [`Error::UnsupportedEncoding`] for another encoding (or gzip without the `gzip` feature),
/// [`Error::Decompress`] for a payload that does not decompress within `max_len`.
pub(crate) fn decompress(
    encoding: Option<&[u8]>,
    payload: Bytes,
    max_len: usize,
) -> Result<Bytes, Error> {
    match encoding {
        None | Some(b"identity") => Ok(payload),
        #[cfg(feature = "gzip")]
        Some(b"gzip") => grpc_lambda_core::gzip::decompress(&payload, max_len)
            .map(Bytes::from)
            .map_err(|err| Error::Decompress(Box::new(err))),
        Some(other) => {
            let _ = max_len;
            Err(Error::UnsupportedEncoding {
                encoding: String::from_utf8_lossy(other).into_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bodies_are_taken_as_is() {
        let body = decode_request(EventBody::Text("\0\0\0\0\0".into()), false).unwrap();
        assert_eq!(&body[..], b"\0\0\0\0\0");
    }

    #[test]
    fn web_text_through_a_base64_front_door_is_decoded_twice() {
        // "AAAAAAA=" (one empty message) base64-encoded again by the front door.
        let body = decode_request(EventBody::from_event("QUFBQUFBQT0=", true), true).unwrap();
        assert_eq!(&body[..], b"\0\0\0\0\0");
        let body = decode_request(EventBody::Text("AAAAAAA=".into()), true).unwrap();
        assert_eq!(&body[..], b"\0\0\0\0\0");
    }

    #[test]
    fn invalid_base64_names_the_offset() {
        let err = decode_request(EventBody::from_event("AAAA!AAA", true), false).unwrap_err();
        assert!(err.to_string().contains("offset 4"), "{err}");
    }
}
