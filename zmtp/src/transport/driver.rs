//! The connection driver: one task per TCP connection, moving bytes between the stream and a
//! sans-IO [`Session`], and messages between the session and the socket's pipe.
//!
//! Each turn: pull queued messages from the pipe into the session (bounded by [`OUT_BATCH`]
//! bytes) and write them with vectored, non-blocking writes until the kernel refuses; read
//! until the kernel has nothing (at most [`MAX_READS_PER_TURN`] reads) and push the decoded
//! messages into the pipe in one batch; fire the session's timers; then sleep until the stream
//! is ready, the pipe has news, or a timer is due. Reading stops while the pipe is at RCVHWM.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::codec::{OutBuf, READ_AHEAD_LEN};
use crate::error::ProtocolError;
use crate::message::Message;
use crate::session::{Session, SessionEvent};
use crate::socket::pipe::PipeId;
use crate::socket::Core;

/// Bytes moved from the pipe into the session before writing.
const OUT_BATCH: usize = 256 * 1024;
/// Reads per turn, so one busy connection cannot hold its worker thread.
const MAX_READS_PER_TURN: usize = 16;
/// Messages, or bytes, decoded before they are handed to the socket in the middle of a turn:
/// small messages go over in large batches (one wake-up of `recv` per batch), large ones soon
/// enough that the application works on them while the next ones are read.
const DELIVER_BATCH: usize = 512;
const DELIVER_BATCH_BYTES: usize = 256 * 1024;
/// Write rounds (fill then write) per turn.
const MAX_WRITES_PER_TURN: usize = 16;
/// Most slices per vectored write.
const MAX_IOVECS: usize = 64;
/// How long a connection with no deadline (no heartbeat, handshake done, not lingering) sleeps
/// before it looks again.
const IDLE_WAIT: std::time::Duration = std::time::Duration::from_secs(3600);

/// Why a connection ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The socket is closing (after LINGER).
    Closed,
    /// The socket asked this connection to go (ROUTER_HANDOVER, `disconnect_peer`).
    Kicked,
    /// The peer closed the connection.
    Eof,
    /// A socket error.
    Io(io::Error),
    /// A protocol error (ours or the peer's ERROR command).
    Protocol(ProtocolError),
}

