//! The `grpc-timeout` header: how long the client is willing to wait for the call.
//!
//! PROTOCOL-HTTP2.md: "Timeout → "grpc-timeout" TimeoutValue TimeoutUnit";
//! "TimeoutValue → {positive integer as ASCII string of at most 8 digits}";
//! "TimeoutUnit → Hour / Minute / Second / Millisecond / Microsecond / Nanosecond", spelt
//! `H M S m u n`.

use core::fmt;
use core::time::Duration;

/// The header's name.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// The most digits a `grpc-timeout` value may have (PROTOCOL-HTTP2.md: "at most 8 digits").
pub const MAX_TIMEOUT_DIGITS: usize = 8;

/// The largest value that fits in [`MAX_TIMEOUT_DIGITS`] digits.
const MAX_TIMEOUT_VALUE: u64 = 99_999_999;

/// The six units, finest first, with their length in nanoseconds.
const UNITS: [(u8, u64); 6] = [
    (b'n', 1),
    (b'u', 1_000),
    (b'm', 1_000_000),
    (b'S', 1_000_000_000),
    (b'M', 60 * 1_000_000_000),
    (b'H', 3_600 * 1_000_000_000),
];

/// A `grpc-timeout` value that cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutError {
    /// The value is empty.
    Empty,
    /// The value is a unit with no number before it.
    MissingValue {
        /// The unit found.
        unit: u8,
    },
    /// The number has more digits than the protocol allows.
    TooManyDigits {
        /// How many digits it has.
        digits: usize,
    },
    /// A byte that is neither a digit nor, at the end, a unit.
    NonDigit {
        /// The byte refused.
        byte: u8,
        /// Its offset in the value.
        offset: usize,
    },
    /// The value is all digits, with no unit after them.
    MissingUnit,
    /// The last byte is not one of `H M S m u n`.
    UnknownUnit {
        /// The byte found where the unit belongs.
        unit: u8,
    },
    /// Bytes follow the unit.
    TrailingBytes {
        /// Offset of the first byte after the unit.
        offset: usize,
    },
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("grpc-timeout is empty"),
            Self::MissingValue { unit } => write!(
                f,
                "grpc-timeout is the unit {:?} with no number before it",
                char::from(*unit)
            ),
            Self::TooManyDigits { digits } => write!(
                f,
                "grpc-timeout has {digits} digits, more than the {MAX_TIMEOUT_DIGITS} allowed"
            ),
            Self::NonDigit { byte, offset } => {
                write!(
                    f,
                    "grpc-timeout has {} at offset {offset} where a digit belongs",
                    DisplayByte(*byte)
                )
            }
            Self::MissingUnit => f.write_str(
                "grpc-timeout has no unit (expected one of H M S m u n after the digits)",
            ),
            Self::UnknownUnit { unit } => write!(
                f,
                "grpc-timeout unit {} is not one of H M S m u n",
                DisplayByte(*unit)
            ),
            Self::TrailingBytes { offset } => {
                write!(
                    f,
                    "grpc-timeout has bytes after its unit, from offset {offset}"
                )
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TimeoutError {}

/// Shows a byte as a quoted character when printable, as hex otherwise.
struct DisplayByte(u8);

impl fmt::Display for DisplayByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() || self.0 == b' ' {
            write!(f, "{:?}", char::from(self.0))
        } else {
            write!(f, "byte 0x{:02x}", self.0)
        }
    }
}

