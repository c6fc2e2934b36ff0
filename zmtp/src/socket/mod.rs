//! The socket, [`Socket`], and a module per socket type for what is particular to it.
//!
//! Programs use the aliases at the crate root ([`crate::Req`], [`crate::Pub`]...), each a
//! `Socket` of one type; the [front page](crate) has an example per pattern. The modules here
//! hold what only some types have: a ROUTER's send result ([`router::Routed`]), the calls of
//! one type (listed on [`Socket`]'s page), and the sockets as `futures` Streams and Sinks
//! ([`stream_sink`]).

// Contributor notes (ARCHITECTURE.md has the whole tree):
// - core.rs: the state shared by a socket and its connection tasks (pipes, the fair queue,
//   waiting for messages and for room, closing);
// - pipe.rs: one peer's inbound and outbound queues;
// - behaviour.rs: what a socket type decides (where a message goes, what a received one
//   looks like);
// - one file per type: dealer, router, req, rep, push, pull, pair, publish (PUB), sub, xpub,
//   xsub;
// - error.rs: `Error`;
// - stream_sink.rs: sockets as `futures` Streams and Sinks.
//
// Adding a socket type: one file with a behaviour (see behaviour.rs; the routing rules it
// needs are in crate::routing), one line in lib.rs naming its socket
// (`pub type Pub = Socket<PubBehaviour>`), and its name in stream_sink.rs's lists of the
// types that receive and send (checked against its `CAN_RECV` and `CAN_SEND`).

mod behaviour;
mod core;
pub mod dealer;
mod error;
pub mod pair;
mod pipe;
pub mod publish;
mod pubsub;
pub mod pull;
pub mod push;
pub mod rep;
pub mod req;
pub mod router;
pub mod stream_sink;
pub mod sub;
pub mod xpub;
pub mod xsub;

use std::fmt;
use std::sync::Arc;

use self::core::Core;
pub use self::error::Error;
use crate::endpoint::Endpoint;
use crate::message::Message;
use crate::monitor::Monitor;
use crate::options::SocketOptions;
use crate::socket_type::SocketType;
use crate::transport::SocketLink;

/// Bytes of a sent message per unit of tokio's cooperative budget (128 units per task turn):
/// a task sending large messages yields after about 1 MiB, one full write of a connection.
/// Messages under 8 KiB take none (see `Socket::coop_yield`).
const COOP_BYTES_PER_UNIT: usize = 8 * 1024;

/// The units of tokio's cooperative budget a sent message of `bytes` takes for its size: one
/// per [`COOP_BYTES_PER_UNIT`], at most the budget (128): more could not make a task yield
/// sooner.
fn coop_units(bytes: usize) -> u8 {
    u8::try_from((bytes / COOP_BYTES_PER_UNIT).min(128)).unwrap_or(128)
}

/// Spends `units` of the task's cooperative budget, one at a time: `Pending` (the task woken
/// to go on) when the budget runs out first, with what is still owed left in `units`. For
/// `Socket::send` and a socket's `Sink`.
fn poll_coop(cx: &mut std::task::Context<'_>, units: &mut u8) -> std::task::Poll<()> {
    while *units > 0 {
        std::task::ready!(tokio::task::coop::poll_proceed(cx)).made_progress();
        *units -= 1;
    }
    std::task::Poll::Ready(())
}

/// A socket type: [`dealer::DealerBehaviour`], [`router::RouterBehaviour`]... Sealed: the types
/// are this crate's.
pub trait SocketKind: behaviour::Behaviour {}

