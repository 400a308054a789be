//! The Connect protocol's names for the codes and the HTTP status each is answered with
//! (connectrpc.com/docs/protocol, "Error Codes" and "HTTP to Error Code").
//!
//! Connect spells each code in lower snake case (`"invalid_argument"`), `cancelled` as
//! `"canceled"`, and has no name for `OK`: a call that succeeded carries no error.

use super::Code;

impl Code {
    /// The code's Connect name, e.g. `"deadline_exceeded"`; `None` for [`Code::Ok`], which
    /// Connect never sends.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    ///
    /// assert_eq!(Code::Cancelled.connect_name(), Some("canceled"));
    /// assert_eq!(Code::Ok.connect_name(), None);
    /// ```
    pub const fn connect_name(self) -> Option<&'static str> {
        Some(match self {
            Code::Ok => return None,
            Code::Cancelled => "canceled",
            Code::Unknown => "unknown",
            Code::InvalidArgument => "invalid_argument",
            Code::DeadlineExceeded => "deadline_exceeded",
            Code::NotFound => "not_found",
            Code::AlreadyExists => "already_exists",
            Code::PermissionDenied => "permission_denied",
            Code::ResourceExhausted => "resource_exhausted",
            Code::FailedPrecondition => "failed_precondition",
            Code::Aborted => "aborted",
            Code::OutOfRange => "out_of_range",
            Code::Unimplemented => "unimplemented",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
            Code::DataLoss => "data_loss",
            Code::Unauthenticated => "unauthenticated",
        })
    }

    /// The code a Connect name stands for, exactly as [`Code::connect_name`] spells it (case
    /// matters); `None` for anything else, which a Connect client reads as `unknown`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    ///
    /// assert_eq!(Code::from_connect_name("not_found"), Some(Code::NotFound));
    /// assert_eq!(Code::from_connect_name("NOT_FOUND"), None);
    /// assert_eq!(Code::from_connect_name("ok"), None);
    /// ```
    pub fn from_connect_name(name: &str) -> Option<Code> {
        Code::ALL
            .into_iter()
            .find(|code| code.connect_name() == Some(name))
    }

    /// The HTTP status a Connect unary error with this code is answered with; 200 for
    /// [`Code::Ok`].
    ///
    /// | code | HTTP | code | HTTP |
    /// | --- | --- | --- | --- |
    /// | canceled | 499 | aborted | 409 |
    /// | unknown | 500 | out_of_range | 400 |
    /// | invalid_argument | 400 | unimplemented | 501 |
    /// | deadline_exceeded | 504 | internal | 500 |
    /// | not_found | 404 | unavailable | 503 |
    /// | already_exists | 409 | data_loss | 500 |
    /// | permission_denied | 403 | unauthenticated | 401 |
    /// | resource_exhausted | 429 | failed_precondition | 400 |
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    ///
    /// assert_eq!(Code::NotFound.connect_http_status(), 404);
    /// assert_eq!(Code::Cancelled.connect_http_status(), 499);
    /// ```
    pub const fn connect_http_status(self) -> u16 {
        match self {
            Code::Ok => 200,
            Code::Cancelled => 499,
            Code::Unknown | Code::Internal | Code::DataLoss => 500,
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
            Code::DeadlineExceeded => 504,
            Code::NotFound => 404,
            Code::AlreadyExists | Code::Aborted => 409,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::Unimplemented => 501,
            Code::Unavailable => 503,
            Code::Unauthenticated => 401,
        }
    }

    /// The code a Connect client reports for a non-200 response without a readable error body
    /// ("HTTP to Error Code"): the same table as gRPC's ([`Code::from_http_status`]): 400
    /// `internal`, 401 `unauthenticated`, 403 `permission_denied`, 404 `unimplemented`, 429, 502,
    /// 503 and 504 `unavailable`, anything else `unknown`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    ///
    /// assert_eq!(Code::from_connect_http_status(429), Code::Unavailable);
    /// // Not the inverse of `connect_http_status`: a 404 without a body is a missing route.
    /// assert_eq!(Code::from_connect_http_status(404), Code::Unimplemented);
    /// ```
    pub const fn from_connect_http_status(status: u16) -> Code {
        Code::from_http_status(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// connectrpc.com/docs/protocol, "Error Codes", in its order.
    const SPEC: [(&str, u16, Code); 16] = [
        ("canceled", 499, Code::Cancelled),
        ("unknown", 500, Code::Unknown),
        ("invalid_argument", 400, Code::InvalidArgument),
        ("deadline_exceeded", 504, Code::DeadlineExceeded),
        ("not_found", 404, Code::NotFound),
        ("already_exists", 409, Code::AlreadyExists),
        ("permission_denied", 403, Code::PermissionDenied),
        ("resource_exhausted", 429, Code::ResourceExhausted),
        ("failed_precondition", 400, Code::FailedPrecondition),
        ("aborted", 409, Code::Aborted),
        ("out_of_range", 400, Code::OutOfRange),
        ("unimplemented", 501, Code::Unimplemented),
        ("internal", 500, Code::Internal),
        ("unavailable", 503, Code::Unavailable),
        ("data_loss", 500, Code::DataLoss),
        ("unauthenticated", 401, Code::Unauthenticated),
    ];

    #[test]
    fn names_and_http_statuses_are_the_specs() {
        for (name, http, code) in SPEC {
            assert_eq!(code.connect_name(), Some(name));
            assert_eq!(Code::from_connect_name(name), Some(code));
            assert_eq!(code.connect_http_status(), http, "{name}");
        }
        // Every code but OK is in the table, once.
        let named: Vec<Code> = Code::ALL
            .into_iter()
            .filter(|code| code.connect_name().is_some())
            .collect();
        let table: Vec<Code> = SPEC.iter().map(|(_, _, code)| *code).collect();
        assert_eq!(named, table);
        assert_eq!(Code::Ok.connect_http_status(), 200);
        for name in ["", "ok", "cancelled", "Canceled", "data-loss", " unknown"] {
            assert_eq!(Code::from_connect_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn http_statuses_without_a_body_read_as_the_spec_says() {
        let spec = [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
        ];
        for status in 0..=999u16 {
            let expected = spec
                .iter()
                .find(|(http, _)| *http == status)
                .map_or(Code::Unknown, |(_, code)| *code);
            assert_eq!(Code::from_connect_http_status(status), expected, "{status}");
        }
    }
}
