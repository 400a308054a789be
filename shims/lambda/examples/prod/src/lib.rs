//! `api.Prod` (`proto/prod.proto`) as a plain tonic service, served from Lambda by `main.rs`.
//!
//! - `/api.Prod/Alive`: `"Hello, world." + request.message`.
//! - `/api.Prod/Fail`: `INVALID_ARGUMENT`, `"bad: " + request.message`, with
//!   `grpc-status-details-bin` (a `google.rpc.Status` with the same code and message).
//! - `/api.Prod/Count`: `n` messages `CountResponse { n: i, message: "<i>" }`, `delay_ms` apart.
//! - Every method echoes request header `x-echo: V` as response header `x-echo: V` and trailer
//!   `x-echo-trailer: V`; `x-echo-bin` likewise as `x-echo-bin` and `x-echo-trailer-bin`.
//! - Any other method under `/api.Prod/` answers `UNIMPLEMENTED` (tonic's generated router).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use http::{HeaderName, HeaderValue};
use prost::Message;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Request, Response, Status};

/// The generated messages and server for `package api`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod api {
    tonic::include_proto!("api");
}

/// The encoded `FileDescriptorSet` of `proto/prod.proto`, written by `build.rs`: what the shim
/// needs to serve JSON clients and Connect GET (`grpc_lambda::json::Descriptors::decode`).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/prod_descriptor.bin"));

use api::prod_server::Prod;
use api::{AliveRequest, AliveResponse, CountRequest, CountResponse};

/// `google.rpc.Status`, the payload of `grpc-status-details-bin`.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    /// The status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// The details: `google.protobuf.Any`s.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`: a message and its type's URL.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoAny {
    /// `type.googleapis.com/<full type name>`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The serialized message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.ErrorInfo`: why a call failed, machine-readably.
#[derive(Clone, PartialEq, Message)]
pub struct ErrorInfo {
    /// The reason, UPPER_SNAKE_CASE.
    #[prost(string, tag = "1")]
    pub reason: String,
    /// The domain the reason belongs to.
    #[prost(string, tag = "2")]
    pub domain: String,
}

/// The `ErrorInfo` `Fail` attaches: reason `BAD_MESSAGE`, domain `example.grpc-lambda`.
pub fn fail_error_info() -> ErrorInfo {
    ErrorInfo {
        reason: "BAD_MESSAGE".to_owned(),
        domain: "example.grpc-lambda".to_owned(),
    }
}

/// `Fail`'s `grpc-status-details-bin`: a `google.rpc.Status` with its code, `message`, and the
/// [`fail_error_info`] detail.
pub fn fail_status_details(message: &str) -> Vec<u8> {
    RpcStatus {
        code: Code::InvalidArgument as i32,
        message: message.to_owned(),
        details: vec![ProtoAny {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".to_owned(),
            value: fail_error_info().encode_to_vec(),
        }],
    }
    .encode_to_vec()
}

/// The service.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProdService;

/// The echo header names.
const ECHO: &str = "x-echo";
const ECHO_BIN: &str = "x-echo-bin";
const ECHO_TRAILER: &str = "x-echo-trailer";
const ECHO_TRAILER_BIN: &str = "x-echo-trailer-bin";

/// The request's echo values, as sent (a `-bin` value stays base64 text).
#[derive(Clone, Default)]
struct Echo {
    text: Option<MetadataValue<tonic::metadata::Ascii>>,
    binary: Option<MetadataValue<tonic::metadata::Binary>>,
}

impl Echo {
    fn of<T>(request: &Request<T>) -> Self {
        Self {
            text: request.metadata().get(ECHO).cloned(),
            binary: request.metadata().get_bin(ECHO_BIN).cloned(),
        }
    }

    /// Echoes into response headers.
    fn headers(&self, metadata: &mut MetadataMap) {
        if let Some(value) = &self.text {
            metadata.insert(ECHO, value.clone());
        }
        if let Some(value) = &self.binary {
            metadata.insert_bin(ECHO_BIN, value.clone());
        }
    }

    /// Echoes into trailers: through the shim's [`grpc_lambda::Trailers`] on success, since tonic
    /// has no trailers of its own for a successful call.
    fn trailers<T>(&self, request: &Request<T>) {
        let Some(trailers) = request.extensions().get::<grpc_lambda::Trailers>() else {
            return;
        };
        let pairs = [
            (
                ECHO_TRAILER,
                self.text.as_ref().map(|v| v.as_encoded_bytes()),
            ),
            (
                ECHO_TRAILER_BIN,
                self.binary.as_ref().map(|v| v.as_encoded_bytes()),
            ),
        ];
        for (name, value) in pairs {
            if let Some(Ok(value)) = value.map(HeaderValue::from_bytes) {
                trailers.append(HeaderName::from_static(name), value);
            }
        }
    }

    /// Echoes into the metadata of an error status, which travels as trailers.
    fn status(&self, status: &mut Status) {
        let metadata = status.metadata_mut();
        self.headers(metadata);
        if let Some(value) = &self.text {
            metadata.insert(ECHO_TRAILER, value.clone());
        }
        if let Some(value) = &self.binary {
            metadata.insert_bin(ECHO_TRAILER_BIN, value.clone());
        }
    }
}

fn respond<T, R>(request: &Request<T>, echo: &Echo, message: R) -> Response<R> {
    let mut response = Response::new(message);
    echo.headers(response.metadata_mut());
    echo.trailers(request);
    response
}

/// The `Count` stream: `n` messages, `delay` apart.
pub struct CountStream {
    next: i32,
    n: i32,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Stream for CountStream {
    type Item = Result<CountResponse, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.next > self.n {
            return Poll::Ready(None);
        }
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        let i = self.next;
        self.next += 1;
        if self.next <= self.n && !self.delay.is_zero() {
            self.sleep = Some(Box::pin(tokio::time::sleep(self.delay)));
        }
        Poll::Ready(Some(Ok(CountResponse {
            n: i,
            message: i.to_string(),
        })))
    }
}

use std::future::Future as _;

#[tonic::async_trait]
impl Prod for ProdService {
    async fn alive(
        &self,
        request: Request<AliveRequest>,
    ) -> Result<Response<AliveResponse>, Status> {
        let echo = Echo::of(&request);
        let message = format!("Hello, world.{}", request.get_ref().message);
        Ok(respond(&request, &echo, AliveResponse { message }))
    }

    async fn fail(
        &self,
        request: Request<AliveRequest>,
    ) -> Result<Response<AliveResponse>, Status> {
        let echo = Echo::of(&request);
        let message = format!("bad: {}", request.get_ref().message);
        let details = fail_status_details(&message);
        let mut status = Status::with_details(Code::InvalidArgument, message, details.into());
        echo.status(&mut status);
        Err(status)
    }

    type CountStream = CountStream;

    async fn count(&self, request: Request<CountRequest>) -> Result<Response<CountStream>, Status> {
        let echo = Echo::of(&request);
        let CountRequest { n, delay_ms } = *request.get_ref();
        let stream = CountStream {
            next: 1,
            n,
            delay: Duration::from_millis(u64::try_from(delay_ms).unwrap_or(0)),
            sleep: None,
        };
        Ok(respond(&request, &echo, stream))
    }
}
