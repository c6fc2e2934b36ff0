//! The crate's `tracing` events: the targets and fields the crate docs list (section
//! "Logging"), which users filter on, checked on the events themselves. A collector installed
//! as the global subscriber keeps every event; each test waits (bounded) for the one it
//! provokes, found by an address or a routing id of its own.
#![cfg(feature = "tokio")]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tracing::field::{Field, Visit};
use tracing::span;
use zmtp::auth::{AuthDecision, AuthHandle, AuthPeer};
use zmtp::{Dealer, Pair, Rep, Req, Router, SocketOptions};

const STEP: Duration = Duration::from_secs(10);

/// The targets the crate docs list; no event of the crate may use another.
const TARGETS: [&str; 5] = [
    "zmtp::connection",
    "zmtp::listener",
    "zmtp::security",
    "zmtp::routing",
    "zmtp::proxy",
];

/// One event as a subscriber sees it.
#[derive(Debug, Clone)]
struct Event {
    target: String,
    level: tracing::Level,
    fields: BTreeMap<String, String>,
}

impl Event {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    fn message(&self) -> &str {
        self.field("message").unwrap_or_default()
    }
}

static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());

struct Collector;

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Collector {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let e = Event {
            target: event.metadata().target().to_string(),
            level: *event.metadata().level(),
            fields,
        };
        EVENTS.lock().unwrap_or_else(|e| e.into_inner()).push(e);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        tracing::subscriber::set_global_default(Collector).expect("the only subscriber");
    });
}

/// Waits (bounded) for an event matching `want`; then checks that every event of the crate so
/// far has a documented target.
async fn wait_for(what: &str, want: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + STEP;
    loop {
        let found = {
            let events = EVENTS.lock().unwrap_or_else(|e| e.into_inner());
            for e in events.iter().filter(|e| e.target.starts_with("zmtp")) {
                assert!(
                    TARGETS.contains(&e.target.as_str()),
                    "undocumented target: {e:?}"
                );
            }
            events.iter().find(|e| want(e)).cloned()
        };
        if let Some(e) = found {
            return e;
        }
        assert!(Instant::now() < deadline, "no event: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn with_id(id: &'static str) -> SocketOptions {
    SocketOptions::default().routing_id(id)
}

/// A ZMTP 3.1 NULL greeting and a READY announcing `socket_type`, as a raw peer sends them.
fn greeting_and_ready(socket_type: &str) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
    g.extend_from_slice(b"NULL");
    g.resize(64, 0);
    let mut body = b"\x05READY\x0bSocket-Type".to_vec();
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    g.extend_from_slice(&[0x04, body.len() as u8]);
    g.extend_from_slice(&body);
    g
}

#[tokio::test]
async fn protocol_error_is_a_connection_warning() {
    install();
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").expect("bind");
    let mut raw = tokio::net::TcpStream::connect(ep.to_string().trim_start_matches("tcp://"))
        .await
        .expect("raw connect");
    let peer = format!("tcp://{}", raw.local_addr().expect("local address"));
    // A PUB cannot talk to a ROUTER: the handshake fails.
    raw.write_all(&greeting_and_ready("PUB"))
        .await
        .expect("raw write");
    let e = wait_for("protocol error", |e| e.field("peer") == Some(&peer)).await;
    assert_eq!(e.target, "zmtp::connection", "{e:?}");
    assert_eq!(e.level, tracing::Level::WARN, "{e:?}");
    assert_eq!(e.message(), "connection closed: protocol error", "{e:?}");
    assert_eq!(e.field("endpoint"), Some(ep.to_string().as_str()), "{e:?}");
    assert_eq!(e.field("socket_type"), Some("ROUTER"), "{e:?}");
    assert!(e.field("error").is_some_and(|s| !s.is_empty()), "{e:?}");
    assert!(e.field("left_out").is_some(), "{e:?}");
    // No handshake, no routing id.
    assert_eq!(e.field("routing_id"), None, "{e:?}");
    router.close().await;
}

#[tokio::test]
async fn handshake_and_close_name_the_routing_id() {
    install();
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").expect("bind");
    let dealer = Dealer::with_options(with_id("log-hs")).expect("options");
    dealer.connect(&ep.to_string()).expect("connect");
    let is = |msg: &'static str| {
        move |e: &Event| {
            e.message() == msg
                && e.field("routing_id") == Some("log-hs")
                && e.field("socket_type") == Some("ROUTER")
        }
    };
    let e = wait_for("handshake succeeded", is("handshake succeeded")).await;
    assert_eq!(e.target, "zmtp::connection", "{e:?}");
    assert_eq!(e.level, tracing::Level::DEBUG, "{e:?}");
    assert_eq!(e.field("endpoint"), Some(ep.to_string().as_str()), "{e:?}");
    assert!(
        e.field("peer")
            .is_some_and(|p| p.starts_with("tcp://127.0.0.1:")),
        "{e:?}"
    );
    dealer.close().await;
    let e = wait_for("closed by peer", is("connection closed by peer")).await;
    assert_eq!(e.target, "zmtp::connection", "{e:?}");
    assert_eq!(e.level, tracing::Level::DEBUG, "{e:?}");
    router.close().await;
}

