//! The byte stream the connection driver runs on.
//!
//! Readiness-based and non-blocking, rather than `AsyncRead`/`AsyncWrite`: the driver reads
//! until the kernel has nothing and writes until it refuses, in batches, then waits for
//! readiness once; and a send must be able to pass flags (`MSG_NOSIGNAL`). tokio's `TcpStream`
//! and `UnixStream` offer exactly these calls.

use std::io::{self, IoSlice};
use std::task::{Context, Poll};

use bytes::BytesMut;

/// A connected, non-blocking byte stream.
pub(crate) trait ByteStream: Send + Sync + 'static {
    /// Polls until the stream may be readable.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Polls until the stream may be writable.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads what is available into `buf`'s spare room; `WouldBlock` if nothing is.
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;
    /// Writes what the kernel takes of `bufs`; `WouldBlock` if nothing. Never raises SIGPIPE.
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
}
