//! A tonic service's methods as [`Router`] routes: the generated trait called directly, with
//! tonic's own request, response and status types (feature `tonic`).

use std::future::Future;

use futures_core::Stream;
use grpc_lambda_core::{Code, Metadata, Status};
use http::header::{HeaderName, CONTENT_TYPE, TE};
use http::{HeaderMap, StatusCode};
use tonic::metadata::MetadataMap;

use crate::error::Error;
use crate::router::{fail, Api, Request, Router, ServerStreaming, Unary};
use crate::service::sealed::Reply;
use crate::service::{metadata_from_headers, take_response_headers};
use crate::Trailers;

impl Router {
    /// Routes `path` (`/package.Service/Method`) to a unary method over tonic's types: a method
    /// of a tonic-generated service trait, called without tonic's HTTP server (feature `tonic`).
    ///
    /// Serving the generated server as a `tower::Service` runs tonic's HTTP-level machinery on
    /// each call: the request body polled into tonic's buffer, the answer framed into a response
    /// body and read back, the status built as a header map. A route leaves only the method
    /// itself to tonic's types, and what the service answers reaches the client as tonic's server
    /// sends it (the crate's README lists the requests the two refuse differently); what does
    /// not run is any `tower` layer around the server.
    ///
    /// The request carries the metadata and extensions a tonic server gets from the shim (the
    /// Lambda context, the [`Source`](crate::Source), [`Trailers`]); the response's metadata
    /// becomes the response headers, and an error status, with its details and metadata, the
    /// trailers, as tonic writes them.
    ///
    /// `grpc-lambda-build` generates these routes for every method of a service; by hand, one
    /// method is:
    ///
    /// ```
    /// # #[derive(Clone, PartialEq, prost::Message)] struct AliveRequest { #[prost(string, tag = "1")] message: String }
    /// # #[derive(Clone, PartialEq, prost::Message)] struct AliveResponse { #[prost(string, tag = "1")] message: String }
    /// # struct MyProd;
    /// # impl MyProd {
    /// #     async fn alive(&self, request: tonic::Request<AliveRequest>)
    /// #         -> Result<tonic::Response<AliveResponse>, tonic::Status> {
    /// #         Ok(tonic::Response::new(AliveResponse { message: request.into_inner().message }))
    /// #     }
    /// # }
    /// use std::sync::Arc;
    ///
    /// let service = Arc::new(MyProd);
    /// let router = grpc_lambda::Router::new().tonic_unary("/api.Prod/Alive", move |request| {
    ///     let service = Arc::clone(&service);
    ///     async move { service.alive(request).await }
    /// });
    /// ```
    pub fn tonic_unary<Req, Resp, F, Fut>(self, path: &str, handler: F) -> Self
    where
        Req: prost::Message + Default + Send + 'static,
        Resp: prost::Message + Send + 'static,
        F: Fn(tonic::Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
    {
        self.route(path, Unary::<F, Req, Resp, Tonic>::new(handler))
    }

    /// Routes `path` to a server-streaming method over tonic's types, as
    /// [`tonic_unary`](Router::tonic_unary) does a unary one: the messages are sent in order,
    /// and a stream item that is an error ends the call with that status.
    pub fn tonic_server_streaming<Req, Resp, F, Fut, S>(self, path: &str, handler: F) -> Self
    where
        Req: prost::Message + Default + Send + 'static,
        Resp: prost::Message + Send + 'static,
        F: Fn(tonic::Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send + 'static,
        S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    {
        self.route(
            path,
            ServerStreaming::<F, Req, Resp, S, Tonic>::new(handler),
        )
    }
}

/// tonic's types.
struct Tonic;

impl Api for Tonic {
    type Request<M> = tonic::Request<M>;
    type Response<M> = tonic::Response<M>;
    type Status = tonic::Status;
    type Added = Trailers;

    fn request<M>(request: Request<M>) -> (tonic::Request<M>, Trailers) {
        let added = Trailers::default();
        (tonic_request(request, added.clone()), added)
    }

    fn respond<M>(response: tonic::Response<M>, reply: &mut Reply) -> Result<(M, Metadata), Error> {
        let (metadata, message, _extensions) = response.into_parts();
        take_metadata(metadata, reply)?;
        Ok((message, Metadata::new()))
    }

    fn fail(reply: &mut Reply, status: &tonic::Status) {
        fail_tonic(reply, status);
    }

    /// None but the front door's, as tonic's server by default.
    fn response_limit(_: usize) -> usize {
        usize::MAX
    }

    fn added(reply: &mut Reply, added: Trailers) {
        added.send(reply);
    }
}

/// Our request as tonic's, with the extensions the shim gives a tower service's request.
fn tonic_request<M>(request: Request<M>, trailers: Trailers) -> tonic::Request<M> {
    let Request {
        message,
        metadata,
        lambda,
        source,
        budget: _,
        started: _,
    } = request;
    let mut extensions = http::Extensions::new();
    extensions.insert(*lambda);
    extensions.insert(source);
    extensions.insert(trailers);
    tonic::Request::from_parts(MetadataMap::from_headers(metadata), extensions, message)
}

/// The headers tonic never sends from a response's metadata (its reserved names, taken out in
/// its order, so that what remains is in the order tonic's server would send it).
const RESERVED: [HeaderName; 5] = [
    TE,
    CONTENT_TYPE,
    HeaderName::from_static(grpc_lambda_core::status::GRPC_MESSAGE),
    HeaderName::from_static("grpc-message-type"),
    HeaderName::from_static(grpc_lambda_core::status::GRPC_STATUS),
];

/// A response's metadata into `reply`'s headers.
fn take_metadata(metadata: MetadataMap, reply: &mut Reply) -> Result<(), Error> {
    let mut headers = metadata.into_headers();
    if headers.is_empty() {
        reply.headers = headers;
        return Ok(());
    }
    for name in &RESERVED {
        headers.remove(name);
    }
    take_response_headers(StatusCode::OK, headers, reply)
}

/// Ends the call with tonic's `status`: its headers (metadata, then code, message and details)
/// are the trailers.
fn fail_tonic(reply: &mut Reply, status: &tonic::Status) {
    let mut headers = HeaderMap::with_capacity(3 + status.metadata().len());
    match status.add_header(&mut headers) {
        Ok(()) => reply.trailers = Some(metadata_from_headers(&headers)),
        Err(err) => fail(
            reply,
            &Status::new(
                Code::Internal,
                format!(
                    "the handler's {:?} status cannot be sent: {}",
                    status.code(),
                    err.message()
                ),
            ),
        ),
    }
}