/// Parses a `grpc-timeout` value into the time it allows.
///
/// A value of zero is accepted (the deadline has already passed), as other implementations do,
/// although the grammar says "positive".
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use grpc_lambda_core::metadata::parse_timeout;
///
/// assert_eq!(parse_timeout(b"1500m")?, Duration::from_millis(1500));
/// assert_eq!(parse_timeout(b"2H")?, Duration::from_secs(7200));
/// assert!(parse_timeout(b"1.5S").is_err());
/// # Ok::<(), grpc_lambda_core::metadata::TimeoutError>(())
/// ```
///
/// # Errors
///
/// [`TimeoutError`] naming what is wrong: an empty value, a missing number, more than 8 digits, a
/// byte that is not a digit, a missing or unknown unit, or bytes after the unit.
pub fn parse_timeout(value: &[u8]) -> Result<Duration, TimeoutError> {
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    let (number, rest) = value.split_at_checked(digits).unwrap_or((value, &[]));
    let (unit, after) = match rest {
        [] if value.is_empty() => return Err(TimeoutError::Empty),
        [] => return Err(TimeoutError::MissingUnit),
        [unit, after @ ..] => (*unit, after),
    };
    let unit_nanos = unit_nanos(unit);
    if number.is_empty() {
        return Err(match (unit_nanos, after) {
            (Some(_), []) => TimeoutError::MissingValue { unit },
            _ => TimeoutError::NonDigit {
                byte: unit,
                offset: 0,
            },
        });
    }
    if digits > MAX_TIMEOUT_DIGITS {
        return Err(TimeoutError::TooManyDigits { digits });
    }
    let unit_nanos = match (unit_nanos, after) {
        (Some(nanos), []) => nanos,
        (Some(_), _) => return Err(TimeoutError::TrailingBytes { offset: digits + 1 }),
        (None, []) => return Err(TimeoutError::UnknownUnit { unit }),
        (None, _) => {
            return Err(TimeoutError::NonDigit {
                byte: unit,
                offset: digits,
            })
        }
    };
    // At most 8 digits, so the number fits a u64 and times an hour's nanoseconds
    // (99_999_999 * 3.6e12 < 3.6e20) it fits a u128.
    let number = number
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    let nanos = u128::from(number) * u128::from(unit_nanos);
    Ok(duration_from_nanos(nanos))
}

/// A `Duration` from a nanosecond count that is known to fit (at most 99_999_999 hours).
fn duration_from_nanos(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    let subsec = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, subsec)
}

/// The length of `unit` in nanoseconds, or `None` when it is not a unit.
fn unit_nanos(unit: u8) -> Option<u64> {
    UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, nanos)| *nanos)
}

/// A formatted `grpc-timeout` value: up to 8 digits and a unit, held on the stack.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use grpc_lambda_core::metadata::format_timeout;
///
/// let value = format_timeout(Duration::from_secs(30));
/// assert_eq!(value.as_str(), "30000000u");
/// assert_eq!(value.as_bytes(), b"30000000u");
/// assert_eq!(value.to_string(), "30000000u");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeoutValue {
    bytes: [u8; MAX_TIMEOUT_DIGITS + 1],
    len: u8,
}

impl TimeoutValue {
    /// The value as text, e.g. `"250m"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and unit letters are ever written.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The value as bytes, ready for a header.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl AsRef<[u8]> for TimeoutValue {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<str> for TimeoutValue {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<TimeoutValue> for bytes::Bytes {
    fn from(value: TimeoutValue) -> Self {
        bytes::Bytes::copy_from_slice(value.as_bytes())
    }
}

impl fmt::Display for TimeoutValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TimeoutValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimeoutValue").field(&self.as_str()).finish()
    }
}

/// Formats a duration as a `grpc-timeout` value, in the finest unit whose count fits in 8
/// digits.
///
/// The count is rounded up, so the deadline sent is never shorter than the one asked for.
/// Durations longer than 99999999 hours (about 11 400 years) saturate to `99999999H`.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use grpc_lambda_core::metadata::{format_timeout, parse_timeout};
///
/// assert_eq!(format_timeout(Duration::from_millis(1500)).as_str(), "1500000u");
/// assert_eq!(format_timeout(Duration::from_secs(3600)).as_str(), "3600000m");
/// // 100 s and 1 ns does not fit 8 digits of microseconds; rounded up to whole milliseconds.
/// assert_eq!(format_timeout(Duration::new(100, 1)).as_str(), "100001m");
/// let value = format_timeout(Duration::from_secs(7));
/// assert_eq!(parse_timeout(value.as_bytes())?, Duration::from_secs(7));
/// # Ok::<(), grpc_lambda_core::metadata::TimeoutError>(())
/// ```
pub fn format_timeout(duration: Duration) -> TimeoutValue {
    let nanos = duration.as_nanos();
    // The finest unit whose rounded-up count fits: `count <= MAX` exactly when
    // `nanos <= MAX * unit`, so the unit is picked by comparisons and only it divides, in 64
    // bits when the duration fits (any shorter than 584 years). A 128-bit division for each
    // unit tried cost a 15-minute deadline three of them.
    let (unit, count) = UNITS
        .iter()
        .find(|&&(_, unit_nanos)| nanos <= u128::from(MAX_TIMEOUT_VALUE) * u128::from(unit_nanos))
        .map_or((b'H', MAX_TIMEOUT_VALUE), |&(unit, unit_nanos)| {
            let count = match u64::try_from(nanos) {
                Ok(nanos) => nanos.div_ceil(unit_nanos),
                Err(_) => u64::try_from(nanos.div_ceil(u128::from(unit_nanos)))
                    .unwrap_or(MAX_TIMEOUT_VALUE),
            };
            (unit, count)
        });
    encode_value(count, unit)
}

