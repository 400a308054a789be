//! FrameDecoder behaviour across chunkings: need-more on every prefix, the same frames under every
//! split, zero-copy where the input allows it, and final errors with the numbers.

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::{DecodeError, Frame, FrameDecoder, FrameEncoder, Metadata};

/// A stream with every kind of frame: empty, small, compressed-flagged, large, trailers.
fn sample_stream() -> (Bytes, Vec<Frame>) {
    let encoder = FrameEncoder::new();
    let mut wire = BytesMut::new();
    let mut frames = Vec::new();
    for payload in [&b""[..], b"a", b"hello world", &[0xffu8; 300][..]] {
        encoder.encode_message(payload, &mut wire).unwrap();
        frames.push(Frame::message(Bytes::copy_from_slice(payload)));
    }
    encoder.encode_compressed(b"\x1f\x8b", &mut wire).unwrap();
    frames.push(Frame::compressed_message(Bytes::from_static(b"\x1f\x8b")));
    let mut trailers = Metadata::new();
    trailers.append("grpc-status", "0").unwrap();
    trailers.append("x-trailer", "v").unwrap();
    let start = wire.len();
    encoder.encode_trailers(&trailers, &mut wire).unwrap();
    frames.push(Frame::trailers_block(Bytes::copy_from_slice(
        &wire[start + 5..],
    )));
    (wire.freeze(), frames)
}

fn drain(decoder: &mut FrameDecoder, out: &mut Vec<Frame>) {
    while let Some(frame) = decoder.decode().unwrap() {
        out.push(frame);
    }
}

#[test]
fn every_strict_prefix_answers_need_more() {
    let (wire, frames) = sample_stream();
    // Frame boundaries: a prefix ending exactly on one is a whole stream, not a truncated one.
    let mut boundaries = vec![0usize];
    for frame in &frames {
        boundaries.push(boundaries.last().unwrap() + frame.encoded_len());
    }
    for cut in 0..wire.len() {
        let mut decoder = FrameDecoder::new();
        decoder.push(wire.slice(..cut));
        let mut got = Vec::new();
        drain(&mut decoder, &mut got);
        let whole = boundaries.iter().filter(|&&b| b <= cut).count() - 1;
        assert_eq!(got, frames[..whole], "prefix of {cut} bytes");
        if boundaries.contains(&cut) {
            decoder.finish().unwrap();
        } else {
            let err = decoder.finish().unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "prefix {cut}: {err:?}"
            );
        }
    }
}

#[test]
fn every_two_way_split_decodes_the_same_frames() {
    let (wire, frames) = sample_stream();
    for cut in 0..=wire.len() {
        let mut decoder = FrameDecoder::new();
        let mut got = Vec::new();
        decoder.push(wire.slice(..cut));
        drain(&mut decoder, &mut got);
        decoder.push(wire.slice(cut..));
        drain(&mut decoder, &mut got);
        decoder.finish().unwrap();
        assert_eq!(got, frames, "split at {cut}");
    }
}

#[test]
fn every_three_way_split_and_byte_by_byte_decode_the_same_frames() {
    let (wire, frames) = sample_stream();
    let len = wire.len();
    for a in (0..=len).step_by(7) {
        for b in a..=len {
            let mut decoder = FrameDecoder::new();
            let mut got = Vec::new();
            for (start, end) in [(0, a), (a, b), (b, len)] {
                decoder.push(wire.slice(start..end));
                drain(&mut decoder, &mut got);
            }
            decoder.finish().unwrap();
            assert_eq!(got, frames, "splits at {a} and {b}");
        }
    }
    let mut decoder = FrameDecoder::new();
    let mut got = Vec::new();
    for i in 0..len {
        decoder.push(wire.slice(i..i + 1));
        drain(&mut decoder, &mut got);
    }
    decoder.finish().unwrap();
    assert_eq!(got, frames);
}

