//! Sockets as [`futures_core::Stream`]s and [`futures_sink::Sink`]s, for `select!`,
//! `StreamExt::forward`, `SinkExt::send_all`, `split` and the rest of the futures toolbox.
//!
//! - Every socket type that receives ([`Receives`]: DEALER, ROUTER, REQ, REP, SUB, XPUB, XSUB,
//!   PULL, PAIR) is a `Stream<Item = Result<Message, Error>>`: each item is what
//!   [`Socket::recv`] would return. The stream ends (`None`) once the socket is closed and
//!   every message already received has been read.
//! - Every socket type that sends ([`Sends`]: DEALER, ROUTER, REQ, REP, PUB, XPUB, XSUB,
//!   PUSH, PAIR) is a `Sink<Message, Error = Error>` that queues as [`Socket::send`] does.
//!
//! A PUSH is not a `Stream` and a PULL not a `Sink`: that is checked when compiling.
//!
//! ```compile_fail
//! fn stream<S: futures_util::Stream>(_: &S) {}
//! stream(&zmtp::Push::new()); // error: a PUSH does not receive
//! ```
//! ```compile_fail
//! fn sink<S: futures_util::Sink<zmtp::Message>>(_: &S) {}
//! sink(&zmtp::Pull::new()); // error: a PULL does not send
//! ```
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use zmtp::{Message, Pull, Push};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), zmtp::Error> {
//! let mut pull = Pull::new();
//! let ep = pull.bind("tcp://127.0.0.1:0")?;
//! let mut push = Push::new();
//! push.connect(&ep.to_string())?;
//!
//! // Sink: three messages, queued in order, waiting for room under SNDHWM as `send` would.
//! let mut items = futures_util::stream::iter(["a", "b", "c"].map(|s| Ok(Message::from(s))));
//! push.send_all(&mut items).await?;
//!
//! // Stream: the same three, in order.
//! let got: Vec<Message> = (&mut pull).take(3).map(|m| m.expect("a message")).collect().await;
//! assert_eq!(got, [Message::from("a"), Message::from("b"), Message::from("c")]);
//! # Ok(()) }
//! ```
//!
//! # Clones
//!
//! A [`Socket`] is a shared handle: every clone is a stream and a sink of its own, over the
//! same socket. Each received message goes to exactly one of the handles that poll (the
//! first to find it), as with [`Socket::recv`] from several tasks. Each handle that waits
//! registers its task's waker under the socket's lock, where it checked for a message (or for
//! room), so no wake-up is lost between the check and the wait; one arrival wakes every
//! waiting handle (each polls again, and those that find nothing wait again). Use clones (or
//! `StreamExt::split`) to receive in one task and send in another.
//!
//! # The Sink
//!
//! - `poll_ready` waits until the message this handle holds back (see `start_send`), if any,
//!   is queued: it waits for room as [`Socket::send`] does (under SNDHWM, for the types that
//!   wait; PUB and a ROUTER without ROUTER_MANDATORY never wait, they drop as libzmq does).
//!   With nothing held back, it is ready at once.
//! - `start_send` queues the message at once if there is room; if not, this handle holds it
//!   back (one message, per handle) until `poll_ready`, `poll_flush` or `poll_close` can
//!   queue it. Its errors are those of [`Socket::send`] (an empty message, a closed socket, a
//!   REQ or REP out of turn, ROUTER_MANDATORY's unknown peer); called while a message is
//!   still held back (without `poll_ready` first), it hands the new one back in
//!   [`Error::Full`]. What a ROUTER's `send` returns ([`crate::Routed`]) is not reported: use
//!   [`Socket::send`] to learn whether a message was dropped.
//! - `poll_flush` is ready once every message given to this handle's `start_send` is in the
//!   socket's queues (or dropped as the type's rules say). It does not mean "on the wire":
//!   ZeroMQ has no flush, the connections write in the background. To wait until queued
//!   messages were written (within LINGER), close the socket with [`Socket::close`].
//! - `poll_close` is `poll_flush`, and leaves the socket open. The socket is shared (other
//!   clones may still use it) and `StreamExt::forward` closes its sink when its stream ends:
//!   closing the socket there would cut it from under the other handles and drop what they
//!   queued after LINGER. The socket closes, as always, with [`Socket::close`] or when its
//!   last handle is dropped.
//!
//! A handle dropped while it holds a message back drops that message (as a dropped `send`
//! future does): flush before dropping a sink that may be at SNDHWM.
//!
//! `SinkExt::send` is shadowed by the inherent [`Socket::send`], which queues as it does:
//! write `SinkExt::send(&mut socket, msg)` to get the `Sink`'s, or use `send_all`, `feed`
//! and `forward`, which have no inherent namesakes.
//!
//! # REQ and REP
//!
//! The strict alternation still applies: a REQ's stream yields `Err(Error::State(..))` if
//! polled before a request was sent, and a REP's sink fails in `start_send` before a request
//! was received; a REP's stream yields `Err(Error::State(..))` if polled again before the
//! reply was sent. The error is an item, not the end of the stream: alternate `next` and
//! `send` on the same socket (or its clones) as with `recv` and `send`.
//!
//! # Cancel safety and wake-ups
//!
//! Polling takes a message only when it returns it: a `StreamExt::next` future dropped
//! before it completes (a `select!` branch that lost) took nothing, and the message stays
//! for the next poll, of any handle. A `SinkExt::send` or `feed` future dropped after
//! `start_send` leaves its message queued, or held back by the handle until the next
//! `poll_ready`/`poll_flush`. A `Pending` poll registers the polling task's waker; the task
//! is woken when a message arrives (or room frees up, for a sink), when the socket closes, or
//! spuriously (it then polls again and waits again). A task that stops polling leaves its
//! waker registered until the next wake-up, which then wakes it once for nothing.
//!
//! # Runtimes and features
//!
//! Streams and sinks need the `tokio` feature (on by default; it brings `futures-core` and
//! `futures-sink`, whose traits these are). Combinators come from `futures-util` or
//! `futures` (an application dependency; this crate does not re-export them). A socket works
//! on any tokio runtime flavour: `current_thread` (as `#[tokio::main(flavor =
//! "current_thread")]` or `#[tokio::test]` build it) or `multi_thread`, including one built
//! by hand with `tokio::runtime::Builder`. TCP and ipc need `enable_io()` and
//! `enable_time()` (`enable_all()` enables both): without timers their connection tasks panic
//! ("timers are disabled"; handshake deadlines, heartbeats, reconnect intervals and LINGER
//! are timers). Sockets that use only inproc worked on a runtime built with neither. `bind`
//! and `connect` must run within the runtime (they spawn its listener and connection tasks);
//! a stream or a sink can then be polled from any executor or thread (tested with one that
//! is not tokio's), as long as the runtime that runs the connections keeps running.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;

use super::behaviour::Behaviour;
use super::{dealer, pair, publish, pull, push, rep, req, router, sub, xpub, xsub};
use super::{Error, Socket, SocketKind};
use crate::message::Message;

/// A socket type that receives: its [`Socket`] is a [`Stream`] of messages. Sealed.
pub trait Receives: SocketKind {}

/// A socket type that sends: its [`Socket`] is a [`Sink`] of messages. Sealed.
pub trait Sends: SocketKind {}

macro_rules! kinds {
    ($marker:ident, $can:ident: $($kind:ty),+) => {$(
        impl $marker for $kind {}
        // The marker and the behaviour's constant must agree.
        const _: () = assert!(<$kind as Behaviour>::$can);
    )+};
}

kinds!(Receives, CAN_RECV:
    dealer::DealerBehaviour, router::RouterBehaviour, req::ReqBehaviour, rep::RepBehaviour,
    sub::SubBehaviour, xpub::XPubBehaviour, xsub::XSubBehaviour, pull::PullBehaviour,
    pair::PairBehaviour);
kinds!(Sends, CAN_SEND:
    dealer::DealerBehaviour, router::RouterBehaviour, req::ReqBehaviour, rep::RepBehaviour,
    publish::PubBehaviour, xpub::XPubBehaviour, xsub::XSubBehaviour, push::PushBehaviour,
    pair::PairBehaviour);

/// The message a handle's [`Sink`] holds back until there is room for it: one per handle,
/// never shared by clones; boxed, so that it costs a socket handle one pointer. And the units
/// of tokio's cooperative budget that the last message sent owes for its size, paid by the
/// next `poll_ready` (`Socket::send` pays them before queuing; `start_send` cannot wait).
#[derive(Debug, Default)]
pub(crate) struct SinkSlot(Option<Box<Message>>, u8);

/// Messages as [`Socket::recv`] returns them; the stream ends when the socket is closed and
/// drained. Needs the `tokio` feature; any runtime flavour (see the [module docs](self)).
///
/// # Cancel safety
/// A poll takes a message only when it returns it (`StreamExt::next` is cancel safe).
///
/// ```
/// use futures_util::StreamExt;
/// use zmtp::{Message, Pair};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), zmtp::Error> {
/// let mut a = Pair::new();
/// a.bind("inproc://stream-doc")?;
/// let b = Pair::new();
/// b.connect("inproc://stream-doc")?;
/// b.send("ping").await?;
/// let first = a.next().await.expect("open socket")?;
/// assert_eq!(first, Message::from("ping"));
/// b.close().await;
/// a.close().await;
/// # Ok(()) }
/// ```
impl<K: Receives> Stream for Socket<K> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.core().poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(Error::Closed)) => Poll::Ready(None),
            Poll::Ready(r) => Poll::Ready(Some(r)),
        }
    }
}

