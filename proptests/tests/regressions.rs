//! Replays every fuzz seed and every saved crash through the fuzz targets' own checks, with the
//! counting allocator installed so the allocation bounds are enforced here too; and keeps each
//! crash found as a named test, written from the input's `Debug` reproducer.
//!
//! A crash file goes to `fuzz/regressions/<target>/<name>`, unchanged; the named test goes below.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use grpc_lambda_core::{Code, Status};
use grpc_lambda_proptests::check::check_status;
use grpc_lambda_proptests::chunking::Chunking;
use grpc_lambda_proptests::counting_alloc::{self, CountingAllocator};
use grpc_lambda_proptests::fuzz_checks::{
    ConnectGetInput, FrameDecoderInput, FrameRoundTripInput, FuzzInput, GzipInput, Limit,
    MetadataInput, TrailersInput, TARGETS,
};
use grpc_lambda_proptests::lambda_event::{BodyKind, LambdaEventInput, Shape};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files in `dir` whose name starts with `prefix`, sorted; none when `dir` does not exist.
fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.is_file()
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(prefix) && name != "README.md")
        })
        .collect();
    files.sort();
    files
}

/// Saved crashes whose fix is not in yet: each has an ignored named test below, and the replay
/// skips it until the fix lands (then it comes off this list and its test loses `#[ignore]`).
const PENDING: &[(&str, &str)] = &[];

