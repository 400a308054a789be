//! A front door on loopback, played by the test: a small HTTP/1.1 server that takes a client's
//! request, puts it into a sample event of one front door's shape ([`crate::aws_event`]),
//! invokes a function through the Lambda Invoke API, and turns the answer in that shape back into
//! the HTTP response. The clients and the function are real; only API Gateway's, a Function
//! URL's, ALB's or VPC Lattice's translation is the test's.
//!
//! ```no_run
//! use grpc_lambda_test_support::front_door::{FrontDoor, Invoke};
//!
//! let sample = r#"{"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {},
//!     "requestContext": {"http": {"method": "POST", "path": "/"}, "stage": "prod"},
//!     "isBase64Encoded": false}"#;
//! let door = FrontDoor::start(sample, Invoke::new("127.0.0.1:9001".parse().unwrap(), "prod")).unwrap();
//! // Clients call http://127.0.0.1:PORT/prod/<pkg.Service>/<Method>.
//! println!("{}", door.base_url());
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::aws_event::{client_prefix, http_event, parse_sample, read_response};
use crate::aws_event::{HttpRequest, HttpResponse};

/// The longest request head read, in bytes.
pub const MAX_HEAD: usize = 64 * 1024;
/// The largest request body read, in bytes (Lambda's 6 MB event quota covers less).
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// How long a client or the function may keep a connection silent.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server keeps accepting at most.
pub const LIFETIME: Duration = Duration::from_secs(900);

/// The Lambda Invoke API of one function: `POST /2015-03-31/functions/NAME/invocations`.
#[derive(Clone, Debug)]
pub struct Invoke {
    addr: SocketAddr,
    function: String,
}

impl Invoke {
    /// The Invoke API at `addr` (a local Lambda service), for function `function`.
    pub fn new(addr: SocketAddr, function: &str) -> Invoke {
        Invoke {
            addr,
            function: function.to_owned(),
        }
    }

    /// Invokes the function with `event` and returns its answer's bytes.
    ///
    /// # Errors
    ///
    /// A connection failure, a status other than 200, or a function error (the
    /// `X-Amz-Function-Error` header), with the answer's body.
    pub fn invoke(&self, event: &[u8]) -> Result<Vec<u8>, String> {
        let mut stream = TcpStream::connect(self.addr)
            .map_err(|err| format!("connecting to the Invoke API at {}: {err}", self.addr))?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|err| err.to_string())?;
        // One write: a head and a body in two would wait out Nagle and a delayed ACK.
        let mut request = format!(
            "POST /2015-03-31/functions/{}/invocations HTTP/1.1\r\nhost: {}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            self.function,
            self.addr,
            event.len()
        )
        .into_bytes();
        request.extend_from_slice(event);
        stream
            .write_all(&request)
            .map_err(|err| format!("sending the event: {err}"))?;
        let mut reader = BufReader::new(stream);
        let response = read_message(&mut reader, false).map_err(|Closed| {
            "the Invoke API closed the connection without an answer".to_owned()
        })?;
        let body = String::from_utf8_lossy(&response.body);
        if response.status != 200 {
            return Err(format!("Invoke API: HTTP {}: {body}", response.status));
        }
        if let Some(error) = response.header("x-amz-function-error") {
            return Err(format!("function error {error}: {body}"));
        }
        Ok(response.body)
    }
}

/// One request the front door took, as the client sent it, for the test to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The path and, after `?`, the query, as sent.
    pub target: String,
}

