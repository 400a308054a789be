//! Twirp's error codes (Twirp v7 spec, "Error Codes"): gRPC's codes in lower snake case, less
//! `OK`, plus two of Twirp's own, `malformed` and `bad_route`, each with the HTTP status it is
//! answered with.

use core::fmt;

use super::Code;

/// A Twirp error code.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::status::TwirpCode;
/// use grpc_lambda_core::Code;
///
/// let code = TwirpCode::from_code(Code::Unimplemented);
/// assert_eq!((code.as_str(), code.http_status()), ("unimplemented", 501));
/// assert_eq!(TwirpCode::parse("bad_route"), Some(TwirpCode::BadRoute));
/// assert_eq!(TwirpCode::BadRoute.code(), Code::Unimplemented);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TwirpCode {
    /// `canceled` (408): the operation was cancelled, typically by the caller.
    Canceled,
    /// `unknown` (500).
    Unknown,
    /// `invalid_argument` (400): the client sent an argument that is invalid whatever the state.
    InvalidArgument,
    /// `malformed` (400), Twirp's own: the request body could not be decoded.
    Malformed,
    /// `deadline_exceeded` (408).
    DeadlineExceeded,
    /// `not_found` (404).
    NotFound,
    /// `bad_route` (404), Twirp's own: no method at the requested path, or the wrong HTTP method
    /// or content type for it.
    BadRoute,
    /// `already_exists` (409).
    AlreadyExists,
    /// `permission_denied` (403).
    PermissionDenied,
    /// `unauthenticated` (401).
    Unauthenticated,
    /// `resource_exhausted` (429).
    ResourceExhausted,
    /// `failed_precondition` (412).
    FailedPrecondition,
    /// `aborted` (409).
    Aborted,
    /// `out_of_range` (400).
    OutOfRange,
    /// `unimplemented` (501).
    Unimplemented,
    /// `internal` (500).
    Internal,
    /// `unavailable` (503).
    Unavailable,
    /// `data_loss` (500).
    DataLoss,
}

impl TwirpCode {
    /// Every code, in the spec's order.
    pub const ALL: [TwirpCode; 18] = [
        TwirpCode::Canceled,
        TwirpCode::Unknown,
        TwirpCode::InvalidArgument,
        TwirpCode::Malformed,
        TwirpCode::DeadlineExceeded,
        TwirpCode::NotFound,
        TwirpCode::BadRoute,
        TwirpCode::AlreadyExists,
        TwirpCode::PermissionDenied,
        TwirpCode::Unauthenticated,
        TwirpCode::ResourceExhausted,
        TwirpCode::FailedPrecondition,
        TwirpCode::Aborted,
        TwirpCode::OutOfRange,
        TwirpCode::Unimplemented,
        TwirpCode::Internal,
        TwirpCode::Unavailable,
        TwirpCode::DataLoss,
    ];