#[test]
fn pushing_everything_before_decoding_gives_the_same_frames() {
    let (wire, frames) = sample_stream();
    let mut decoder = FrameDecoder::new();
    for piece in wire.chunks(3) {
        decoder.push(Bytes::copy_from_slice(piece));
    }
    let mut got = Vec::new();
    drain(&mut decoder, &mut got);
    decoder.finish().unwrap();
    assert_eq!(got, frames);
}

#[test]
fn a_frame_within_one_chunk_is_a_slice_of_it() {
    let (wire, _) = sample_stream();
    let mut decoder = FrameDecoder::new();
    decoder.push(wire.clone());
    let mut offset = 0;
    while let Some(frame) = decoder.decode().unwrap() {
        offset += 5;
        if !frame.payload().is_empty() {
            assert_eq!(
                frame.payload().as_ptr(),
                wire[offset..].as_ptr(),
                "frame at {offset} was copied"
            );
        }
        offset += frame.payload().len();
    }
    // Header split from its payload, payload whole in the next chunk: still a slice.
    let mut decoder = FrameDecoder::new();
    let second = Bytes::from_static(b"\x00\x03xyz");
    decoder.push(Bytes::from_static(b"\x00\x00\x00"));
    decoder.push(second.clone());
    let frame = decoder.decode().unwrap().unwrap();
    assert_eq!(&frame.payload()[..], b"xyz");
    assert_eq!(frame.payload().as_ptr(), second[2..].as_ptr());
}

#[test]
fn a_4_gib_header_is_refused_naming_length_and_limit() {
    let mut decoder = FrameDecoder::new();
    decoder.push(Bytes::from_static(
        b"\x00\x00\x00\x00\x01a\x00\xff\xff\xff\xff",
    ));
    assert_eq!(&decoder.decode().unwrap().unwrap().payload()[..], b"a");
    let err = decoder.decode().unwrap_err();
    assert_eq!(
        err,
        DecodeError::MessageTooLarge {
            len: u32::MAX,
            max: 4 * 1024 * 1024,
            offset: 6
        }
    );
    assert_eq!(
        err.to_string(),
        "frame at byte 6 declares a 4294967295-byte message, over the limit of 4194304 bytes"
    );
    // Final: asked again, the same error, even with more bytes pushed.
    decoder.push(Bytes::from_static(b"more"));
    assert_eq!(decoder.decode().unwrap_err(), err);
    assert_eq!(decoder.finish().unwrap_err(), err);
}

#[test]
fn the_limit_is_inclusive_and_configurable() {
    let mut decoder = FrameDecoder::with_max_message_len(3);
    decoder.push(Bytes::from_static(
        b"\x00\x00\x00\x00\x03abc\x00\x00\x00\x00\x04abcd",
    ));
    assert_eq!(&decoder.decode().unwrap().unwrap().payload()[..], b"abc");
    assert_eq!(
        decoder.decode().unwrap_err(),
        DecodeError::MessageTooLarge {
            len: 4,
            max: 3,
            offset: 8
        }
    );
}

