//! The entry points: [`Shim::run`] serves invocations until the process ends; [`Shim::handle`]
//! and [`Shim::handle_streaming`] answer one event. Each takes the event to its request, answers
//! a preflight or a request that is no call, and hands a call to the checks (`request.rs`), the
//! handler (`call.rs`) and the reply's encoding (`reply.rs`).

use std::sync::Arc;

use bytes::Bytes;
use grpc_lambda_core::ContentType;
use grpc_lambda_protocol::{metadata_to_headers, NotACall};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use lambda_runtime::{FunctionResponse, MetadataPrelude, StreamResponse};

use crate::call;
use crate::error::Error;
use crate::event::{
    Event, EventError, EventResponse, HttpRequest, ResponseBody, ResponseJson, Source,
};
use crate::invocation;
use crate::reply::{self, Reply};
use crate::request::{self, Checks};
use crate::service::Handler;
use crate::shim::Shim;
use crate::streaming::{self, ChunkStream, Sink};

impl<H: Handler> Shim<H> {
    /// Serves Lambda invocations until the process ends.
    ///
    /// # Errors
    ///
    /// When the Lambda Runtime API cannot be reached.
    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        #[cfg(feature = "logs")]
        if !tracing::dispatcher::has_been_set() {
            lambda_runtime::tracing::init_default_subscriber();
        }
        // Decided before the first answer, so a change in `serde_json` is logged at start-up.
        crate::event::raw_token_works();
        let shim = Arc::new(self);
        // Answers go to the runtime as written JSON (`ResponseJson`), their frames dropped
        // before the runtime copies it. One handler for both modes, so the runtime and its
        // layers are compiled once.
        invocation::run(move |event, context| {
            let shim = Arc::clone(&shim);
            async move {
                if !shim.response_streaming {
                    let response = shim.handle(event, context).await?;
                    return Ok(FunctionResponse::BufferedResponse(ResponseJson::from(
                        response,
                    )));
                }
                Ok(match shim.handle_streaming(event, context).await? {
                    FunctionResponse::BufferedResponse(response) => {
                        FunctionResponse::BufferedResponse(ResponseJson::from(response))
                    }
                    FunctionResponse::StreamingResponse(stream) => {
                        FunctionResponse::StreamingResponse(stream)
                    }
                })
            }
        })
        .await
    }

    /// One invocation with response streaming on: a stream (prelude, then messages as they are
    /// produced, then the trailer frame) for the callers that read one, the buffered answer
    /// for the others.
    ///
    /// # Errors
    ///
    /// [`EventError`] when the event is not an HTTP event from a known front door.
    pub async fn handle_streaming(
        self: Arc<Self>,
        event: Event,
        lambda: lambda_runtime::Context,
    ) -> Result<FunctionResponse<EventResponse, ChunkStream>, EventError> {
        let request = event.into_request()?;
        let lambda = Box::new(lambda);
        if !matches!(request.source, Source::FunctionUrl | Source::Proxy) {
            return Ok(FunctionResponse::BufferedResponse(
                self.handle_request(request, lambda).await,
            ));
        }
        let content_type = request.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
        let content_type = match grpc_lambda_protocol::check_call(&request.method, content_type) {
            Ok(content_type) => content_type,
            // A preflight, a request that is not a gRPC call, or a call of another protocol:
            // a Connect stream streamed, anything else the buffered answer, streamed.
            Err(refusal) => {
                let response = if request.method == Method::OPTIONS {
                    self.handle_request(request, lambda).await
                } else {
                    // Boxed, as in `handle_request`: the gRPC calls' future stays its size.
                    match Box::pin(Arc::clone(&self).stream_translated(request, refusal, lambda))
                        .await
                    {
                        Ok(stream) => return Ok(FunctionResponse::StreamingResponse(stream)),
                        Err(response) => response,
                    }
                };
                let body = response.decoded_body().into_owned();
                return Ok(FunctionResponse::StreamingResponse(StreamResponse {
                    metadata_prelude: MetadataPrelude {
                        status_code: response.status,
                        headers: response.headers,
                        cookies: Vec::new(),
                    },
                    stream: ChunkStream::once(body.into()),
                }));
            }
        };
        let (sink, head, stream) = Sink::new(content_type.protocol().is_text());
        let origin = request.headers.get(http::header::ORIGIN).cloned();
        let source = request.source;
        let shim = Arc::clone(&self);
        tokio::spawn(async move {
            let mut reply = Reply::new(source, streaming::LAMBDA_STREAMING_RESPONSE_LIMIT);
            reply.sink = Some(sink);
            if let Err(err) = shim.call(request, content_type, lambda, &mut reply).await {
                reply.fail(&err);
            }
            reply::finish_stream(content_type, reply);
        });
        // The metadata is known before the first message (or at the end, for an answer without
        // messages): that is when the prelude can go.
        let metadata = head.await.unwrap_or_default();
        let mut headers = HeaderMap::with_capacity(metadata.len() + 3);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(content_type.response_content_type()),
        );
        reply::extend_headers(&mut headers, metadata);
        self.cors.apply(origin.as_ref(), &mut headers);
        Ok(FunctionResponse::StreamingResponse(StreamResponse {
            metadata_prelude: MetadataPrelude {
                status_code: StatusCode::OK,
                headers,
                cookies: Vec::new(),
            },
            stream,
        }))
    }

    /// One invocation, from the event JSON to the response JSON, as the Lambda runtime does it:
    /// the event read from its buffer ([`Event::from_bytes`]), the response serialized as the
    /// runtime serializes it (it copies the written JSON into a buffer of its own).
    ///
    /// What the benches measure; an application calls [`Shim::run`].
    ///
    /// # Errors
    ///
    /// A message when the JSON is not an event this crate knows.
    #[doc(hidden)]
    pub async fn invoke(
        &self,
        event_json: impl Into<Bytes>,
        lambda: &lambda_runtime::Context,
    ) -> Result<Vec<u8>, String> {
        let event = Event::from_bytes(&event_json.into()).map_err(|err| err.to_string())?;
        let request = event.into_request().map_err(|err| err.to_string())?;
        // The runtime hands each invocation a context of its own.
        let response = self.handle_request(request, Box::new(lambda.clone())).await;
        serde_json::to_vec(&ResponseJson::from(response)).map_err(|err| err.to_string())
    }

    /// One invocation: the event in, the response in the event's shape out.
    ///
    /// # Errors
    ///
    /// [`EventError`] when the event is not an HTTP event from a known front door; every other
    /// problem is answered to the caller as a gRPC status.
    pub async fn handle(
        &self,
        event: Event,
        lambda: lambda_runtime::Context,
    ) -> Result<EventResponse, EventError> {
        let request = event.into_request()?;
        Ok(self.handle_request(request, Box::new(lambda)).await)
    }

    /// The context is boxed from here on: it is large, and each async step it passes through
    /// would copy it (into the step's future, with the future into its parent's, out again).
    async fn handle_request(
        &self,
        request: HttpRequest,
        lambda: Box<lambda_runtime::Context>,
    ) -> EventResponse {
        let source = request.source;
        if request.method == Method::OPTIONS {
            let (status, headers) = self.cors.preflight(&request.headers);
            let mut response = EventResponse::new(source, status);
            response.headers = headers;
            return response;
        }
        let content_type = request.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
        let content_type = match grpc_lambda_protocol::check_call(&request.method, content_type) {
            Ok(content_type) => content_type,
            // Connect, Twirp, `+json`, or no call at all. Boxed: its state would otherwise
            // widen this future, which every gRPC call's invocation carries and moves.
            Err(refusal) => return Box::pin(self.translated(request, refusal, lambda)).await,
        };
        let mut reply = Reply::new(source, reply::max_body_len(source));
        let origin = request.headers.get(http::header::ORIGIN).cloned();
        if let Err(err) = self.call(request, content_type, lambda, &mut reply).await {
            reply.fail(&err);
        }
        let mut response = reply::encode(source, content_type, reply);
        self.cors.apply(origin.as_ref(), &mut response.headers);
        response
    }

    /// The checks, then the call under its deadline.
    pub(crate) async fn call(
        &self,
        request: HttpRequest,
        content_type: ContentType,
        lambda: Box<lambda_runtime::Context>,
        reply: &mut Reply,
    ) -> Result<(), Error> {
        let checks = Checks {
            max_message_len: self.max_message_len,
            safety_margin: self.safety_margin,
            keep_first_frame: self.handler.reads_frames(),
        };
        let call = request::check(request, content_type, lambda, checks)?;
        call::serve(&self.handler, call, reply).await
    }
}

/// An answer for a request that is not a gRPC call at all: an HTTP status, the reason as text,
/// and the status a gRPC client would map it to ([`NotACall::status`], as the proxy answers
/// it). CORS is the caller's to apply.
pub(crate) fn not_a_call(source: Source, refusal: &NotACall) -> EventResponse {
    let mut response = EventResponse::new(source, refusal.http_status());
    response.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    metadata_to_headers(&refusal.status().to_trailers(), &mut response.headers);
    response.body = ResponseBody::text_of(&format!("{refusal}\n"));
    response
}
