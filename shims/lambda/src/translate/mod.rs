//! Connect, Twirp, and gRPC or gRPC-Web with JSON: the calls the gRPC check refuses, served from
//! the same service. The protocol is read from the request (`grpc_lambda_protocol::read_call`:
//! method, path, content type, query); the request becomes a gRPC call for the service
//! (`incoming.rs`), runs as every call runs (`request.rs`, `call.rs`), and its reply goes back
//! in the caller's protocol (`answer.rs`), messages transcoded where the caller speaks JSON
//! (`messages.rs`).
//!
//! gRPC and gRPC-Web with protobuf never come here: they pass the gRPC check and pay nothing
//! for the other protocols.

mod answer;
mod incoming;
mod messages;

use grpc_lambda_core::content_type::{Codec, MediaType};
use grpc_lambda_core::metadata::format_timeout;
use grpc_lambda_core::{ContentType, Envelope, Metadata};
use grpc_lambda_protocol::call::{ErrorForm, Protocol, Refusal};
use grpc_lambda_protocol::connect::{self, GetCompression};
use grpc_lambda_protocol::{read_call, NotACall, CLIENT_PROTOCOL_HEADER};
use http::header::{
    HeaderName, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ORIGIN,
};
use http::{HeaderMap, Method, StatusCode};

use self::answer::CONNECT_CONTENT_ENCODING;
use self::messages::Messages;
use crate::body;
use crate::deadline::GRPC_TIMEOUT;
use crate::entry::not_a_call;
use crate::error::Error;
use crate::event::{EventBody, EventResponse, HttpRequest, ResponseBody, Source};
use crate::reply::{self, Reply};
use crate::request::GRPC_ENCODING;
use crate::service::Handler;
use crate::shim::Shim;
use crate::streaming::{self, ChunkStream, Sink};
use lambda_runtime::{MetadataPrelude, StreamResponse};

/// A call of a protocol other than gRPC and gRPC-Web with protobuf.
#[derive(Debug)]
pub(crate) struct Caller {
    protocol: Protocol,
    /// The request's content type; `None` for a Connect GET.
    media_type: Option<MediaType>,
    codec: Codec,
    /// `/<package.Service>/<Method>` (a Twirp path without its `/twirp` prefix).
    path: String,
    /// What the client accepts: `accept-encoding`, or a Connect stream's
    /// `connect-accept-encoding`.
    accept_encoding: Option<HeaderValue>,
    /// A gRPC-Web call from the proxy on behalf of a Connect or Twirp client
    /// ([`grpc_lambda_protocol::CLIENT_PROTOCOL_HEADER`]): a request message it cannot read is
    /// that client's `INVALID_ARGUMENT`, as it is when the client calls the function directly.
    for_connect_client: bool,
}

impl Caller {
    /// The answer's content type: the request's (a Connect GET's, from its `encoding`).
    fn content_type(&self) -> HeaderValue {
        let name = match (self.media_type, self.codec) {
            (Some(media_type), _) => media_type.response_content_type(),
            (None, Codec::Json) => "application/json",
            (None, Codec::Proto) => "application/proto",
        };
        HeaderValue::from_static(name)
    }

    fn is_connect(&self) -> bool {
        self.protocol.is_connect()
    }
}

/// Connect's headers and the hop's, as names: a header looked up by a `&str` is parsed as a
/// name first, on every call.
const CLIENT_PROTOCOL: HeaderName = HeaderName::from_static(CLIENT_PROTOCOL_HEADER);
const CONNECT_PROTOCOL_VERSION: HeaderName =
    HeaderName::from_static(connect::CONNECT_PROTOCOL_VERSION);
const CONNECT_TIMEOUT_MS: HeaderName = HeaderName::from_static(connect::CONNECT_TIMEOUT_MS);
const CONNECT_ACCEPT_ENCODING: HeaderName =
    HeaderName::from_static(connect::CONNECT_ACCEPT_ENCODING);
const GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");

/// Headers that belong to Connect's framing, not to the call's metadata: the service gets a
/// gRPC call, with `grpc-timeout` standing for `connect-timeout-ms`.
const PROTOCOL_HEADERS: [HeaderName; 8] = [
    CLIENT_PROTOCOL,
    CONNECT_PROTOCOL_VERSION,
    CONNECT_TIMEOUT_MS,
    CONNECT_CONTENT_ENCODING,
    CONNECT_ACCEPT_ENCODING,
    CONTENT_ENCODING,
    GRPC_ENCODING,
    GRPC_ACCEPT_ENCODING,
];