/// A ZeroMQ socket of type `K`; use it through its alias ([`crate::Dealer`],
/// [`crate::Router`], [`crate::Req`], [`crate::Rep`], [`crate::Push`], [`crate::Pull`],
/// [`crate::Pair`], [`crate::Pub`], [`crate::Sub`], [`crate::XPub`], [`crate::XSub`]).
///
/// Clones share the socket (send from one task, receive from another); it closes when the last
/// clone is dropped or [`Socket::close`] is called. `bind` and `connect` need a tokio runtime.
///
/// # The calls on this page
///
/// The calls of one socket type come first: a ROUTER's (`peers`, `has_peer`...), SUB's
/// `subscribe` and `unsubscribe`, XPUB's (`subscribe` there returns a `Result`: see each).
/// Then the calls of every type, under `impl<K: SocketKind> Socket<K>`: [`Socket::new`],
/// [`Socket::with_options`], [`Socket::bind`], [`Socket::connect`], [`Socket::send`],
/// [`Socket::recv`], their `try_` and batch forms, [`Socket::monitor`] and [`Socket::close`].
///
/// # A call the type does not do
///
/// Every type has `send` and `recv`, as every libzmq socket has `zmq_send` and `zmq_recv`: a
/// call the type does not do compiles, and fails when it runs, with [`Error::NotSupported`]
/// (libzmq's ENOTSUP). Sending on a SUB or PULL, receiving on a PUB or PUSH; and `try_recv`,
/// which has no error to give, returns `None` on them. The [`stream_sink`] traits, on the
/// other hand, are implemented only for the types that receive (`Stream`) and send (`Sink`):
/// there, the wrong direction does not compile.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tokio::time::error::Elapsed> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Error, Pub, Sub};
///
/// let subscriber = Sub::new();
/// assert!(matches!(subscriber.send("x").await, Err(Error::NotSupported { .. })));
/// assert!(matches!(subscriber.try_send("x"), Err(Error::NotSupported { .. })));
/// let publisher = Pub::new();
/// assert!(matches!(publisher.recv().await, Err(Error::NotSupported { .. })));
/// assert_eq!(publisher.try_recv(), None);
/// # }).await
/// # }
/// ```
pub struct Socket<K: SocketKind> {
    h: Arc<Handle<K>>,
    /// This handle's `Sink` state (not shared by clones).
    sink: stream_sink::SinkSlot,
}

/// Closes the socket when the last clone goes.
struct Handle<K: SocketKind> {
    core: Arc<Core<K>>,
}

impl<K: SocketKind> Drop for Handle<K> {
    fn drop(&mut self) {
        self.core.close();
    }
}

impl<K: SocketKind> Clone for Socket<K> {
    fn clone(&self) -> Self {
        Socket {
            h: self.h.clone(),
            sink: Default::default(),
        }
    }
}

impl<K: SocketKind> fmt::Debug for Socket<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("type", &K::TYPE)
            .field("bound", &self.bound_endpoints())
            .finish_non_exhaustive()
    }
}

impl<K: SocketKind> Default for Socket<K> {
    fn default() -> Self {
        Socket::new()
    }
}

impl<K: SocketKind> Socket<K> {
    /// A socket with libzmq's default options.
    pub fn new() -> Self {
        Socket {
            h: Arc::new(Handle {
                core: Core::new(SocketOptions::default()),
            }),
            sink: Default::default(),
        }
    }

    /// A socket with the given options.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for values libzmq would refuse or that cannot work (a routing
    /// id of 0 or more than 255 bytes, a HEARTBEAT_TTL over 6553.5 s...).
    pub fn with_options(mut options: SocketOptions) -> Result<Self, Error> {
        options.validate().map_err(Error::InvalidOption)?;
        options.complete();
        Ok(Socket {
            h: Arc::new(Handle {
                core: Core::new(options),
            }),
            sink: Default::default(),
        })
    }

    pub(crate) fn core(&self) -> &Core<K> {
        &self.h.core
    }

    fn link(&self) -> Arc<dyn SocketLink> {
        self.h.core.clone()
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        K::TYPE
    }

    /// The options the socket was made with.
    pub fn options(&self) -> &SocketOptions {
        &self.h.core.options
    }

