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
    /// Asks to be woken (and to see the stream readable) only once `bytes` are there to read;
    /// 1 is the default. `Unsupported` for streams whose kernel wakes the reader anyway.
    fn set_recv_lowat(&self, bytes: usize) -> io::Result<()> {
        let _ = bytes;
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Flags of every send: no SIGPIPE when the peer has gone (the error comes back as `EPIPE`
/// instead), where the platform has the flag. Apple platforms use the `SO_NOSIGPIPE` socket
/// option instead (set by each transport's `configure`).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "illumos",
    target_os = "solaris"
))]
pub(crate) const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "illumos",
    target_os = "solaris"
)))]
pub(crate) const SEND_FLAGS: libc::c_int = 0;

/// Implements [`ByteStream`] for a tokio stream type (`TcpStream`, `UnixStream`: the same
/// calls), sending with [`SEND_FLAGS`]; the items in braces, if any, are added to the impl.
macro_rules! byte_stream_with_nosignal {
    ($t:ty) => {
        $crate::transport::stream::byte_stream_with_nosignal!($t, {});
    };
    ($t:ty, { $($item:item)* }) => {
        impl $crate::transport::ByteStream for $t {
            fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                <$t>::poll_read_ready(self, cx)
            }

            fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                <$t>::poll_write_ready(self, cx)
            }

            fn try_read_buf(&self, buf: &mut bytes::BytesMut) -> std::io::Result<usize> {
                <$t>::try_read_buf(self, buf)
            }

            fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                let sock = socket2::SockRef::from(self);
                // `try_io` clears the write readiness on WouldBlock, as `try_write_vectored`
                // does.
                self.try_io(tokio::io::Interest::WRITABLE, || {
                    sock.send_vectored_with_flags(bufs, $crate::transport::stream::SEND_FLAGS)
                })
            }

            $($item)*
        }
    };
}
pub(crate) use byte_stream_with_nosignal;
