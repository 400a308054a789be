//! A TCP connection that acknowledges what it reads at once.

use std::io::{IoSlice, Result};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connection that acknowledges what it reads at once.
///
/// A function's Runtime API client (lambda_runtime's hyper client) leaves Nagle's algorithm on,
/// and lambda_runtime writes a streamed response's prelude, its NUL separator and each chunk as
/// separate writes: the second small write waits for the first one's ACK, which a receiver with
/// nothing to answer yet delays (Linux's delayed ACK). Re-arming `TCP_QUICKACK` after each read
/// sends that ACK straight away, so streamed chunks arrive as they are written. Elsewhere than
/// Linux it is the plain stream.
///
/// Not part of the crate's API: it is exported for other loopback Runtime APIs in this
/// repository's benches.
#[derive(Debug)]
pub struct QuickAck(pub TcpStream);

impl QuickAck {
    fn ack_now(&self) {
        #[cfg(target_os = "linux")]
        {
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.0).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.ack_now();
        }
        poll
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
