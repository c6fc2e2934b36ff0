//! ZMTP 3.x, the ZeroMQ wire protocol, from scratch in Rust: ZeroMQ sockets on tokio that talk
//! to libzmq and every other ZMTP peer, over a sans-IO protocol core.
//!
//! ZeroMQ is a messaging library: its sockets carry whole messages (of one or more frames), not
//! byte streams, over TCP, IPC or within a process. Each socket type serves one pattern
//! (request-reply, publish-subscribe, pipeline, exclusive pair) and routes for it: it balances,
//! fans out, queues while a peer is away and reconnects. ZMTP is what the sockets say to each
//! other on the wire; this crate speaks it without libzmq, in safe Rust.
//!
//! Most programs use the sockets (the `tokio` feature, on by default): this page shows them,
//! from a first program to every socket type, transports, security, options and logging. For
//! a program that does its own I/O, the layers under them are public and need no tokio:
//! [`protocol`], the **sans-IO core** (greeting, frame codec, commands, metadata, the security
//! [`protocol::mechanism`]s, and a [`protocol::session::Session`] state machine over bytes,
//! with time passed in), and [`routing`], the **routing rules** (load-balance, fair-queue,
//! distribute, identity routing) over pipe ids.
//!
//! Features: `tokio` (the sockets), `curve` (CURVE security), `ipc` (the `ipc://` transport),
//! all on by default. Without `tokio`, the crate is the sans-IO core alone, and this page ends
//! here.
//!
#![cfg_attr(feature = "tokio", doc = include_str!("guide.md"))]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]
#![deny(unused_must_use)]
// One exception, allowed where it is: `transport/sockopt.rs` (setsockopt of SO_RCVLOWAT).
#![deny(unsafe_code)]

pub mod endpoint;
pub mod message;
pub mod protocol;
pub mod routing;
pub mod socket_type;

#[cfg(feature = "tokio")]
pub mod auth;
#[cfg(feature = "curve")]
pub mod curve;
#[cfg(feature = "tokio")]
pub mod monitor;
#[cfg(feature = "tokio")]
pub mod options;
#[cfg(feature = "tokio")]
mod outgoing;
#[cfg(feature = "tokio")]
pub mod proxy;
#[cfg(feature = "tokio")]
pub mod socket;
#[cfg(feature = "tokio")]
mod transport;

/// The [`bytes`](https://docs.rs/bytes/1) crate, whose [`Bytes`](https://docs.rs/bytes/1/bytes/struct.Bytes.html)
/// is the type of a message's frames: `zmtp::bytes::Bytes`, without a dependency of your own
/// on `bytes`.
pub use bytes;

pub use endpoint::Endpoint;
pub use message::Message;
pub use protocol::{DecodeError, ProtocolError};
pub use routing::RoutingId;
pub use socket_type::SocketType;

#[cfg(feature = "tokio")]
pub use monitor::{Monitor, SocketEvent};
#[cfg(feature = "tokio")]
pub use options::SocketOptions;
#[cfg(feature = "tokio")]
pub use proxy::proxy;
#[cfg(feature = "tokio")]
pub use socket::{router::Routed, Error, Socket};

/// A DEALER socket: round-robin send over its peers, waiting while none has room; fair-queued
/// receive (RFC 28). An asynchronous REQ: any number of requests in flight, no envelope added.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Dealer, Message, Router, SocketOptions};
///
/// let router = Router::new();
/// let endpoint = router.bind("inproc://dealer-doc")?;
/// let dealer = Dealer::with_options(SocketOptions::default().routing_id("d1"))?;
/// dealer.connect(&endpoint.to_string())?;
/// // Requests in a row, without waiting for replies.
/// dealer.send("one").await?;
/// dealer.send("two").await?;
/// assert_eq!(router.recv().await?, Message::from_frames(["d1", "one"]));
/// assert_eq!(router.recv().await?, Message::from_frames(["d1", "two"]));
/// router.send(Message::from_frames(["d1", "done"])).await?;
/// assert_eq!(dealer.recv().await?, Message::from("done"));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Dealer = Socket<socket::dealer::DealerBehaviour>;

