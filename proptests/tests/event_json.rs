//! The Lambda event reader reads JSON as the reference reads it
//! ([`grpc_lambda_proptests::event_reference`]): every AWS event fixture, as it is and edited
//! (members added, removed or replaced with random values, duplicates included), laid out with
//! random whitespace and escapes, cut short and with a byte changed; events made from nothing;
//! nesting at and past the limit; and the exact error, byte and message, for each kind of fault.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bytes::Bytes;
use grpc_lambda::event::{EventBody, MAX_DEPTH, MAX_HEADER_ENTRIES};
use grpc_lambda::Event;
use grpc_lambda_proptests::event_reference::{check_event_json, reading, Json, Reading};
use grpc_lambda_proptests::strategies::config;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{Number, Value};

/// The AWS event fixtures: the shim's, and the shared copy when it is there.
fn fixtures() -> &'static [(PathBuf, Vec<u8>)] {
    static FIXTURES: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let shim = root.join("shims/lambda/tests/data/aws-events");
        assert!(shim.is_dir(), "no fixtures at {}", shim.display());
        let mut fixtures = Vec::new();
        for dir in [shim, root.join("../shared/fixtures/aws-events")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries
                .map(|entry| entry.expect("a directory entry").path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
                .collect();
            paths.sort();
            for path in paths {
                let json = std::fs::read(&path).expect("a readable fixture");
                fixtures.push((path, json));
            }
        }
        assert!(fixtures.len() >= 17, "{} fixtures", fixtures.len());
        fixtures
    })
}

/// A fixture's document.
fn fixture_document(index: &Index) -> Json {
    let (path, json) = &fixtures()[index.index(fixtures().len())];
    Json::parse(json).unwrap_or_else(|| panic!("{} is not JSON", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Writing documents out

/// A small deterministic generator, for the choices made while writing.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

/// How a document is written: whitespace between tokens, and characters written as escapes,
/// each chosen by its own generator (none: compact, and escapes only where JSON needs them).
#[derive(Clone, Debug)]
struct Layout {
    spaces: Option<u64>,
    escapes: Option<u64>,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::option::of(any::<u64>().prop_map(|s| s | 1)),
        prop::option::of(any::<u64>().prop_map(|s| s | 1)),
    )
        .prop_map(|(spaces, escapes)| Layout { spaces, escapes })
}

struct Writer {
    out: Vec<u8>,
    spaces: Option<Rng>,
    escapes: Option<Rng>,
}

/// `json` written out as `layout` says.
fn write(json: &Json, layout: &Layout) -> Vec<u8> {
    let mut writer = Writer {
        out: Vec::new(),
        spaces: layout.spaces.map(Rng),
        escapes: layout.escapes.map(Rng),
    };
    writer.space();
    writer.value(json);
    writer.space();
    writer.out
}

impl Writer {
    fn space(&mut self) {
        let Some(rng) = &mut self.spaces else {
            return;
        };
        let count = [0, 0, 1, 1, 2, 5][(rng.next() % 6) as usize];
        for _ in 0..count {
            self.out.push(b" \t\n\r"[(rng.next() % 4) as usize]);
        }
    }

    fn value(&mut self, json: &Json) {
        match json {
            Json::Null => self.out.extend_from_slice(b"null"),
            Json::Bool(flag) => self.out.extend_from_slice(flag.to_string().as_bytes()),
            Json::Number(number) => self.out.extend_from_slice(number.to_string().as_bytes()),
            Json::String(text) => self.string(text),
            Json::Array(values) => {
                self.out.push(b'[');
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.space();
                    self.value(value);
                    self.space();
                }
                if values.is_empty() {
                    self.space();
                }
                self.out.push(b']');
            }
            Json::Object(members) => {
                self.out.push(b'{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.space();
                    self.string(key);
                    self.space();
                    self.out.push(b':');
                    self.space();
                    self.value(value);
                    self.space();
                }
                if members.is_empty() {
                    self.space();
                }
                self.out.push(b'}');
            }
        }
    }

    /// A string, with the escapes JSON needs, and others where the generator says.
    fn string(&mut self, text: &str) {
        self.out.push(b'"');
        for c in text.chars() {
            let escape = self.escapes.as_mut().is_some_and(|rng| rng.one_in(3));
            let upper = self.escapes.as_mut().is_some_and(|rng| rng.one_in(2));
            let short = match c {
                '"' => Some('"'),
                '\\' => Some('\\'),
                '/' if escape => Some('/'),
                '\u{8}' => Some('b'),
                '\u{c}' => Some('f'),
                '\n' => Some('n'),
                '\r' => Some('r'),
                '\t' => Some('t'),
                _ => None,
            };
            match short {
                Some(short) if !escape || c == '/' => {
                    self.out.push(b'\\');
                    self.out.push(short as u8);
                }
                _ if escape || c < ' ' || c == '"' || c == '\\' => {
                    for unit in c.encode_utf16(&mut [0; 2]) {
                        let hex = if upper {
                            format!("\\u{unit:04X}")
                        } else {
                            format!("\\u{unit:04x}")
                        };
                        self.out.extend_from_slice(hex.as_bytes());
                    }
                }
                _ => self
                    .out
                    .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        self.out.push(b'"');
    }
}

// ---------------------------------------------------------------------------------------------
// Documents

/// The keys the reader looks at, a few header names, and some it steps over.
const KEYS: &[&str] = &[
    "grpcLambda",
    "httpMethod",
    "method",
    "path",
    "rawPath",
    "resource",
    "pathParameters",
    "proxy",
    "stage",
    "headers",
    "multiValueHeaders",
    "cookies",
    "body",
    "isBase64Encoded",
    "requestContext",
    "elb",
    "http",
    "serviceNetworkArn",
    "serviceArn",
    "domainName",
    "version",
    "content-type",
    "Content-Type",
    "x-multi",
    "X-Multi",
    "bad name",
    "",
];

/// Strings the reader treats specially, or that are written with escapes.
const STRINGS: &[&str] = &[
    "",
    "GET",
    "POST",
    "get",
    "P OST",
    "/echo.Echo/Say",
    "/{proxy+}",
    "echo.Echo/Say",
    "$default",
    "application/grpc-web+proto",
    "AAAAAAYKBHRlc3Q=",
    "aGk=",
    "not base64!",
    "abc.lambda-url.us-east-1.on.aws",
    "abc.execute-api.us-east-1.amazonaws.com",
    "caf\u{e9}",
    "\u{1f600}",
    "a\"b",
    "a\\b",
    "a/b",
    "x\u{0}y",
    "tab\there",
    "line\nbreak",
    "del\u{7f}",
    "name1=value1",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(STRINGS).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9 /=+.:;,_-]{0,12}",
        1 => "\\PC{0,8}",
        1 => "(?s:.{0,6})",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => select(KEYS).prop_map(str::to_owned), 1 => text()]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        (0u64..3).prop_map(Number::from),
        select(&[4_294_967_295u64, 4_294_967_296, u64::MAX][..]).prop_map(Number::from),
        any::<i64>().prop_map(Number::from),
        select(&[1.0f64, -0.0, 0.5, 1e300, 4_294_967_295.0, -2.5e-7][..])
            .prop_map(|f| Number::from_f64(f).expect("finite")),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
    ]
}

