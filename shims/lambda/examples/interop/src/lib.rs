//! `grpc.testing.TestService` (`proto/grpc/testing/test.proto`), the service of the gRPC interop
//! test descriptions (interop-test-descriptions.md in grpc/grpc), as a plain tonic service served
//! from Lambda by `main.rs`.
//!
//! ```text
//!  interop client ──h2──▶ grpc-lambda-proxy ──Invoke──▶ grpc-lambda ──▶ InteropService
//!  (tonic, grpcio)         request stream buffered       one event per call
//! ```
//!
//! The server features, as the descriptions name them:
//!
//! - **EmptyCall**: the empty message back.
//! - **UnaryCall**: a payload of `response_size` zero bytes. `response_type` other than
//!   `COMPRESSABLE` is `INVALID_ARGUMENT`.
//! - **StreamingOutputCall**: one response per `ResponseParameters`, each `size` zero bytes,
//!   after a pause of `interval_us`.
//! - **StreamingInputCall**: once the client half-closes, the sum of the request payload sizes.
//! - **FullDuplexCall**: each request answered as it is read, like StreamingOutputCall.
//! - **HalfDuplexCall**: every request read first, then all of them answered in order.
//! - **UnimplementedCall**: `UNIMPLEMENTED`, as the suite requires.
//! - **Echo Status**: a request whose `response_status` has a non-zero code ends the call with
//!   that code and message, and no further request is read.
//! - **Echo Metadata**: `x-grpc-test-echo-initial` comes back in the response headers and
//!   `x-grpc-test-echo-trailing-bin` in the trailers (through the shim's
//!   [`grpc_lambda::Trailers`], which tonic lacks for a successful call).
//! - **CompressedRequest**: compressed requests are not accepted, so a request with
//!   `expect_compressed: true` is `INVALID_ARGUMENT` (the answer the suite's feature probe expects
//!   from such a server). `response_compressed` is ignored: responses are never compressed.
//!
//! Every payload is bounded by [`MAX_PAYLOAD_LEN`]; a larger one is `RESOURCE_EXHAUSTED`.
#![deny(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use http::{HeaderName, HeaderValue};
use tokio::sync::mpsc;
use tonic::metadata::{AsciiMetadataValue, BinaryMetadataValue};
use tonic::{Code, Request, Response, Status, Streaming};

/// The generated messages, server and client for `package grpc.testing`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod grpc_testing {
    tonic::include_proto!("grpc.testing");
}

use grpc_testing::test_service_server::TestService;
use grpc_testing::{
    EchoStatus, Empty, Payload, PayloadType, ResponseParameters, SimpleRequest, SimpleResponse,
    StreamingInputCallRequest, StreamingInputCallResponse, StreamingOutputCallRequest,
    StreamingOutputCallResponse,
};

/// Request header echoed in the response headers ("Echo Metadata").
pub const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";

/// Request header echoed in the trailers ("Echo Metadata").
pub const ECHO_TRAILING_BIN: &str = "x-grpc-test-echo-trailing-bin";

/// The largest payload body the server builds: gRPC's default maximum message size (4 MiB),
/// which is also the shim's default limit for a response message.
pub const MAX_PAYLOAD_LEN: usize = 4 * 1024 * 1024;

/// How many responses a streaming call may have produced and not yet sent.
const STREAM_BUFFER: usize = 16;

/// The service.
#[derive(Clone, Copy, Debug, Default)]
pub struct InteropService;

/// The echo metadata of one call.
#[derive(Clone, Default)]
struct Echo {
    initial: Option<AsciiMetadataValue>,
    trailing: Option<BinaryMetadataValue>,
}

impl Echo {
    /// Reads the echo headers of `request`, and queues the trailing one for the trailers: the
    /// shim sends what [`grpc_lambda::Trailers`] holds whether the call succeeds or fails.
    fn of<T>(request: &Request<T>) -> Self {
        let echo = Self {
            initial: request.metadata().get(ECHO_INITIAL).cloned(),
            trailing: request.metadata().get_bin(ECHO_TRAILING_BIN).cloned(),
        };
        let trailers = request.extensions().get::<grpc_lambda::Trailers>();
        if let (Some(trailers), Some(value)) = (trailers, &echo.trailing) {
            // The value is sent as it came: base64 text, as `-bin` metadata travels.
            if let Ok(value) = HeaderValue::from_bytes(value.as_encoded_bytes()) {
                trailers.append(HeaderName::from_static(ECHO_TRAILING_BIN), value);
            }
        }
        echo
    }