/// A ROUTER socket: received messages start with the sender's routing id; sent messages are
/// routed by their first frame (RFC 28). A message for an unknown or full peer is dropped, and
/// `send` says so ([`Routed`]); with `router_mandatory` it is an error, or a wait.
///
/// [`Routed`] is `#[must_use]`: `router.send(msg).await?;` alone warns, since a dropped message
/// would go unnoticed. Check it, as below, or write `let _ = router.send(msg).await?;` where a
/// drop is acceptable.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Message, Req, Routed, Router, SocketOptions};
///
/// let router = Router::new();
/// let endpoint = router.bind("tcp://127.0.0.1:0")?;
/// let client = Req::with_options(SocketOptions::default().routing_id("alice"))?;
/// client.connect(&endpoint.to_string())?;
/// client.send("hi").await?;
/// // The sender's id, then the REQ's empty delimiter, then the body.
/// assert_eq!(router.recv().await?, Message::from_frames(["alice", "", "hi"]));
/// let reply = Message::from_frames(["alice", "", "hello alice"]);
/// assert_eq!(router.send(reply).await?, Routed::Queued);
/// assert_eq!(client.recv().await?, Message::from("hello alice"));
/// // Nobody is called bob: the message is dropped, and `send` says so.
/// let lost = Message::from_frames(["bob", "", "?"]);
/// let routed = router.send(lost).await?;
/// if routed != Routed::Queued {
///     eprintln!("not delivered: {routed:?}"); // Unroutable here; Full for a peer at SNDHWM
/// }
/// assert_eq!(routed, Routed::Unroutable);
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Router = Socket<socket::router::RouterBehaviour>;

/// A REQ socket: a request to one peer (round-robin), then its reply, in lock-step (RFC 28).
/// Sending again before the reply is [`Error::State`] (libzmq's EFSM) unless `req_relaxed`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Error, Message, Rep, Req};
///
/// let server = Rep::new();
/// let endpoint = server.bind("inproc://req-doc")?;
/// let client = Req::new();
/// client.connect(&endpoint.to_string())?;
/// client.send("ping").await?;
/// assert!(matches!(client.send("ping again").await, Err(Error::State(_))));
/// assert_eq!(server.recv().await?, Message::from("ping"));
/// server.send("pong").await?;
/// assert_eq!(client.recv().await?, Message::from("pong"));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Req = Socket<socket::req::ReqBehaviour>;

/// A REP socket: a request from a peer (fair-queued), then the reply to it, which goes back to
/// that peer (RFC 28).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Message, Rep, Req};
///
/// let server = Rep::new();
/// let endpoint = server.bind("tcp://127.0.0.1:0")?;
/// let (alice, bob) = (Req::new(), Req::new());
/// alice.connect(&endpoint.to_string())?;
/// bob.connect(&endpoint.to_string())?;
/// alice.send("alice").await?;
/// bob.send("bob").await?;
/// for _ in 0..2 {
///     let request = server.recv().await?;
///     let mut reply = request.clone();
///     reply.push_back("ok");
///     server.send(reply).await?;
/// }
/// // Each reply went to its requester.
/// assert_eq!(alice.recv().await?, Message::from_frames(["alice", "ok"]));
/// assert_eq!(bob.recv().await?, Message::from_frames(["bob", "ok"]));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Rep = Socket<socket::rep::RepBehaviour>;

/// A PUB socket: each message to every subscriber of a prefix of its first frame; drops for
/// subscribers at SNDHWM, never waits; does not receive (RFC 29).
///
/// A message sent before a subscription arrived is not delivered (libzmq's "slow joiner"): a
/// subscription reaches the publisher a moment after `connect`, even after the connection's
/// handshake (the SUB sends it once the handshake is done, so a `HandshakeSucceeded` monitor
/// event does not mean it has arrived). The example below resends until both subscribers
/// hear. To start without losing anything, see [Publish-subscribe](crate#publish-subscribe)
/// on the front page: an [`XPub`] sees each subscription arrive.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use std::time::Duration;
/// use zmtp::{Message, Pub, Sub};
///
/// let publisher = Pub::new();
/// let endpoint = publisher.bind("tcp://127.0.0.1:0")?;
/// let (a, b) = (Sub::new(), Sub::new());
/// for sub in [&a, &b] {
///     sub.connect(&endpoint.to_string())?;
///     sub.subscribe("news");
/// }
/// // Until both subscriptions have arrived.
/// let (mut got_a, mut got_b) = (None, None);
/// while got_a.is_none() || got_b.is_none() {
///     publisher.send("news: up").await?;
///     tokio::time::sleep(Duration::from_millis(10)).await;
///     got_a = got_a.or(a.try_recv());
///     got_b = got_b.or(b.try_recv());
/// }
/// assert_eq!(got_a, Some(Message::from("news: up")));
/// assert_eq!(got_b, Some(Message::from("news: up")));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Pub = Socket<socket::publish::PubBehaviour>;

/// A SUB socket: receives the messages whose first frame starts with one of its subscriptions
/// ([`Socket::subscribe`](socket::Socket#method.subscribe), counted); does not send (RFC 29).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use std::time::Duration;
/// use zmtp::{Message, Pub, Sub};
///
/// let publisher = Pub::new();
/// let endpoint = publisher.bind("inproc://sub-doc")?;
/// let subscriber = Sub::new();
/// subscriber.connect(&endpoint.to_string())?;
/// subscriber.subscribe("temp.");
/// let msg = loop {
///     publisher.send("wind.paris 20kt").await?;
///     publisher.send("temp.paris 12C").await?;
///     if let Ok(msg) = tokio::time::timeout(Duration::from_millis(20), subscriber.recv()).await {
///         break msg?;
///     }
/// };
/// // Only what matches "temp.".
/// assert_eq!(msg, Message::from("temp.paris 12C"));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Sub = Socket<socket::sub::SubBehaviour>;