    /// The code's name on the wire, e.g. `"bad_route"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TwirpCode::Canceled => "canceled",
            TwirpCode::Unknown => "unknown",
            TwirpCode::InvalidArgument => "invalid_argument",
            TwirpCode::Malformed => "malformed",
            TwirpCode::DeadlineExceeded => "deadline_exceeded",
            TwirpCode::NotFound => "not_found",
            TwirpCode::BadRoute => "bad_route",
            TwirpCode::AlreadyExists => "already_exists",
            TwirpCode::PermissionDenied => "permission_denied",
            TwirpCode::Unauthenticated => "unauthenticated",
            TwirpCode::ResourceExhausted => "resource_exhausted",
            TwirpCode::FailedPrecondition => "failed_precondition",
            TwirpCode::Aborted => "aborted",
            TwirpCode::OutOfRange => "out_of_range",
            TwirpCode::Unimplemented => "unimplemented",
            TwirpCode::Internal => "internal",
            TwirpCode::Unavailable => "unavailable",
            TwirpCode::DataLoss => "data_loss",
        }
    }

    /// The code with this name, exactly as [`TwirpCode::as_str`] spells it.
    pub fn parse(name: &str) -> Option<TwirpCode> {
        TwirpCode::ALL
            .into_iter()
            .find(|code| code.as_str() == name)
    }

    /// The HTTP status an error with this code is answered with.
    pub const fn http_status(self) -> u16 {
        match self {
            TwirpCode::Canceled | TwirpCode::DeadlineExceeded => 408,
            TwirpCode::Unknown | TwirpCode::Internal | TwirpCode::DataLoss => 500,
            TwirpCode::InvalidArgument | TwirpCode::Malformed | TwirpCode::OutOfRange => 400,
            TwirpCode::NotFound | TwirpCode::BadRoute => 404,
            TwirpCode::AlreadyExists | TwirpCode::Aborted => 409,
            TwirpCode::PermissionDenied => 403,
            TwirpCode::Unauthenticated => 401,
            TwirpCode::ResourceExhausted => 429,
            TwirpCode::FailedPrecondition => 412,
            TwirpCode::Unimplemented => 501,
            TwirpCode::Unavailable => 503,
        }
    }

    /// The Twirp code for a gRPC code: the same name; [`Code::Ok`], which no error carries,
    /// reads as `unknown`. A method the server does not have is [`TwirpCode::BadRoute`], chosen
    /// by whoever routes, not by this mapping.
    pub const fn from_code(code: Code) -> TwirpCode {
        match code {
            Code::Ok | Code::Unknown => TwirpCode::Unknown,
            Code::Cancelled => TwirpCode::Canceled,
            Code::InvalidArgument => TwirpCode::InvalidArgument,
            Code::DeadlineExceeded => TwirpCode::DeadlineExceeded,
            Code::NotFound => TwirpCode::NotFound,
            Code::AlreadyExists => TwirpCode::AlreadyExists,
            Code::PermissionDenied => TwirpCode::PermissionDenied,
            Code::ResourceExhausted => TwirpCode::ResourceExhausted,
            Code::FailedPrecondition => TwirpCode::FailedPrecondition,
            Code::Aborted => TwirpCode::Aborted,
            Code::OutOfRange => TwirpCode::OutOfRange,
            Code::Unimplemented => TwirpCode::Unimplemented,
            Code::Internal => TwirpCode::Internal,
            Code::Unavailable => TwirpCode::Unavailable,
            Code::DataLoss => TwirpCode::DataLoss,
            Code::Unauthenticated => TwirpCode::Unauthenticated,
        }
    }

    /// The gRPC code nearest to this one: `malformed` is [`Code::InvalidArgument`] and
    /// `bad_route` [`Code::Unimplemented`]; the others have the same name.
    pub const fn code(self) -> Code {
        match self {
            TwirpCode::Canceled => Code::Cancelled,
            TwirpCode::Unknown => Code::Unknown,
            TwirpCode::InvalidArgument | TwirpCode::Malformed => Code::InvalidArgument,
            TwirpCode::DeadlineExceeded => Code::DeadlineExceeded,
            TwirpCode::NotFound => Code::NotFound,
            TwirpCode::BadRoute | TwirpCode::Unimplemented => Code::Unimplemented,
            TwirpCode::AlreadyExists => Code::AlreadyExists,
            TwirpCode::PermissionDenied => Code::PermissionDenied,
            TwirpCode::Unauthenticated => Code::Unauthenticated,
            TwirpCode::ResourceExhausted => Code::ResourceExhausted,
            TwirpCode::FailedPrecondition => Code::FailedPrecondition,
            TwirpCode::Aborted => Code::Aborted,
            TwirpCode::OutOfRange => Code::OutOfRange,
            TwirpCode::Internal => Code::Internal,
            TwirpCode::Unavailable => Code::Unavailable,
            TwirpCode::DataLoss => Code::DataLoss,
        }
    }
}

impl From<Code> for TwirpCode {
    fn from(code: Code) -> Self {
        TwirpCode::from_code(code)
    }
}

impl fmt::Display for TwirpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// Twirp v7 spec, "Error Codes", in its order.
    const SPEC: [(&str, u16); 18] = [
        ("canceled", 408),
        ("unknown", 500),
        ("invalid_argument", 400),
        ("malformed", 400),
        ("deadline_exceeded", 408),
        ("not_found", 404),
        ("bad_route", 404),
        ("already_exists", 409),
        ("permission_denied", 403),
        ("unauthenticated", 401),
        ("resource_exhausted", 429),
        ("failed_precondition", 412),
        ("aborted", 409),
        ("out_of_range", 400),
        ("unimplemented", 501),
        ("internal", 500),
        ("unavailable", 503),
        ("data_loss", 500),
    ];

    #[test]
    fn names_and_http_statuses_are_the_specs() {
        for (code, (name, http)) in TwirpCode::ALL.into_iter().zip(SPEC) {
            assert_eq!(code.as_str(), name);
            assert_eq!(code.to_string(), name);
            assert_eq!(code.http_status(), http, "{name}");
            assert_eq!(TwirpCode::parse(name), Some(code));
        }
        for name in ["", "ok", "cancelled", "BAD_ROUTE", "dataloss"] {
            assert_eq!(TwirpCode::parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn grpc_codes_keep_their_names() {
        for code in Code::ALL {
            let twirp = TwirpCode::from(code);
            if code == Code::Ok {
                assert_eq!(twirp, TwirpCode::Unknown);
                continue;
            }
            assert_eq!(twirp.code(), code);
            assert_eq!(Some(twirp.as_str()), code.connect_name());
        }
        assert_eq!(TwirpCode::Malformed.code(), Code::InvalidArgument);
        assert_eq!(TwirpCode::BadRoute.code(), Code::Unimplemented);
    }
}
