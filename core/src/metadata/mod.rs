//! Call metadata: an ordered list of `name: value` pairs, plus the two values gRPC gives meaning to
//! inside them, `grpc-timeout` ([`timeout`]) and `-bin` binary values ([`binary`]).
//!
//! PROTOCOL-HTTP2.md: "Header-Name → 1*( %x30-39 / %x61-7A / "_" / "-" / ".") ; 0-9 a-z _ - .";
//! "ASCII-Value → 1*( %x20-%x7E ) ; space and printable ASCII". Repeated names are kept, in order.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

pub mod binary;
pub mod timeout;

pub use binary::{decode_binary_value, encode_binary_value, BinaryValueError};
pub use timeout::{format_timeout, parse_timeout, TimeoutError, GRPC_TIMEOUT};

/// An ordered multimap of metadata entries, names lowercase, repeated names kept.
///
/// Values are kept as they travel on the wire: a `-bin` entry holds base64 text (see
/// [`binary`]). Values taken from a decoded trailer block are slices of the frame, not copies.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::Metadata;
///
/// let mut md = Metadata::new();
/// md.append("X-Echo", "one")?;
/// md.append("x-echo", "two")?;
/// assert_eq!(md.get("x-echo"), Some(&b"one"[..]));
/// assert_eq!(md.get_all("x-echo").collect::<Vec<_>>(), [&b"one"[..], &b"two"[..]]);
/// # Ok::<(), grpc_lambda_core::MetadataError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata {
    entries: Vec<(Bytes, Bytes)>,
}

