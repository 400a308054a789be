//! The caller's request body as the gRPC body the service reads: each message out of its
//! protocol's framing (a Connect or Twirp bare message, a Connect or gRPC-Web envelope),
//! decompressed under the message limit, transcoded to protobuf, and framed as an uncompressed
//! gRPC message.

use bytes::{BufMut, Bytes, BytesMut};
use grpc_lambda_core::frame::{FrameHeader, HEADER_LEN};
use grpc_lambda_core::Envelope;
use grpc_lambda_protocol::LAMBDA_REQUEST_LIMIT;

use super::messages::Messages;
use crate::body::decompress;
use crate::error::Error;

/// One bare message (Connect unary, Twirp, a Connect GET's), compressed with `encoding`.
///
/// # Errors
///
/// A message over `max_len` (after decompression), an encoding the shim does not decode, or a
/// message that does not transcode.
pub(crate) fn bare(
    message: Bytes,
    encoding: Option<&[u8]>,
    messages: &Messages,
    max_len: usize,
) -> Result<Bytes, Error> {
    if message.len() > max_len && matches!(encoding, None | Some(b"identity")) {
        return Err(Error::RequestTooLarge {
            len: message.len(),
            max: max_len,
        });
    }
    let message = decompress(encoding, message, max_len)?;
    let message = messages.request_to_proto(message, max_len)?;
    let mut out = BytesMut::with_capacity(HEADER_LEN + message.len());
    put_frame(&mut out, &message);
    Ok(out.freeze())
}

/// Enveloped messages (Connect streaming, gRPC and gRPC-Web with `+json`): the envelope's own
/// flags checked (a trailer or end-stream message is refused), each message decompressed with
/// `encoding` when flagged, transcoded, framed again.
///
/// # Errors
///
/// A malformed envelope or one over the limit, a flag only responses carry, a compressed
/// message without an encoding or one the shim does not decode, a message that does not
/// transcode.
pub(crate) fn enveloped(
    body: &Bytes,
    envelope: Envelope,
    encoding: Option<&[u8]>,
    messages: &Messages,
    max_len: usize,
) -> Result<Bytes, Error> {
    // Each message is held to `max_len` and all of them together to what a Lambda request can
    // carry (or one message, if larger): many small compressed messages must not inflate past
    // what one uncompressed body could hold.
    let total = max_len.max(LAMBDA_REQUEST_LIMIT);
    let mut out = BytesMut::with_capacity(body.len());
    for (index, frame) in grpc_lambda_core::decode::frames_in(body, max_len, envelope).enumerate() {
        let frame = frame.map_err(Error::Frame)?;
        if frame.is_trailers() {
            return Err(Error::TrailersInRequest);
        }
        if frame.is_end_stream() {
            return Err(Error::EndStreamInRequest);
        }
        let payload = frame.share(body).into_payload();
        let message = if frame.is_compressed() {
            grpc_lambda_protocol::check_compressed_flag(true, encoding)
                .map_err(|_| Error::CompressedWithoutEncoding { index })?;
            let room = total.saturating_sub(out.len()).min(max_len);
            decompress(encoding, payload, room).map_err(|err| {
                if room < max_len && err.is_decompressed_too_large() {
                    Error::RequestBodyTooLarge { max: total }
                } else {
                    err
                }
            })?
        } else {
            payload
        };
        let message = messages.request_to_proto(message, max_len)?;
        if out.len().saturating_add(HEADER_LEN + message.len()) > total {
            return Err(Error::RequestBodyTooLarge { max: total });
        }
        out.reserve(HEADER_LEN + message.len());
        put_frame(&mut out, &message);
    }
    Ok(out.freeze())
}

/// `message` as an uncompressed frame, appended to `out`. A message is at most the message
/// limit, which the checks hold under 4 GiB.
pub(crate) fn put_frame(out: &mut BytesMut, message: &[u8]) {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    out.put_slice(&FrameHeader::message(len).to_bytes());
    out.put_slice(message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_message_becomes_one_frame() {
        let framed = bare(
            Bytes::from_static(b"\x0a\x01a"),
            None,
            &Messages::proto(),
            8,
        )
        .unwrap();
        assert_eq!(&framed[..], b"\0\0\0\0\x03\x0a\x01a");
        let empty = bare(Bytes::new(), Some(b"identity"), &Messages::proto(), 8).unwrap();
        assert_eq!(&empty[..], b"\0\0\0\0\0");
        let err = bare(Bytes::from(vec![0; 9]), None, &Messages::proto(), 8).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request message of 9 bytes is larger than the limit of 8 bytes"
        );
    }

    #[test]
    fn an_envelope_is_read_with_its_own_flags() {
        let body = Bytes::from_static(b"\0\0\0\0\x01a\0\0\0\0\0");
        let framed = enveloped(&body, Envelope::Connect, None, &Messages::proto(), 8).unwrap();
        assert_eq!(framed, body);
        let end_stream = Bytes::from_static(b"\x02\0\0\0\x02{}");
        let err = enveloped(&end_stream, Envelope::Connect, None, &Messages::proto(), 8);
        assert!(matches!(err, Err(Error::EndStreamInRequest)));
        let trailers = Bytes::from_static(b"\x80\0\0\0\0");
        let err = enveloped(&trailers, Envelope::GrpcWeb, None, &Messages::proto(), 8);
        assert!(matches!(err, Err(Error::TrailersInRequest)));
        // A gRPC-Web trailer flag is no Connect flag: the envelope refuses it by name.
        let err = enveloped(&trailers, Envelope::Connect, None, &Messages::proto(), 8);
        assert!(matches!(err, Err(Error::Frame(_))), "{err:?}");
        let compressed = Bytes::from_static(b"\x01\0\0\0\x01a");
        let err = enveloped(&compressed, Envelope::Connect, None, &Messages::proto(), 8);
        assert!(matches!(
            err,
            Err(Error::CompressedWithoutEncoding { index: 0 })
        ));
    }
}
