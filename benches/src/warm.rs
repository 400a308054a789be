//! L5: warm unary calls through the proxy, against the same service served by tonic directly.
//!
//! ```text
//!  hyper h2 client ─┬─▶ grpc-lambda-proxy (in process) ─ Invoke ─▶ embedded local Lambda
//!  (one connection  │        ◀── the function's answer ── Runtime API ◀── example function
//!   to each)        │                                       (`[profile.function]` build, a process)
//!                   └─▶ tonic::transport::Server (in process): the example's `Prod` service
//! ```
//!
//! Latency: one stream at a time, the same client and the same `Alive` request (a
//! [`MESSAGE`]-byte message) on each path; after [`WARM_UP`] calls each, every call's time from
//! the request sent to the trailers read is recorded, the two paths alternating in blocks of
//! [`BLOCK`] calls so a noisy neighbour slows both. The line is the proxy's p50 ÷ the direct
//! server's p50 (p99s beside it).
//!
//! Throughput: [`STREAMS`] calls in flight at once on one HTTP/2 connection, for a fixed time,
//! through the proxy with one function process (`--local-concurrency 1`) and with two, and to the
//! direct server for scale.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use grpc_lambda_example_prod::api::prod_server::ProdServer;
use grpc_lambda_example_prod::api::{AliveRequest, AliveResponse};
use grpc_lambda_example_prod::ProdService;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use prost::Message;

use crate::costs::{build, OURS, PROFILE, PROFILE_VAR};
use crate::{Line, Settings};

/// The method every call makes.
pub const METHOD: &str = "/api.Prod/Alive";

/// The request's message, in bytes.
pub const MESSAGE: usize = 16;

/// Calls on each path before any is recorded: the function process starts, connections open.
pub const WARM_UP: usize = 200;

/// Consecutive calls on one path before the other's turn.
pub const BLOCK: usize = 50;

/// Recorded calls on each path in a full report (fewer with `--quick`).
pub const FULL_CALLS: usize = 5000;

/// Calls in flight at once for the throughput rows.
pub const STREAMS: usize = 10;

/// The p50 ratio goal.
pub const GOAL: f64 = 3.0;

/// What a missed L5 says.
const L5_MISSED: &str = "the proxy path is three processes' work (client, proxy, function) \
     against one, on two shared cores: the spread over runs is in benches/README.md (L5)";

type H2 = Client<HttpConnector, Full<Bytes>>;

/// The request's body: one gRPC frame of an `AliveRequest` of [`MESSAGE`] bytes.
fn request_body() -> Bytes {
    let mut body = BytesMut::new();
    let request = AliveRequest {
        message: "x".repeat(MESSAGE),
    };
    // A 16-byte message always frames.
    let _ = grpc_lambda_core::FrameEncoder::new().encode_prost(&request, &mut body);
    body.freeze()
}

/// One unary call to `addr`, checked: the answer's one message is `Hello, world.` and the
/// request's, and `grpc-status` is 0.
async fn call(client: &H2, addr: SocketAddr, body: &Bytes) -> Result<(), String> {
    let request = http::Request::post(format!("http://{addr}{METHOD}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(body.clone()))
        .map_err(|err| err.to_string())?;
    let response = client
        .request(request)
        .await
        .map_err(|err| format!("the call to {addr}: {err}"))?;
    let mut body = response.into_body();
    let mut data = BytesMut::new();
    let mut status = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| format!("the answer from {addr}: {err}"))?;
        match frame.into_data() {
            Ok(chunk) => data.extend_from_slice(&chunk),
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    status = trailers.get("grpc-status").cloned();
                }
            }
        }
    }
    if status.as_ref().map(http::HeaderValue::as_bytes) != Some(b"0") {
        return Err(format!("{addr} answered grpc-status {status:?}"));
    }
    let mut data = data.freeze();
    if data.len() < 5 {
        return Err(format!("{addr} answered {} bytes, no message", data.len()));
    }
    data.advance(5);
    let answer = AliveResponse::decode(data).map_err(|err| format!("{addr}: {err}"))?;
    if answer.message != format!("Hello, world.{}", "x".repeat(MESSAGE)) {
        return Err(format!("{addr} answered {:?}", answer.message));
    }
    Ok(())
}