    /// The response, with the initial echo in its headers.
    fn respond<R>(&self, message: R) -> Response<R> {
        let mut response = Response::new(message);
        if let Some(value) = &self.initial {
            response.metadata_mut().insert(ECHO_INITIAL, value.clone());
        }
        response
    }
}

/// The status a request asks for ("Echo Status"), if it asks for one.
fn echo_status(status: Option<&EchoStatus>) -> Option<Status> {
    let status = status.filter(|status| status.code != 0)?;
    Some(Status::new(Code::from(status.code), status.message.clone()))
}

/// Only `COMPRESSABLE` (zeros) is defined; any other type is refused.
fn check_payload_type(response_type: i32) -> Result<(), Status> {
    if PayloadType::try_from(response_type).is_ok() {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "response_type {response_type} is not supported: only COMPRESSABLE (0) is"
        )))
    }
}

/// Compressed requests are not accepted, so one the client says is compressed was not.
fn check_not_expecting_compression(expect: Option<&grpc_testing::BoolValue>) -> Result<(), Status> {
    if expect.is_some_and(|expect| expect.value) {
        return Err(Status::invalid_argument(
            "expect_compressed is set, but this server does not accept compressed requests",
        ));
    }
    Ok(())
}

/// A payload of `size` zero bytes.
fn payload(size: i32) -> Result<Payload, Status> {
    let len = usize::try_from(size).map_err(|_| {
        Status::invalid_argument(format!("a response size of {size} bytes is negative"))
    })?;
    if len > MAX_PAYLOAD_LEN {
        return Err(Status::resource_exhausted(format!(
            "a response payload of {len} bytes is over the limit of {MAX_PAYLOAD_LEN} bytes"
        )));
    }
    Ok(Payload {
        r#type: PayloadType::Compressable.into(),
        body: vec![0; len],
    })
}

/// A response stream fed by a task: the responses are produced with their pauses while the
/// shim sends what is ready. When the call ends early (the deadline, the client gone), the
/// receiver is dropped and the task stops at its next send.
pub struct Responses(mpsc::Receiver<Result<StreamingOutputCallResponse, Status>>);

impl Stream for Responses {
    type Item = Result<StreamingOutputCallResponse, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

type Sender = mpsc::Sender<Result<StreamingOutputCallResponse, Status>>;

/// Sends the responses one request asks for. `Err(())` when the call is over: the receiver is
/// gone, or an error status was sent.
async fn answer(request: &StreamingOutputCallRequest, responses: &Sender) -> Result<(), ()> {
    let checked = check_payload_type(request.response_type);
    if let Some(status) = echo_status(request.response_status.as_ref()).or(checked.err()) {
        let _ = responses.send(Err(status)).await;
        return Err(());
    }
    for ResponseParameters {
        size, interval_us, ..
    } in &request.response_parameters
    {
        let pause = u64::try_from(*interval_us).unwrap_or(0);
        if pause > 0 {
            tokio::time::sleep(Duration::from_micros(pause)).await;
        }
        let item = payload(*size).map(|payload| StreamingOutputCallResponse {
            payload: Some(payload),
        });
        let failed = item.is_err();
        responses.send(item).await.map_err(|_| ())?;
        if failed {
            return Err(());
        }
    }
    Ok(())
}

/// Reads the next request of a stream; a broken stream ends the call with its status.
async fn next_request<T>(requests: &mut Streaming<T>, responses: &Sender) -> Option<T> {
    match requests.message().await {
        Ok(next) => next,
        Err(status) => {
            let _ = responses.send(Err(status)).await;
            None
        }
    }
}

#[tonic::async_trait]
impl TestService for InteropService {
    async fn empty_call(&self, request: Request<Empty>) -> Result<Response<Empty>, Status> {
        Ok(Echo::of(&request).respond(Empty {}))
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        let echo = Echo::of(&request);
        let request = request.get_ref();
        if let Some(status) = echo_status(request.response_status.as_ref()) {
            return Err(status);
        }
        check_payload_type(request.response_type)?;
        check_not_expecting_compression(request.expect_compressed.as_ref())?;
        Ok(echo.respond(SimpleResponse {
            payload: Some(payload(request.response_size)?),
            ..SimpleResponse::default()
        }))
    }