impl<H: Handler> Shim<H> {
    /// A request the gRPC check refused with `refusal`: a call of another protocol or codec,
    /// served; anything else answered as before, in the protocol's own error form when the
    /// request is one protocol's.
    pub(crate) async fn translated(
        &self,
        request: HttpRequest,
        refusal: NotACall,
        lambda: Box<lambda_runtime::Context>,
    ) -> EventResponse {
        let origin = request.headers.get(ORIGIN).cloned();
        let mut response = match self.prepare(request, refusal) {
            Ok(prepared) => self.serve_prepared(prepared, lambda).await,
            Err(response) => *response,
        };
        self.cors.apply(origin.as_ref(), &mut response.headers);
        response
    }

    /// [`Shim::translated`] for a caller that reads a stream (response streaming on, a
    /// Function URL or the proxy): a Connect stream's messages leave as the service produces
    /// them, rewritten for the caller, the end-stream message last. Any other call, or a
    /// refusal, is the buffered answer (`Err`), which the caller streams as it is.
    pub(crate) async fn stream_translated(
        self: std::sync::Arc<Self>,
        request: HttpRequest,
        refusal: NotACall,
        lambda: Box<lambda_runtime::Context>,
    ) -> Result<StreamResponse<ChunkStream>, EventResponse> {
        let origin = request.headers.get(ORIGIN).cloned();
        let prepared = match self.prepare(request, refusal) {
            Ok(prepared) if prepared.caller.protocol == Protocol::ConnectStream => prepared,
            Ok(prepared) => {
                let mut response = self.serve_prepared(prepared, lambda).await;
                self.cors.apply(origin.as_ref(), &mut response.headers);
                return Err(response);
            }
            Err(mut response) => {
                self.cors.apply(origin.as_ref(), &mut response.headers);
                return Err(*response);
            }
        };
        let (sink, head, stream) = Sink::new(false);
        let sink = sink.with_rewrite(answer::stream_rewrite(prepared.messages.clone()));
        let content_type = prepared.caller.content_type();
        let shim = std::sync::Arc::clone(&self);
        tokio::spawn(async move {
            let Prepared { request, .. } = prepared;
            let mut reply = Reply::new(request.source, streaming::LAMBDA_STREAMING_RESPONSE_LIMIT);
            reply.sink = Some(sink);
            if let Err(err) = shim
                .call(request, ContentType::Grpc, lambda, &mut reply)
                .await
            {
                reply.fail(&err);
            }
            answer::finish_stream(reply);
        });
        // The metadata is known before the first message, or at the end.
        let metadata = head.await.unwrap_or_default();
        let mut headers = answer::metadata_headers(metadata);
        headers.insert(CONTENT_TYPE, content_type);
        self.cors.apply(origin.as_ref(), &mut headers);
        Ok(StreamResponse {
            metadata_prelude: MetadataPrelude {
                status_code: StatusCode::OK,
                headers,
                cookies: Vec::new(),
            },
            stream,
        })
    }

    /// The caller, and its call as the service receives it; or the answer that refuses it
    /// (CORS not yet applied).
    fn prepare(
        &self,
        request: HttpRequest,
        refusal: NotACall,
    ) -> Result<Prepared, Box<EventResponse>> {
        let path = match &request.path {
            Ok(path) => path.as_str(),
            Err(err) => err.path(),
        };
        let content_type = request.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
        let query = (!request.query.is_empty()).then_some(request.query.as_str());
        let call = match read_call(&request.method, path, content_type, query) {
            Ok(call) => call,
            Err(refused) if refused.error_form() == ErrorForm::Http => {
                return Err(Box::new(not_a_call(request.source, refused.reason())))
            }
            Err(refused) => return Err(Box::new(refused_answer(request.source, None, &refused))),
        };
        if call.protocol.is_grpc() && call.codec == Codec::Proto {
            // What the gRPC check refuses, it refuses for every reader.
            return Err(Box::new(not_a_call(request.source, &refusal)));
        }
        let accept_encoding = if call.protocol == Protocol::ConnectStream {
            request.headers.get(CONNECT_ACCEPT_ENCODING)
        } else {
            request.headers.get(ACCEPT_ENCODING)
        };
        let for_connect_client = request.source == Source::Proxy
            && call.protocol.is_grpc()
            && request
                .headers
                .get(CLIENT_PROTOCOL)
                .is_some_and(|value| matches!(value.as_bytes(), b"connect" | b"twirp"));
        let caller = Caller {
            protocol: call.protocol,
            media_type: call.media_type,
            codec: call.codec,
            path: call.path.canonical().to_owned(),
            accept_encoding: accept_encoding.cloned(),
            for_connect_client,
        };
        let source = request.source;
        match self.translate(request, &caller) {
            Ok((request, messages)) => Ok(Prepared {
                caller,
                request,
                messages,
            }),
            Err(Failure::Call(err)) => Err(Box::new(answer::error(
                source,
                &caller,
                HeaderMap::new(),
                &err,
            ))),
            Err(Failure::Refused(refused)) => {
                Err(Box::new(refused_answer(source, Some(&caller), &refused)))
            }
        }
    }

