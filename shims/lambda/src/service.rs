//! What the shim calls: any `tower::Service` over `http` types (every tonic-generated server,
//! `tonic::service::Routes`), or a [`Router`](crate::Router) of plain async functions.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context as TaskContext, Poll};

use bytes::{Buf, Bytes};
use grpc_lambda_core::Metadata;
use std::sync::{Arc, Mutex};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Version};
use http_body::{Frame as BodyFrame, SizeHint};
use http_body_util::BodyExt;
use tower_service::Service;

use grpc_lambda_protocol::metadata_from_headers;

use crate::error::{BoxError, Error};
use crate::event::path::is_method_path_char;
use crate::reply::Reply;
use crate::request::Call;

/// A future the shim can hold across an invocation.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The request body a `tower::Service` receives: the whole decoded gRPC body, in one chunk.
///
/// The `B` of the `http::Request<B>` a tonic server is handed (tonic's servers accept any
/// `http_body::Body`); a service names it only to be served by the shim.
///
/// The bytes are the buffer the event body was decoded into; handing them over is a reference
/// count, not a copy.
#[derive(Debug, Default)]
pub struct Body {
    data: Option<Bytes>,
}

impl Body {
    /// A body of these bytes.
    pub fn new(data: Bytes) -> Self {
        Self {
            data: (!data.is_empty()).then_some(data),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .data
                .take()
                .map(|data| Ok(BodyFrame::data(data))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

/// Trailing metadata a handler adds to its answer, without wrapping its response body: tonic
/// has no trailers of its own for a successful call.
///
/// The shim puts one in the extensions of every request it hands to a tonic service (its
/// server, a `tower::Service`); a tonic handler reaches it with
/// `request.extensions().get::<grpc_lambda::Trailers>()`. What it holds when the call ends is
/// sent after the service's own trailers, whether the call succeeded or failed.
///
/// # Examples
///
/// ```
/// use grpc_lambda::Trailers;
///
/// let trailers = Trailers::default();
/// trailers.append(http::HeaderName::from_static("x-cost"), http::HeaderValue::from_static("3"));
/// assert_eq!(trailers.take()["x-cost"], "3");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Trailers(Arc<Mutex<HeaderMap>>);

impl Trailers {
    /// Adds a trailer, keeping earlier values of the same name.
    pub fn append(&self, name: HeaderName, value: HeaderValue) {
        self.lock().append(name, value);
    }

    /// Sets a trailer, replacing earlier values of the same name.
    pub fn insert(&self, name: HeaderName, value: HeaderValue) {
        self.lock().insert(name, value);
    }

    /// Takes what was added so far.
    pub fn take(&self) -> HeaderMap {
        std::mem::take(&mut *self.lock())
    }

    /// Sends what the handler added after the trailers `reply` holds: the map itself once the
    /// handler let go of its handle (no lock), else taken under the lock.
    pub(crate) fn send(self, reply: &mut Reply) {
        let added = match Arc::try_unwrap(self.0) {
            Ok(mutex) => mutex
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Err(shared) => Self(shared).take(),
        };
        if !added.is_empty() {
            add_trailers(reply, metadata_from_headers(&added));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HeaderMap> {
        // A handler that panicked while holding the lock left a map that is still usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Something the shim can serve: a `tower::Service<http::Request<Body>>` answering
/// `http::Response<B>` (what tonic generates), or a [`Router`](crate::Router).
///
/// Implemented for every such service that is `Clone + Send + Sync + 'static`; a clone serves
/// each call, as with tonic's own server.
pub trait Handler: sealed::Serve + Send + Sync + 'static {}

impl<T: sealed::Serve + Send + Sync + 'static> Handler for T {}

pub(crate) mod sealed {
    use super::*;

    /// How a handler serves one call.
    pub trait Serve {
        /// Serves `call`, writing the answer into `reply` as it is produced.
        fn serve<'a>(
            &'a self,
            call: Call,
            reply: &'a mut Reply,
        ) -> impl Future<Output = Result<(), Error>> + Send + 'a;

        /// Whether the handler reads [`Call::first_frame`]; a `tower::Service` reads the body.
        fn reads_frames(&self) -> bool {
            false
        }
    }
}

impl Call {
    fn into_http_request(self, trailers: Trailers) -> Result<http::Request<Body>, Error> {
        let mut request = http::Request::new(Body::new(self.body));
        *request.method_mut() = http::Method::POST;
        *request.version_mut() = Version::HTTP_2;
        // The path was checked to be `/service/method`. One of URI path characters only (every
        // gRPC method's) parses from the string's own buffer; any other is parsed from a copy,
        // so that the error can name it.
        let uri = if self.path.bytes().all(is_method_path_char) {
            http::Uri::from_maybe_shared(Bytes::from(self.path))
                .map_err(|source| Error::Uri { path: None, source })
        } else {
            http::Uri::try_from(self.path.as_str()).map_err(|source| Error::Uri {
                path: Some(self.path),
                source,
            })
        };
        *request.uri_mut() = uri?;
        *request.headers_mut() = self.headers;
        // Three extensions: a fourth would cost the map a regrowth on every call.
        let extensions = request.extensions_mut();
        extensions.insert(*self.lambda);
        extensions.insert(self.source);
        extensions.insert(trailers);
        Ok(request)
    }
}

/// Adds trailing metadata to what `reply` holds (the first block is taken as it is).
fn add_trailers(reply: &mut Reply, trailers: Metadata) {
    match reply.trailers.as_mut() {
        Some(held) => held.extend(trailers),
        None => reply.trailers = Some(trailers),
    }
}

/// Takes the headers of a service's response into `reply`.
pub(crate) fn take_response_headers(
    status: StatusCode,
    mut headers: HeaderMap,
    reply: &mut Reply,
) -> Result<(), Error> {
    // Rebuilt rather than `remove`d from: removal swaps the last entry into the hole, and the
    // order of metadata is kept as the service wrote it. The framing (content type, length,
    // connection headers) is the shim's to write.
    let is_metadata = |name: &HeaderName| grpc_lambda_protocol::is_response_metadata(name.as_str());
    let metadata_len = headers.keys().filter(|name| is_metadata(name)).count();
    if metadata_len == 0 {
        return if status == StatusCode::OK {
            // Kept empty for its allocation, which the response's headers then use.
            headers.clear();
            reply.headers = headers;
            Ok(())
        } else {
            Err(Error::NotGrpc {
                status: status.as_u16(),
            })
        };
    }
    let mut kept = HeaderMap::with_capacity(metadata_len);
    let mut name = None;
    for (next, value) in headers {
        if next.is_some() {
            name = next;
        }
        if let Some(name) = name.as_ref().filter(|name| is_metadata(name)) {
            kept.append(name.clone(), value);
        }
    }
    if kept.contains_key(grpc_lambda_core::status::GRPC_STATUS) {
        // Trailers-Only: the whole header block is the trailers.
        reply.trailers = Some(metadata_from_headers(&kept));
        return Ok(());
    }
    if status != StatusCode::OK {
        return Err(Error::NotGrpc {
            status: status.as_u16(),
        });
    }
    reply.headers = kept;
    Ok(())
}

impl<S, B> sealed::Serve for S
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn serve<'a>(
        &'a self,
        call: Call,
        reply: &'a mut Reply,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        let mut service = self.clone();
        async move {
            let added_trailers = Trailers::default();
            let request = call.into_http_request(added_trailers.clone())?;
            poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(|err| Error::Service(err.into()))?;
            let response = service
                .call(request)
                .await
                .map_err(|err| Error::Service(err.into()))?;
            let (parts, body) = response.into_parts();
            take_response_headers(parts.status, parts.headers, reply)?;
            let mut body = pin!(body);
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|err| Error::Service(err.into()))?;
                match frame.into_data() {
                    Ok(mut data) => {
                        // Bytes (tonic's data) come out without a copy.
                        let len = data.remaining();
                        reply.push(data.copy_to_bytes(len))?;
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            add_trailers(reply, metadata_from_headers(&trailers));
                        }
                    }
                }
            }
            added_trailers.send(reply);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Source;
    use grpc_lambda_protocol::metadata_to_headers as headers_from_metadata;

    #[test]
    fn body_yields_its_bytes_once() {
        let body = Body::new(Bytes::from_static(b"abc"));
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(3));
        let collected = futures_executor(body);
        assert_eq!(collected, Bytes::from_static(b"abc"));
    }

    fn futures_executor(body: Body) -> Bytes {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async { body.collect().await.unwrap().to_bytes() })
    }

    fn call(path: &str) -> Call {
        Call {
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            first_frame: None,
            frames: 0,
            deadline: None,
            started: std::time::SystemTime::UNIX_EPOCH,
            lambda: Box::default(),
            source: Source::HttpApi,
            max_message_len: 1024,
        }
    }

    #[test]
    fn the_request_uri_is_the_path_whichever_way_it_is_parsed() {
        // URI path characters only: parsed from the path's own buffer.
        let request = call("/api.Prod/Alive")
            .into_http_request(Trailers::default())
            .unwrap();
        assert_eq!(request.uri().path(), "/api.Prod/Alive");
        // Others: parsed from a copy, and the error names the path.
        let request = call("/a%20b/C{1}")
            .into_http_request(Trailers::default())
            .unwrap();
        assert_eq!(request.uri().path(), "/a%20b/C{1}");
        let err = call("/a b/C")
            .into_http_request(Trailers::default())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains(r#"path "/a b/C" is not a URI path"#),
            "{err}"
        );
    }

    #[test]
    fn headers_and_metadata_round_trip() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.append("x-b-bin", HeaderValue::from_static("AQI"));
        headers.append("grpc-status", HeaderValue::from_static("13"));
        headers.append("grpc-message", HeaderValue::from_static("no%20luck"));
        let metadata = metadata_from_headers(&headers);
        assert_eq!(metadata.get("grpc-status"), Some(&b"13"[..]));
        assert_eq!(metadata.get("grpc-message"), Some(&b"no%20luck"[..]));
        assert_eq!(
            metadata.get_all("x-a").collect::<Vec<_>>(),
            [&b"1"[..], b"2"]
        );
        let mut back = HeaderMap::new();
        headers_from_metadata(&metadata, &mut back);
        assert_eq!(back, headers);
    }
}
