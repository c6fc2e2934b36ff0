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
    /// As [`ByteStream::try_read_buf`]; a read that fills less than the room offered (which
    /// empties the kernel's buffer) also clears the read readiness, where
    /// [`SHORT_READ_DRAINS`]: the next read is then a `WouldBlock` with no system call, until
    /// the stream reports readiness again, as tokio's own `poll_read` does.
    fn try_read_drained(&self, buf: &mut BytesMut) -> io::Result<usize> {
        self.try_read_buf(buf)
    }
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

/// Whether a read that fills less than the room offered proves the kernel's buffer empty, so
/// that the read readiness may be cleared without a read answered `EAGAIN`: true where tokio
/// waits with an edge-triggered selector (epoll, kqueue), the platforms on which tokio's own
/// `poll_read` does the same; false where it polls level-triggered (mio's `poll` fallback,
/// forced by the `mio_unsupported_force_poll_poll` cfg), which needs a read to end in
/// `WouldBlock` before it waits again.
pub(crate) const SHORT_READ_DRAINS: bool = cfg!(all(
    not(mio_unsupported_force_poll_poll),
    any(
        target_os = "android",
        target_os = "illumos",
        target_os = "linux",
        target_os = "redox",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "ios",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "tvos",
        target_os = "visionos",
        target_os = "watchos",
    )
));

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

            fn try_read_drained(&self, buf: &mut bytes::BytesMut) -> std::io::Result<usize> {
                if !$crate::transport::stream::SHORT_READ_DRAINS {
                    return <$t>::try_read_buf(self, buf);
                }
                // `try_io` clears the readiness for a `WouldBlock` from the closure, and only
                // if no readiness came since it was read (data arriving after this read brings
                // a new edge, and so a new wake-up); a peer's close stays seen (tokio keeps
                // the closed states).
                let offered = buf.capacity() - buf.len();
                let mut drained = 0;
                let read = self.try_io(tokio::io::Interest::READABLE, || {
                    let n = <$t>::try_read_buf(self, buf)?;
                    if n > 0 && n < offered {
                        drained = n;
                        return Err(std::io::ErrorKind::WouldBlock.into());
                    }
                    Ok(n)
                });
                match read {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && drained > 0 => {
                        Ok(drained)
                    }
                    read => read,
                }
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::time::Duration;

    fn write_now<S: ByteStream>(tx: &S, bytes: &[u8]) {
        let n = tx
            .try_write_vectored(&[IoSlice::new(bytes)])
            .expect("write");
        assert_eq!(n, bytes.len(), "a short write of a few bytes");
    }

    async fn wait_readable<S: ByteStream>(rx: &S) {
        let ready = std::future::poll_fn(|cx| rx.poll_read_ready(cx));
        tokio::time::timeout(Duration::from_secs(5), ready)
            .await
            .expect("not readable within 5 s")
            .expect("readiness");
    }

    /// A read that fills less than the room offered leaves the stream waiting for the next
    /// edge, not for a read answered `EAGAIN` (where [`SHORT_READ_DRAINS`]); what arrives
    /// after it is then seen at the next wake-up, and a close stays seen.
    async fn short_reads_clear_the_readiness<S: ByteStream + AsFd>(tx: S, rx: S) {
        let mut buf = BytesMut::with_capacity(4096);
        write_now(&tx, &[1; 100]);
        wait_readable(&rx).await;
        assert_eq!(rx.try_read_drained(&mut buf).expect("read"), 100);

        // 50 more bytes are in the kernel's buffer, but tokio has not polled for them yet
        // (no `.await` since the write): a stream whose readiness is cleared does not read.
        write_now(&tx, &[2; 50]);
        if SHORT_READ_DRAINS {
            let e = rx
                .try_read_buf(&mut buf)
                .expect_err("the readiness was not cleared");
            assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
            wait_readable(&rx).await;
        }
        assert_eq!(rx.try_read_buf(&mut buf).expect("read"), 50);
        assert_eq!(buf.len(), 150);

        // A plain read, short or not, leaves the readiness as it was: the next read asks the
        // kernel.
        write_now(&tx, &[4; 20]);
        assert_eq!(rx.try_read_buf(&mut buf).expect("read"), 20);
        let e = rx.try_read_buf(&mut buf).expect_err("nothing left");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);

        // Bytes then the close, both seen by tokio in one wait: the short read of the bytes
        // leaves the close to be read.
        write_now(&tx, &[3; 10]);
        socket2::SockRef::from(&tx)
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        std::thread::sleep(Duration::from_millis(20));
        wait_readable(&rx).await;
        assert_eq!(rx.try_read_drained(&mut buf).expect("read"), 10);
        assert_eq!(rx.try_read_buf(&mut buf).expect("the close"), 0);
    }

    /// A read that fills the room offered says nothing of what is left: the next read asks
    /// the kernel.
    async fn full_reads_keep_the_readiness<S: ByteStream>(tx: S, rx: S) {
        let mut buf = BytesMut::with_capacity(64);
        let room = buf.capacity();
        write_now(&tx, &vec![1; room + 30]);
        wait_readable(&rx).await;
        assert_eq!(rx.try_read_drained(&mut buf).expect("read"), room);
        buf.clear();
        assert_eq!(rx.try_read_buf(&mut buf).expect("the rest"), 30);
    }

    async fn tcp_pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, accepted) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        (tx.expect("connect"), accepted.expect("accept").0)
    }

    #[tokio::test]
    async fn tcp_short_reads_clear_the_readiness() {
        let (tx, rx) = tcp_pair().await;
        short_reads_clear_the_readiness(tx, rx).await;
        let (tx, rx) = tcp_pair().await;
        full_reads_keep_the_readiness(tx, rx).await;
    }

    #[cfg(feature = "ipc")]
    #[tokio::test]
    async fn ipc_short_reads_clear_the_readiness() {
        let (tx, rx) = tokio::net::UnixStream::pair().expect("pair");
        short_reads_clear_the_readiness(tx, rx).await;
        let (tx, rx) = tokio::net::UnixStream::pair().expect("pair");
        full_reads_keep_the_readiness(tx, rx).await;
    }
}