    /// A prepared call, served and answered buffered (CORS not yet applied).
    async fn serve_prepared(
        &self,
        prepared: Prepared,
        lambda: Box<lambda_runtime::Context>,
    ) -> EventResponse {
        let Prepared {
            caller,
            request,
            messages,
        } = prepared;
        let source = request.source;
        let mut reply = Reply::new(source, reply::max_body_len(source));
        // The body is gRPC frames now: binary gRPC for the checks, as any call.
        if let Err(err) = self
            .call(request, ContentType::Grpc, lambda, &mut reply)
            .await
        {
            reply.fail(&err);
        }
        answer::encode(source, &caller, &messages, reply)
    }

    /// The request as the gRPC call the service receives, and how its messages are
    /// transcoded.
    fn translate(
        &self,
        request: HttpRequest,
        caller: &Caller,
    ) -> Result<(HttpRequest, Messages), Failure> {
        let HttpRequest {
            source,
            path,
            mut headers,
            query,
            body,
            ..
        } = request;
        // The method the front door routed, or a refusal naming the path.
        path.map_err(|err| Failure::Call(Error::Path(err)))?;
        let refuse = |reason| Failure::Refused(Refusal::new(Some(caller.protocol), reason));
        let mut timeout = None;
        if caller.is_connect() {
            // A GET names its version in the query (`connect=v1`), which its reader checks.
            if caller.protocol != Protocol::ConnectUnaryGet {
                let version = headers
                    .get(CONNECT_PROTOCOL_VERSION)
                    .map(HeaderValue::as_bytes);
                connect::check_protocol_version(version)
                    .map_err(|err| refuse(NotACall::ConnectHeader(err)))?;
            }
            if let Some(value) = headers.get(CONNECT_TIMEOUT_MS) {
                let parsed = connect::parse_connect_timeout(value.as_bytes())
                    .map_err(|err| refuse(NotACall::ConnectHeader(err)))?;
                timeout = Some(parsed);
            }
        }
        let get = caller.protocol == Protocol::ConnectUnaryGet;
        let messages = self.messages(caller, get).map_err(Failure::Call)?;
        let max = self.max_message_len;
        let encoding = |name: &HeaderName| headers.get(name).map(HeaderValue::as_bytes);
        let frames = match caller.protocol {
            Protocol::ConnectUnaryGet => {
                let get = connect::parse_get_query(&query, max)
                    .map_err(|err| refuse(NotACall::Query(err)))?;
                let compression = match get.compression {
                    GetCompression::Identity => None,
                    GetCompression::Gzip => Some(&b"gzip"[..]),
                };
                incoming::bare(get.message.into(), compression, &messages, max)
            }
            Protocol::ConnectUnary | Protocol::Twirp => body::decode_request(body, false)
                .and_then(|body| incoming::bare(body, encoding(&CONTENT_ENCODING), &messages, max)),
            Protocol::ConnectStream => body::decode_request(body, false).and_then(|body| {
                incoming::enveloped(
                    &body,
                    Envelope::Connect,
                    encoding(&CONNECT_CONTENT_ENCODING),
                    &messages,
                    max,
                )
            }),
            Protocol::Grpc | Protocol::GrpcWeb | Protocol::GrpcWebText => {
                let envelope = if caller.protocol == Protocol::Grpc {
                    Envelope::Grpc
                } else {
                    Envelope::GrpcWeb
                };
                body::decode_request(body, caller.protocol == Protocol::GrpcWebText).and_then(
                    |body| {
                        incoming::enveloped(
                            &body,
                            envelope,
                            encoding(&GRPC_ENCODING),
                            &messages,
                            max,
                        )
                    },
                )
            }
        }
        .map_err(Failure::Call)?;
        for name in &PROTOCOL_HEADERS {
            headers.remove(name);
        }
        // A Connect or Twirp client's deadline is `connect-timeout-ms` or none: a `grpc-timeout`
        // it sent is not its protocol's and is dropped, as the proxy drops it.
        if !caller.protocol.is_grpc() {
            headers.remove(GRPC_TIMEOUT);
        }
        if let Some(timeout) = timeout {
            if let Ok(value) = HeaderValue::try_from(format_timeout(timeout).as_str()) {
                headers.insert(GRPC_TIMEOUT, value);
            }
        }
        let request = HttpRequest {
            source,
            method: Method::POST,
            path: Ok(caller.path.clone()),
            headers,
            query: String::new(),
            body: EventBody::Binary(frames),
        };
        Ok((request, messages))
    }