/// Writes `count` (at most [`MAX_TIMEOUT_VALUE`]) in decimal, then `unit`.
fn encode_value(count: u64, unit: u8) -> TimeoutValue {
    let mut reversed = [b'0'; MAX_TIMEOUT_DIGITS];
    let mut digits = 0;
    let mut rest = count.min(MAX_TIMEOUT_VALUE);
    for slot in reversed.iter_mut() {
        // `rest % 10` is below 10, so the cast cannot truncate.
        *slot = b'0' + (rest % 10) as u8;
        digits += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut bytes = [0u8; MAX_TIMEOUT_DIGITS + 1];
    let written = reversed
        .get(..digits)
        .unwrap_or_default()
        .iter()
        .rev()
        .chain(core::iter::once(&unit));
    for (slot, &byte) in bytes.iter_mut().zip(written) {
        *slot = byte;
    }
    // At most 9 bytes, so the cast cannot truncate.
    TimeoutValue {
        bytes,
        len: (digits + 1) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_unit_parses() {
        assert_eq!(parse_timeout(b"2H").unwrap(), Duration::from_secs(2 * 3600));
        assert_eq!(parse_timeout(b"3M").unwrap(), Duration::from_secs(180));
        assert_eq!(parse_timeout(b"4S").unwrap(), Duration::from_secs(4));
        assert_eq!(parse_timeout(b"5m").unwrap(), Duration::from_millis(5));
        assert_eq!(parse_timeout(b"6u").unwrap(), Duration::from_micros(6));
        assert_eq!(parse_timeout(b"7n").unwrap(), Duration::from_nanos(7));
        assert_eq!(parse_timeout(b"0S").unwrap(), Duration::ZERO);
        assert_eq!(parse_timeout(b"00000001S").unwrap(), Duration::from_secs(1));
        assert_eq!(
            parse_timeout(b"99999999H").unwrap(),
            Duration::from_secs(99_999_999 * 3600)
        );
        assert_eq!(
            parse_timeout(b"99999999n").unwrap(),
            Duration::from_nanos(99_999_999)
        );
    }

    #[test]
    fn every_unit_round_trips() {
        for value in [
            "1H",
            "99999999H",
            "1M",
            "59M",
            "12345678M",
            "1S",
            "59S",
            "86400S",
            "1m",
            "999m",
            "1u",
            "999u",
            "1n",
            "0n",
            "999n",
            "99999999n",
            "12345678u",
            "1500m",
        ] {
            let duration = parse_timeout(value.as_bytes()).unwrap();
            let formatted = format_timeout(duration);
            assert_eq!(
                parse_timeout(formatted.as_bytes()).unwrap(),
                duration,
                "{value} -> {formatted}"
            );
        }
    }

    #[test]
    fn formats_in_the_finest_unit_that_fits() {
        assert_eq!(format_timeout(Duration::ZERO).as_str(), "0n");
        assert_eq!(
            format_timeout(Duration::from_nanos(99_999_999)).as_str(),
            "99999999n"
        );
        assert_eq!(
            format_timeout(Duration::from_nanos(100_000_000)).as_str(),
            "100000u"
        );
        assert_eq!(
            format_timeout(Duration::from_secs(99)).as_str(),
            "99000000u"
        );
        assert_eq!(format_timeout(Duration::from_secs(100)).as_str(), "100000m");
        assert_eq!(
            format_timeout(Duration::from_secs(100_000)).as_str(),
            "100000S"
        );
        assert_eq!(
            format_timeout(Duration::from_secs(100_000_000)).as_str(),
            "1666667M"
        );
        assert_eq!(
            format_timeout(Duration::from_secs(6_000_000_000)).as_str(),
            "1666667H"
        );
        assert_eq!(format_timeout(Duration::MAX).as_str(), "99999999H");
        assert_eq!(
            format_timeout(Duration::from_secs(99_999_999 * 3600)).as_str(),
            "99999999H"
        );
        assert_eq!(
            format_timeout(Duration::from_secs(99_999_999 * 3600 + 1)).as_str(),
            "99999999H"
        );
    }

    #[test]
    fn formatting_rounds_up() {
        // 100 s + 1 ns: too many microseconds; 100001 ms is the shortest that is not shorter.
        assert_eq!(format_timeout(Duration::new(100, 1)).as_str(), "100001m");
        assert_eq!(
            format_timeout(Duration::new(100_000, 1)).as_str(),
            "100001S"
        );
        for nanos in [
            1u64,
            999,
            1_000_001,
            123_456_789_123,
            98_765_432_123_456_789,
        ] {
            let asked = Duration::from_nanos(nanos);
            let sent = parse_timeout(format_timeout(asked).as_bytes()).unwrap();
            assert!(sent >= asked, "{asked:?} became {sent:?}");
        }
    }

    #[test]
    fn malformed_values_are_named() {
        let cases: [(&[u8], TimeoutError); 12] = [
            (b"", TimeoutError::Empty),
            (b"1", TimeoutError::MissingUnit),
            (b"12345678", TimeoutError::MissingUnit),
            (b"S", TimeoutError::MissingValue { unit: b'S' }),
            (b"123456789S", TimeoutError::TooManyDigits { digits: 9 }),
            (b"1x", TimeoutError::UnknownUnit { unit: b'x' }),
            (
                b"-1S",
                TimeoutError::NonDigit {
                    byte: b'-',
                    offset: 0,
                },
            ),
            (
                b" 1S",
                TimeoutError::NonDigit {
                    byte: b' ',
                    offset: 0,
                },
            ),
            (
                b"1.5S",
                TimeoutError::NonDigit {
                    byte: b'.',
                    offset: 1,
                },
            ),
            (b"1S ", TimeoutError::TrailingBytes { offset: 2 }),
            (
                b"Sx",
                TimeoutError::NonDigit {
                    byte: b'S',
                    offset: 0,
                },
            ),
            (b"1s", TimeoutError::UnknownUnit { unit: b's' }),
        ];
        for (value, expected) in cases {
            assert_eq!(
                parse_timeout(value),
                Err(expected),
                "{:?}",
                core::str::from_utf8(value)
            );
        }
    }

    #[test]
    fn errors_read_well() {
        let message = |value: &[u8]| parse_timeout(value).unwrap_err().to_string();
        assert_eq!(message(b""), "grpc-timeout is empty");
        assert_eq!(
            message(b"S"),
            "grpc-timeout is the unit 'S' with no number before it"
        );
        assert_eq!(
            message(b"123456789S"),
            "grpc-timeout has 9 digits, more than the 8 allowed"
        );
        assert_eq!(
            message(b"1.5S"),
            "grpc-timeout has '.' at offset 1 where a digit belongs"
        );
        assert_eq!(
            message(b"\x001S"),
            "grpc-timeout has byte 0x00 at offset 0 where a digit belongs"
        );
        assert_eq!(
            message(b"1"),
            "grpc-timeout has no unit (expected one of H M S m u n after the digits)"
        );
        assert_eq!(
            message(b"1x"),
            "grpc-timeout unit 'x' is not one of H M S m u n"
        );
        assert_eq!(
            message(b"1S;"),
            "grpc-timeout has bytes after its unit, from offset 2"
        );
    }

    #[test]
    fn value_is_plain_text() {
        let value = format_timeout(Duration::from_millis(250));
        assert_eq!(value.as_str(), "250000u");
        assert_eq!(value.to_string(), "250000u");
        assert_eq!(alloc::format!("{value:?}"), "TimeoutValue(\"250000u\")");
        assert_eq!(bytes::Bytes::from(value), &b"250000u"[..]);
    }
}
