//! The Invoke API's answers read as its reference describes them: a function error, a
//! throttle, a missing function, a payload over the limit, or the function's HTTP response.

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use super::event::{decode_response, snippet};
use super::function::FunctionRef;
use super::UpstreamReply;
use crate::error::{InvokeError, LAMBDA_REQUEST_LIMIT};

/// The error JSON of the Invoke API and of a function.
#[derive(serde::Deserialize, Default)]
pub(super) struct ErrorJson {
    #[serde(default, rename = "errorType")]
    pub(super) error_type: Option<String>,
    #[serde(default, rename = "errorMessage")]
    pub(super) error_message: Option<String>,
    #[serde(default, alias = "Message")]
    pub(super) message: Option<String>,
    #[serde(default, rename = "Reason")]
    pub(super) reason: Option<String>,
    #[serde(default, rename = "__type")]
    pub(super) type_field: Option<String>,
}

/// Turns an Invoke API answer into a reply or the failure it reports.
///
/// # Errors
///
/// The [`InvokeError`] the answer stands for.
pub(super) fn classify(
    function: &FunctionRef,
    status: StatusCode,
    headers: &http::HeaderMap,
    payload: &Bytes,
    event_len: usize,
) -> Result<UpstreamReply, InvokeError> {
    if status == StatusCode::OK {
        if headers.contains_key("x-amz-function-error") {
            let error: ErrorJson = serde_json::from_slice(payload).unwrap_or_default();
            let error_type = error.error_type.unwrap_or_else(|| "Unhandled".to_owned());
            let error_message = error.error_message.unwrap_or_else(|| snippet(payload));
            return Err(function_error(error_type, error_message));
        }
        return decode_response(payload);
    }
    let error: ErrorJson = serde_json::from_slice(payload).unwrap_or_default();
    let error_type = headers
        .get("x-amzn-errortype")
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).to_owned())
        .or(error.type_field)
        .unwrap_or_default();
    let message = error
        .message
        .or(error.error_message)
        .unwrap_or_else(|| snippet(payload));
    Err(match status.as_u16() {
        404 => InvokeError::FunctionNotFound {
            function: function.to_string(),
            message,
        },
        429 => InvokeError::Throttled {
            reason: match error.reason {
                Some(reason) => format!("{error_type} {reason}: {message}"),
                None => format!("{error_type}: {message}"),
            },
        },
        413 => InvokeError::RequestTooLarge {
            len: event_len,
            limit: LAMBDA_REQUEST_LIMIT,
        },
        status => InvokeError::Upstream {
            status,
            error_type,
            message,
        },
    })
}

/// The failure a function error of `error_type` stands for.
pub(super) fn function_error(error_type: String, error_message: String) -> InvokeError {
    match error_type.as_str() {
        "Sandbox.Timedout" => InvokeError::FunctionTimeout {
            message: error_message,
        },
        _ if error_message.contains("Task timed out after") => InvokeError::FunctionTimeout {
            message: error_message,
        },
        "Function.ResponseSizeTooLarge" => InvokeError::ResponseTooLarge {
            message: error_message,
        },
        _ => InvokeError::FunctionError {
            error_type,
            error_message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> FunctionRef {
        FunctionRef::parse("prod")
    }

    #[test]
    fn invoke_api_errors_are_classified() {
        let json = |s: &str| Bytes::from(s.to_owned());
        let mut function_error = http::HeaderMap::new();
        function_error.insert(
            "x-amz-function-error",
            HeaderValue::from_static("Unhandled"),
        );
        let cases = [
            (
                StatusCode::OK,
                function_error.clone(),
                json(
                    r#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 1.00 seconds"}"#,
                ),
                "function_timeout",
            ),
            (
                StatusCode::OK,
                function_error.clone(),
                json(
                    r#"{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size (7000000 bytes) exceeded maximum allowed payload size (6291556 bytes)."}"#,
                ),
                "response_too_large",
            ),
            (
                StatusCode::OK,
                function_error,
                json(r#"{"errorType":"MyError","errorMessage":"boom"}"#),
                "function_error",
            ),
            (
                StatusCode::NOT_FOUND,
                http::HeaderMap::new(),
                json(
                    r#"{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:1:function:nope"}"#,
                ),
                "function_not_found",
            ),
            (
                StatusCode::TOO_MANY_REQUESTS,
                http::HeaderMap::new(),
                json(
                    r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#,
                ),
                "throttled",
            ),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                http::HeaderMap::new(),
                json(
                    r#"{"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}"#,
                ),
                "request_too_large",
            ),
            (
                StatusCode::FORBIDDEN,
                http::HeaderMap::new(),
                json(r#"{"Message":"User is not authorized"}"#),
                "upstream",
            ),
        ];
        for (status, headers, payload, kind) in cases {
            let err = classify(&f(), status, &headers, &payload, 7_000_000).unwrap_err();
            assert_eq!(err.kind(), kind, "{err}");
        }
    }
}