    /// How `caller`'s messages are transcoded: protobuf passes as it is; JSON, and any Connect
    /// GET (which only a method without side effects may take), need the service's
    /// descriptors.
    fn messages(&self, caller: &Caller, get: bool) -> Result<Messages, Error> {
        // A unary protocol (Connect unary or GET, Twirp) cannot carry a stream's answer: with
        // the descriptors, a streaming method is refused before the service runs rather than
        // after it answered.
        #[cfg(feature = "json")]
        let streaming = |method: &crate::json::RpcMethod| {
            if caller.protocol != Protocol::ConnectStream
                && !caller.protocol.is_grpc()
                && method.is_server_streaming()
            {
                return Err(Error::StreamingMethod {
                    path: caller.path.clone(),
                    protocol: caller.protocol.as_str(),
                });
            }
            Ok(())
        };
        if caller.codec == Codec::Proto && !get {
            #[cfg(feature = "json")]
            if let Some(method) = self
                .descriptors
                .as_ref()
                .and_then(|d| d.method(&caller.path))
            {
                streaming(method)?;
            }
            return Ok(Messages::proto());
        }
        #[cfg(feature = "json")]
        if let Some(descriptors) = &self.descriptors {
            let method = descriptors
                .method(&caller.path)
                .ok_or_else(|| Error::UnknownMethod {
                    path: caller.path.clone(),
                })?;
            streaming(method)?;
            if get && method.idempotency() != crate::json::Idempotency::NoSideEffects {
                return Err(Error::GetWithSideEffects {
                    path: caller.path.clone(),
                });
            }
            return Ok(match caller.codec {
                Codec::Json => Messages::json(method),
                Codec::Proto => Messages::proto(),
            });
        }
        Err(Error::NoDescriptors {
            path: caller.path.clone(),
            what: if get {
                "a Connect GET"
            } else {
                "a JSON message"
            },
        })
    }
}

/// A translated call, ready for the service.
struct Prepared {
    caller: Caller,
    /// The gRPC call the service receives.
    request: HttpRequest,
    messages: Messages,
}

/// Why a translated call did not reach the service.
enum Failure {
    /// A check of the call failed: answered with its status.
    Call(Error),
    /// The protocol's own headers or query are wrong: answered as the protocol refuses.
    Refused(Refusal),
}

/// A refusal in its protocol's error form (not [`ErrorForm::Http`], which the caller answers
/// as a request that is no call).
fn refused_answer(
    source: crate::event::Source,
    caller: Option<&Caller>,
    refused: &Refusal,
) -> EventResponse {
    let mut response = EventResponse::new(source, refused.http_status());
    match refused.error_form() {
        ErrorForm::Grpc => {
            let content_type = match refused.protocol() {
                Some(Protocol::GrpcWeb) => ContentType::GrpcWeb,
                Some(Protocol::GrpcWebText) => ContentType::GrpcWebText,
                _ => ContentType::Grpc,
            };
            let mut reply = Reply::new(source, 0);
            reply.finish(&refused.status(), Metadata::new());
            response = reply::encode(source, content_type, reply);
            if let Some(caller) = caller {
                response.headers.insert(CONTENT_TYPE, caller.content_type());
            }
        }
        ErrorForm::ConnectEndStream => {
            let content_type = caller.map_or_else(
                || HeaderValue::from_static("application/connect+json"),
                Caller::content_type,
            );
            response.headers.insert(CONTENT_TYPE, content_type);
            let end = refused.json_body().unwrap_or_default();
            response.body = ResponseBody::binary(answer::end_stream(&end));
        }
        ErrorForm::Connect | ErrorForm::Twirp | ErrorForm::Http => {
            response.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static(grpc_lambda_protocol::json::ERROR_CONTENT_TYPE),
            );
            let body = refused.json_body().unwrap_or_default();
            response.body = ResponseBody::text_of(&String::from_utf8_lossy(&body));
        }
    }
    if response.status == StatusCode::OK && refused.error_form() != ErrorForm::Grpc {
        response.status = refused.http_status();
    }
    response
}
