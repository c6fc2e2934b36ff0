//! ipc:// (Unix domain sockets) against real libzmq 4.3.5 (pyzmq agents in child processes):
//! DEALER/ROUTER both ways, PUSH/PULL and PUB/SUB, Linux abstract names, a stale socket file
//! left by a SIGKILLed binder taken over, a live one refused, the file removed at close, and
//! monitor events naming the path.
//!
//! Every wait is bounded; agents are killed by PID when their guard drops.
#![cfg(unix)]

#[path = "common/agent.rs"]
mod agent;
mod common;

use std::path::PathBuf;
use std::time::Duration;

use agent::{handshakes, hex, m, recv, Agent, STEP};
use zmtp::monitor::PeerAddr;
use zmtp::{Dealer, Endpoint, Error, Pub, Pull, Routed, Router, SocketEvent};

/// A fresh socket path in the temporary directory (removed by the guard).
struct SockPath(PathBuf);

impl SockPath {
    fn new(tag: &str) -> SockPath {
        let p = std::env::temp_dir().join(format!("zmtp-it-{tag}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&p);
        SockPath(p)
    }

    fn ep(&self) -> String {
        format!("ipc://{}", self.0.display())
    }
}

impl Drop for SockPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dealer_and_router_with_pyzmq_over_ipc_both_ways() {
    // Our ROUTER binds; a pyzmq DEALER connects.
    let path = SockPath::new("router");
    let router = Router::new();
    let mut mon = router.monitor();
    let bound = router.bind(&path.ep()).unwrap();
    assert_eq!(
        bound,
        Endpoint::Ipc {
            path: path.0.display().to_string()
        }
    );
    let mut a = Agent::spawn("dealer");
    a.ok(&format!("sock d DEALER routing_id={}", hex(b"d1")));
    a.ok(&format!("connect_ep d {}", path.ep()));
    a.expect(&format!("send d {} -", hex(b"hello")), "SENT");
    assert_eq!(recv(&router).await, m(&[b"d1", b"hello", b""]));
    assert_eq!(
        router.send(m(&[b"d1", b"back"])).await.unwrap(),
        Routed::Queued
    );
    assert_eq!(a.recv("d"), hex(b"back"));
    // Monitor events name the path.
    let mut accepted = None;
    let deadline = tokio::time::Instant::now() + STEP;
    while accepted.is_none() {
        match tokio::time::timeout_at(deadline, mon.recv()).await {
            Ok(Some(SocketEvent::Accepted { peer, .. })) => accepted = Some(peer),
            Ok(Some(_)) => {}
            other => panic!("no Accepted event: {other:?}"),
        }
    }
    assert_eq!(accepted, Some(PeerAddr::Ipc(path.0.display().to_string())));
    router.close().await;
    assert!(!path.0.exists(), "the socket file outlived the socket");

    // A pyzmq ROUTER binds; our DEALER connects.
    let path = SockPath::new("dealer");
    a.ok("sock r ROUTER");
    let b = a.expect(&format!("bind_ep r {}", path.ep()), "BOUND");
    assert_eq!(b, path.ep());
    let mut opts = zmtp::SocketOptions::default();
    opts.routing_id = Some(bytes::Bytes::from_static(b"ours"));
    let dealer = Dealer::with_options(opts).unwrap();
    let mut dmon = dealer.monitor();
    dealer.connect(&path.ep()).unwrap();
    handshakes(&mut dmon, 1).await;
    dealer.send(m(&[b"q", b""])).await.unwrap();
    assert_eq!(a.recv("r"), format!("{} {} -", hex(b"ours"), hex(b"q")));
    a.expect(&format!("send r {} {}", hex(b"ours"), hex(b"a")), "SENT");
    assert_eq!(recv(&dealer).await, m(&[b"a"]));
    dealer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull_and_pub_sub_with_pyzmq_over_ipc() {
    let path = SockPath::new("pull");
    let pull = Pull::new();
    pull.bind(&path.ep()).unwrap();
    let mut a = Agent::spawn("push");
    a.ok("sock p PUSH");
    a.ok(&format!("connect_ep p {}", path.ep()));
    assert_eq!(a.cmd("seq p 100"), "SENT 100");
    for i in 0..100 {
        assert_eq!(recv(&pull).await, m(&[i.to_string().as_bytes()]));
    }
    pull.close().await;

    // `ipc://*`: a fresh path, returned by bind.
    let publ = Pub::new();
    let mut mon = publ.monitor();
    let Endpoint::Ipc { path: fresh } = publ.bind("ipc://*").unwrap() else {
        panic!("not ipc")
    };
    assert!(std::path::Path::new(&fresh).exists(), "{fresh}");
    let mut s = Agent::spawn("sub");
    s.ok("sock s SUB");
    s.ok(&format!("subscribe s {}", hex(b"t")));
    s.ok(&format!("connect_ep s ipc://{fresh}"));
    handshakes(&mut mon, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for t in ["u1", "t1"] {
        publ.send(m(&[t.as_bytes()])).await.unwrap();
    }
    assert_eq!(s.recv("s"), hex(b"t1"));
    publ.close().await;
    assert!(
        !std::path::Path::new(&fresh).exists(),
        "{fresh} left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_socket_file_is_taken_over_and_a_live_one_refused() {
    let path = SockPath::new("stale");
    let mut a = Agent::spawn("binder");
    a.ok("sock p PULL");
    a.expect(&format!("bind_ep p {}", path.ep()), "BOUND");
    // Live: our bind is refused, and the live binder keeps its address.
    let pull = Pull::new();
    match pull.bind(&path.ep()) {
        Err(Error::Bind { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse, "{source}")
        }
        other => panic!("bound over a live listener: {other:?}"),
    }
    let push = zmtp::Push::new();
    push.connect(&path.ep()).unwrap();
    push.send(m(&[b"still-theirs"])).await.unwrap();
    assert_eq!(a.recv("p"), hex(b"still-theirs"));
    push.close().await;
    // SIGKILL: the file stays behind, and nobody listens on it.
    a.kill();
    assert!(path.0.exists(), "libzmq removed its file on SIGKILL?");
    let bound = pull.bind(&path.ep()).unwrap();
    assert_eq!(bound.to_string(), path.ep());
    let mut b = Agent::spawn("pusher");
    b.ok("sock p PUSH");
    b.ok(&format!("connect_ep p {}", path.ep()));
    b.expect(&format!("send p {}", hex(b"ours-now")), "SENT");
    assert_eq!(recv(&pull).await, m(&[b"ours-now"]));
    pull.close().await;
    // A file that is not a socket is never removed.
    std::fs::write(&path.0, b"data").unwrap();
    let p2 = Pull::new();
    assert!(p2.bind(&path.ep()).is_err());
    assert_eq!(std::fs::read(&path.0).unwrap(), b"data");
    p2.close().await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abstract_names_with_pyzmq() {
    let name = format!("ipc://@zmtp-it-{}", std::process::id());
    let router = Router::new();
    router.bind(&name).unwrap();
    let mut a = Agent::spawn("dealer");
    a.ok(&format!("sock d DEALER routing_id={}", hex(b"ab")));
    a.ok(&format!("connect_ep d {name}"));
    a.expect(&format!("send d {}", hex(b"x")), "SENT");
    assert_eq!(recv(&router).await, m(&[b"ab", b"x"]));
    router.close().await;
    // And the other way: pyzmq binds the abstract name, we connect.
    let name2 = format!("{name}-2");
    a.ok("sock r ROUTER");
    a.expect(&format!("bind_ep r {name2}"), "BOUND");
    let dealer = Dealer::new();
    dealer.connect(&name2).unwrap();
    dealer.send(m(&[b"y"])).await.unwrap();
    let got = a.recv("r");
    assert!(got.ends_with(&hex(b"y")), "{got}");
    dealer.close().await;
}

#[test]
fn malformed_ipc_endpoints_are_refused() {
    let long = format!("ipc:///{}", "x".repeat(200));
    for ep in ["ipc://", long.as_str()] {
        let d = Dealer::new();
        assert!(matches!(d.connect(ep), Err(Error::Endpoint(_))), "{ep}");
        assert!(matches!(d.bind(ep), Err(Error::Endpoint(_))), "{ep}");
    }
    // `*` is for bind only.
    assert!(matches!(
        Dealer::new().connect("ipc://*"),
        Err(Error::Endpoint(_))
    ));
}