/// Queues messages as [`Socket::send`] does, holding back at most one per handle while there
/// is no room; `poll_flush` means queued to the socket (not written), and `poll_close` does
/// not close the shared socket. Needs the `tokio` feature; any runtime flavour. See the
/// [module docs](self) for each method's guarantees and for cancel safety.
///
/// ```
/// use futures_util::{SinkExt, StreamExt};
/// use zmtp::{Message, Pub, Sub};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), zmtp::Error> {
/// let mut publisher = Pub::new();
/// let ep = publisher.bind("tcp://127.0.0.1:0")?;
/// let mut sub = Sub::new();
/// sub.subscribe("news");
/// sub.connect(&ep.to_string())?;
/// // A PUB drops what it sends before the subscription reached it: feed until one arrives.
/// let got = loop {
///     publisher.feed(Message::from(["weather", "rain"])).await?;
///     publisher.feed(Message::from(["news", "hello"])).await?;
///     publisher.flush().await?;
///     let next = tokio::time::timeout(std::time::Duration::from_millis(50), sub.next());
///     if let Ok(Some(m)) = next.await {
///         break m?;
///     }
/// };
/// assert_eq!(got, Message::from(["news", "hello"]));
/// # Ok(()) }
/// ```
impl<K: Sends> Sink<Message> for Socket<K> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.sink.0.is_none() {
            // As `Socket::send`: once the task's coop budget is spent, a yield before the next
            // message (a PUB's sink is always ready, and `send_all` would never yield), and
            // the units the last message took for its size (a sink of large messages yields
            // about once per MiB).
            std::task::ready!(super::poll_coop(cx, &mut this.sink.1));
            if K::SEND_NEVER_WAITS {
                std::task::ready!(tokio::task::coop::poll_proceed(cx)).made_progress();
            }
            return Poll::Ready(Ok(()));
        }
        this.poll_held(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), Error> {
        let this = self.get_mut();
        if this.sink.0.is_some() {
            return Err(Error::Full(msg));
        }
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        let units = super::coop_units(msg.byte_len());
        if let Err(msg) = this.core().send_now(msg)? {
            this.sink.0 = Some(Box::new(msg));
        }
        this.sink.1 = this.sink.1.saturating_add(units).min(128);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_held(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_held(cx)
    }
}

impl<K: Sends> Socket<K> {
    /// Queues the message this handle holds back, if any: ready when it holds none.
    fn poll_held(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Some(held) = self.sink.0.as_deref_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut msg = Some(std::mem::take(held));
        let r = self.h.core.poll_send(cx, &mut msg);
        match (r, msg) {
            (Poll::Pending, Some(m)) => {
                *held = m;
                Poll::Pending
            }
            // Queued, or failed for good (the message is dropped with the error).
            (r, _) => {
                self.sink.0 = None;
                r
            }
        }
    }
}
