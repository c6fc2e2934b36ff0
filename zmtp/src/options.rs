//! Socket options, with libzmq's names (lower-cased) and defaults (`zmq_setsockopt(3)`, libzmq
//! 4.3.5 `src/options.cpp`).

use std::time::Duration;

use bytes::Bytes;

use crate::protocol::limits::{MAX_HEARTBEAT_TTL_MS, MAX_ROUTING_ID_LEN};
use crate::protocol::mechanism::MechanismConfig;
use crate::protocol::session::SessionConfig;
use crate::socket_type::SocketType;

/// Options of a socket, given when it is made
/// ([`Socket::with_options`](crate::Socket::with_options)) and fixed from then on. Each field
/// is a libzmq option (`zmq_setsockopt(3)`), named as libzmq names it without `ZMQ_`,
/// lower-cased, with libzmq's default; a setter of the same name sets it in a chain. Times are
/// [`Duration`]s; libzmq's `-1` ("never", "no limit", "the OS default") is `None`.
///
/// ```
/// use std::time::Duration;
/// use zmtp::SocketOptions;
///
/// let opts = SocketOptions::default()
///     .routing_id("worker-1") // ZMQ_ROUTING_ID
///     .sndhwm(10) // ZMQ_SNDHWM
///     .linger(Duration::ZERO) // ZMQ_LINGER 0
///     .reconnect_ivl(None); // ZMQ_RECONNECT_IVL -1
/// let dealer = zmtp::Dealer::with_options(opts)?;
/// assert_eq!(dealer.options().sndhwm, 10);
///
/// // The same, field by field (the struct is `#[non_exhaustive]`: start from the default).
/// let mut opts = SocketOptions::default();
/// opts.routing_id = Some("worker-1".into());
/// opts.sndhwm = 10;
/// # let _ = opts;
/// # Ok::<(), zmtp::Error>(())
/// ```
///
/// A value libzmq would refuse, or that cannot work, is an error when the socket is made
/// ([`Error::InvalidOption`](crate::Error::InvalidOption)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketOptions {
    /// ZMQ_ROUTING_ID: the id this socket announces to peers (1..=255 bytes). Default none.
    pub routing_id: Option<Bytes>,
    /// ZMQ_SNDHWM: outbound messages queued per peer before send waits (DEALER) or drops
    /// (ROUTER). `0` = no limit. Default 1000. As in libzmq, messages a connection has taken
    /// from the queue to write (up to 1 MiB of them) and bytes in the kernel's socket buffer
    /// are not counted.
    pub sndhwm: usize,
    /// ZMQ_RCVHWM: inbound messages queued per peer before we stop reading from it. `0` = no
    /// limit. Default 1000.
    pub rcvhwm: usize,
    /// ZMQ_LINGER: how long a closed socket keeps flushing queued messages to connected peers.
    /// `None` = until flushed (libzmq's -1, the default); `Some(ZERO)` = discard at once.
    ///
    /// At close ([`Socket::close`](crate::Socket::close), or the last clone dropped), over
    /// tcp and ipc:
    /// - Messages queued for a **connected** peer are written until none is left or LINGER
    ///   runs out. With `None`, a peer that stops reading keeps them (and `close().await`
    ///   waiting) as long as its connection lasts.
    /// - Messages queued for a peer **not connected** (a `connect` whose peer is not up yet,
    ///   or is being dialled again) are discarded at once, unless a dial is under way at that
    ///   moment: it may then go on for LINGER (at most 30 s with `None`), and if it succeeds
    ///   they are written as above. A dial that fails is not tried again. So a PUSH connected
    ///   to a dead port closes at once, its messages lost; libzmq keeps them, and its
    ///   `zmq_ctx_term` waits for the peer (for ever with LINGER -1).
    ///
    /// The flush runs in tasks of the tokio runtime: `close().await` waits for it; dropping the
    /// socket starts it and returns. A runtime that shuts down (`#[tokio::main]`'s `main`
    /// returning) stops those tasks where they are, and what is still queued is lost: await
    /// `close()` before leaving `main` when the last messages matter. Over inproc, what is
    /// queued goes over to the peer socket at close; the messages of a connect whose name
    /// was never bound are discarded.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use zmtp::Push;
    ///
    /// // A port where nobody listens.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let push = Push::new(); // LINGER None: "until flushed"
    /// push.connect(&format!("tcp://127.0.0.1:{port}"))?;
    /// push.send("never delivered").await?; // queued for the peer that is not there
    /// // The peer was never connected: the message is discarded, and close does not wait.
    /// let closed = tokio::time::timeout(Duration::from_secs(5), push.close()).await;
    /// assert!(closed.is_ok(), "close waited for a peer that never came");
    /// # Ok(())
    /// # }
    /// ```
    pub linger: Option<Duration>,
    /// ZMQ_RECONNECT_IVL: delay before re-dialling a lost peer (jittered up to twice as long
    /// when `reconnect_ivl_max` is zero). `None` = never reconnect. Default 100 ms.
    pub reconnect_ivl: Option<Duration>,
    /// ZMQ_RECONNECT_IVL_MAX: when non-zero, the delay doubles after each failure up to this.
    /// Default 0.
    pub reconnect_ivl_max: Duration,
    /// ZMQ_HEARTBEAT_IVL: send a PING this often. Default off.
    pub heartbeat_ivl: Option<Duration>,
    /// ZMQ_HEARTBEAT_TTL: the TTL announced in our PINGs (the peer drops us after that much
    /// silence). Default 0 (none).
    pub heartbeat_ttl: Duration,
    /// ZMQ_HEARTBEAT_TIMEOUT: drop a peer silent this long after a PING. `None` = the interval.
    pub heartbeat_timeout: Option<Duration>,
    /// ZMQ_HANDSHAKE_IVL: greeting and handshake must be done within this. `None` = no limit.
    /// Default 30 s.
    pub handshake_ivl: Option<Duration>,
    /// ZMQ_MAXMSGSIZE: largest inbound frame, and message, accepted; larger closes the
    /// connection before the bytes are buffered. `None` = no limit (the default). A message
    /// may also have at most `max(maxmsgsize / 64, 1024)` frames (empty frames cost memory too).
    pub maxmsgsize: Option<u64>,
    /// ZMQ_ROUTER_MANDATORY: a ROUTER send to an unknown peer fails with
    /// [`crate::Error::HostUnreachable`] instead of being dropped, and a send to a full peer
    /// waits instead of dropping. Default false.
    pub router_mandatory: bool,
    /// ZMQ_ROUTER_HANDOVER: a newcomer with a routing id already in use takes it over (the old
    /// connection is closed). Default false: the newcomer is ignored (and we log it).
    pub router_handover: bool,
    /// ZMQ_IMMEDIATE: queue messages only to peers whose connection is up. Default false:
    /// `connect` creates the peer's queue at once, so messages wait for the connection.
    pub immediate: bool,
    /// ZMQ_CONFLATE: keep only the last message in each queue, inbound and outbound (for
    /// last-value feeds). Single-frame messages only, as in libzmq. Applies to PUSH, PULL,
    /// DEALER, PUB and SUB; ignored by the other types, as libzmq does. Default false.
    pub conflate: bool,
    /// ZMQ_REQ_CORRELATE: a REQ puts a request id (4 bytes) before the delimiter and takes
    /// only the reply that brings it back. Default false.
    pub req_correlate: bool,
    /// ZMQ_REQ_RELAXED: a REQ may send a new request before the reply to the last one (which
    /// is then dropped when it comes); with `req_correlate`, a late reply from the same peer
    /// cannot pass for the new one's either. Default false.
    pub req_relaxed: bool,
    /// ZMQ_XPUB_VERBOSE: an XPUB hands over every subscription, repeats included (not only
    /// the first to a topic). Default false.
    pub xpub_verbose: bool,
    /// ZMQ_XPUB_VERBOSER: as `xpub_verbose`, and every cancel too, departures included (not
    /// only when the last subscriber to a topic goes). Default false.
    pub xpub_verboser: bool,
    /// ZMQ_XPUB_NODROP: an XPUB send waits (`try_send`: [`crate::Error::Full`]) while a
    /// matching subscriber is at SNDHWM, instead of dropping the message for it. Default false.
    pub xpub_nodrop: bool,
    /// ZMQ_XPUB_MANUAL: an XPUB hands over every subscription and cancel, and applies none:
    /// the application does, with `XPub::subscribe`/`unsubscribe`, for the subscriber whose
    /// subscription it received last. Default false.
    pub xpub_manual: bool,
    /// ZMQ_XPUB_WELCOME_MSG: sent by an XPUB to each subscriber when its handshake is done.
    /// Default none.
    pub xpub_welcome_msg: Option<Bytes>,
    /// ZMQ_PLAIN_SERVER: this socket is a PLAIN server (RFC 24): clients must present a user
    /// name and password, checked by `authenticator` (without one, every client is welcome;
    /// libzmq refuses all without a ZAP handler). Default false.
    pub plain_server: bool,
    /// ZMQ_PLAIN_USERNAME: set, this socket is a PLAIN client with this user name (at most 255
    /// bytes). Default none.
    pub plain_username: Option<Bytes>,
    /// ZMQ_PLAIN_PASSWORD: the PLAIN client's password (at most 255 bytes). Default none
    /// (empty).
    pub plain_password: Option<Bytes>,
    /// ZMQ_CURVE_SERVER: this socket is a CURVE server (RFC 26), with `curve_secretkey` as its
    /// permanent key. Clients must know its public key; `authenticator` decides on each
    /// client's public key (without one, any client that knows ours is served). Needs the
    /// crate's `curve` feature. Default false.
    pub curve_server: bool,
    /// ZMQ_CURVE_SECRETKEY: our permanent secret key (a server's, or a client's own). A client
    /// without one gets a fresh key pair when the socket is made (read it back from
    /// `Socket::options`). Default none.
    pub curve_secretkey: Option<[u8; 32]>,
    /// ZMQ_CURVE_PUBLICKEY: our permanent public key. It is always derived from
    /// `curve_secretkey`; set, it must match (libzmq wants both set; we check them). Default
    /// none.
    pub curve_publickey: Option<[u8; 32]>,
    /// ZMQ_CURVE_SERVERKEY: set, this socket is a CURVE client of the server with this public
    /// key. Default none.
    pub curve_serverkey: Option<[u8; 32]>,
    /// The decision on each peer during its handshake (libzmq's ZAP handler): see
    /// [`crate::auth`]. Default none: every peer is accepted.
    pub authenticator: Option<crate::auth::AuthHandle>,
    /// ZMQ_IPV6: `tcp://*` binds every IPv6 and IPv4 interface (a dual-stack socket), and host
    /// names resolve to IPv6 addresses too. Default false: IPv4 only, as libzmq. IPv6 literals
    /// (`tcp://[::1]:5570`) work either way.
    pub ipv6: bool,
    /// ZMQ_TCP_KEEPALIVE: `Some(true)`/`Some(false)` to force SO_KEEPALIVE, `None` for the OS
    /// default (libzmq's -1).
    pub tcp_keepalive: Option<bool>,
    /// ZMQ_TCP_KEEPALIVE_IDLE. `None` = OS default.
    pub tcp_keepalive_idle: Option<Duration>,
    /// ZMQ_TCP_KEEPALIVE_INTVL. `None` = OS default.
    pub tcp_keepalive_intvl: Option<Duration>,
    /// ZMQ_TCP_KEEPALIVE_CNT. `None` = OS default.
    pub tcp_keepalive_cnt: Option<u32>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            routing_id: None,
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: None,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: Duration::ZERO,
            heartbeat_ivl: None,
            heartbeat_ttl: Duration::ZERO,
            heartbeat_timeout: None,
            handshake_ivl: Some(Duration::from_secs(30)),
            maxmsgsize: None,
            router_mandatory: false,
            router_handover: false,
            immediate: false,
            conflate: false,
            req_correlate: false,
            req_relaxed: false,
            xpub_verbose: false,
            xpub_verboser: false,
            xpub_nodrop: false,
            xpub_manual: false,
            xpub_welcome_msg: None,
            plain_server: false,
            plain_username: None,
            plain_password: None,
            curve_server: false,
            curve_secretkey: None,
            curve_publickey: None,
            curve_serverkey: None,
            authenticator: None,
            ipv6: false,
            tcp_keepalive: None,
            tcp_keepalive_idle: None,
            tcp_keepalive_intvl: None,
            tcp_keepalive_cnt: None,
        }
    }
}

