//! Reading a call's request body: within the size limits, the memory budget and the time the
//! client is given, its frames followed from their headers as the bytes arrive.
//!
//! ```text
//!  DATA ──▶ budget reserves the bytes ──▶ FrameCounter (an over-limit header fails here, at once)
//!       ──▶ joined (one DATA frame: uncopied) ──▶ gRPC-Web-text decoded ──▶ frames checked
//! ```

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use grpc_lambda_core::base64;
use grpc_lambda_core::decode::FrameCounter;
use grpc_lambda_core::frame::HEADER_LEN;
use grpc_lambda_core::DecodeError;
use grpc_lambda_core::Envelope;
use http_body::Body;
use http_body_util::BodyExt;

use crate::budget::Reservation;
use grpc_lambda_protocol::{check_compressed_flag, Malformed, ACCEPTED_ENCODINGS};

use crate::error::InvokeError;

/// The client's deadline.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    /// When it passes.
    pub(crate) at: Instant,
    /// The timeout it came from, for messages.
    pub(crate) timeout: Duration,
}

/// How one request body is read.
pub(crate) struct BodyRules {
    /// The largest body on the wire, bytes.
    pub(crate) max_wire: usize,
    /// The largest message, bytes.
    pub(crate) max_message: usize,
    /// Whether the wire bytes are frames (not gRPC-Web-text), followed as they arrive.
    pub(crate) frames: bool,
    /// A client that sent whole messages and then holds the stream open, silent, for this long
    /// is a bidirectional client waiting for a response.
    pub(crate) half_close_wait: Option<Duration>,
    /// How long the whole body may take (no client deadline applies).
    pub(crate) arrive_within: Option<Duration>,
    /// The envelope whose flags the frames may carry (Connect streaming's); `None` reads gRPC's
    /// and gRPC-Web's as they always were read, the function refusing a trailer frame.
    pub(crate) envelope: Option<Envelope>,
}

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// More than `max_wire` bytes.
    TooLarge,
    /// A frame header the proxy refuses (over the message limit, reserved flags).
    Frame(DecodeError),
    /// Whole messages came, then nothing, and no half-close, for `wait`.
    WaitingForResponse { messages: usize, wait: Duration },
    /// The body did not arrive within `timeout`.
    TimedOut { timeout: Duration, received: usize },
    /// The memory budget cannot hold the bytes.
    Budget(InvokeError),
    /// The body failed: the client reset the stream or closed the connection.
    Body(Box<dyn std::error::Error + Send + Sync>),
}

