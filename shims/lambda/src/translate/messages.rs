//! A call's messages in the caller's codec: protobuf as it is, or JSON transcoded to and from
//! protobuf with the method's descriptors (feature `json`); and gzip, held to the message limit.

use bytes::Bytes;
use grpc_lambda_core::content_type::Codec;

#[cfg(test)]
use crate::body::decompress;
use crate::error::Error;

/// How the messages of one call are turned into protobuf for the service, and back: as they
/// are (protobuf), or with the method's descriptors (JSON).
/// It owns its method's descriptors (a clone is a few reference counts), so that a call streamed
/// from a task of its own can carry it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Messages {
    #[cfg(feature = "json")]
    json: Option<crate::json::RpcMethod>,
}

impl Messages {
    /// Protobuf both ways: the bytes pass as they are.
    pub(crate) fn proto() -> Self {
        Self::default()
    }

    /// Protobuf's canonical JSON mapping, with `method`'s descriptors.
    #[cfg(feature = "json")]
    pub(crate) fn json(method: &crate::json::RpcMethod) -> Self {
        Self {
            json: Some(method.clone()),
        }
    }

    /// The request message, as the protobuf the service reads.
    ///
    /// # Errors
    ///
    /// `Error::JsonTooLarge` for JSON longer than [`crate::json::MAX_JSON_MESSAGE_LEN`] (or the
    /// message limit, if smaller); `Error::RequestJson` for JSON that is not the request
    /// message.
    pub(crate) fn request_to_proto(&self, message: Bytes, max_len: usize) -> Result<Bytes, Error> {
        #[cfg(feature = "json")]
        if let Some(method) = &self.json {
            let max = crate::json::MAX_JSON_MESSAGE_LEN.min(max_len);
            if message.len() > max {
                return Err(Error::JsonTooLarge {
                    len: message.len(),
                    max,
                });
            }
            return method
                .request_from_json(&message, max_len)
                .map(Bytes::from)
                .map_err(Error::RequestJson);
        }
        let _ = max_len;
        Ok(message)
    }

    /// A response message the service wrote, in the caller's codec.
    ///
    /// # Errors
    ///
    /// `Error::ResponseJson` for protobuf that cannot be written as JSON.
    pub(crate) fn response_from_proto(&self, message: Bytes) -> Result<Bytes, Error> {
        #[cfg(feature = "json")]
        if let Some(method) = &self.json {
            return method
                .response_to_json(&message)
                .map(Bytes::from)
                .map_err(Error::ResponseJson);
        }
        Ok(message)
    }

    /// The codec these messages are in.
    pub(crate) fn codec(&self) -> Codec {
        #[cfg(feature = "json")]
        if self.json.is_some() {
            return Codec::Json;
        }
        Codec::Proto
    }
}

/// The smallest message worth compressing for a client that accepts gzip: below it the gzip
/// header and trailer (18 bytes) and the work outweigh what deflate saves.
pub(crate) const MIN_COMPRESSED_LEN: usize = 1024;

/// `payload` gzip-compressed, when the client accepts gzip (`accepts`, a comma-separated
/// list such as `accept-encoding`'s), the payload is at least [`MIN_COMPRESSED_LEN`] bytes and
/// this build compresses (feature `gzip`); `None` otherwise.
pub(crate) fn compress(accepts: Option<&[u8]>, payload: &[u8]) -> Option<Bytes> {
    let accepts_gzip = accepts.is_some_and(|list| {
        list.split(|&b| b == b',').any(|item| {
            let name = item.split(|&b| b == b';').next().unwrap_or_default();
            name.trim_ascii().eq_ignore_ascii_case(b"gzip")
        })
    });
    if !accepts_gzip || payload.len() < MIN_COMPRESSED_LEN {
        return None;
    }
    #[cfg(feature = "gzip")]
    {
        Some(Bytes::from(grpc_lambda_core::gzip::compress(payload)))
    }
    #[cfg(not(feature = "gzip"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_large_enough_answer_to_a_client_that_accepts_gzip_is_compressed() {
        let large = vec![b'a'; MIN_COMPRESSED_LEN];
        assert_eq!(compress(Some(b"br, gzip;q=0.8"), &large[1..]), None);
        assert_eq!(compress(Some(b"br, deflate"), &large), None);
        assert_eq!(compress(None, &large), None);
        let compressed = compress(Some(b"br, GZIP;q=0.8"), &large);
        #[cfg(feature = "gzip")]
        assert_eq!(
            decompress(Some(b"gzip"), compressed.unwrap(), large.len()).unwrap(),
            large
        );
        #[cfg(not(feature = "gzip"))]
        assert_eq!(compressed, None);
    }

    #[test]
    fn an_encoding_the_shim_does_not_decode_is_named() {
        let err = decompress(Some(b"br"), Bytes::from_static(b"x"), 10).unwrap_err();
        assert!(err.to_string().contains("\"br\""), "{err}");
        assert_eq!(
            decompress(Some(b"identity"), Bytes::from_static(b"x"), 10).unwrap(),
            "x"
        );
    }
}