/// An XPUB socket: a PUB that hands its subscribers' subscriptions to the application, as
/// `0x01` + topic messages (cancels: `0x00` + topic) (RFC 29). The publisher side of a proxy, or
/// a publisher that sends a topic's last value to each new subscriber.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Message, Sub, XPub};
///
/// let publisher = XPub::new();
/// let endpoint = publisher.bind("tcp://127.0.0.1:0")?;
/// let subscriber = Sub::new();
/// subscriber.connect(&endpoint.to_string())?;
/// subscriber.subscribe("price.");
/// // The subscription arrives as a message: once it is here, the subscriber gets the topic.
/// assert_eq!(publisher.recv().await?, Message::from(b"\x01price.".to_vec()));
/// publisher.send("price.eur 1.08").await?;
/// assert_eq!(subscriber.recv().await?, Message::from("price.eur 1.08"));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type XPub = Socket<socket::xpub::XPubBehaviour>;

/// An XSUB socket: a SUB whose subscriptions are messages the application sends, `0x01` +
/// topic (cancels: `0x00` + topic) (RFC 29). The subscriber side of a proxy.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Message, XPub, XSub};
///
/// let publisher = XPub::new();
/// let endpoint = publisher.bind("inproc://xsub-doc")?;
/// let subscriber = XSub::new();
/// subscriber.connect(&endpoint.to_string())?;
/// subscriber.send(b"\x01alerts".to_vec()).await?; // subscribe to "alerts"
/// assert_eq!(publisher.recv().await?, Message::from(b"\x01alerts".to_vec()));
/// publisher.send("alerts: disk full").await?;
/// publisher.send("other").await?;
/// assert_eq!(subscriber.recv().await?, Message::from("alerts: disk full"));
/// assert_eq!(subscriber.try_recv(), None);
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type XSub = Socket<socket::xsub::XSubBehaviour>;

/// A PUSH socket: round-robin send over its peers, waiting while none has room; does not
/// receive (RFC 30, pipeline).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Message, Pull, Push};
///
/// let ventilator = Push::new();
/// let endpoint = ventilator.bind("tcp://127.0.0.1:0")?;
/// let mut events = ventilator.monitor();
/// let (w1, w2) = (Pull::new(), Pull::new());
/// w1.connect(&endpoint.to_string())?;
/// w2.connect(&endpoint.to_string())?;
/// // Once both workers are connected, tasks are dealt out in turn: two each.
/// let mut ready = 0;
/// while ready < 2 {
///     if let Some(zmtp::SocketEvent::HandshakeSucceeded { .. }) = events.recv().await {
///         ready += 1;
///     }
/// }
/// for task in ["t1", "t2", "t3", "t4"] {
///     ventilator.send(task).await?;
/// }
/// let mut got = vec![w1.recv().await?, w1.recv().await?, w2.recv().await?, w2.recv().await?];
/// got.sort_by(|x, y| x.frames().cmp(y.frames()));
/// assert_eq!(got, ["t1", "t2", "t3", "t4"].map(Message::from));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Push = Socket<socket::push::PushBehaviour>;

/// A PULL socket: fair-queued receive from its peers (one message from each in turn); does not
/// send (RFC 30, pipeline).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Message, Pull, Push};
///
/// let sink = Pull::new();
/// let endpoint = sink.bind("inproc://pull-doc")?;
/// let worker = Push::new();
/// worker.connect(&endpoint.to_string())?;
/// worker.send(Message::from_frames(["result", "42"])).await?;
/// assert_eq!(sink.recv().await?, Message::from_frames(["result", "42"]));
/// // PULL does not send.
/// assert!(matches!(sink.send("no").await, Err(zmtp::Error::NotSupported { .. })));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Pull = Socket<socket::pull::PullBehaviour>;

/// A PAIR socket: exactly one peer, both directions (RFC 31); a second peer is refused.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::timeout(std::time::Duration::from_secs(10), async {
/// use zmtp::{Message, Pair};
///
/// let a = Pair::new();
/// let endpoint = a.bind("inproc://pair-doc")?;
/// let b = Pair::new();
/// b.connect(&endpoint.to_string())?;
/// a.send("ping").await?;
/// assert_eq!(b.recv().await?, Message::from("ping"));
/// b.send("pong").await?;
/// assert_eq!(a.recv().await?, Message::from("pong"));
/// # Ok::<(), zmtp::Error>(())
/// # }).await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub type Pair = Socket<socket::pair::PairBehaviour>;