/// A whole body, up to `rules.max_wire` bytes, every byte reserved in `reservation`. A body
/// that arrives as one DATA frame (the usual unary request) is returned as that frame's bytes,
/// uncopied; several are joined once.
pub(crate) async fn read_limited<B>(
    mut body: B,
    rules: &BodyRules,
    reservation: &mut Reservation,
) -> Result<Bytes, ReadError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut frames = FrameCounter::with_max_message_len(rules.max_message);
    if let Some(envelope) = rules.envelope {
        frames = frames.with_envelope(envelope);
    }
    let until = rules.arrive_within.map(|within| Instant::now() + within);
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut len = 0usize;
    loop {
        let between_messages = rules.frames && frames.frames() > 0 && frames.at_boundary();
        let wait = rules
            .half_close_wait
            .filter(|_| between_messages && !body.is_end_stream());
        let wait_until = wait.map(|wait| Instant::now() + wait);
        let next = match (until, wait_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let frame = match next {
            Some(next) => match tokio::time::timeout_at(next.into(), body.frame()).await {
                Ok(frame) => frame,
                Err(_) => {
                    return Err(match (until, rules.arrive_within, wait) {
                        (Some(until), Some(timeout), _) if Instant::now() >= until => {
                            ReadError::TimedOut {
                                timeout,
                                received: len,
                            }
                        }
                        (_, _, Some(wait)) => ReadError::WaitingForResponse {
                            messages: frames.frames(),
                            wait,
                        },
                        (_, timeout, None) => ReadError::TimedOut {
                            timeout: timeout.unwrap_or_default(),
                            received: len,
                        },
                    })
                }
            },
            None => body.frame().await,
        };
        let Some(frame) = frame else {
            break;
        };
        let frame = frame.map_err(|err| ReadError::Body(err.into()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        len = len.saturating_add(data.len());
        if len > rules.max_wire {
            return Err(ReadError::TooLarge);
        }
        reservation.grow(data.len()).map_err(ReadError::Budget)?;
        if rules.frames {
            frames.push(&data).map_err(ReadError::Frame)?;
        }
        match (&mut joined, first.take()) {
            (Some(joined), _) => joined.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(earlier)) => {
                // The earlier chunks are let go once copied: the bytes are held once.
                let mut buffer = BytesMut::with_capacity(len);
                buffer.extend_from_slice(&earlier);
                buffer.extend_from_slice(&data);
                joined = Some(buffer);
            }
        }
    }
    Ok(match joined {
        Some(joined) => joined.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// The `grpc-encoding` a request declares, checked against what the function decodes.
///
/// # Errors
///
/// [`InvokeError::UnsupportedEncoding`] for any other encoding.
pub(crate) fn check_encoding(value: Option<&[u8]>) -> Result<bool, InvokeError> {
    match value {
        None | Some(b"identity") => Ok(false),
        Some(name) if ACCEPTED_ENCODINGS.split(',').any(|e| e.as_bytes() == name) => Ok(true),
        Some(name) => Err(InvokeError::UnsupportedEncoding {
            encoding: grpc_lambda_protocol::path::quoted(&String::from_utf8_lossy(name))
                .into_owned(),
        }),
    }
}

/// The request's messages: read by [`read_limited`], gRPC-Web-text decoded, every frame checked
/// against the message limit, and a compressed one only when the request named an encoding.
pub(crate) async fn read_request<B>(
    body: B,
    rules: &BodyRules,
    text: bool,
    compressed: bool,
    reservation: &mut Reservation,
) -> Result<Bytes, InvokeError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = read_limited(body, rules, reservation)
        .await
        .map_err(|err| read_error(err, rules))?;
    if text {
        body = base64::decode(&body).map_err(|err| InvokeError::Malformed {
            kind: Malformed::WebTextBase64,
            reason: format!("the grpc-web-text request body is not base64: {err}"),
        })?;
    }
    // The whole body is here: core's slice reader checks every frame in place.
    let frames = match rules.envelope {
        Some(envelope) => grpc_lambda_core::decode::frames_in(&body, rules.max_message, envelope),
        None => grpc_lambda_core::decode::frames(&body, rules.max_message),
    };
    for (index, frame) in frames.enumerate() {
        let frame = frame.map_err(frame_error)?;
        if frame.is_end_stream() {
            return Err(InvokeError::Malformed {
                kind: Malformed::TrailersInRequest,
                reason: format!(
                    "request message {index} is a Connect end-stream message (flag 0x02), which \
                     only responses may carry"
                ),
            });
        }
        // An encoding, when named, was checked before the body was read.
        let encoding = compressed.then_some(&b"gzip"[..]);
        check_compressed_flag(frame.is_compressed(), encoding).map_err(|kind| {
            InvokeError::Malformed {
                kind,
                reason: format!(
                    "request message {index} is flagged compressed, but the request names no \
                     grpc-encoding (accepted: {ACCEPTED_ENCODINGS})"
                ),
            }
        })?;
    }
    Ok(body)
}

/// One gRPC frame around a bare message.
pub(crate) fn frame(message: &[u8], compressed: bool) -> Result<Bytes, InvokeError> {
    let len = u32::try_from(message.len()).map_err(|_| InvokeError::BodyTooLarge {
        limit: u32::MAX as usize,
    })?;
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(u8::from(compressed));
    out.put_u32(len);
    out.extend_from_slice(message);
    Ok(out.freeze())
}

/// A Connect or Twirp client's gzip message, inflated under `max` bytes, the inflated bytes
/// reserved in `reservation`: the hop carries what the function reads from that client directly
/// (a tonic service need not accept gzip).
///
/// # Errors
///
/// [`Malformed::Decompress`] for gzip that is not, or inflates past `max`; the budget's error
/// when the proxy holds too much already.
pub(crate) fn inflate(
    message: &[u8],
    max: usize,
    reservation: &mut Reservation,
) -> Result<Bytes, InvokeError> {
    let inflated =
        grpc_lambda_core::gzip::decompress(message, max).map_err(|err| InvokeError::Malformed {
            kind: Malformed::Decompress,
            reason: format!("request message: {err}"),
        })?;
    reservation.grow(inflated.len())?;
    Ok(Bytes::from(inflated))
}

/// A Connect stream's checked frames with each compressed message inflated ([`inflate`]) and
/// framed again, uncompressed; `total` bytes of frames at most, what one request may carry.
///
/// # Errors
///
/// As [`inflate`]; [`InvokeError::BodyTooLarge`] past `total`.
pub(crate) fn inflate_frames(
    body: &[u8],
    max: usize,
    total: usize,
    reservation: &mut Reservation,
) -> Result<Bytes, InvokeError> {
    let mut out = BytesMut::with_capacity(body.len());
    for read in grpc_lambda_core::decode::frames_in(body, max, Envelope::Connect) {
        let read = read.map_err(frame_error)?;
        let inflated;
        let message = if read.is_compressed() {
            inflated = inflate(read.payload(), max, reservation)?;
            &inflated[..]
        } else {
            read.payload()
        };
        if out.len().saturating_add(HEADER_LEN + message.len()) > total {
            return Err(InvokeError::BodyTooLarge { limit: total });
        }
        out.extend_from_slice(&frame(message, false)?);
    }
    Ok(out.freeze())
}

/// A Connect unary or Twirp request's bare message, read whole within `rules`.
///
/// # Errors
///
/// As [`read_request`]; a message over `max_message` is [`Malformed::MessageTooLarge`].
pub(crate) async fn read_message<B>(
    body: B,
    rules: &BodyRules,
    reservation: &mut Reservation,
) -> Result<Bytes, InvokeError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let message = read_limited(body, rules, reservation)
        .await
        .map_err(|err| read_error(err, rules))?;
    if message.len() > rules.max_message {
        return Err(frame_error(DecodeError::MessageTooLarge {
            len: u32::try_from(message.len()).unwrap_or(u32::MAX),
            max: rules.max_message,
            offset: 0,
        }));
    }
    Ok(message)
}

fn read_error(err: ReadError, rules: &BodyRules) -> InvokeError {
    match err {
        ReadError::WaitingForResponse { messages, wait } => {
            InvokeError::WaitingForResponse { messages, wait }
        }
        ReadError::TooLarge => InvokeError::BodyTooLarge {
            limit: rules.max_wire,
        },
        ReadError::Frame(err) => frame_error(err),
        ReadError::TimedOut { timeout, received } => InvokeError::BodyTimeout { timeout, received },
        ReadError::Budget(err) => err,
        ReadError::Body(err) => InvokeError::Cancelled {
            reason: format!("the request body could not be read: {err}"),
        },
    }
}

fn frame_error(err: DecodeError) -> InvokeError {
    InvokeError::Malformed {
        kind: Malformed::from(&err),
        reason: format!("request: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use http_body::Frame as HttpFrame;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A request body arriving in the chunks given, then (with `hold`) never ending.
    struct Chunks(std::collections::VecDeque<Bytes>, bool);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<HttpFrame<Bytes>, Infallible>>> {
            match self.0.pop_front() {
                Some(b) => Poll::Ready(Some(Ok(HttpFrame::data(b)))),
                None if self.1 => Poll::Pending,
                None => Poll::Ready(None),
            }
        }
    }

    fn rules(max_wire: usize, max_message: usize) -> BodyRules {
        BodyRules {
            max_wire,
            max_message,
            frames: true,
            half_close_wait: None,
            arrive_within: None,
            envelope: None,
        }
    }

    #[tokio::test]
    async fn request_bodies_are_read_whole_within_the_limit() {
        let budget = Budget::new(1024);
        let mut reservation = budget.reservation();
        let one = Bytes::from_static(b"\0\0\0\0\x01a");
        let read = read_limited(
            Chunks([one.clone()].into(), false),
            &rules(6, 16),
            &mut reservation,
        )
        .await
        .unwrap();
        // One DATA frame: the same memory, not a copy.
        assert_eq!(read.as_ptr(), one.as_ptr());
        assert_eq!(reservation.bytes(), 6);
        let parts = [&b"\0\0"[..], b"\0\0\x01", b"a"].map(Bytes::from_static);
        let read = read_limited(
            Chunks(parts.clone().into(), false),
            &rules(6, 16),
            &mut reservation,
        )
        .await
        .unwrap();
        assert_eq!(&read[..], b"\0\0\0\0\x01a");
        assert!(matches!(
            read_limited(Chunks(parts.into(), false), &rules(5, 16), &mut reservation).await,
            Err(ReadError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn an_over_limit_frame_header_fails_when_it_arrives() {
        let budget = Budget::new(1024);
        let mut reservation = budget.reservation();
        // The header declares 17 bytes against a 16-byte limit; the stream then stays open.
        let chunks = Chunks([Bytes::from_static(b"\0\0\0\0\x11abc")].into(), true);
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            read_limited(chunks, &rules(1024, 16), &mut reservation),
        )
        .await
        .expect("refused without waiting for the rest");
        assert!(
            matches!(
                read,
                Err(ReadError::Frame(DecodeError::MessageTooLarge { .. }))
            ),
            "{read:?}"
        );
    }

    #[tokio::test]
    async fn bytes_past_the_budget_are_refused_with_the_numbers() {
        let budget = Budget::new(8);
        let mut other = budget.reservation();
        other.grow(4).unwrap();
        let mut reservation = budget.reservation();
        let chunks = Chunks([Bytes::from_static(b"\0\0\0\0\x05hello")].into(), true);
        let Err(ReadError::Budget(err)) =
            read_limited(chunks, &rules(1024, 16), &mut reservation).await
        else {
            panic!("over budget")
        };
        assert!(
            matches!(
                err,
                InvokeError::OverBudget {
                    requested: 10,
                    in_use: 4,
                    limit: 8
                }
            ),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_does_not_arrive_in_time_ends() {
        let budget = Budget::new(1024);
        let mut reservation = budget.reservation();
        let chunks = Chunks([Bytes::from_static(b"\0\0\0")].into(), true);
        let mut rules = rules(1024, 16);
        rules.arrive_within = Some(Duration::from_secs(30));
        rules.half_close_wait = Some(Duration::from_secs(1));
        let read = read_limited(chunks, &rules, &mut reservation).await;
        assert!(
            matches!(
                read,
                Err(ReadError::TimedOut {
                    received: 3,
                    timeout
                }) if timeout == Duration::from_secs(30)
            ),
            "{read:?}"
        );
    }

    #[test]
    fn encodings() {
        assert!(matches!(check_encoding(None), Ok(false)));
        assert!(matches!(check_encoding(Some(b"identity")), Ok(false)));
        assert!(matches!(check_encoding(Some(b"gzip")), Ok(true)));
        assert!(matches!(
            check_encoding(Some(b"br")),
            Err(InvokeError::UnsupportedEncoding { encoding }) if encoding == "br"
        ));
    }
}
