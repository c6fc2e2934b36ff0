//! Socket monitor events, with libzmq's meanings (`zmq_socket_monitor(3)`), and the bounded
//! stream that carries them.
//!
//! [`crate::socket::Socket::monitor`] returns a [`Monitor`]. Events are per connection and per
//! endpoint, never per message. The stream is bounded ([`Monitor::CAPACITY`] events): a reader
//! that falls behind loses the oldest events, never slows or blocks the socket, and is told how
//! many it lost ([`SocketEvent::Missed`]). A ROUTER learns which routing id went away
//! ([`SocketEvent::Disconnected`]), which libzmq's release builds cannot tell (libzmq issue
//! 2319).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::broadcast;
use tokio_util::sync::ReusableBoxFuture;

use crate::endpoint::Endpoint;
use crate::protocol::error::ProtocolError;
use crate::routing::RoutingId;

/// The address of a connected peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// An IPC peer: the path of the endpoint (Unix domain socket peers have no address of
    /// their own).
    Ipc(String),
    /// An inproc peer: the name of the endpoint.
    Inproc(String),
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Tcp(a) => write!(f, "tcp://{a}"),
            PeerAddr::Ipc(path) => write!(f, "ipc://{path}"),
            PeerAddr::Inproc(name) => write!(f, "inproc://{name}"),
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The peer closed the connection.
    PeerClosed,
    /// The connection failed (reset, unreachable, keepalive timeout...).
    Io(Arc<io::Error>),
    /// The peer's bytes did not parse or broke the protocol, it went silent past a heartbeat
    /// or handshake deadline, or it sent ERROR. [`ProtocolError`] says which.
    Protocol(ProtocolError),
    /// This socket dropped the peer (`Router::disconnect_peer`, or ROUTER_HANDOVER giving its
    /// routing id to a newcomer).
    Kicked,
    /// This socket is closing.
    SocketClosed,
}

impl DisconnectReason {
    /// Whether a connecting socket dials again after this (libzmq and RFC 37: not after a
    /// protocol violation or an ERROR command; yes after I/O errors and timeouts).
    pub fn may_reconnect(&self) -> bool {
        match self {
            DisconnectReason::Protocol(e) => e.is_retryable(),
            DisconnectReason::SocketClosed => false,
            DisconnectReason::Kicked | DisconnectReason::PeerClosed | DisconnectReason::Io(_) => {
                true
            }
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::PeerClosed => f.write_str("closed by peer"),
            DisconnectReason::Io(e) => write!(f, "I/O error: {e}"),
            DisconnectReason::Protocol(e) => write!(f, "protocol error: {e}"),
            DisconnectReason::Kicked => f.write_str("dropped by this socket"),
            DisconnectReason::SocketClosed => f.write_str("socket closed"),
        }
    }
}

/// What happened on a socket. `endpoint` is the endpoint as bound or connected (for an accepted
/// connection, the listener's).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SocketEvent {
    /// ZMQ_EVENT_LISTENING: `bind` succeeded.
    Listening {
        /// The endpoint bound (with the real port).
        endpoint: Endpoint,
    },
    /// ZMQ_EVENT_BIND_FAILED: `bind` failed (the call returned the error too).
    BindFailed {
        /// The endpoint.
        endpoint: Endpoint,
        /// Why.
        error: Arc<io::Error>,
    },
    /// ZMQ_EVENT_ACCEPTED: a peer connected to a bound endpoint.
    Accepted {
        /// The listener's endpoint.
        endpoint: Endpoint,
        /// The peer.
        peer: PeerAddr,
    },
    /// ZMQ_EVENT_ACCEPT_FAILED: accepting failed (out of descriptors...); the listener retries.
    AcceptFailed {
        /// The listener's endpoint.
        endpoint: Endpoint,
        /// Why.
        error: Arc<io::Error>,
    },
    /// ZMQ_EVENT_CONNECTED: a dial succeeded.
    Connected {
        /// The endpoint dialled.
        endpoint: Endpoint,
        /// The peer.
        peer: PeerAddr,
    },
    /// ZMQ_EVENT_CONNECT_DELAYED: a dial is in progress.
    ConnectDelayed {
        /// The endpoint being dialled.
        endpoint: Endpoint,
    },
    /// ZMQ_EVENT_CONNECT_RETRIED: the endpoint will be dialled again after `delay`.
    ConnectRetried {
        /// The endpoint.
        endpoint: Endpoint,
        /// The reconnect interval chosen.
        delay: Duration,
    },
    /// ZMQ_EVENT_HANDSHAKE_SUCCEEDED: the ZMTP handshake is done; messages flow.
    HandshakeSucceeded {
        /// The endpoint.
        endpoint: Endpoint,
        /// The peer.
        peer: PeerAddr,
        /// The peer's routing id: for a ROUTER the id it routes the peer by (announced or
        /// generated), for other types the `Identity` the peer announced, if any. `None` for a
        /// connection the socket ignores (a ROUTER's newcomer whose id another peer has, without
        /// ROUTER_HANDOVER; a PAIR's second peer): no id routes to it.
        routing_id: Option<RoutingId>,
    },
    /// ZMQ_EVENT_HANDSHAKE_FAILED_*: the connection ended on a protocol error before the
    /// handshake was done (a [`SocketEvent::Disconnected`] follows).
    HandshakeFailed {
        /// The endpoint.
        endpoint: Endpoint,
        /// The peer.
        peer: PeerAddr,
        /// What went wrong.
        error: ProtocolError,
    },
    /// ZMQ_EVENT_DISCONNECTED: a connection ended. It is reported once the peer's pipe is
    /// detached: a ROUTER no longer routes to it (`has_peer` is false) when this is seen.
    Disconnected {
        /// The endpoint.
        endpoint: Endpoint,
        /// The peer.
        peer: PeerAddr,
        /// The peer's routing id, as in [`SocketEvent::HandshakeSucceeded`] (`None` if the
        /// handshake was not done).
        routing_id: Option<RoutingId>,
        /// Why.
        reason: DisconnectReason,
    },
    /// ZMQ_EVENT_CLOSED: a listener was closed.
    Closed {
        /// Its endpoint.
        endpoint: Endpoint,
    },
    /// ZMQ_EVENT_MONITOR_STOPPED: the socket is gone; this is the last event.
    MonitorStopped,
    /// This reader fell behind and lost `count` events (the oldest ones).
    Missed {
        /// How many.
        count: u64,
    },
}

