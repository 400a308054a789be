//! The query string of a request, as each front door gives it, in one form: the raw query
//! string (`name=value&…`, percent-encoded, without the `?`), as the client sent it or as near
//! as the event allows.
//!
//! | front door | the event's field | read as |
//! | --- | --- | --- |
//! | API Gateway HTTP API, Function URL, the proxy | `rawQueryString` | as it is |
//! | ALB | `multiValueQueryStringParameters`, else `queryStringParameters` | as they are: ALB passes names and values without URL-decoding them |
//! | API Gateway REST API | `multiValueQueryStringParameters`, else `queryStringParameters` | decoded by API Gateway, so encoded again |
//! | VPC Lattice | `queryStringParameters` (strings in v1, lists in v2) | decoded, so encoded again |
//!
//! A parameter that comes decoded is encoded with every byte but RFC 3986's unreserved ones
//! (`A-Z a-z 0-9 - . _ ~`) as `%XX`: decoding the result gives back the names and values the
//! event held.

use std::fmt::Write as _;

/// The raw query string from `rawQueryString`.
pub(super) fn raw(raw_query_string: Option<String>) -> String {
    raw_query_string.unwrap_or_default()
}

/// Parameters that are still as the client sent them (ALB), joined.
pub(super) fn joined(parameters: Option<Vec<(String, String)>>) -> String {
    join(parameters, |text, out| out.push_str(text))
}

/// Parameters the front door decoded (REST API, VPC Lattice), encoded again and joined.
pub(super) fn encoded(parameters: Option<Vec<(String, String)>>) -> String {
    join(parameters, encode_into)
}

/// `name=value` pairs joined with `&`, each name and value written by `write`.
fn join(parameters: Option<Vec<(String, String)>>, write: fn(&str, &mut String)) -> String {
    let mut query = String::new();
    for (name, value) in parameters.unwrap_or_default() {
        if !query.is_empty() {
            query.push('&');
        }
        write(&name, &mut query);
        query.push('=');
        write(&value, &mut query);
    }
    query
}

/// `text` percent-encoded, every byte but the unreserved ones escaped.
fn encode_into(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a `String` does not fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn decoded_parameters_are_encoded_again() {
        assert_eq!(
            encoded(pairs(&[("message", "{\"a\": \"b c\"}"), ("base64", "1")])),
            "message=%7B%22a%22%3A%20%22b%20c%22%7D&base64=1"
        );
        assert_eq!(
            encoded(pairs(&[("k", "caf\u{e9}+/=")])),
            "k=caf%C3%A9%2B%2F%3D"
        );
        assert_eq!(encoded(None), "");
    }

    #[test]
    fn raw_parameters_are_joined_as_they_are() {
        assert_eq!(
            joined(pairs(&[("message", "%7B%7D"), ("message", "x")])),
            "message=%7B%7D&message=x"
        );
        assert_eq!(raw(Some("a=%20".into())), "a=%20");
        assert_eq!(joined(None), "");
    }
}