/// Setters named after libzmq's options, one per field (`ZMQ_SNDHWM`: [`SocketOptions::sndhwm`]),
/// for options built in one expression; each takes the options and returns them changed.
impl SocketOptions {
    /// ZMQ_ROUTING_ID (ZMQ_IDENTITY in older libzmq): sets [`SocketOptions::routing_id`] (set:
    /// `Some`).
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().routing_id("worker-1");
    /// assert_eq!(opts.routing_id.as_deref(), Some(&b"worker-1"[..]));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn routing_id(mut self, value: impl Into<Bytes>) -> Self {
        self.routing_id = Some(value.into());
        self
    }

    /// ZMQ_SNDHWM: sets [`SocketOptions::sndhwm`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().sndhwm(10);
    /// assert_eq!(opts.sndhwm, 10);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn sndhwm(mut self, value: usize) -> Self {
        self.sndhwm = value;
        self
    }

    /// ZMQ_RCVHWM: sets [`SocketOptions::rcvhwm`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().rcvhwm(0); // no limit
    /// assert_eq!(opts.rcvhwm, 0);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn rcvhwm(mut self, value: usize) -> Self {
        self.rcvhwm = value;
        self
    }

    /// ZMQ_LINGER: sets [`SocketOptions::linger`] (a `Duration`, or `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().linger(Duration::ZERO); // discard at close
    /// assert_eq!(opts.linger, Some(Duration::ZERO));
    /// let opts = opts.linger(None); // libzmq's -1: until flushed
    /// assert_eq!(opts.linger, None);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn linger(mut self, value: impl Into<Option<Duration>>) -> Self {
        self.linger = value.into();
        self
    }

    /// ZMQ_RECONNECT_IVL: sets [`SocketOptions::reconnect_ivl`] (a `Duration`, or `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().reconnect_ivl(Duration::from_secs(1));
    /// assert_eq!(opts.reconnect_ivl, Some(Duration::from_secs(1)));
    /// let opts = opts.reconnect_ivl(None); // libzmq's -1: never reconnect
    /// assert_eq!(opts.reconnect_ivl, None);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn reconnect_ivl(mut self, value: impl Into<Option<Duration>>) -> Self {
        self.reconnect_ivl = value.into();
        self
    }

    /// ZMQ_RECONNECT_IVL_MAX: sets [`SocketOptions::reconnect_ivl_max`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().reconnect_ivl_max(Duration::from_secs(30));
    /// assert_eq!(opts.reconnect_ivl_max, Duration::from_secs(30));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn reconnect_ivl_max(mut self, value: Duration) -> Self {
        self.reconnect_ivl_max = value;
        self
    }

    /// ZMQ_HEARTBEAT_IVL: sets [`SocketOptions::heartbeat_ivl`] (a `Duration`, or `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().heartbeat_ivl(Duration::from_secs(1));
    /// assert_eq!(opts.heartbeat_ivl, Some(Duration::from_secs(1)));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn heartbeat_ivl(mut self, value: impl Into<Option<Duration>>) -> Self {
        self.heartbeat_ivl = value.into();
        self
    }

    /// ZMQ_HEARTBEAT_TTL: sets [`SocketOptions::heartbeat_ttl`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().heartbeat_ttl(Duration::from_secs(5));
    /// assert_eq!(opts.heartbeat_ttl, Duration::from_secs(5));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn heartbeat_ttl(mut self, value: Duration) -> Self {
        self.heartbeat_ttl = value;
        self
    }

    /// ZMQ_HEARTBEAT_TIMEOUT: sets [`SocketOptions::heartbeat_timeout`] (a `Duration`, or `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default()
    ///     .heartbeat_ivl(Duration::from_secs(1))
    ///     .heartbeat_timeout(Duration::from_secs(3));
    /// assert_eq!(opts.heartbeat_timeout, Some(Duration::from_secs(3)));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn heartbeat_timeout(mut self, value: impl Into<Option<Duration>>) -> Self {
        self.heartbeat_timeout = value.into();
        self
    }

    /// ZMQ_HANDSHAKE_IVL: sets [`SocketOptions::handshake_ivl`] (a `Duration`, or `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().handshake_ivl(Duration::from_secs(5));
    /// assert_eq!(opts.handshake_ivl, Some(Duration::from_secs(5)));
    /// let opts = opts.handshake_ivl(None); // libzmq's 0: no limit
    /// assert_eq!(opts.handshake_ivl, None);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn handshake_ivl(mut self, value: impl Into<Option<Duration>>) -> Self {
        self.handshake_ivl = value.into();
        self
    }

    /// ZMQ_MAXMSGSIZE: sets [`SocketOptions::maxmsgsize`] (a size, or `None`).
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().maxmsgsize(1 << 20);
    /// assert_eq!(opts.maxmsgsize, Some(1 << 20));
    /// let opts = opts.maxmsgsize(None); // libzmq's -1: no limit
    /// assert_eq!(opts.maxmsgsize, None);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn maxmsgsize(mut self, value: impl Into<Option<u64>>) -> Self {
        self.maxmsgsize = value.into();
        self
    }

    /// ZMQ_ROUTER_MANDATORY: sets [`SocketOptions::router_mandatory`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().router_mandatory(true);
    /// assert!(opts.router_mandatory);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn router_mandatory(mut self, value: bool) -> Self {
        self.router_mandatory = value;
        self
    }

    /// ZMQ_ROUTER_HANDOVER: sets [`SocketOptions::router_handover`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().router_handover(true);
    /// assert!(opts.router_handover);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn router_handover(mut self, value: bool) -> Self {
        self.router_handover = value;
        self
    }

    /// ZMQ_IMMEDIATE: sets [`SocketOptions::immediate`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().immediate(true);
    /// assert!(opts.immediate);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn immediate(mut self, value: bool) -> Self {
        self.immediate = value;
        self
    }

    /// ZMQ_CONFLATE: sets [`SocketOptions::conflate`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().conflate(true);
    /// assert!(opts.conflate);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn conflate(mut self, value: bool) -> Self {
        self.conflate = value;
        self
    }

    /// ZMQ_REQ_CORRELATE: sets [`SocketOptions::req_correlate`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().req_correlate(true);
    /// assert!(opts.req_correlate);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn req_correlate(mut self, value: bool) -> Self {
        self.req_correlate = value;
        self
    }

    /// ZMQ_REQ_RELAXED: sets [`SocketOptions::req_relaxed`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().req_relaxed(true);
    /// assert!(opts.req_relaxed);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn req_relaxed(mut self, value: bool) -> Self {
        self.req_relaxed = value;
        self
    }

    /// ZMQ_XPUB_VERBOSE: sets [`SocketOptions::xpub_verbose`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().xpub_verbose(true);
    /// assert!(opts.xpub_verbose);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn xpub_verbose(mut self, value: bool) -> Self {
        self.xpub_verbose = value;
        self
    }

    /// ZMQ_XPUB_VERBOSER: sets [`SocketOptions::xpub_verboser`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().xpub_verboser(true);
    /// assert!(opts.xpub_verboser);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn xpub_verboser(mut self, value: bool) -> Self {
        self.xpub_verboser = value;
        self
    }

    /// ZMQ_XPUB_NODROP: sets [`SocketOptions::xpub_nodrop`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().xpub_nodrop(true);
    /// assert!(opts.xpub_nodrop);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn xpub_nodrop(mut self, value: bool) -> Self {
        self.xpub_nodrop = value;
        self
    }

    /// ZMQ_XPUB_MANUAL: sets [`SocketOptions::xpub_manual`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().xpub_manual(true);
    /// assert!(opts.xpub_manual);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn xpub_manual(mut self, value: bool) -> Self {
        self.xpub_manual = value;
        self
    }

    /// ZMQ_XPUB_WELCOME_MSG: sets [`SocketOptions::xpub_welcome_msg`] to `Some(value)`.
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().xpub_welcome_msg("welcome");
    /// assert_eq!(opts.xpub_welcome_msg.as_deref(), Some(&b"welcome"[..]));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn xpub_welcome_msg(mut self, value: impl Into<Bytes>) -> Self {
        self.xpub_welcome_msg = Some(value.into());
        self
    }

    /// ZMQ_PLAIN_SERVER: sets [`SocketOptions::plain_server`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().plain_server(true);
    /// assert!(opts.plain_server);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn plain_server(mut self, value: bool) -> Self {
        self.plain_server = value;
        self
    }

    /// ZMQ_PLAIN_USERNAME: sets [`SocketOptions::plain_username`] to `Some(value)`.
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().plain_username("admin").plain_password("secret");
    /// assert_eq!(opts.plain_username.as_deref(), Some(&b"admin"[..]));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn plain_username(mut self, value: impl Into<Bytes>) -> Self {
        self.plain_username = Some(value.into());
        self
    }

    /// ZMQ_PLAIN_PASSWORD: sets [`SocketOptions::plain_password`] to `Some(value)`.
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().plain_username("admin").plain_password("secret");
    /// assert_eq!(opts.plain_password.as_deref(), Some(&b"secret"[..]));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn plain_password(mut self, value: impl Into<Bytes>) -> Self {
        self.plain_password = Some(value.into());
        self
    }

    /// ZMQ_CURVE_SERVER: sets [`SocketOptions::curve_server`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().curve_server(true);
    /// assert!(opts.curve_server);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn curve_server(mut self, value: bool) -> Self {
        self.curve_server = value;
        self
    }

    /// ZMQ_CURVE_SECRETKEY: sets [`SocketOptions::curve_secretkey`] to `Some(value)`.
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let secret = [7u8; 32]; // in practice, zmtp::curve::KeyPair::generate().secret
    /// let opts = SocketOptions::default().curve_server(true).curve_secretkey(secret);
    /// assert_eq!(opts.curve_secretkey, Some(secret));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn curve_secretkey(mut self, value: [u8; 32]) -> Self {
        self.curve_secretkey = Some(value);
        self
    }

    /// ZMQ_CURVE_PUBLICKEY: sets [`SocketOptions::curve_publickey`] to `Some(value)`.
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// // Not the public key of this secret key: refused.
    /// let opts = SocketOptions::default()
    ///     .curve_server(true)
    ///     .curve_secretkey([7u8; 32])
    ///     .curve_publickey([9u8; 32]);
    /// assert!(zmtp::Router::with_options(opts).is_err());
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn curve_publickey(mut self, value: [u8; 32]) -> Self {
        self.curve_publickey = Some(value);
        self
    }

    /// ZMQ_CURVE_SERVERKEY: sets [`SocketOptions::curve_serverkey`] to `Some(value)`.
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// // The server's public key, e.g. from its Z85 text with zmtp::protocol::z85::decode_key.
    /// let server_public = [9u8; 32];
    /// let opts = SocketOptions::default().curve_serverkey(server_public);
    /// assert_eq!(opts.curve_serverkey, Some(server_public));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn curve_serverkey(mut self, value: [u8; 32]) -> Self {
        self.curve_serverkey = Some(value);
        self
    }

    /// libzmq's ZAP handler (`zmq_setsockopt` has no option for it): sets
    /// [`SocketOptions::authenticator`] (wrapped in an [`AuthHandle`](crate::auth::AuthHandle)).
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// use zmtp::auth::{AuthDecision, AuthPeer};
    /// let opts = SocketOptions::default()
    ///     .plain_server(true)
    ///     .authenticator(|peer: AuthPeer| async move {
    ///         match peer.credentials.first() {
    ///             Some(user) if &user[..] == b"admin" => AuthDecision::Accept {
    ///                 user_id: user.clone(),
    ///             },
    ///             _ => AuthDecision::Deny { status: 400 },
    ///         }
    ///     });
    /// assert!(opts.authenticator.is_some());
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn authenticator(mut self, value: impl crate::auth::Authenticator) -> Self {
        self.authenticator = Some(crate::auth::AuthHandle::new(value));
        self
    }

    /// ZMQ_IPV6: sets [`SocketOptions::ipv6`].
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().ipv6(true);
    /// assert!(opts.ipv6);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn ipv6(mut self, value: bool) -> Self {
        self.ipv6 = value;
        self
    }

    /// ZMQ_TCP_KEEPALIVE: sets [`SocketOptions::tcp_keepalive`] (`true`, `false`, or `None`).
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().tcp_keepalive(true);
    /// assert_eq!(opts.tcp_keepalive, Some(true));
    /// let opts = opts.tcp_keepalive(None); // libzmq's -1: the OS default
    /// assert_eq!(opts.tcp_keepalive, None);
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn tcp_keepalive(mut self, value: impl Into<Option<bool>>) -> Self {
        self.tcp_keepalive = value.into();
        self
    }

    /// ZMQ_TCP_KEEPALIVE_IDLE: sets [`SocketOptions::tcp_keepalive_idle`] (a `Duration`,
    /// or `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default()
    ///     .tcp_keepalive(true)
    ///     .tcp_keepalive_idle(Duration::from_secs(60));
    /// assert_eq!(opts.tcp_keepalive_idle, Some(Duration::from_secs(60)));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn tcp_keepalive_idle(mut self, value: impl Into<Option<Duration>>) -> Self {
        self.tcp_keepalive_idle = value.into();
        self
    }

    /// ZMQ_TCP_KEEPALIVE_INTVL: sets [`SocketOptions::tcp_keepalive_intvl`] (a `Duration`,
    /// or `None`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default()
    ///     .tcp_keepalive(true)
    ///     .tcp_keepalive_intvl(Duration::from_secs(10));
    /// assert_eq!(opts.tcp_keepalive_intvl, Some(Duration::from_secs(10)));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn tcp_keepalive_intvl(mut self, value: impl Into<Option<Duration>>) -> Self {
        self.tcp_keepalive_intvl = value.into();
        self
    }

    /// ZMQ_TCP_KEEPALIVE_CNT: sets [`SocketOptions::tcp_keepalive_cnt`] (a count, or `None`).
    ///
    /// ```
    /// use zmtp::SocketOptions;
    /// let opts = SocketOptions::default().tcp_keepalive(true).tcp_keepalive_cnt(5);
    /// assert_eq!(opts.tcp_keepalive_cnt, Some(5));
    /// ```
    #[must_use = "a setter returns the changed options"]
    pub fn tcp_keepalive_cnt(mut self, value: impl Into<Option<u32>>) -> Self {
        self.tcp_keepalive_cnt = value.into();
        self
    }
}