/// A running front door. Dropping it stops it.
pub struct FrontDoor {
    port: u16,
    prefix: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FrontDoor {
    /// Serves on a free loopback port: each request put into `sample`'s shape and passed to
    /// `invoke`.
    ///
    /// # Errors
    ///
    /// When `sample` is not a JSON object or no loopback port can be bound.
    pub fn start(sample: &str, invoke: Invoke) -> Result<FrontDoor, String> {
        let prefix = client_prefix(&parse_sample(sample)?);
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|err| err.to_string())?;
        listener
            .set_nonblocking(true)
            .map_err(|err| err.to_string())?;
        let port = listener.local_addr().map_err(|err| err.to_string())?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let door = Door {
            sample: sample.to_owned(),
            prefix: prefix.clone(),
            invoke,
            seen: Arc::clone(&seen),
        };
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let door = Arc::new(door);
            let start = Instant::now();
            while !stopped.load(Ordering::Relaxed) && start.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let door = Arc::clone(&door);
                        std::thread::spawn(move || door.serve(stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(FrontDoor {
            port,
            prefix,
            seen,
            stop,
            thread: Some(thread),
        })
    }

    /// The URL clients call methods under: `http://127.0.0.1:PORT` and the stage or base path
    /// the sample's front door puts before the method path, with a trailing `/`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}{}/", self.port, self.prefix)
    }

    /// The requests taken so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

impl Drop for FrontDoor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Door {
    sample: String,
    prefix: String,
    invoke: Invoke,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Door {
    /// Answers the requests on one connection until the client closes it.
    fn serve(&self, stream: TcpStream) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_nodelay(true);
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        loop {
            let request = match read_message(&mut reader, true) {
                Ok(message) => message,
                Err(Closed) => return,
            };
            let response = self.answer(request);
            if write_response(&mut writer, &response).is_err() {
                return;
            }
        }
    }

    fn answer(&self, message: Message) -> HttpResponse {
        let (path, query) = message
            .target
            .split_once('?')
            .unwrap_or((message.target.as_str(), ""));
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(Seen {
                method: message.method.clone(),
                target: message.target.clone(),
            });
        }
        let Some(method_path) = path.strip_prefix(&self.prefix) else {
            return plain(404, &format!("{path} is not under {}/", self.prefix));
        };
        let request = HttpRequest {
            method: message.method.clone(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: message.headers,
            body: message.body,
        };
        let event = match http_event(&self.sample, method_path, &request) {
            Ok(event) => event.to_string(),
            Err(err) => return plain(500, &err),
        };
        let answer = match self.invoke.invoke(event.as_bytes()) {
            Ok(answer) => answer,
            // What API Gateway answers when the function fails.
            Err(err) => return plain(502, &format!("Internal server error: {err}")),
        };
        let parsed = serde_json::from_slice(&answer)
            .map_err(|err| format!("the function's answer is not JSON: {err}"))
            .and_then(|answer| read_response(&answer));
        parsed.unwrap_or_else(|err| plain(502, &err))
    }
}

fn plain(status: u16, text: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: text.as_bytes().to_vec(),
    }
}

fn write_response(stream: &mut TcpStream, response: &HttpResponse) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", response.body.len()));
    // One write: a head and a body in two would wait out Nagle and a delayed ACK.
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&response.body);
    stream.write_all(&bytes)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

/// The connection ended, or carried something this server does not read.
#[derive(Debug, PartialEq, Eq)]
struct Closed;

/// An HTTP/1.1 message: a request (`method`, `target`) or a response (`status`).
#[derive(Default)]
struct Message {
    method: String,
    target: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one message: its head, then a `content-length` or chunked body (a response without
/// either: until the connection closes).
fn read_message(reader: &mut BufReader<TcpStream>, request: bool) -> Result<Message, Closed> {
    let mut message = Message::default();
    let mut head = 0;
    let mut first = true;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).map_err(|_| Closed)?;
        head += n;
        if n == 0 || head > MAX_HEAD {
            return Err(Closed);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if first {
            first = false;
            let mut parts = line.splitn(3, ' ');
            let (a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if request {
                message.method = a.to_owned();
                message.target = b.to_owned();
            } else {
                message.status = b.parse().map_err(|_| Closed)?;
            }
            continue;
        }
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            message
                .headers
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let chunked = message
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    if chunked {
        message.body = read_chunked(reader)?;
    } else if let Some(length) = message.header("content-length") {
        let length: usize = length.parse().map_err(|_| Closed)?;
        if length > MAX_BODY {
            return Err(Closed);
        }
        message.body = vec![0; length];
        reader.read_exact(&mut message.body).map_err(|_| Closed)?;
    } else if !request {
        reader
            .take(MAX_BODY as u64)
            .read_to_end(&mut message.body)
            .map_err(|_| Closed)?;
    }
    Ok(message)
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, Closed> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|_| Closed)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16).map_err(|_| Closed)?;
        if body.len() + size > MAX_BODY {
            return Err(Closed);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(body.get_mut(start..).ok_or(Closed)?)
            .map_err(|_| Closed)?;
        let mut end = String::new();
        reader.read_line(&mut end).map_err(|_| Closed)?;
        if size == 0 {
            // `end` was the blank line after the last chunk (no trailers are sent).
            return Ok(body);
        }
    }
}