#[test]
fn every_seed_and_saved_crash_passes_its_target_checks() {
    assert!(
        counting_alloc::is_installed(),
        "the allocation bounds are not being measured"
    );
    let mut failures = Vec::new();
    for target in TARGETS {
        let seeds = files(&fuzz_dir().join("corpus").join(target.name), "seed-");
        assert!(!seeds.is_empty(), "no seeds for {}", target.name);
        let crashes: Vec<PathBuf> = files(&fuzz_dir().join("regressions").join(target.name), "")
            .into_iter()
            .filter(|path| {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                !PENDING.contains(&(target.name, name))
            })
            .collect();
        for path in seeds.iter().chain(&crashes) {
            let data = std::fs::read(path).expect("readable");
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (target.run)(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {message}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The seeds read as their names say: the layouts documented in `fuzz_checks` are the ones used.
#[test]
fn seeds_read_as_intended() {
    let seed = |target: &str, name: &str| {
        std::fs::read(fuzz_dir().join(format!("corpus/{target}/seed-{name}"))).expect("a seed")
    };
    let cases = [
        (
            format!(
                "{:?}",
                FrameDecoderInput::read(&seed("frame_decoder", "huge-header"))
            ),
            r#"FrameDecoderInput { limit: Limit::Kib1, chunking: Chunking::Seeded(0x2a), stream: b"\x00\xff\xff\xff\xff"#,
        ),
        (
            format!(
                "{:?}",
                FrameRoundTripInput::read(&seed("frame_round_trip", "limit-boundary"))
            ),
            r#"FrameRoundTripInput { limit: Limit::Bytes16, chunking: Chunking::EveryByte, frames: vec![FrameSpec::Filled { len: 15, byte: 97 }, FrameSpec::Filled { len: 16, byte: 98 }, FrameSpec::Filled { len: 17, byte: 99 }, FrameSpec::Compressed(b"abc".to_vec())] }"#,
        ),
        (
            format!("{:?}", TrailersInput::read(&seed("trailers", "lenient"))),
            r#"TrailersInput { chunking: Chunking::Seeded(0x5), block: b"Grpc-Status:0\n"#,
        ),
        (
            format!("{:?}", MetadataInput::read(&seed("metadata", "duration"))),
            "MetadataInput::Duration(Duration::new(30, 5))",
        ),
        (
            format!("{:?}", MetadataInput::read(&seed("metadata", "status"))),
            r#"MetadataInput::Status { code: 5, message: "no user 42 ✓".to_string(), details: b"\x08\n".to_vec() }"#,
        ),
        (
            format!("{:?}", GzipInput::read(&seed("gzip", "bomb"))),
            r#"GzipInput { limit: Limit::Kib1, compress_first: false, data: b"\x1f\x8b"#,
        ),
        (
            format!(
                "{:?}",
                LambdaEventInput::read(&seed("lambda_event", "rest-api-base-path-bypass"))
            ),
            r#"LambdaEventInput::Built { shape: Shape::RestApiMultiValue, method: "POST".to_string(), path: "/echo.Echo/x/echo.Echo/Say".to_string(), content_type: Some("application/grpc-web".to_string()), timeout: None, body: BodyKind::Valid"#,
        ),
        (
            format!(
                "{:?}",
                LambdaEventInput::read(&seed("lambda_event", "http-api-named-stage"))
            ),
            r#"LambdaEventInput::Built { shape: Shape::HttpApi, method: "POST".to_string(), path: "/echo.Echo/Say".to_string(), content_type: Some("application/grpc-web+proto".to_string()), timeout: None, body: BodyKind::Valid"#,
        ),
    ];
    for (debug, expected) in cases {
        assert!(debug.starts_with(expected), "{debug}\nexpected {expected}");
    }
    // Through a named stage, the echo runs; past a base path with extra segments, it does not.
    let echoes = |name: &str| LambdaEventInput::read(&seed("lambda_event", name)).check_response();
    assert!(echoes("http-api-named-stage"));
    assert!(!echoes("rest-api-base-path-bypass"));
}

/// A reproducer pasted from `Debug` runs as it is.
#[test]
fn debug_output_is_a_reproducer() {
    use grpc_lambda_proptests::check::FrameSpec;
    FrameRoundTripInput {
        limit: Limit::Bytes16,
        chunking: Chunking::EveryByte,
        frames: vec![
            FrameSpec::Filled { len: 17, byte: 99 },
            FrameSpec::Trailers(vec![(b"x-a".to_vec(), b" v ".to_vec())]),
        ],
    }
    .check();
}

/// Found by the status property: `grpc-message` with a space at either end lost it on the way,
/// because a trailer reader trims spaces around a value, as HTTP says it must. The core now
/// percent-encodes a leading or trailing space as `%20`.
#[test]
fn status_message_edge_spaces() {
    check_status(
        &Status::new(Code::Internal, " padded "),
        &[Chunking::Whole, Chunking::EveryByte],
    );
}

/// `fuzz/regressions/lambda_event/invalid-method-refused`: an ALB event whose `httpMethod` is not
/// an HTTP method ("P OST") is refused as a malformed event. No front door sends one; refusing it
/// is right, and the check now says so (it wrongly demanded a response).
#[test]
fn lambda_event_with_an_invalid_method_is_refused() {
    LambdaEventInput::Built {
        shape: Shape::Alb,
        method: "P OST".to_string(),
        path: "/echo.Echo/Say?x=1".to_string(),
        content_type: Some("application/grpc-web+proto".to_string()),
        timeout: None,
        body: BodyKind::Valid,
        double_encoded: false,
        payload: b"alb".to_vec(),
    }
    .check();
}

/// `fuzz/regressions/gzip/output-buffer-doubles-past-the-limit`: with a 64 KiB limit,
/// `gzip::decompress` makes a 93 184-byte allocation. `inflate_with_limit` grows its output with
/// `out.resize(min(2 * len, max_len))`; from a length that is not a power of two (here 46 592),
/// `Vec`'s amortized growth reserves twice the old capacity, past the limit. Reserving exactly
/// (`reserve_exact`) before the `resize` keeps the largest allocation within the limit; the core
/// does so now.
#[test]
fn gzip_output_buffer_doubles_past_the_limit() {
    GzipInput {
        limit: Limit::Kib64,
        compress_first: false,
        data: b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xed\xc11\x01\x00\x00\x00\xc2\xa0\xf5Om\x0c\x1f\xa0\x001\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x0fLLLLLLLLLLL\xd5\x0bz\x00\x00LLLLLLLLL0LLLLLLLLL$ALL\xfc\xf7\x0b\x00\x00\x00\x00\x00\x01\\\x00\x00\x00\x01\x00\x00\x00\x00\xab2\x00 \x00\x89#@2\x00\x14\xa6\x00\x00\x10\x00\x00W\r\x00\x00\x000\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00@\x00$@\x00\x00\x00\x00\x00\x00".to_vec(),
    }
    .check();
}

/// The saved gzip crash file reads as the input in the named test above.
#[test]
fn the_gzip_crash_file_is_the_named_input() {
    let data =
        std::fs::read(fuzz_dir().join("regressions/gzip/output-buffer-doubles-past-the-limit"))
            .expect("the crash file");
    let input = GzipInput::read(&data);
    assert_eq!(input.limit, Limit::Kib64);
    assert!(!input.compress_first);
    assert_eq!(input.data.len(), data.len() - 2);
}

/// `connect_get`, `escape-after-a-malformed-one`: the message buffer was reserved from the `%`
/// count, which escapes after a malformed one made shorter than the bytes decoded before it, so
/// the buffer doubled past the limit. The saved file's query, reduced to what broke it.
#[test]
fn connect_get_buffer_was_short_of_a_malformed_escape() {
    let query = format!(
        "encoding=proto&message={}%zz{}",
        "a".repeat(900),
        "%".repeat(200)
    );
    ConnectGetInput {
        limit: Limit::Kib1,
        query,
    }
    .check();
}