#[tokio::test]
async fn duplicate_and_handed_over_routing_ids_are_routing_events() {
    install();
    // Without ROUTER_HANDOVER the newcomer is ignored: a warning.
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").expect("bind");
    let first = Dealer::with_options(with_id("log-dup")).expect("options");
    first.connect(&ep.to_string()).expect("connect");
    wait_for("first handshake", |e| {
        e.message() == "handshake succeeded" && e.field("routing_id") == Some("log-dup")
    })
    .await;
    let second = Dealer::with_options(with_id("log-dup")).expect("options");
    second.connect(&ep.to_string()).expect("connect");
    let e = wait_for("duplicate", |e| {
        e.target == "zmtp::routing" && e.field("routing_id") == Some("log-dup")
    })
    .await;
    assert_eq!(e.level, tracing::Level::WARN, "{e:?}");
    assert!(e.message().starts_with("duplicate routing id"), "{e:?}");
    assert_eq!(e.field("socket_type"), Some("ROUTER"), "{e:?}");
    assert!(
        e.field("peer").is_some() && e.field("left_out").is_some(),
        "{e:?}"
    );

    // With it, the newcomer takes the id over: an info line.
    let router =
        Router::with_options(SocketOptions::default().router_handover(true)).expect("options");
    let ep = router.bind("tcp://127.0.0.1:0").expect("bind");
    let first = Dealer::with_options(with_id("log-ho")).expect("options");
    first.connect(&ep.to_string()).expect("connect");
    wait_for("first handshake", |e| {
        e.message() == "handshake succeeded" && e.field("routing_id") == Some("log-ho")
    })
    .await;
    let second = Dealer::with_options(with_id("log-ho")).expect("options");
    second.connect(&ep.to_string()).expect("connect");
    let e = wait_for("handover", |e| {
        e.target == "zmtp::routing" && e.field("routing_id") == Some("log-ho")
    })
    .await;
    assert_eq!(e.level, tracing::Level::INFO, "{e:?}");
    assert_eq!(e.message(), "routing id handed over to new connection");
    assert_eq!(e.field("socket_type"), Some("ROUTER"), "{e:?}");
    assert!(e.field("peer").is_some(), "{e:?}");
}

#[tokio::test]
async fn a_second_pair_peer_is_a_routing_warning() {
    install();
    let pair = Pair::new();
    let ep = pair.bind("tcp://127.0.0.1:0").expect("bind");
    let first = Pair::new();
    first.connect(&ep.to_string()).expect("connect");
    first.send("hello").await.expect("send");
    tokio::time::timeout(STEP, pair.recv())
        .await
        .expect("in time")
        .expect("recv");
    let second = Pair::new();
    second.connect(&ep.to_string()).expect("connect");
    // The only PAIR of this file's tests.
    let e = wait_for("second pair", |e| {
        e.target == "zmtp::routing" && e.field("socket_type") == Some("PAIR")
    })
    .await;
    assert_eq!(e.level, tracing::Level::WARN, "{e:?}");
    assert_eq!(
        e.message(),
        "PAIR already has a peer: new connection refused"
    );
    assert!(e.field("peer").is_some(), "{e:?}");
}

