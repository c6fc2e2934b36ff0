//! The one socket option that neither tokio nor socket2 sets: `SO_RCVLOWAT`, and the crate's
//! only `unsafe` code.
//!
//! A TCP connection receiving a large frame asks the kernel to wake it only once a good part
//! of the frame's rest has arrived, not at every segment (see the driver's `recv_lowat`). On
//! Linux, TCP honours the mark for wake-ups and readiness alike, signals at once when the mark
//! is lowered to what has already arrived, and never holds back more than half its receive
//! buffer (it grows the buffer to fit the mark, or wakes the reader under memory pressure).

use std::io;

/// Sets `SO_RCVLOWAT` of `sock` to `bytes` (at most `c_int::MAX`).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code)]
pub(crate) fn set_recv_lowat(sock: &impl std::os::fd::AsFd, bytes: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let fd = sock.as_fd();
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is borrowed from `sock` for the whole call, so it is an open descriptor.
    // `optval` points to `value`, a `c_int` on this stack frame that outlives the call, and
    // `optlen` is exactly its size; setsockopt(2) reads `optlen` bytes from `optval`, writes
    // nothing through it and keeps no pointer to it. An fd that is not a socket, or an option
    // the socket does not know, is an error return, not undefined behaviour.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::from_ref(&value).cast::<libc::c_void>(),
            len,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere the option's effect on wake-ups differs by system: not used.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn set_recv_lowat<S>(_sock: &S, _bytes: usize) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    async fn readable_within(s: &TcpStream, ms: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(ms), s.readable())
            .await
            .is_ok()
    }

    /// The mark holds a reader back until that many bytes are there, and lowering it to what
    /// has arrived wakes the reader at once: what the driver relies on.
    #[tokio::test]
    async fn the_mark_delays_readiness_and_lowering_it_wakes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (rx, _) = accepted.expect("accept");
        let mut tx = tx.expect("connect");

        // As the driver does, the stream is read until it has nothing (which clears tokio's
        // cached readiness; a new stream starts out as readable) before a wait.
        let mut buf = vec![0; 2000];
        let drained = |rx: &TcpStream, buf: &mut [u8]| {
            let e = rx.try_read(buf).expect_err("nothing to read");
            assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        };
        drained(&rx, &mut buf);
        set_recv_lowat(&rx, 1000).expect("set the mark");
        tx.write_all(&[1; 10]).await.expect("write");
        assert!(
            !readable_within(&rx, 200).await,
            "readable with 10 of 1000 bytes"
        );
        tx.write_all(&[1; 990]).await.expect("write");
        assert!(
            readable_within(&rx, 5000).await,
            "not readable with 1000 bytes"
        );
        assert_eq!(rx.try_read(&mut buf).expect("read"), 1000);
        drained(&rx, &mut buf);

        // 10 bytes under a mark of 1000, then the mark lowered to 1: readable at once.
        tx.write_all(&[2; 10]).await.expect("write");
        assert!(
            !readable_within(&rx, 200).await,
            "readable with 10 of 1000 bytes"
        );
        set_recv_lowat(&rx, 1).expect("lower the mark");
        assert!(
            readable_within(&rx, 5000).await,
            "lowering the mark did not wake"
        );
        assert_eq!(rx.try_read(&mut buf).expect("read"), 10);
    }
}