/// A metadata name or value that cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataError {
    /// The name is empty or has a byte outside `0-9 a-z _ - .` (upper case is folded first).
    InvalidName {
        /// The name, lossily decoded for display.
        name: String,
        /// Offset of the first byte not allowed, or 0 for an empty name.
        offset: usize,
    },
    /// The value has a control byte (CR, LF, NUL…) that would break the header or trailer block.
    InvalidValue {
        /// The entry's name.
        name: String,
        /// The byte refused.
        byte: u8,
        /// Its offset in the value.
        offset: usize,
    },
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName { name, offset } if name.is_empty() => {
                let _ = offset;
                f.write_str("metadata name is empty")
            }
            Self::InvalidName { name, offset } => write!(
                f,
                "metadata name {name:?} has a byte at offset {offset} outside 0-9 a-z _ - ."
            ),
            Self::InvalidValue { name, byte, offset } => write!(
                f,
                "metadata value of {name:?} has control byte 0x{byte:02x} at offset {offset}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MetadataError {}

/// Whether `byte` may stand in a metadata name (after folding to lower case).
pub(crate) const fn is_name_byte(byte: u8) -> bool {
    matches!(byte, b'0'..=b'9' | b'a'..=b'z' | b'_' | b'-' | b'.')
}

/// Whether `byte` may stand in a metadata value: printable ASCII, space, tab, and (leniently, as
/// HTTP's obs-text) bytes from 0x80 up. Control bytes would break a header or trailer block.
pub(crate) const fn is_value_byte(byte: u8) -> bool {
    matches!(byte, b'\t' | 0x20..=0x7e | 0x80..=0xff)
}

/// Checks a name and returns it lowercase, without a copy when it already is.
pub(crate) fn checked_name(name: Bytes) -> Result<Bytes, MetadataError> {
    let invalid = |offset| MetadataError::InvalidName {
        name: String::from_utf8_lossy(&name).into_owned(),
        offset,
    };
    if name.is_empty() {
        return Err(invalid(0));
    }
    let mut needs_folding = false;
    for (offset, &byte) in name.iter().enumerate() {
        if byte.is_ascii_uppercase() {
            needs_folding = true;
        } else if !is_name_byte(byte) {
            return Err(invalid(offset));
        }
    }
    if needs_folding {
        // A copy, only for names that arrive in upper case (HTTP/1.1 front doors keep the case).
        Ok(Bytes::from(name.to_ascii_lowercase()))
    } else {
        Ok(name)
    }
}

/// Checks a value's bytes.
pub(crate) fn check_value(name: &[u8], value: &[u8]) -> Result<(), MetadataError> {
    match value.iter().position(|&b| !is_value_byte(b)) {
        None => Ok(()),
        Some(offset) => Err(MetadataError::InvalidValue {
            name: String::from_utf8_lossy(name).into_owned(),
            byte: value.get(offset).copied().unwrap_or(0),
            offset,
        }),
    }
}

impl Metadata {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// An empty list with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Appends an entry, keeping any earlier ones of the same name. The name is folded to lower
    /// case.
    ///
    /// # Errors
    ///
    /// [`MetadataError`] for a name outside `0-9 a-z _ - .` or a value with a control byte.
    pub fn append(&mut self, name: &str, value: impl Into<Bytes>) -> Result<(), MetadataError> {
        self.append_bytes(Bytes::copy_from_slice(name.as_bytes()), value.into())
    }

    /// Appends an entry given as `Bytes`, without copying either part (unless the name needs
    /// folding to lower case).
    ///
    /// # Errors
    ///
    /// As [`Metadata::append`].
    pub fn append_bytes(&mut self, name: Bytes, value: Bytes) -> Result<(), MetadataError> {
        let name = checked_name(name)?;
        check_value(&name, &value)?;
        self.entries.push((name, value));
        Ok(())
    }

    /// Replaces every entry of this name with one entry.
    ///
    /// # Errors
    ///
    /// As [`Metadata::append`].
    pub fn insert(&mut self, name: &str, value: impl Into<Bytes>) -> Result<(), MetadataError> {
        let name = checked_name(Bytes::copy_from_slice(name.as_bytes()))?;
        let value = value.into();
        check_value(&name, &value)?;
        self.entries.retain(|(n, _)| n != &name);
        self.entries.push((name, value));
        Ok(())
    }

    /// Pushes an entry already checked by a parser of this crate.
    pub(crate) fn push_checked(&mut self, name: Bytes, value: Bytes) {
        self.entries.push((name, value));
    }

    /// The first value of `name` (matched case-insensitively).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    /// The first value of `name` as text, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    /// Removes every entry of `name`; returns how many there were.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()));
        before - self.entries.len()
    }

    /// Every entry, in order, as `(name, value)`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> + '_ {
        self.entries
            .iter()
            // Names are checked to be ASCII on the way in, so this never takes the fallback.
            .map(|(n, v)| (core::str::from_utf8(n).unwrap_or(""), &v[..]))
    }

    /// Every entry as the `Bytes` it is stored in (no copy).
    pub fn iter_bytes(&self) -> impl ExactSizeIterator<Item = (&Bytes, &Bytes)> + '_ {
        self.entries.iter().map(|(n, v)| (n, v))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends every entry of `other`.
    pub fn extend(&mut self, other: Metadata) {
        self.entries.extend(other.entries);
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.entries
                    .iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_and_repeat() {
        let mut md = Metadata::new();
        md.append("Grpc-Status", "0").unwrap();
        md.append("x-a", "1").unwrap();
        md.append("X-A", "2").unwrap();
        assert_eq!(
            md.iter().collect::<Vec<_>>(),
            [("grpc-status", &b"0"[..]), ("x-a", b"1"), ("x-a", b"2")]
        );
        assert_eq!(md.remove("x-a"), 2);
        md.insert("grpc-status", "3").unwrap();
        assert_eq!(md.len(), 1);
        assert_eq!(md.get_str("grpc-status"), Some("3"));
    }

    #[test]
    fn bad_names_and_values_are_named() {
        let mut md = Metadata::new();
        let err = md.append("x y", "v").unwrap_err();
        assert_eq!(
            err,
            MetadataError::InvalidName {
                name: "x y".into(),
                offset: 1
            }
        );
        assert_eq!(
            err.to_string(),
            "metadata name \"x y\" has a byte at offset 1 outside 0-9 a-z _ - ."
        );
        let err = md.append("", "v").unwrap_err();
        assert_eq!(err.to_string(), "metadata name is empty");
        let err = md.append("x", "a\r\nb").unwrap_err();
        assert_eq!(
            err,
            MetadataError::InvalidValue {
                name: "x".into(),
                byte: b'\r',
                offset: 1
            }
        );
        assert!(md.is_empty());
    }
}