#[tokio::test]
async fn a_refused_peer_is_a_security_warning() {
    install();
    let opts = SocketOptions::default()
        .plain_server(true)
        .authenticator(|_: AuthPeer| async { AuthDecision::Deny { status: 400 } });
    let router = Router::with_options(opts).expect("options");
    let ep = router.bind("tcp://127.0.0.1:0").expect("bind");
    let opts = SocketOptions::default()
        .plain_username("log-user")
        .plain_password("wrong");
    let dealer = Dealer::with_options(opts).expect("options");
    dealer.connect(&ep.to_string()).expect("connect");
    let endpoint = ep.to_string();
    let e = wait_for("refused", |e| {
        e.target == "zmtp::security" && e.field("endpoint") == Some(&endpoint)
    })
    .await;
    assert_eq!(e.level, tracing::Level::WARN, "{e:?}");
    assert_eq!(e.message(), "peer refused by the authenticator");
    assert_eq!(e.field("mechanism"), Some("PLAIN"), "{e:?}");
    assert_eq!(e.field("status"), Some("400"), "{e:?}");
    assert_eq!(e.field("socket_type"), Some("ROUTER"), "{e:?}");
    assert!(
        e.field("peer").is_some() && e.field("left_out").is_some(),
        "{e:?}"
    );
    // AuthHandle is what the field holds; the setter wraps for us.
    let _: Option<AuthHandle> = router.options().authenticator.clone();
    dealer.close().await;
    router.close().await;
}

#[tokio::test]
async fn a_failed_dial_is_a_connection_debug_line() {
    install();
    // A port nobody listens on (taken, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let dealer = Dealer::new();
    dealer.connect(&endpoint).expect("connect");
    let e = wait_for("connect failed", |e| {
        e.message() == "connect failed" && e.field("endpoint") == Some(&endpoint)
    })
    .await;
    assert_eq!(e.target, "zmtp::connection", "{e:?}");
    assert_eq!(e.level, tracing::Level::DEBUG, "{e:?}");
    assert_eq!(e.field("socket_type"), Some("DEALER"), "{e:?}");
    assert!(e.field("error").is_some(), "{e:?}");
    dealer.close().await;
}

#[tokio::test]
async fn an_unknown_proxy_command_is_a_proxy_debug_line() {
    install();
    let (front, back, control) = (Router::new(), Dealer::new(), Rep::new());
    control.bind("inproc://log-proxy-control").expect("bind");
    let proxy = tokio::spawn(async move {
        zmtp::proxy::Proxy::new(&front, &back)
            .control(&control)
            .run()
            .await
    });
    let ctl = Req::new();
    ctl.connect("inproc://log-proxy-control").expect("connect");
    ctl.send(Bytes::from_static(b"LOG-HELLO"))
        .await
        .expect("send");
    tokio::time::timeout(STEP, ctl.recv())
        .await
        .expect("in time")
        .expect("reply");
    let e = wait_for("unknown command", |e| {
        e.target == "zmtp::proxy" && e.field("command").is_some_and(|c| c.contains("LOG-HELLO"))
    })
    .await;
    assert_eq!(e.level, tracing::Level::DEBUG, "{e:?}");
    proxy.abort();
}

#[cfg(all(unix, feature = "ipc"))]
#[tokio::test]
async fn a_stale_ipc_file_removed_is_a_listener_line() {
    install();
    let path = std::env::temp_dir().join(format!("zmtp-log-stale-{}.sock", std::process::id()));
    // A socket file nobody listens on: its listener is gone.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind a socket file"));
    let endpoint = format!("ipc://{}", path.display());
    let pull = zmtp::Pull::new();
    pull.bind(&endpoint).expect("bind over the stale file");
    let e = wait_for("stale file", |e| e.field("endpoint") == Some(&endpoint)).await;
    assert_eq!(e.target, "zmtp::listener", "{e:?}");
    assert_eq!(e.level, tracing::Level::INFO, "{e:?}");
    assert_eq!(e.message(), "removing a stale ipc socket file");
    pull.close().await;
    let _ = std::fs::remove_file(&path);
}