impl End {
    /// Whether a connecting socket should dial again (not after a protocol error or ERROR
    /// command, as libzmq and RFC 37 say; yes after I/O errors and timeouts).
    pub(crate) fn may_reconnect(&self) -> bool {
        match self {
            End::Protocol(e) => e.is_retryable(),
            End::Closed => false,
            End::Kicked | End::Eof | End::Io(_) => true,
        }
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Drives one connection until it ends.
pub(crate) async fn run(
    core: &Arc<Core>,
    stream: TcpStream,
    addr: SocketAddr,
    pipe: PipeId,
    notify: &Notify,
) -> End {
    super::tcp::configure(core, &stream);
    let mut session = Session::new(core.options.session_config(core.socket_type), now());
    let mut rbuf = BytesMut::with_capacity(READ_AHEAD_LEN);
    // Bytes allocated for `rbuf`'s buffer, for the socket's pool of receive buffers.
    let mut rbuf_alloc = READ_AHEAD_LEN;
    let mut msgs: Vec<Message> = Vec::new();
    let mut batch: Vec<Message> = Vec::new();
    let mut ready = false;
    let mut paused = false;
    // Some(deadline) once the socket is closing; the inner None means "until flushed".
    let mut linger: Option<Option<Instant>> = None;
    let sleep = tokio::time::sleep(IDLE_WAIT);
    tokio::pin!(sleep);
    let mut armed: Option<Instant> = None;

    loop {
        if linger.is_none() && core.is_closed() {
            if !ready && !core.has_outbound(pipe) {
                return End::Closed;
            }
            // Finish the handshake if need be, then flush, within LINGER.
            linger = Some(core.options.linger.map(|d| now() + d));
        }
        if paused {
            paused = core.inbound_paused(pipe);
        }

        // Output: pipe -> session -> stream. `busy`: stopped only because the turn's budget ran
        // out, so come back without waiting (the pipe will not notify us again).
        let mut busy = true;
        for _ in 0..MAX_WRITES_PER_TURN {
            if ready && core.fill(pipe, &mut session, OUT_BATCH, &mut batch) {
                return End::Kicked;
            }
            if session.out().is_empty() {
                busy = false;
                break;
            }
            match write_some(&stream, session.out()) {
                Ok(true) => continue,
                Ok(false) => {
                    busy = false;
                    break;
                }
                Err(e) => return End::Io(e),
            }
        }
        if let Some(deadline) = linger {
            if session.out().is_empty() && !core.has_outbound(pipe) {
                return End::Closed;
            }
            if deadline.is_some_and(|d| now() >= d) {
                return End::Closed;
            }
        }

        // Input: stream -> session -> pipe. While lingering, read only to finish the handshake.
        let was_ready = ready;
        let reading = !paused && (linger.is_none() || !ready);
        if reading {
            let mut msgs_bytes = 0;
            for _ in 0..MAX_READS_PER_TURN {
                if let Some(additional) = session.room_to_make(&rbuf) {
                    core.recv_bufs.grow(&mut rbuf, &mut rbuf_alloc, additional);
                }
                match stream.try_read_buf(&mut rbuf) {
                    Ok(0) => {
                        // What arrived before the close was accepted: deliver it.
                        core.deliver(pipe, &mut msgs);
                        return End::Eof;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        core.deliver(pipe, &mut msgs);
                        return End::Io(e);
                    }
                }
                let result = session.handle_input(now(), &mut rbuf);
                while let Some(ev) = session.poll_event() {
                    match ev {
                        SessionEvent::Ready(info) => {
                            ready = true;
                            core.attach(pipe, &info, addr);
                        }
                        SessionEvent::Message(m) => {
                            msgs_bytes += m.byte_len();
                            msgs.push(m);
                        }
                        _ => {}
                    }
                }
                if let Err(e) = result {
                    // Messages completed before the error were accepted: deliver them.
                    core.deliver(pipe, &mut msgs);
                    return fail(&stream, &mut session, e);
                }
                if msgs.len() >= DELIVER_BATCH || msgs_bytes >= DELIVER_BATCH_BYTES {
                    msgs_bytes = 0;
                    paused = core.deliver(pipe, &mut msgs);
                    if paused {
                        break;
                    }
                }
            }
            // One hand-over (and at most one wake-up of a waiting `recv`) per turn, not per read.
            if !msgs.is_empty() {
                paused = core.deliver(pipe, &mut msgs);
            }
        }

        if ready && !was_ready {
            // Messages may have been queued before the handshake finished.
            continue;
        }

        // Timers.
        let t = now();
        if session.poll_timeout().is_some_and(|d| d <= t) {
            if let Err(e) = session.handle_timeout(t) {
                return fail(&stream, &mut session, e);
            }
            if !session.out().is_empty() {
                continue;
            }
        }
        let deadline = match (session.poll_timeout(), linger.flatten()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        arm(sleep.as_mut(), &mut armed, deadline, t);

        if busy {
            tokio::task::yield_now().await;
            continue;
        }

        // Idle connections hold no buffers: an empty read buffer (even one whose room is used
        // up: its handle would keep the whole allocation alive) goes back to the socket's pool
        // before waiting, as does the write buffer.
        if rbuf.is_empty() && rbuf_alloc > 0 {
            core.recv_bufs
                .give(std::mem::take(&mut rbuf), std::mem::take(&mut rbuf_alloc));
        }
        session.release_idle_buffers();

        // Wait for something to do.
        let mut interest: Option<Interest> = None;
        if !paused && (linger.is_none() || !ready) {
            interest = Some(Interest::READABLE);
        }
        if !session.out().is_empty() {
            interest = Some(interest.map_or(Interest::WRITABLE, |i| i | Interest::WRITABLE));
        }
        tokio::select! {
            biased;
            r = ready_for(&stream, interest) => {
                if let Err(e) = r {
                    return End::Io(e);
                }
            }
            _ = notify.notified() => {}
            _ = &mut sleep => {}
        }
    }
}

/// Sets the connection's timer to `deadline` (or [`IDLE_WAIT`] from `now` if none) unless it
/// is already set to it. An elapsed timer is always set again: a `Sleep` that has fired stays
/// ready, and the connection would spin on it (this happened to every connection without a
/// deadline an hour after its last one).
fn arm(
    sleep: Pin<&mut tokio::time::Sleep>,
    armed: &mut Option<Instant>,
    deadline: Option<Instant>,
    now: Instant,
) {
    if deadline != *armed || sleep.is_elapsed() {
        *armed = deadline;
        let at = deadline.unwrap_or_else(|| now + IDLE_WAIT);
        sleep.reset(tokio::time::Instant::from_std(at));
    }
}

/// Resolves once the stream is ready for one of `interest` (never, if `None`).
///
/// Polls the stream's readiness directly (`poll_read_ready` / `poll_write_ready`) instead of
/// holding a readiness future: that future would sit in every idle connection's task
/// (~170 bytes each).
fn ready_for(
    stream: &TcpStream,
    interest: Option<Interest>,
) -> impl std::future::Future<Output = io::Result<()>> + '_ {
    std::future::poll_fn(move |cx| {
        use std::task::Poll;
        let Some(i) = interest else {
            return Poll::Pending;
        };
        if i.is_readable() {
            if let Poll::Ready(r) = stream.poll_read_ready(cx) {
                return Poll::Ready(r);
            }
        }
        if i.is_writable() {
            if let Poll::Ready(r) = stream.poll_write_ready(cx) {
                return Poll::Ready(r);
            }
        }
        Poll::Pending
    })
}

/// Flags of every send: no SIGPIPE when the peer has reset the connection (the error comes
/// back as `EPIPE` instead), where the platform has the flag. Apple platforms use the
/// `SO_NOSIGPIPE` socket option instead (set in `tcp::configure`).
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
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
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
const SEND_FLAGS: libc::c_int = 0;

/// Writes as much of `out` as the kernel takes. `Ok(true)`: all written; `Ok(false)`: the
/// kernel's buffer is full.
fn write_some(stream: &TcpStream, out: &mut OutBuf) -> io::Result<bool> {
    let sock = socket2::SockRef::from(stream);
    loop {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let n = out.io_slices(&mut slices);
        // `try_io` clears the write readiness on WouldBlock, as `try_write_vectored` does.
        let r = stream.try_io(Interest::WRITABLE, || {
            sock.send_vectored_with_flags(&slices[..n], SEND_FLAGS)
        });
        match r {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(k) => {
                out.advance(k);
                if out.is_empty() {
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Ends the connection on a protocol error, after one non-blocking attempt to flush what the
/// session queued (the ERROR command, when one is due).
fn fail(stream: &TcpStream, session: &mut Session, e: ProtocolError) -> End {
    let _ = write_some(stream, session.out());
    End::Protocol(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Every idle connection holds one of these futures (inside its task): its size is most of
    /// the memory an idle connection costs (bench cell `mem`). 1216 bytes before readiness was
    /// polled directly instead of through a stored `ready()` future.
    #[tokio::test]
    async fn connection_future_stays_small() {
        let core = crate::socket::Core::new(crate::SocketType::Router, Default::default());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let notify = tokio::sync::Notify::new();
        let f = super::run(&core, s, addr, crate::socket::pipe::PipeId(0), &notify);
        let size = std::mem::size_of_val(&f);
        assert!(size <= 1100, "driver future grew to {size} bytes");
    }

    /// Regression: the idle timer (no deadline) was set once and, after it fired an hour
    /// later, never again: the elapsed `Sleep` stayed ready and the connection spun, a core
    /// per idle connection.
    #[tokio::test(start_paused = true)]
    async fn idle_timer_is_set_again_after_it_fires() {
        let sleep = tokio::time::sleep(IDLE_WAIT);
        tokio::pin!(sleep);
        let mut armed = None;
        arm(sleep.as_mut(), &mut armed, None, now());
        tokio::time::advance(IDLE_WAIT + Duration::from_secs(1)).await;
        (&mut sleep).await;
        // Still no deadline: the next wait is another IDLE_WAIT, not an elapsed timer.
        arm(sleep.as_mut(), &mut armed, None, now());
        assert!(!sleep.is_elapsed());
        assert!(
            tokio::time::timeout(Duration::from_secs(60), &mut sleep)
                .await
                .is_err(),
            "the timer fired again at once"
        );
        // A deadline that did not change is left alone while it is pending.
        let d = now() + Duration::from_secs(5);
        arm(sleep.as_mut(), &mut armed, Some(d), now());
        let set_at = sleep.deadline();
        tokio::time::advance(Duration::from_secs(1)).await;
        arm(sleep.as_mut(), &mut armed, Some(d), now());
        assert_eq!(sleep.deadline(), set_at);
    }
}