/// Any document, a few levels deep.
fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        1 => Just(Json::Null),
        1 => any::<bool>().prop_map(Json::Bool),
        1 => number().prop_map(Json::Number),
        2 => text().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Json::Array),
            vec((key(), inner), 0..4).prop_map(Json::Object),
        ]
    })
}

fn strings() -> impl Strategy<Value = Json> {
    vec(text().prop_map(Json::String), 0..3).prop_map(Json::Array)
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "content-type",
                "Content-Type",
                "x-a",
                "X-A",
                "grpc-timeout",
                "bad name",
                "",
                "\u{e9}"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-zA-Z-]{1,8}",
    ]
}

/// Headers in either shape, mostly well-formed.
fn headers_like() -> impl Strategy<Value = Json> {
    let one = prop_oneof![
        8 => text().prop_map(Json::String),
        4 => strings(),
        2 => Just(Json::Null),
        1 => json(),
    ];
    let pair = prop_oneof![
        20 => (header_name(), text()).prop_map(|(name, value)| {
            Json::Array(vec![Json::String(name), Json::String(value)])
        }),
        1 => json(),
    ];
    prop_oneof![
        vec((header_name(), one), 0..5).prop_map(Json::Object),
        vec(pair, 0..5).prop_map(Json::Array),
    ]
}

/// A `requestContext`, mostly well-formed.
fn request_context_like() -> impl Strategy<Value = Json> {
    let http = vec(
        (
            select(&["method", "path"][..]).prop_map(str::to_owned),
            prop_oneof![8 => method().prop_map(Json::String), 1 => Just(Json::Null), 1 => json()],
        ),
        0..3,
    )
    .prop_map(Json::Object);
    let domain = select(
        &[
            "abc.lambda-url.us-east-1.on.aws",
            "abc.execute-api.us-east-1.amazonaws.com",
            "lambda-url.on.aws",
            "a.lambda-urlx",
            "",
        ][..],
    )
    .prop_map(|d| Json::String(d.to_owned()));
    let anything = || prop_oneof![1 => Just(Json::Null), 2 => json()];
    let stage = prop_oneof![
        4 => select(&["prod", "$default", ""][..]).prop_map(|s| Json::String(s.to_owned())),
        2 => text().prop_map(Json::String),
        1 => Just(Json::Null),
        1 => json(),
    ];
    let member = prop_oneof![
        (
            select(&["elb", "serviceNetworkArn", "serviceArn", "stage"][..]),
            anything().boxed()
        ),
        (Just("stage"), stage.boxed()),
        (
            Just("http"),
            prop_oneof![8 => http, 1 => Just(Json::Null), 1 => json()].boxed()
        ),
        (
            Just("domainName"),
            prop_oneof![8 => domain, 1 => Just(Json::Null), 1 => json()].boxed()
        ),
    ]
    .prop_map(|(key, value)| (key.to_owned(), value));
    vec(member, 0..6).prop_map(Json::Object)
}