#[test]
fn reserved_flags_are_refused_with_the_offset() {
    let mut decoder = FrameDecoder::new();
    decoder.push(Bytes::from_static(
        b"\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00",
    ));
    decoder.decode().unwrap().unwrap();
    let err = decoder.decode().unwrap_err();
    assert_eq!(
        err,
        DecodeError::ReservedFlags {
            flags: 2,
            offset: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "frame at byte 5: frame flags 0x02 set reserved bits 0x02 (only 0x01 compressed and 0x80 trailers are defined)"
    );
}

#[test]
fn truncation_reports_how_much_arrived() {
    let mut decoder = FrameDecoder::new();
    decoder.push(Bytes::from_static(
        b"\x00\x00\x00\x00\x01a\x00\x00\x00\x00\x0aabc",
    ));
    decoder.decode().unwrap().unwrap();
    assert_eq!(decoder.decode().unwrap(), None);
    let err = decoder.finish().unwrap_err();
    assert_eq!(
        err,
        DecodeError::Truncated {
            expected: 15,
            received: 8,
            offset: 6
        }
    );
    assert_eq!(
        err.to_string(),
        "stream ended inside the frame at byte 6: 8 of its 15 bytes arrived"
    );

    let mut decoder = FrameDecoder::new();
    decoder.push(Bytes::from_static(b"\x80\x00"));
    assert_eq!(decoder.decode().unwrap(), None);
    assert_eq!(
        decoder.finish().unwrap_err(),
        DecodeError::Truncated {
            expected: 5,
            received: 2,
            offset: 0
        }
    );
}

#[test]
fn trailers_split_anywhere_parse_the_same() {
    let mut md = Metadata::new();
    md.append("grpc-status", "13").unwrap();
    md.append("grpc-message", "bad: %E2%9C%93 100%25").unwrap();
    md.append("x-echo-trailer", "v1").unwrap();
    md.append("x-echo-trailer", "v2").unwrap();
    let mut wire = BytesMut::new();
    FrameEncoder::new().encode_trailers(&md, &mut wire).unwrap();
    let wire = wire.freeze();
    for cut in 0..=wire.len() {
        let mut decoder = FrameDecoder::new();
        decoder.push(wire.slice(..cut));
        let first = decoder.decode().unwrap();
        decoder.push(wire.slice(cut..));
        let frame = first.or_else(|| decoder.decode().unwrap()).unwrap();
        assert_eq!(frame.trailers().unwrap(), md, "split at {cut}");
        decoder.finish().unwrap();
    }
}

#[test]
fn decode_ref_lends_the_same_frames_under_every_split() {
    let (wire, frames) = sample_stream();
    for cut in 0..=wire.len() {
        let mut decoder = FrameDecoder::new();
        let mut got = Vec::new();
        for piece in [wire.slice(..cut), wire.slice(cut..)] {
            decoder.push(piece);
            while let Some(frame) = decoder.decode_ref().unwrap() {
                got.push(frame.to_frame());
            }
        }
        decoder.finish().unwrap();
        assert_eq!(got, frames, "split at {cut}");
        assert_eq!(decoder.buffered_len(), 0);
    }
}

#[test]
fn decode_ref_and_decode_interleave() {
    let (wire, frames) = sample_stream();
    let mut decoder = FrameDecoder::new();
    decoder.push(wire.clone());
    let mut got = Vec::new();
    for i in 0.. {
        let frame = if i % 2 == 0 {
            decoder.decode_ref().unwrap().map(|f| f.to_frame())
        } else {
            decoder.decode().unwrap()
        };
        match frame {
            Some(frame) => got.push(frame),
            None => break,
        }
    }
    assert_eq!(got, frames);
    // A lent payload is a slice of the pushed chunk.
    let mut decoder = FrameDecoder::new();
    decoder.push(wire.clone());
    decoder.decode_ref().unwrap(); // the empty frame
    let lent = decoder.decode_ref().unwrap().unwrap();
    assert_eq!(lent.payload().as_ptr(), wire[10..].as_ptr());
}

#[test]
fn frames_of_a_slice_match_the_decoder_and_its_errors() {
    let (wire, frames) = sample_stream();
    let got: Vec<Frame> = grpc_lambda_core::decode::frames(&wire, 4 << 20)
        .map(|f| f.unwrap().to_frame())
        .collect();
    assert_eq!(got, frames);
    for cut in 0..wire.len() {
        let mut decoder = FrameDecoder::new();
        decoder.push(wire.slice(..cut));
        let mut expected: Vec<Result<Frame, DecodeError>> = Vec::new();
        while let Some(frame) = decoder.decode().unwrap() {
            expected.push(Ok(frame));
        }
        if let Err(err) = decoder.finish() {
            expected.push(Err(err));
        }
        let got: Vec<Result<Frame, DecodeError>> =
            grpc_lambda_core::decode::frames(&wire[..cut], 4 << 20)
                .map(|f| f.map(|f| f.to_frame()))
                .collect();
        assert_eq!(got, expected, "prefix of {cut} bytes");
    }
    let bad = grpc_lambda_core::decode::frames(b"\x00\xff\xff\xff\xff", 4 << 20)
        .next()
        .unwrap();
    assert_eq!(
        bad,
        Err(DecodeError::MessageTooLarge {
            len: u32::MAX,
            max: 4 << 20,
            offset: 0
        })
    );
    let bad =
        grpc_lambda_core::decode::frames(b"\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00", 4 << 20)
            .nth(1)
            .unwrap();
    assert_eq!(
        bad,
        Err(DecodeError::ReservedFlags {
            flags: 0x40,
            offset: 5
        })
    );
}

mod envelopes {
    use bytes::Bytes;
    use grpc_lambda_core::{decode, DecodeError, Envelope, FrameDecoder};

    /// A message, then a frame with `flag`, in one body.
    fn body(flag: u8) -> Vec<u8> {
        let mut body = b"\x00\x00\x00\x00\x01a".to_vec();
        body.extend_from_slice(&[flag, 0, 0, 0, 2, b'{', b'}']);
        body
    }

    /// What each envelope's readers answer for the second frame: streaming, lent, counted whole.
    fn second_frame(flag: u8, envelope: Envelope) -> Result<u8, DecodeError> {
        let body = body(flag);
        let mut decoder = FrameDecoder::new().with_envelope(envelope);
        // Split inside the second header, so both the fast and the general path run.
        decoder.push(Bytes::copy_from_slice(&body[..8]));
        decoder.push(Bytes::copy_from_slice(&body[8..]));
        assert_eq!(decoder.decode()?.map(|f| f.flags()), Some(0));
        let streamed = decoder.decode().map(|f| f.map(|f| f.flags()));
        let mut whole = FrameDecoder::new().with_envelope(envelope);
        whole.push(Bytes::from(body.clone()));
        assert!(whole.decode_ref()?.is_some());
        let lent = whole.decode_ref().map(|f| f.map(|f| f.flags()));
        let mut frames = decode::frames_in(&body, 1024, envelope);
        assert!(frames.next().unwrap().is_ok());
        let iterated = frames.next().unwrap().map(|f| f.flags());
        assert_eq!(
            streamed.clone().map(|f| f.unwrap()),
            lent.map(|f| f.unwrap())
        );
        assert_eq!(streamed.clone().map(|f| f.unwrap()), iterated);
        streamed.map(|f| f.unwrap())
    }

    #[test]
    fn each_flag_is_read_only_in_its_own_protocol() {
        for (flag, accepted) in [
            (0x00, [true, true, true]),
            (0x01, [true, true, true]),
            (0x80, [false, true, false]),
            (0x81, [false, true, false]),
            (0x02, [false, false, true]),
            (0x03, [false, false, true]),
            (0x04, [false, false, false]),
        ] {
            for (envelope, accepted) in Envelope::ALL.into_iter().zip(accepted) {
                let answer = second_frame(flag, envelope);
                if accepted {
                    assert_eq!(answer, Ok(flag), "{flag:#04x} in {envelope}");
                } else {
                    assert_eq!(
                        answer,
                        Err(DecodeError::FlagNotAllowed {
                            flags: flag,
                            envelope,
                            offset: 6
                        }),
                        "{flag:#04x} in {envelope}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_decoder_told_no_envelope_reads_as_before() {
        let mut decoder = FrameDecoder::new();
        assert_eq!(decoder.envelope(), None);
        decoder.push(Bytes::from_static(b"\x02\x00\x00\x00\x00"));
        let err = decoder.decode().unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame at byte 0: frame flags 0x02 set reserved bits 0x02 (only 0x01 compressed and 0x80 trailers are defined)"
        );
        let mut frames = decode::frames(b"\x80\x00\x00\x00\x00", 16);
        assert!(frames.next().unwrap().unwrap().is_trailers());
    }
}