    type StreamingOutputCallStream = Responses;

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
    ) -> Result<Response<Responses>, Status> {
        let echo = Echo::of(&request);
        let request = request.into_inner();
        if let Some(status) = echo_status(request.response_status.as_ref()) {
            return Err(status);
        }
        check_payload_type(request.response_type)?;
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let _ = answer(&request, &sender).await;
        });
        Ok(echo.respond(Responses(receiver)))
    }

    async fn streaming_input_call(
        &self,
        request: Request<Streaming<StreamingInputCallRequest>>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let echo = Echo::of(&request);
        let mut requests = request.into_inner();
        let mut total: usize = 0;
        while let Some(message) = requests.message().await? {
            check_not_expecting_compression(message.expect_compressed.as_ref())?;
            let len = message.payload.map_or(0, |payload| payload.body.len());
            total = total.saturating_add(len);
        }
        let aggregated_payload_size = i32::try_from(total).map_err(|_| {
            Status::resource_exhausted(format!(
                "the aggregated payload size {total} does not fit the response's int32"
            ))
        })?;
        Ok(echo.respond(StreamingInputCallResponse {
            aggregated_payload_size,
        }))
    }

    type FullDuplexCallStream = Responses;

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<Responses>, Status> {
        let echo = Echo::of(&request);
        let mut requests = request.into_inner();
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            while let Some(request) = next_request(&mut requests, &sender).await {
                if answer(&request, &sender).await.is_err() {
                    return;
                }
            }
        });
        Ok(echo.respond(Responses(receiver)))
    }

    type HalfDuplexCallStream = Responses;

    async fn half_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<Responses>, Status> {
        let echo = Echo::of(&request);
        let mut requests = request.into_inner();
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let mut buffered = Vec::new();
            while let Some(request) = next_request(&mut requests, &sender).await {
                buffered.push(request);
            }
            for request in &buffered {
                if answer(request, &sender).await.is_err() {
                    return;
                }
            }
        });
        Ok(echo.respond(Responses(receiver)))
    }

    async fn unimplemented_call(&self, request: Request<Empty>) -> Result<Response<Empty>, Status> {
        let _ = Echo::of(&request);
        Err(Status::unimplemented(
            "grpc.testing.TestService/UnimplementedCall is not implemented, as the interop suite requires",
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn payloads_are_zeros_of_the_asked_size_within_the_limit() {
        let body = payload(314_159).unwrap().body;
        assert_eq!(body.len(), 314_159);
        assert!(body.iter().all(|byte| *byte == 0));
        assert_eq!(payload(0).unwrap().body.len(), 0);
        assert_eq!(payload(-1).unwrap_err().code(), Code::InvalidArgument);
        let over = i32::try_from(MAX_PAYLOAD_LEN + 1).unwrap();
        let status = payload(over).unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "a response payload of 4194305 bytes is over the limit of 4194304 bytes"
        );
    }

    #[test]
    fn only_a_non_zero_echo_status_ends_the_call() {
        assert!(echo_status(None).is_none());
        let ok = EchoStatus {
            code: 0,
            message: "ignored".into(),
        };
        assert!(echo_status(Some(&ok)).is_none());
        let unknown = EchoStatus {
            code: 2,
            message: "test status message".into(),
        };
        let status = echo_status(Some(&unknown)).unwrap();
        assert_eq!(status.code(), Code::Unknown);
        assert_eq!(status.message(), "test status message");
    }

    #[tokio::test]
    async fn streaming_output_sends_one_response_per_parameter_then_stops() {
        let request = StreamingOutputCallRequest {
            response_parameters: [31_415, 9, 2_653, 58_979]
                .into_iter()
                .map(|size| ResponseParameters {
                    size,
                    ..ResponseParameters::default()
                })
                .collect(),
            ..StreamingOutputCallRequest::default()
        };
        let response = InteropService
            .streaming_output_call(Request::new(request))
            .await
            .unwrap();
        let mut responses = response.into_inner();
        let mut sizes = Vec::new();
        while let Some(item) =
            std::future::poll_fn(|cx| Pin::new(&mut responses).poll_next(cx)).await
        {
            sizes.push(item.unwrap().payload.unwrap().body.len());
        }
        assert_eq!(sizes, [31_415, 9, 2_653, 58_979]);
    }
}