    /// Listens on `endpoint` (e.g. `tcp://127.0.0.1:0`, `ipc:///tmp/feed.sock`, `ipc://*`) and
    /// returns the endpoint actually bound (with the port, or the path, chosen for `0` or
    /// `*`), libzmq's `ZMQ_LAST_ENDPOINT`. Peers that connect get their own queues, which go
    /// away with their connection.
    ///
    /// Every interface, `tcp://*:0`, returns `tcp://*:PORT` (libzmq: `tcp://0.0.0.0:PORT`),
    /// which this crate's `connect` takes as this machine, 127.0.0.1 (see
    /// [`crate::endpoint`]):
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
    /// use zmtp::{Message, Pair};
    ///
    /// let a = Pair::new();
    /// let endpoint = a.bind("tcp://*:0")?;
    /// assert!(endpoint.to_string().starts_with("tcp://*:"));
    /// let b = Pair::new();
    /// b.connect(&endpoint.to_string())?; // dials 127.0.0.1
    /// b.send("hi").await?;
    /// assert_eq!(a.recv().await?, Message::from("hi"));
    /// # Ok::<(), zmtp::Error>(())
    /// # }).await??;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A malformed endpoint, the OS refusing the address (port in use...), a closed socket.
    pub fn bind(&self, endpoint: &str) -> Result<Endpoint, Error> {
        let ep: Endpoint = endpoint.parse()?;
        ep.check_bindable()?;
        if self.core().is_closed() {
            return Err(Error::Closed);
        }
        let (actual, stop) =
            crate::transport::bind(&self.link(), &ep).map_err(|source| Error::Bind {
                endpoint: ep.to_string(),
                source,
            })?;
        self.core().add_endpoint(ep, actual.clone(), true, stop);
        Ok(actual)
    }

    /// Stops listening on `endpoint` (as given to [`Socket::bind`], or as it returned), and
    /// closes the connections accepted there after they flush what is queued (within LINGER),
    /// as libzmq's `zmq_unbind`. An ipc socket file is removed.
    ///
    /// # Errors
    /// A malformed endpoint, or one this socket has not bound ([`Error::UnknownEndpoint`]).
    pub fn unbind(&self, endpoint: &str) -> Result<(), Error> {
        let ep: Endpoint = endpoint.parse()?;
        if self.core().remove_endpoint(&ep, true) {
            Ok(())
        } else {
            Err(Error::UnknownEndpoint(ep.to_string()))
        }
    }

    /// Stops dialling `endpoint` and closes its connection after it flushes what is queued
    /// (within LINGER), as libzmq's `zmq_disconnect`. Its queue goes with it.
    ///
    /// # Errors
    /// A malformed endpoint, or one this socket has not connected
    /// ([`Error::UnknownEndpoint`]).
    pub fn disconnect(&self, endpoint: &str) -> Result<(), Error> {
        let ep: Endpoint = endpoint.parse()?;
        if self.core().remove_endpoint(&ep, false) {
            Ok(())
        } else {
            Err(Error::UnknownEndpoint(ep.to_string()))
        }
    }

    /// Dials `endpoint` in the background and returns at once. Messages sent before the
    /// connection is up wait in this peer's queue (up to SNDHWM, unless IMMEDIATE); the
    /// connection is re-dialled whenever it drops, and the queue survives.
    ///
    /// # Errors
    /// A malformed endpoint, or a closed socket.
    pub fn connect(&self, endpoint: &str) -> Result<(), Error> {
        let ep: Endpoint = endpoint.parse()?;
        ep.check_connectable()?;
        if self.core().is_closed() {
            return Err(Error::Closed);
        }
        let stop = crate::transport::connect(&self.link(), ep.clone());
        self.core().add_endpoint(ep.clone(), ep, false, stop);
        Ok(())
    }

    /// The endpoints bound so far.
    pub fn bound_endpoints(&self) -> Vec<Endpoint> {
        self.core().bound()
    }

    /// A stream of this socket's events from now on (connections, handshakes, disconnections
    /// with the peer's routing id and the reason). See [`crate::monitor`].
    ///
    /// The first call makes the socket's event ring ([`Monitor::CAPACITY`] events, about
    /// 210 KB), which the socket then keeps; a socket that is never monitored holds none.
    pub fn monitor(&self) -> Monitor {
        self.core().monitors_ref().subscribe()
    }

