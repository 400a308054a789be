//! The answers both APIs give: bodies, JSON documents, AWS errors.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

/// A response body of the service: whole, or an event stream as the function writes.
pub(crate) type LocalBody = BoxBody<Bytes, Infallible>;

/// A whole body.
pub(crate) fn full(bytes: Bytes) -> LocalBody {
    Full::new(bytes).boxed()
}

/// A JSON document with `status`.
pub(crate) fn json_response(status: StatusCode, body: serde_json::Value) -> Response<LocalBody> {
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// An AWS API error: `x-amzn-errortype` and `{"Type": "User", "message"}`.
pub(crate) fn api_error(
    status: StatusCode,
    error_type: &'static str,
    message: String,
) -> Response<LocalBody> {
    let mut response = json_response(
        status,
        serde_json::json!({"Type": "User", "message": message}),
    );
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    response
}

/// A Runtime API error: `{"errorType", "errorMessage"}`.
pub(crate) fn runtime_error(
    status: StatusCode,
    error_type: &str,
    message: String,
) -> Response<LocalBody> {
    json_response(
        status,
        serde_json::json!({"errorType": error_type, "errorMessage": message}),
    )
}

/// The Runtime API's `202 Accepted`.
pub(crate) fn accepted() -> Response<LocalBody> {
    json_response(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}))
}

/// The ARN Lambda gives function `name` (a fixed region and account).
pub(crate) fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
}