impl SocketOptions {
    /// Checks every value, so that one that cannot work is an error at `with_options` rather
    /// than a failure (or a panic) later: a routing id of 0 or more than 255 bytes, a
    /// HEARTBEAT_TTL over what a PING can carry (libzmq: EINVAL), TCP keepalive values the
    /// kernel would refuse. Durations that are merely huge are fine: they mean "never".
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if let Some(id) = &self.routing_id {
            if id.is_empty() || id.len() > MAX_ROUTING_ID_LEN {
                return Err("routing_id must be 1 to 255 bytes");
            }
        }
        let too_long = |v: &Option<Bytes>| v.as_ref().is_some_and(|b| b.len() > 255);
        if too_long(&self.plain_username) || too_long(&self.plain_password) {
            return Err("plain_username and plain_password must be at most 255 bytes");
        }
        let roles = [
            self.plain_server,
            self.plain_username.is_some(),
            self.curve_server,
            self.curve_serverkey.is_some(),
        ];
        if roles.iter().filter(|&&r| r).count() > 1 {
            return Err(
                "a socket has one security role: PLAIN server or client, CURVE server or client",
            );
        }
        if self.curve_server || self.curve_serverkey.is_some() {
            if !cfg!(feature = "curve") {
                return Err("CURVE needs the crate's `curve` feature");
            }
            if self.curve_server && self.curve_secretkey.is_none() {
                return Err("a CURVE server needs curve_secretkey");
            }
        }
        #[cfg(feature = "curve")]
        if let (Some(public), Some(secret)) = (self.curve_publickey, self.curve_secretkey) {
            if crate::curve::KeyPair::from_secret(secret).public != public {
                return Err("curve_publickey is not the public key of curve_secretkey");
            }
        }
        if self.heartbeat_ttl.as_millis() > u128::from(MAX_HEARTBEAT_TTL_MS) {
            return Err(
                "heartbeat_ttl must be at most 6553.599 s (PING carries deciseconds in 16 bits)",
            );
        }
        let keepalive_secs = |d: Option<Duration>| match d {
            None => true,
            Some(d) => (1..=i32::MAX as u64).contains(&d.as_secs()),
        };
        if !keepalive_secs(self.tcp_keepalive_idle) {
            return Err("tcp_keepalive_idle must be 1 s to 2^31-1 s");
        }
        if !keepalive_secs(self.tcp_keepalive_intvl) {
            return Err("tcp_keepalive_intvl must be 1 s to 2^31-1 s");
        }
        if self
            .tcp_keepalive_cnt
            .is_some_and(|n| n == 0 || n > i32::MAX as u32)
        {
            return Err("tcp_keepalive_cnt must be 1 to 2^31-1");
        }
        Ok(())
    }

    pub(crate) fn session_config(&self, socket_type: SocketType) -> SessionConfig {
        let mut c = SessionConfig::new(socket_type);
        c.routing_id = self.routing_id.clone().unwrap_or_default();
        c.max_msg_size = self.maxmsgsize;
        c.handshake_ivl = self.handshake_ivl;
        c.heartbeat_ivl = self.heartbeat_ivl;
        c.heartbeat_timeout = self.heartbeat_timeout;
        c.heartbeat_ttl = self.heartbeat_ttl;
        c.mechanism = if self.plain_server {
            MechanismConfig::PlainServer
        } else if let Some(mechanism) = self.curve_mechanism() {
            mechanism
        } else if let Some(username) = &self.plain_username {
            MechanismConfig::PlainClient {
                username: username.clone(),
                password: self.plain_password.clone().unwrap_or_default(),
            }
        } else {
            MechanismConfig::Null
        };
        c.authenticate = self.authenticator.is_some();
        c
    }

    /// Completes what [`SocketOptions::validate`] accepted: a CURVE client without a key pair
    /// gets a fresh one, and the public key is derived from the secret.
    pub(crate) fn complete(&mut self) {
        #[cfg(feature = "curve")]
        {
            if self.curve_serverkey.is_some() && self.curve_secretkey.is_none() {
                self.curve_secretkey = Some(crate::curve::KeyPair::generate().secret);
            }
            if let Some(secret) = self.curve_secretkey {
                self.curve_publickey = Some(crate::curve::KeyPair::from_secret(secret).public);
            }
        }
    }

    #[cfg(feature = "curve")]
    fn curve_mechanism(&self) -> Option<MechanismConfig> {
        let secret_key = self.curve_secretkey?;
        if self.curve_server {
            return Some(MechanismConfig::CurveServer { secret_key });
        }
        Some(MechanismConfig::CurveClient {
            server_key: self.curve_serverkey?,
            secret_key,
        })
    }

    #[cfg(not(feature = "curve"))]
    fn curve_mechanism(&self) -> Option<MechanismConfig> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_cannot_work_are_refused() {
        let ok = SocketOptions::default();
        assert_eq!(ok.validate(), Ok(()));
        let with = |f: fn(&mut SocketOptions)| {
            let mut o = SocketOptions::default();
            f(&mut o);
            o.validate()
        };
        assert!(with(|o| o.routing_id = Some(Bytes::new())).is_err());
        assert!(with(|o| o.routing_id = Some(Bytes::from(vec![1; 256]))).is_err());
        assert!(with(|o| o.routing_id = Some(Bytes::from(vec![1; 255]))).is_ok());
        assert!(with(|o| o.heartbeat_ttl = Duration::from_millis(6_553_599)).is_ok());
        assert!(with(|o| o.heartbeat_ttl = Duration::from_millis(6_553_600)).is_err());
        assert!(with(|o| o.tcp_keepalive_idle = Some(Duration::ZERO)).is_err());
        assert!(with(|o| o.tcp_keepalive_intvl = Some(Duration::MAX)).is_err());
        assert!(with(|o| o.tcp_keepalive_cnt = Some(0)).is_err());
        assert!(with(|o| o.tcp_keepalive_cnt = Some(9)).is_ok());
        // Huge durations mean "never", not an error (and not a panic later).
        assert!(with(|o| {
            o.linger = Some(Duration::MAX);
            o.reconnect_ivl = Some(Duration::MAX);
            o.reconnect_ivl_max = Duration::MAX;
            o.heartbeat_ivl = Some(Duration::MAX);
            o.heartbeat_timeout = Some(Duration::MAX);
            o.handshake_ivl = Some(Duration::MAX);
        })
        .is_ok());
    }
}