/// The p-th quantile (0..=1) of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    sorted
        .get(((last as f64) * q).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// Each call's time on the two paths, in µs: `calls` each, alternating in blocks of [`BLOCK`].
async fn latencies(
    client: &H2,
    paths: [SocketAddr; 2],
    calls: usize,
) -> Result<[Vec<f64>; 2], String> {
    let body = request_body();
    for addr in paths {
        for _ in 0..WARM_UP {
            call(client, addr, &body).await?;
        }
    }
    let mut times = [Vec::with_capacity(calls), Vec::with_capacity(calls)];
    while times[0].len() < calls {
        for (addr, times) in paths.iter().zip(&mut times) {
            for _ in 0..BLOCK.min(calls - times.len()) {
                let started = Instant::now();
                call(client, *addr, &body).await?;
                times.push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    Ok(times)
}

/// Calls per second to `addr` with [`STREAMS`] in flight for `time`.
async fn throughput(client: &H2, addr: SocketAddr, time: Duration) -> Result<f64, String> {
    let body = request_body();
    // Open the connection before the clock starts.
    call(client, addr, &body).await?;
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..STREAMS)
        .map(|_| {
            let (client, body, done, stop) =
                (client.clone(), body.clone(), done.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    call(&client, addr, &body).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    tokio::time::sleep(time).await;
    stop.store(true, Ordering::Relaxed);
    let calls = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    for task in tasks {
        task.await.map_err(|err| err.to_string())??;
    }
    Ok(calls as f64 / elapsed.as_secs_f64())
}

/// The proxy in this process, with `function` on its embedded Lambda, `processes` of it.
async fn proxy(
    function: &str,
    processes: usize,
) -> Result<grpc_lambda_proxy::server::Running, String> {
    use clap::Parser as _;
    let command = format!("exec '{function}' >/dev/null 2>&1");
    let processes = processes.to_string();
    let argv = [
        "grpc-lambda-proxy",
        "--listen",
        "127.0.0.1:0",
        "--quiet",
        "--local-function",
        command.as_str(),
        "--local-name",
        "prod",
        "--local-concurrency",
        processes.as_str(),
    ];
    let config = grpc_lambda_proxy::config::Config::from_args(
        grpc_lambda_proxy::config::Args::parse_from(argv),
    )?;
    grpc_lambda_proxy::server::start(config)
        .await
        .map_err(|err| err.to_string())
}

/// The example's `Prod` service on `tonic::transport::Server`, on loopback.
fn direct() -> Result<SocketAddr, String> {
    let incoming = tonic::transport::server::TcpIncoming::bind(([127, 0, 0, 1], 0).into())
        .map_err(|err| format!("the direct server's port: {err}"))?
        .with_nodelay(Some(true));
    let addr = incoming
        .local_addr()
        .map_err(|err| format!("the direct server's port: {err}"))?;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ProdServer::new(ProdService))
            .serve_with_incoming(incoming),
    );
    Ok(addr)
}

/// What L5 measured.
#[derive(Clone, Debug)]
pub struct Measured {
    /// Each recorded call through the proxy, µs, sorted.
    pub proxy: Vec<f64>,
    /// Each recorded call to the direct server, µs, sorted.
    pub direct: Vec<f64>,
    /// Calls per second through the proxy with one function process, then two, then direct.
    pub throughput: [f64; 3],
}

/// Measures L5 with the function binary at `function`: `calls` recorded calls on each path,
/// throughput over `time` on each.
///
/// # Errors
///
/// A message when a server does not start or a call fails.
pub fn measure(function: &str, calls: usize, time: Duration) -> Result<Measured, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async {
        // Without TCP_NODELAY a call's small frames wait for the peer's delayed ACK (~40 ms).
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build(connector);
        let direct = direct()?;
        let one = proxy(function, 1).await?;
        let [mut proxy_times, mut direct_times] =
            latencies(&client, [one.addr, direct], calls).await?;
        let with_one = throughput(&client, one.addr, time).await?;
        one.shutdown();
        one.wait().await;
        let two = proxy(function, 2).await?;
        // Both processes start with the proxy: their first calls (and connections) before the clock.
        for _ in 0..WARM_UP {
            call(&client, two.addr, &request_body()).await?;
        }
        throughput(&client, two.addr, Duration::from_millis(200)).await?;
        let with_two = throughput(&client, two.addr, time).await?;
        two.shutdown();
        two.wait().await;
        let direct_rate = throughput(&client, direct, time).await?;
        proxy_times.sort_by(f64::total_cmp);
        direct_times.sort_by(f64::total_cmp);
        Ok(Measured {
            proxy: proxy_times,
            direct: direct_times,
            throughput: [with_one, with_two, direct_rate],
        })
    })
}

/// L5: builds the example function as `costs` does, then measures.
///
/// # Panics
///
/// When the function does not build.
pub fn report(settings: &Settings) -> Vec<Line> {
    let profile = std::env::var(PROFILE_VAR).unwrap_or_else(|_| PROFILE.to_owned());
    let path = build(&OURS, &profile).unwrap_or_else(|err| panic!("{err}"));
    let full = settings.rounds >= Settings::full().rounds;
    let (calls, time) = if full {
        (FULL_CALLS, Duration::from_secs(3))
    } else {
        (1000, Duration::from_secs(1))
    };
    let what = format!(
        "warm unary through the proxy → embedded Lambda → function, one stream, p50 ÷ direct \
         tonic's p50 ({calls} calls each, {MESSAGE}-byte Alive)"
    );
    match measure(&path.display().to_string(), calls, time) {
        Ok(measured) => {
            let p50_p99 = |times: &[f64]| (quantile(times, 0.5), quantile(times, 0.99));
            let (proxy_p50, proxy_p99) = p50_p99(&measured.proxy);
            let (direct_p50, direct_p99) = p50_p99(&measured.direct);
            let [one, two, direct] = measured.throughput;
            vec![Line {
                id: "L5",
                what,
                ratio: proxy_p50 / direct_p50,
                goal: GOAL,
                at_least: false,
                details: vec![
                    format!(
                        "proxy    p50 {proxy_p50:>8.1} µs  p99 {proxy_p99:>8.1} µs  (function: {}, profile `{profile}`)",
                        path.display()
                    ),
                    format!("direct   p50 {direct_p50:>8.1} µs  p99 {direct_p99:>8.1} µs  (tonic::transport::Server)"),
                    format!("p99 ratio {:.2}", proxy_p99 / direct_p99),
                    format!(
                        "throughput, {STREAMS} calls in flight on one connection, {:.0} s each: \
                         --local-concurrency 1 {one:.0} calls/s, 2 {two:.0} calls/s ({:.2}×), \
                         direct {direct:.0} calls/s",
                        time.as_secs_f64(),
                        two / one
                    ),
                ],
                missed_because: Some(L5_MISSED),
            }]
        }
        Err(err) => vec![Line {
            id: "L5",
            what,
            ratio: f64::NAN,
            goal: GOAL,
            at_least: false,
            details: vec![format!("not measured: {err}")],
            missed_because: None,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_values() {
        let values: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), 51.0);
        assert_eq!(quantile(&values, 0.99), 100.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn the_request_is_one_frame_of_the_message() {
        let body = request_body();
        assert_eq!(body[0], 0);
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        assert_eq!(len, body.len() - 5);
        let request = AliveRequest::decode(&body[5..]).expect("an AliveRequest");
        assert_eq!(request.message.len(), MESSAGE);
    }
}