/// `pathParameters`, mostly well-formed.
fn path_parameters_like() -> impl Strategy<Value = Json> {
    let value = prop_oneof![8 => text().prop_map(Json::String), 1 => Just(Json::Null), 1 => json()];
    vec(
        (
            prop_oneof![3 => Just("proxy".to_owned()), 2 => key()],
            value,
        ),
        0..4,
    )
    .prop_map(Json::Object)
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(&["GET", "POST", "get", "OPTIONS", "P OST", "", "POST\n"][..])
            .prop_map(str::to_owned),
        1 => text(),
    ]
}

/// A value for any member: any document, or one shaped like what the reader reads.
fn member_value() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => json(),
        2 => headers_like(),
        1 => request_context_like(),
        1 => path_parameters_like(),
        1 => strings(),
    ]
}

/// A member, most often one the reader reads, most often with a value of the type it reads.
fn member() -> impl Strategy<Value = (String, Json)> {
    let named = |keys: &'static [&'static str], value: BoxedStrategy<Json>| {
        (select(keys).prop_map(str::to_owned), value)
    };
    let or_other = |value: BoxedStrategy<Json>| {
        prop_oneof![8 => value, 1 => Just(Json::Null), 1 => json()].boxed()
    };
    prop_oneof![
        2 => named(&["headers", "multiValueHeaders"], or_other(headers_like().boxed())),
        2 => named(&["requestContext"], or_other(request_context_like().boxed())),
        1 => named(&["grpcLambda"], or_other(number().prop_map(Json::Number).boxed())),
        1 => named(&["httpMethod", "method"], or_other(method().prop_map(Json::String).boxed())),
        2 => named(&["path", "rawPath", "body", "resource"], or_other(text().prop_map(Json::String).boxed())),
        1 => named(&["pathParameters"], or_other(path_parameters_like().boxed())),
        1 => named(&["cookies"], or_other(strings().boxed())),
        1 => named(&["isBase64Encoded"], or_other(any::<bool>().prop_map(Json::Bool).boxed())),
        1 => (key(), member_value()),
        2 => ("[a-zA-Z]{1,10}", json()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Edits

/// One change to one object of a document: the top-level one, or any (`object`).
#[derive(Clone, Debug)]
enum Edit {
    /// A member inserted before the `at`th (a key already there makes a duplicate).
    Insert {
        object: Option<Index>,
        at: Index,
        key: String,
        value: Json,
    },
    Remove {
        object: Option<Index>,
        at: Index,
    },
    Replace {
        object: Option<Index>,
        at: Index,
        value: Json,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let object = prop_oneof![Just(None), any::<Index>().prop_map(Some)];
    prop_oneof![
        3 => (object.clone(), any::<Index>(), member())
            .prop_map(|(object, at, (key, value))| Edit::Insert { object, at, key, value }),
        1 => (object.clone(), any::<Index>()).prop_map(|(object, at)| Edit::Remove { object, at }),
        3 => (object, any::<Index>(), member_value())
            .prop_map(|(object, at, value)| Edit::Replace { object, at, value }),
    ]
}

fn count_objects(json: &Json) -> usize {
    match json {
        Json::Object(members) => 1 + members.iter().map(|(_, v)| count_objects(v)).sum::<usize>(),
        Json::Array(values) => values.iter().map(count_objects).sum(),
        _ => 0,
    }
}

/// An object's members.
type Members = Vec<(String, Json)>;

/// Runs `change` on the `n`th object of `json` (pre-order); whether it was found.
fn on_object(json: &mut Json, n: &mut usize, change: &mut dyn FnMut(&mut Members)) -> bool {
    if let Json::Object(members) = json {
        if *n == 0 {
            change(members);
            return true;
        }
        *n -= 1;
    }
    match json {
        Json::Object(members) => members.iter_mut().any(|(_, v)| on_object(v, n, change)),
        Json::Array(values) => values.iter_mut().any(|v| on_object(v, n, change)),
        _ => false,
    }
}

fn apply(json: &mut Json, edit: &Edit) {
    let (Edit::Insert { object, .. } | Edit::Remove { object, .. } | Edit::Replace { object, .. }) =
        edit;
    let count = count_objects(json);
    if count == 0 {
        return;
    }
    let mut n = object.as_ref().map_or(0, |index| index.index(count));
    on_object(json, &mut n, &mut |members| match edit {
        Edit::Insert { at, key, value, .. } => {
            let at = at.index(members.len() + 1);
            members.insert(at, (key.clone(), value.clone()));
        }
        Edit::Remove { at, .. } if !members.is_empty() => {
            members.remove(at.index(members.len()));
        }
        Edit::Replace { at, value, .. } if !members.is_empty() => {
            let at = at.index(members.len());
            members[at].1 = value.clone();
        }
        Edit::Remove { .. } | Edit::Replace { .. } => {}
    });
}

/// A fixture with edits made to it.
fn edited_fixture(fixture: &Index, edits: &[Edit]) -> Json {
    let mut json = fixture_document(fixture);
    for edit in edits {
        apply(&mut json, edit);
    }
    json
}

/// Where the top-level object's closing brace is.
fn closing_brace(json: &[u8]) -> usize {
    json.iter().rposition(|&b| b == b'}').expect("an object")
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(256))]

    /// A fixture, edited, laid out any way, reads as the reference reads it; pretty-printed by
    /// `serde_json` too.
    #[test]
    fn edited_fixtures_read_as_the_reference_reads_them(
        fixture in any::<Index>(),
        edits in vec(edit(), 0..5),
        layout in layout(),
    ) {
        let json = write(&edited_fixture(&fixture, &edits), &layout);
        check_event_json(&json);
        let value: Value = serde_json::from_slice(&json).expect("written JSON is JSON");
        check_event_json(&serde_json::to_vec_pretty(&value).expect("printable"));
    }

    /// An edited fixture cut short is refused, the fault found no later than the cut; with one
    /// byte changed, it is read as the contract says, without a panic.
    #[test]
    fn cut_and_damaged_fixtures_are_read_without_a_panic(
        fixture in any::<Index>(),
        edits in vec(edit(), 0..3),
        layout in layout(),
        cut in any::<Index>(),
        at in any::<Index>(),
        byte in prop_oneof![
            select(b"\"\\{}[]:,0-.eE \x00\x1f\x7f\x80\xff".to_vec()),
            any::<u8>(),
        ],
    ) {
        let json = write(&edited_fixture(&fixture, &edits), &layout);
        let cut = cut.index(json.len());
        check_event_json(&json[..cut]);
        if cut <= closing_brace(&json) {
            let err = Event::from_slice(&json[..cut]).expect_err("an event cut short");
            prop_assert!(err.offset() <= cut, "{err}");
        }
        let mut damaged = json.clone();
        damaged[at.index(json.len())] = byte;
        check_event_json(&damaged);
    }

    /// Any document: only an object is an event.
    #[test]
    fn any_document_reads_as_the_reference_reads_it(json in json(), layout in layout()) {
        let text = write(&json, &layout);
        check_event_json(&text);
        if !matches!(json, Json::Object(_)) {
            prop_assert!(Event::from_slice(&text).is_err());
        }
    }

    /// `grpcLambda` is read from any number's text: a whole number with no sign, fraction or
    /// exponent, up to `u32::MAX`.
    #[test]
    fn grpc_lambda_is_a_whole_u32(
        number in "-?(0|[1-9][0-9]{0,11})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
    ) {
        let json = format!(r#"{{"grpcLambda": {number}}}"#);
        check_event_json(json.as_bytes());
        let whole = number.bytes().all(|b| b.is_ascii_digit());
        let expected = number.parse::<u32>().ok().filter(|_| whole);
        match Event::from_slice(json.as_bytes()) {
            Ok(event) => prop_assert_eq!(Some(event.grpc_lambda), Some(expected)),
            Err(err) => {
                prop_assert_eq!(expected, None);
                let in_range = number.parse::<f64>().is_ok_and(f64::is_finite);
                if in_range {
                    prop_assert_eq!(err.field(), Some("grpcLambda"));
                    prop_assert_eq!(err.offset(), 15);
                }
            }
        }
    }
}

proptest! {
    // Cheap cases, and the ones that reach the rarer rules (duplicates in `requestContext`).
    #![proptest_config(config(2048))]

    /// Events made from nothing but members, most of them ones the reader reads.
    #[test]
    fn made_up_events_read_as_the_reference_reads_them(
        members in vec(member(), 0..10),
        layout in layout(),
    ) {
        check_event_json(&write(&Json::Object(members), &layout));
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures and nesting

#[test]
fn every_fixture_reads_as_the_reference_reads_it() {
    for (path, json) in fixtures() {
        check_event_json(json);
        let is_request = !path.to_string_lossy().contains("response");
        if is_request {
            let Reading::Event(event) = reading(json) else {
                panic!("{} is not read as an event", path.display());
            };
            assert!(event.source().is_ok(), "{}", path.display());
        }
        let value: Value = serde_json::from_slice(json).expect("JSON");
        check_event_json(&serde_json::to_vec(&value).expect("printable"));
        check_event_json(&serde_json::to_vec_pretty(&value).expect("printable"));
    }
}

/// `{"x": [[…]]}`: the top-level object and `arrays` arrays under an unknown key.
fn nested_arrays(arrays: usize) -> Vec<u8> {
    let mut json = b"{\"x\": ".to_vec();
    json.extend(std::iter::repeat_n(b'[', arrays));
    json.extend(std::iter::repeat_n(b']', arrays));
    json.push(b'}');
    json
}

/// `{"x": {"x": …}}`: `objects` objects in all.
fn nested_objects(objects: usize) -> Vec<u8> {
    let mut json = Vec::new();
    for _ in 0..objects - 1 {
        json.extend_from_slice(b"{\"x\":");
    }
    json.extend_from_slice(b"{}");
    json.extend(std::iter::repeat_n(b'}', objects - 1));
    json
}

#[test]
fn nesting_up_to_the_limit_reads_and_past_it_is_an_error() {
    assert_eq!(MAX_DEPTH, 128);
    // Levels counted with the top-level object.
    for levels in [2, 64, 126, 127, 128] {
        for json in [nested_arrays(levels - 1), nested_objects(levels)] {
            assert!(Event::from_slice(&json).is_ok(), "{levels} levels");
            check_event_json(&json);
        }
    }
    for levels in [129, 130, 1000, 1_000_000] {
        for json in [nested_arrays(levels - 1), nested_objects(levels)] {
            let err = Event::from_slice(&json).expect_err("too deep");
            assert!(
                err.to_string().ends_with("nested deeper than 128 levels"),
                "{err}"
            );
            check_event_json(&json);
        }
    }
    // The 128th array is the 129th level: the fault is found just after its bracket.
    let err = Event::from_slice(&nested_arrays(128)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the event is not valid JSON at byte 134: objects and arrays nested deeper than 128 levels"
    );
    // Unclosed, and nested inside fields the reader reads.
    let mut open = b"{\"x\": ".to_vec();
    open.extend(std::iter::repeat_n(b'[', 1 << 20));
    assert_eq!(Event::from_slice(&open).unwrap_err().offset(), 134);
    for prefix in [
        r#"{"requestContext": {"x": "#,
        r#"{"requestContext": {"elb": "#,
        r#"{"requestContext": {"serviceArn": "#,
        r#"{"requestContext": {"http": {"x": "#,
    ] {
        let mut json = prefix.as_bytes().to_vec();
        json.extend(std::iter::repeat_n(b'[', 1 << 16));
        let err = Event::from_slice(&json).expect_err("too deep");
        assert!(
            err.to_string().ends_with("nested deeper than 128 levels"),
            "{prefix}: {err}"
        );
    }
}

#[test]
fn nesting_limit_against_serde_json() {
    // serde_json counts levels with the top-level value too; a `Value` reads 127 of them.
    let serde_reads = |json: &[u8]| serde_json::from_slice::<Value>(json).is_ok();
    let reader_reads = |json: &[u8]| Event::from_slice(json).is_ok();
    for arrays in [125, 126, 127, 128, 129] {
        let json = nested_arrays(arrays);
        let levels = arrays + 1;
        assert_eq!(
            serde_reads(&json),
            levels <= 127,
            "serde_json, {levels} levels"
        );
        assert_eq!(
            reader_reads(&json),
            levels <= MAX_DEPTH,
            "reader, {levels} levels"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Exact errors

/// The error reading `json`: its byte, its field, its message.
fn error(json: &[u8]) -> (usize, Option<&'static str>, String) {
    check_event_json(json);
    let err = Event::from_slice(json).expect_err("an error");
    (err.offset(), err.field(), err.to_string())
}

fn not_json(offset: usize, problem: &str) -> (usize, Option<&'static str>, String) {
    (
        offset,
        None,
        format!("the event is not valid JSON at byte {offset}: {problem}"),
    )
}

fn field(
    offset: usize,
    field: &'static str,
    problem: &str,
) -> (usize, Option<&'static str>, String) {
    (
        offset,
        Some(field),
        format!("event field `{field}` at byte {offset}: {problem}"),
    )
}

#[test]
fn json_faults_name_their_byte() {
    let not_object = "the event is not a JSON object";
    assert_eq!(error(b"[]"), not_json(0, not_object));
    assert_eq!(error(b""), not_json(0, not_object));
    assert_eq!(error(b"  null"), not_json(2, not_object));
    assert_eq!(error(b"\"{}\""), not_json(0, not_object));
    let more = "more text after the event";
    assert_eq!(error(b"{} x"), not_json(3, more));
    assert_eq!(error(b"{}{}"), not_json(2, more));
    assert_eq!(error(b"{\"a\": 1}\n,"), not_json(9, more));
    assert_eq!(
        error(br#"{"a": "xyz"#),
        not_json(10, "a string is not closed")
    );
    let escape = "an invalid escape in a string";
    assert_eq!(error(br#"{"a": "x\"#), not_json(8, escape));
    assert_eq!(error(br#"{"a": "\x"}"#), not_json(7, escape));
    assert_eq!(error(br#"{"a": "ab\u12g4"}"#), not_json(9, escape));
    assert_eq!(error(br#"{"a": "\u12"}"#), not_json(7, escape));
    let number = "an invalid number";
    assert_eq!(error(br#"{"a": 01}"#), not_json(6, number));
    assert_eq!(error(br#"{"a": -01}"#), not_json(7, number));
    assert_eq!(error(br#"{"a": 1.}"#), not_json(8, number));
    assert_eq!(error(br#"{"a": -}"#), not_json(7, number));
    assert_eq!(error(br#"{"a": 1e}"#), not_json(8, number));
    assert_eq!(error(br#"{"a": 1.5e+}"#), not_json(11, number));
    assert_eq!(error(br#"{"a": .5}"#), not_json(6, "expected a value"));
    assert_eq!(error(br#"{"a": nul}"#), not_json(6, "expected a value"));
    assert_eq!(
        error(br#"{"a" 1}"#),
        not_json(5, "expected ':' after a key")
    );
    assert_eq!(
        error(br#"{"a": 1 "b": 2}"#),
        not_json(8, "expected ',' or '}' in an object")
    );
    assert_eq!(
        error(br#"{"a": [1 2]}"#),
        not_json(9, "expected ',' or ']' in an array")
    );
    assert_eq!(
        error(br#"{"a": 1,}"#),
        not_json(8, "expected a key (a string)")
    );
    assert_eq!(error(br#"{"a": "#), not_json(6, "the event ends early"));
}

#[test]
fn a_lone_surrogate_reads_as_its_code_points_bytes() {
    // Text fields refuse it as not UTF-8, at the string.
    let not_utf8 = "text that is not UTF-8";
    assert_eq!(error(br#"{"path": "\ud800"}"#), field(10, "path", not_utf8));
    assert_eq!(
        error(br#"{"rawPath": "ab\udc00"}"#),
        field(13, "rawPath", not_utf8)
    );
    assert_eq!(
        error(br#"{"path": "\ud800\u0041"}"#),
        field(10, "path", not_utf8)
    );
    // A key is only matched: an unknown one, whatever it holds, is stepped over.
    assert!(Event::from_slice(br#"{"\ud800": 1, "stageVariables": {"\udc00": "x"}}"#).is_ok());
    // A header value keeps the bytes, as serde_json reads strings as bytes.
    let event = Event::from_slice(
        br#"{"headers": {"a": "\ud800"}, "multiValueHeaders": {"b": ["x\udfff"]}}"#,
    )
    .unwrap();
    assert_eq!(event.headers.unwrap()["a"].as_bytes(), b"\xed\xa0\x80");
    assert_eq!(
        event.multi_value_headers.unwrap()["b"].as_bytes(),
        b"x\xed\xbf\xbf"
    );
    // A base64 body does not decode: the call's status says so, not the invocation.
    let event = Event::from_slice(br#"{"body": "\ud800", "isBase64Encoded": true}"#).unwrap();
    assert!(
        matches!(event.body, EventBody::InvalidBase64(_)),
        "{:?}",
        event.body
    );
    // A pair is one character.
    let event = Event::from_slice(br#"{"path": "\ud83d\ude00\u00e9\/"}"#).unwrap();
    assert_eq!(event.path.as_deref(), Some("\u{1f600}\u{e9}/"));
}

#[test]
fn a_raw_control_character_is_refused_where_the_string_is_read() {
    let control = "a control character in a string";
    assert_eq!(error(b"{\"path\": \"a\nb\"}"), not_json(11, control));
    assert_eq!(
        error(b"{\"headers\": {\"a\": \"x\x01\"}}"),
        not_json(20, control)
    );
    assert_eq!(error(b"{\"body\": \"\t\"}"), not_json(10, control));
    // Stepped over: left alone.
    assert!(Event::from_slice(b"{\"x\": \"\x01\", \"path\": \"/a.B/C\"}").is_ok());
}

#[test]
fn a_header_map_past_its_limit_is_refused_not_a_panic() {
    // `http`'s HeaderMap panics past 24,576 entries; the reader stops at MAX_HEADER_ENTRIES.
    let entries = |count: usize| {
        let headers: Vec<String> = (0..count).map(|i| format!("\"h{i}\":\"v\"")).collect();
        format!(
            r#"{{"grpcLambda":1,"path":"/a.B/C","headers":{{{}}}}}"#,
            headers.join(",")
        )
    };
    let event = Event::from_slice(entries(MAX_HEADER_ENTRIES).as_bytes()).unwrap();
    assert_eq!(event.headers.unwrap().len(), MAX_HEADER_ENTRIES);
    for count in [MAX_HEADER_ENTRIES + 1, 30_000] {
        let json = entries(count);
        let err = Event::from_slice(json.as_bytes()).unwrap_err();
        assert_eq!(err.field(), Some("headers"));
        assert!(
            err.to_string().contains("more than 10000 header entries"),
            "{err}"
        );
    }
    // One name, many values: the same limit.
    let values: Vec<&str> = vec!["\"v\""; MAX_HEADER_ENTRIES + 1];
    let json = format!(r#"{{"multiValueHeaders":{{"a":[{}]}}}}"#, values.join(","));
    let err = Event::from_slice(json.as_bytes()).unwrap_err();
    assert_eq!(err.field(), Some("multiValueHeaders"));
}

#[test]
fn field_faults_name_their_field_and_byte() {
    let version = "expected a whole number from 0 to 4294967295, or null";
    assert_eq!(
        error(br#"{"grpcLambda": 1.0}"#),
        field(15, "grpcLambda", version)
    );
    assert_eq!(
        error(br#"{"grpcLambda": -1}"#),
        field(15, "grpcLambda", version)
    );
    assert_eq!(
        error(br#"{"grpcLambda": 4294967296}"#),
        field(15, "grpcLambda", version)
    );
    assert_eq!(
        error(br#"{"grpcLambda": "1"}"#),
        field(15, "grpcLambda", version)
    );
    assert_eq!(
        error(br#"{"grpcLambda": 1e0}"#),
        field(15, "grpcLambda", version)
    );
    assert_eq!(
        error(br#"{"grpcLambda": -0}"#),
        field(15, "grpcLambda", version)
    );
    let max = Event::from_slice(br#"{"grpcLambda": 4294967295}"#).unwrap();
    assert_eq!(max.grpc_lambda, Some(u32::MAX));
    assert_eq!(
        error(br#"{"rawPath": 7}"#),
        field(12, "rawPath", "expected a string or null")
    );
    assert_eq!(
        error(br#"{"path": ["/a"]}"#),
        field(9, "path", "expected a string or null")
    );
    assert_eq!(
        error(br#"{"headers": 5}"#),
        field(
            12,
            "headers",
            "expected an object of header values, a list of [name, value] pairs, or null"
        )
    );
    let value = "expected a header value: a string, a list of strings or null";
    assert_eq!(
        error(br#"{"multiValueHeaders": {"a": 1}}"#),
        field(28, "multiValueHeaders", value)
    );
    assert_eq!(
        error(br#"{"headers": {"a": ["x", 2]}}"#),
        field(24, "headers", value)
    );
    let pair = "expected a [name, value] pair of strings";
    assert_eq!(
        error(br#"{"headers": [["a", "b", "c"]]}"#),
        field(22, "headers", pair)
    );
    assert_eq!(
        error(br#"{"headers": [["a"]]}"#),
        field(17, "headers", pair)
    );
    assert_eq!(error(br#"{"headers": ["a"]}"#), field(13, "headers", pair));
    assert_eq!(
        error(br#"{"headers": [["a", 1]]}"#),
        field(19, "headers", pair)
    );
    assert_eq!(
        error(br#"{"isBase64Encoded": "yes"}"#),
        field(20, "isBase64Encoded", "expected true, false or null")
    );
    assert_eq!(
        error(br#"{"httpMethod": "P OST"}"#),
        field(16, "httpMethod", "not an HTTP method")
    );
    assert_eq!(
        error(br#"{"method": 1}"#),
        field(11, "method", "expected a method (a string) or null")
    );
    assert_eq!(
        error(br#"{"cookies": "a=1"}"#),
        field(12, "cookies", "expected a list of strings or null")
    );
    assert_eq!(
        error(br#"{"body": 1}"#),
        field(9, "body", "expected a string or null")
    );
    assert_eq!(
        error(br#"{"requestContext": []}"#),
        field(19, "requestContext", "expected an object or null")
    );
    assert_eq!(
        error(br#"{"requestContext": {"http": "x"}}"#),
        field(28, "requestContext.http", "expected an object or null")
    );
    assert_eq!(
        error(br#"{"requestContext": {"http": {"method": "P OST"}}}"#),
        field(40, "requestContext.http.method", "not an HTTP method")
    );
    assert_eq!(
        error(br#"{"requestContext": {"domainName": 1}}"#),
        field(34, "requestContext.domainName", "expected a string or null")
    );
    assert_eq!(
        error(br#"{"resource": {}}"#),
        field(13, "resource", "expected a string or null")
    );
    let parameters = "expected an object of strings or null";
    assert_eq!(
        error(br#"{"pathParameters": "proxy"}"#),
        field(19, "pathParameters", parameters)
    );
    assert_eq!(
        error(br#"{"pathParameters": {"proxy": null}}"#),
        field(29, "pathParameters", parameters)
    );
    assert_eq!(
        error(br#"{"pathParameters": {"a": "b", "proxy": 1}}"#),
        field(39, "pathParameters", parameters)
    );
    assert_eq!(
        error(br#"{"pathParameters": {"\udc00": "b"}}"#),
        field(21, "pathParameters", "text that is not UTF-8")
    );
    assert_eq!(
        error(b"{\"pathParameters\": {\"proxy\": \"a\xffb\"}}"),
        field(30, "pathParameters", "text that is not UTF-8")
    );
    assert_eq!(
        error(br#"{"requestContext": {"stage": ["prod"]}}"#),
        field(29, "requestContext.stage", "expected a string or null")
    );
    assert_eq!(
        error(br#"{"requestContext": {"stage": "\ud800"}}"#),
        field(30, "requestContext.stage", "text that is not UTF-8")
    );
    // An earlier member of the wrong type refuses the event, even when a later one is right.
    assert_eq!(
        error(br#"{"rawPath": 7, "rawPath": "/a"}"#),
        field(12, "rawPath", "expected a string or null")
    );
}

#[test]
fn a_text_body_must_be_utf8() {
    let not_utf8 = "a text body that is not UTF-8 (a binary body needs isBase64Encoded)";
    assert_eq!(error(b"{\"body\": \"\xff\"}"), field(10, "body", not_utf8));
    assert_eq!(
        error(b"{\"body\": \"ok \xc3\"}"),
        field(10, "body", not_utf8)
    );
    assert_eq!(
        error(b"{\"path\": \"\xff\"}"),
        field(10, "path", "text that is not UTF-8")
    );
    // As base64 it is not refused: it is not base64.
    let event = Event::from_slice(b"{\"body\": \"\xff\", \"isBase64Encoded\": true}").unwrap();
    assert!(
        matches!(event.body, EventBody::InvalidBase64(_)),
        "{event:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Reading rules the properties rely on, spelled out

#[test]
fn later_members_win_and_every_header_entry_is_kept() {
    let json = br#"{"body": "aGk=", "isBase64Encoded": false, "isBase64Encoded": true,
        "path": "/a", "path": null, "rawPath": null, "rawPath": "/b",
        "headers": {"x-a": "1", "X-A": ["2", "3"], "x-a": null, "x-a": "4", "bad name": "5", "x-b": "6\u0000"},
        "requestContext": {"serviceArn": "arn", "serviceArn": null, "elb": {}, "elb": null,
                           "http": {"method": "GET", "method": null}, "domainName": "a.lambda-url.b",
                           "stage": "test", "stage": "prod"},
        "resource": "/{a}", "resource": "/{proxy+}",
        "pathParameters": {"proxy": "x", "a": "\/b", "proxy": "y"}}"#;
    check_event_json(json);
    let event = Event::from_slice(json).unwrap();
    assert_eq!(event.body, EventBody::Binary(Bytes::from_static(b"hi")));
    assert_eq!(event.path, None);
    assert_eq!(event.raw_path.as_deref(), Some("/b"));
    assert_eq!(event.resource.as_deref(), Some("/{proxy+}"));
    // Every parameter in order, a name given twice included (the last one counts).
    let parameters = event.path_parameters.as_deref().unwrap();
    let parameters: Vec<(&str, &str)> = parameters
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(parameters, [("proxy", "x"), ("a", "/b"), ("proxy", "y")]);
    let headers = event.headers.unwrap();
    let values: Vec<_> = headers.get_all("x-a").iter().collect();
    assert_eq!(values, ["1", "2", "3", "4"]);
    assert_eq!(headers.len(), 4, "{headers:?}");
    let context = event.request_context.unwrap();
    assert_eq!(context.stage.as_deref(), Some("prod"));
    assert!(context.vpc_lattice, "either ARN present is enough");
    assert!(!context.elb);
    assert!(context.http);
    assert_eq!(context.http_method, None);
    assert!(context.function_url);
    // An empty body is no body, base64 or not.
    for flag in ["true", "false"] {
        let json = format!(r#"{{"body": "", "isBase64Encoded": {flag}}}"#);
        assert_eq!(
            Event::from_slice(json.as_bytes()).unwrap().body,
            EventBody::Empty
        );
    }
}

#[test]
fn leniencies_left_to_what_reads_the_text() {
    // serde_json refuses all of these; the reader leaves the check to the text's reader.
    let cases: [&[u8]; 5] = [
        b"{\"x\": \"\xff\"}",
        b"{\"x\": \"\x01\"}",
        b"{\"x\": {\"a\": \"b\nc\"}}",
        b"{\"headers\": {\"a\": \"\xff\"}}",
        br#"{"x": "\ud800"}"#,
    ];
    for json in cases {
        assert!(serde_json::from_slice::<Value>(json).is_err());
        assert!(Event::from_slice(json).is_ok(), "{}", json.escape_ascii());
        check_event_json(json);
    }
    // A number stepped over is checked against the grammar, not read: serde_json refuses one
    // past `f64`'s range.
    let json = br#"{"x": [1e400, -1e400]}"#;
    assert!(serde_json::from_slice::<Value>(json).is_err());
    assert!(Event::from_slice(json).is_ok());
    check_event_json(json);
}
