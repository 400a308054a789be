//! The running service: the Invoke API and one Runtime API per process on loopback HTTP/1.1,
//! and the processes' supervisors.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::LocalConfig;
use crate::quick_ack::QuickAck;
use crate::reply::LocalBody;
use crate::state::{ProcessStart, Shared};
use crate::{invoke_api, runtime_api, supervisor};

/// Why the service did not start.
#[derive(Debug)]
pub enum StartError {
    /// A loopback port could not be bound.
    Bind {
        /// What the port was for: the Invoke API, or a process's Runtime API.
        purpose: &'static str,
        /// The port asked for (0: any free port).
        port: u16,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Bind {
                purpose,
                port,
                source,
            } => write!(f, "{purpose} on 127.0.0.1:{port}: {source}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind { source, .. } => Some(source),
        }
    }
}

/// A running local Lambda service: the Invoke API on one port, a Runtime API port and a process
/// per unit of concurrency. Dropping it stops it.
pub struct LocalLambda {
    invoke_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl LocalLambda {
    /// Binds the Invoke API and one Runtime API port per process on 127.0.0.1, and starts the
    /// function processes (they start in the background; invocations queue until one polls).
    ///
    /// Must be called within a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`StartError::Bind`] naming the port that could not be bound.
    pub async fn start(config: LocalConfig) -> Result<LocalLambda, StartError> {
        let bind = |purpose: &'static str, port: u16| async move {
            let listener = TcpListener::bind(("127.0.0.1", port)).await;
            let listener = listener.and_then(|listener| {
                let addr = listener.local_addr()?;
                Ok((listener, addr))
            });
            listener.map_err(|source| StartError::Bind {
                purpose,
                port,
                source,
            })
        };
        let (invoke, invoke_addr) = bind("the local Lambda Invoke API", config.port).await?;
        let concurrency = config.concurrency.max(1);
        let shared = Arc::new(Shared::new(config, concurrency));
        let (stop, stopped) = watch::channel(false);
        let invoke_shared = shared.clone();
        serve(invoke, stopped.clone(), move |request| {
            invoke_api::invoke_api(invoke_shared.clone(), request)
        });
        for instance in 0..concurrency {
            let (listener, runtime_addr) = bind("a Runtime API", 0).await?;
            let runtime_shared = shared.clone();
            serve(listener, stopped.clone(), move |request| {
                runtime_api::runtime_api(runtime_shared.clone(), instance, request)
            });
            tokio::spawn(supervisor::supervise(
                shared.clone(),
                instance,
                runtime_addr,
                stopped.clone(),
            ));
        }
        Ok(LocalLambda {
            invoke_addr,
            shared,
            stop,
        })
    }

    /// The Invoke API's address on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.invoke_addr
    }

    /// The Invoke API endpoint, `http://127.0.0.1:PORT`, as an AWS SDK's endpoint override.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.invoke_addr)
    }

    /// The function's name.
    pub fn function(&self) -> &str {
        &self.shared.config.function
    }

    /// Process `instance`'s last start (`0..concurrency`), for measuring a function's start.
    #[doc(hidden)]
    pub fn process_start(&self, instance: usize) -> Option<ProcessStart> {
        self.shared.lock().starts.get(instance).copied()
    }

    /// Stops the processes and the servers. Invocations in flight end with the connection.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for LocalLambda {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves HTTP/1.1 on `listener` until `stopped`.
fn serve<F, Fut>(listener: TcpListener, mut stopped: watch::Receiver<bool>, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<LocalBody>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopped.changed() => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            let stream = QuickAck(stream);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