    /// Sends a multipart message as the socket type routes it: DEALER to the next peer in
    /// round-robin order with room, waiting while none has room (nothing is dropped); ROUTER
    /// to the peer its first frame names, dropping it if that peer is unknown or full unless
    /// ROUTER_MANDATORY ([`router::Routed`] says which).
    ///
    /// Where a send never waits for room (PUB, XPUB, ROUTER), it takes part in tokio's
    /// cooperative scheduling, as tokio's own resources do: once the task's budget is spent it
    /// yields before queuing, so that a tight loop of sends on a current-thread runtime lets
    /// the connections write. A large message does too, whatever the type: one unit of the
    /// budget per 8 KiB, so a task sending large messages yields about once per MiB, and the
    /// connection writes them (or an inproc peer reads them) while they are still in the
    /// cache, not after SNDHWM's worth has been queued.
    ///
    /// # Cancel safety
    /// Not cancel safe: if the future is dropped before it completes, the message was not
    /// queued (nor partly sent) and is lost with the future. To keep it, use
    /// [`Socket::try_send`], which hands it back when there is no room.
    ///
    /// # Errors
    /// [`Error::EmptyMessage`], [`Error::Closed`], ROUTER_MANDATORY's
    /// [`Error::HostUnreachable`], and [`Error::NotSupported`] on a type that does not send
    /// (PULL, SUB).
    pub async fn send(&self, msg: impl Into<Message>) -> Result<K::Sent, Error> {
        let msg = msg.into();
        Self::can_send()?;
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        Self::coop_yield(msg.byte_len()).await;
        let msg = match self.h.core.send_now(msg)? {
            Ok(sent) => return Ok(sent),
            Err(msg) => msg,
        };
        // The waiting machinery is boxed: it is needed only at SNDHWM, and inline it made this
        // future ~400 bytes, copied twice per call (callgrind, 16 B messages: +128
        // instructions per message). Bound first, and outside any `match`: a temporary in the
        // awaited expression or a scrutinee would live (and take room in this future) until
        // the await ends.
        let waiting = Box::pin(self.h.core.send_waiting(msg));
        waiting.await
    }

    /// Sends without waiting: [`Error::Full`] hands the message back when there is no room
    /// (for a ROUTER, whatever ROUTER_MANDATORY says, and an unknown peer is
    /// [`Error::HostUnreachable`]: the caller decides).
    ///
    /// # Errors
    /// [`Error::Full`], [`Error::HostUnreachable`], [`Error::EmptyMessage`], [`Error::Closed`],
    /// [`Error::NotSupported`].
    pub fn try_send(&self, msg: impl Into<Message>) -> Result<(), Error> {
        Self::can_send()?;
        self.core().try_send(msg.into())
    }

    /// Sends every message of `msgs`, in order, each as [`Socket::send`] would, taking the
    /// socket's lock once per run of messages that fit; waits while there is no room. `msgs`
    /// is empty when it returns `Ok`.
    ///
    /// # Cancel safety
    /// Cancel safe in that no message is lost: messages are removed from the front of `msgs`
    /// as they are queued, so if the future is dropped, what is left in `msgs` was not sent.
    ///
    /// # Errors
    /// [`Error::EmptyMessage`] (nothing of the batch is sent), [`Error::Closed`],
    /// ROUTER_MANDATORY's [`Error::HostUnreachable`] (the messages before it were sent; it is
    /// removed from `msgs`, the rest stay).
    pub async fn send_many(&self, msgs: &mut Vec<Message>) -> Result<(), Error> {
        Self::can_send()?;
        // Not charged by the byte: the caller built the whole batch already, and walking it
        // would cost small messages what the batch saves them.
        Self::coop_yield(0).await;
        self.core().send_many(msgs).await
    }