/// A socket's stream of [`SocketEvent`]s (a [`futures_core::Stream`]). See the module docs.
pub struct Monitor {
    /// The pending receive, kept across polls (and across cancelled `recv` calls).
    next: ReusableBoxFuture<'static, Received>,
}

type Received = (
    Result<SocketEvent, broadcast::error::RecvError>,
    broadcast::Receiver<SocketEvent>,
);

async fn receive(mut rx: broadcast::Receiver<SocketEvent>) -> Received {
    // Outside tokio's cooperative budget: `try_recv` polls this once and must see what is
    // there, however many events it already took in this task's turn.
    let r = tokio::task::unconstrained(rx.recv()).await;
    (r, rx)
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

impl Monitor {
    /// Events a reader may fall behind by before it loses the oldest.
    pub const CAPACITY: usize = 1024;

    fn new(rx: broadcast::Receiver<SocketEvent>) -> Monitor {
        Monitor {
            next: ReusableBoxFuture::new(receive(rx)),
        }
    }

    /// The next event, waiting for one; `None` after [`SocketEvent::MonitorStopped`].
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped, no event was taken.
    pub async fn recv(&mut self) -> Option<SocketEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<SocketEvent> {
        struct NoWake;
        impl std::task::Wake for NoWake {
            fn wake(self: Arc<Self>) {}
        }
        let waker = std::task::Waker::from(Arc::new(NoWake));
        match self.poll_event(&mut Context::from_waker(&waker)) {
            Poll::Ready(e) => e,
            Poll::Pending => None,
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        let (r, rx) = std::task::ready!(self.next.poll(cx));
        self.next.set(receive(rx));
        Poll::Ready(match r {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(count)) => Some(SocketEvent::Missed { count }),
            Err(broadcast::error::RecvError::Closed) => None,
        })
    }
}

impl futures_core::Stream for Monitor {
    type Item = SocketEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        self.get_mut().poll_event(cx)
    }
}

/// The sending side, held by the socket.
///
/// The channel is made by the first [`Monitors::subscribe`]: its ring of
/// [`Monitor::CAPACITY`] slots takes about 210 KB, which a socket that nobody monitors (most of
/// them) should not hold.
#[derive(Debug, Default)]
pub(crate) struct Monitors {
    tx: OnceLock<broadcast::Sender<SocketEvent>>,
}

impl Monitors {
    /// A new reader, seeing events from now on.
    pub(crate) fn subscribe(&self) -> Monitor {
        let tx = self
            .tx
            .get_or_init(|| broadcast::channel(Monitor::CAPACITY).0);
        Monitor::new(tx.subscribe())
    }

    /// The channel, if someone reads it.
    fn watched(&self) -> Option<&broadcast::Sender<SocketEvent>> {
        self.tx.get().filter(|tx| tx.receiver_count() > 0)
    }

    /// True if someone monitors.
    pub(crate) fn is_watched(&self) -> bool {
        self.watched().is_some()
    }

    /// Publishes an event (dropped at once if nobody monitors). `make` is called only if
    /// someone does.
    pub(crate) fn emit(&self, make: impl FnOnce() -> SocketEvent) {
        if let Some(tx) = self.watched() {
            let _ = tx.send(make());
        }
    }
}

impl Drop for Monitors {
    fn drop(&mut self) {
        self.emit(|| SocketEvent::MonitorStopped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(n: u16) -> SocketEvent {
        SocketEvent::Closed {
            endpoint: Endpoint::Tcp {
                host: crate::endpoint::Host::Any,
                port: n,
                source: None,
            },
        }
    }

    #[tokio::test]
    async fn a_slow_reader_loses_the_oldest_events_and_learns_how_many() {
        let monitors = Monitors::default();
        // Nobody monitors: events are not even built, and there is no channel.
        monitors.emit(|| panic!("built an event nobody reads"));
        assert!(monitors.tx.get().is_none());
        let mut m = monitors.subscribe();
        let n = Monitor::CAPACITY as u16 + 100;
        for i in 0..n {
            // Never blocks, however far behind the reader is.
            monitors.emit(|| closed(i));
        }
        assert!(matches!(
            m.recv().await,
            Some(SocketEvent::Missed { count: 100 })
        ));
        // Then the newest CAPACITY events, in order.
        for i in 100..n {
            match m.try_recv() {
                Some(SocketEvent::Closed {
                    endpoint: Endpoint::Tcp { port, .. },
                }) => assert_eq!(port, i),
                other => panic!("{other:?}"),
            }
        }
        assert!(m.try_recv().is_none());
        drop(monitors);
        // As a `Stream`: the last event, then the end.
        use futures_core::Stream;
        let last = std::future::poll_fn(|cx| Pin::new(&mut m).poll_next(cx)).await;
        assert!(matches!(last, Some(SocketEvent::MonitorStopped)));
        let end = std::future::poll_fn(|cx| Pin::new(&mut m).poll_next(cx)).await;
        assert!(end.is_none());
    }
}