    /// Receives the next message, fair-queued over peers (one whole message per peer per
    /// turn), waiting until one arrives. A ROUTER's messages start with the sender's routing
    /// id.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped, no message was taken.
    ///
    /// # Errors
    /// [`Error::Closed`], and [`Error::NotSupported`] on a type that does not receive (PUSH,
    /// PUB).
    pub async fn recv(&self) -> Result<Message, Error> {
        Self::can_recv()?;
        // A message already waiting is taken here, without entering the waiting machinery:
        // its future was set up and dropped for every message (callgrind of the 16 B
        // receiver: 1040 -> 989 instructions per message).
        if let Some(m) = self.core().recv_now()? {
            return Ok(m);
        }
        self.core().recv_with(core::State::pop).await
    }

    /// Receives a message if one is waiting; always `None` on a type that does not receive
    /// (PUB, PUSH), where [`Socket::recv`] is [`Error::NotSupported`].
    pub fn try_recv(&self) -> Option<Message> {
        self.core().try_recv()
    }

    /// Receives up to `limit` messages (at least one), appending them to `buf` in the order
    /// [`Socket::recv`] would return them, waiting until at least one arrives. Returns how
    /// many were received.
    ///
    /// One call takes the socket's lock once for the whole batch: for small messages at high
    /// rates it costs much less per message than calling [`Socket::recv`] in a loop (as
    /// `tokio::sync::mpsc::Receiver::recv_many` does for channels).
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped, no message was taken.
    ///
    /// # Errors
    /// [`Error::Closed`], and [`Error::NotSupported`] on a type that does not receive (PUSH,
    /// PUB).
    pub async fn recv_many(&self, buf: &mut Vec<Message>, limit: usize) -> Result<usize, Error> {
        Self::can_recv()?;
        self.core().recv_many(buf, limit).await
    }

    /// Tokio's cooperative scheduling, before anything is queued: once the task's budget is
    /// spent (128 units), a yield. A send of `bytes` takes one unit if the type's sends never
    /// wait ([`Behaviour::SEND_NEVER_WAITS`](behaviour::Behaviour::SEND_NEVER_WAITS)), and one
    /// per [`COOP_BYTES_PER_UNIT`] whatever the type.
    ///
    /// A tight loop of PUB sends on a current-thread runtime otherwise kept the connection
    /// tasks from running until it ended: all but SNDHWM's worth was dropped unwritten. A
    /// DEALER sending 64 KiB messages over inproc on a current-thread runtime queued SNDHWM's
    /// worth (64 MB) before the peer read any, so every copy went to memory gone cold; with
    /// this charge it yields every 16 messages, and the relay's batch is as large
    /// (`bench/ab.sh inproc`: see BENCHMARKS.md). Small messages of types that wait at SNDHWM
    /// take no unit: a yield every 128 sends cost them 8 % of their 16 B throughput (smaller
    /// batches per write). [`Socket::send_many`] is charged as before, one unit for a type
    /// whose sends never wait.
    fn coop_yield(bytes: usize) -> impl std::future::Future<Output = ()> {
        // A `u8` and a `poll_fn`, not a loop of `consume_budget` in an `async fn`: the send
        // future holds this across its first await, and the loop's state made it 24 bytes
        // larger (280 against 256), a copy paid by every send.
        let mut units = u8::from(K::SEND_NEVER_WAITS).saturating_add(coop_units(bytes));
        std::future::poll_fn(move |cx| poll_coop(cx, &mut units))
    }

    fn can_send() -> Result<(), Error> {
        if K::CAN_SEND {
            return Ok(());
        }
        Err(Error::NotSupported {
            socket_type: K::TYPE,
            op: "send",
        })
    }

    fn can_recv() -> Result<(), Error> {
        if K::CAN_RECV {
            return Ok(());
        }
        Err(Error::NotSupported {
            socket_type: K::TYPE,
            op: "receive",
        })
    }

    /// Closes the socket and waits until queued messages were flushed to connected peers
    /// (bounded by LINGER) and every connection and listener is released.
    ///
    /// # Cancel safety
    /// The socket is closed as soon as this is called; dropping the future only stops waiting
    /// for the flush.
    pub async fn close(self) {
        self.core().close_and_wait().await;
    }
}
