//! The socket pairings the other interop tests leave out, against real libzmq 4.3.5 (pyzmq
//! agents in child processes, see `tests/py/agent.py`): DEALER with a REP, each side binding
//! where it changes who waits for whom (REQ, REP, SUB, PUB, PULL), XPUB and XSUB with their
//! x-peers and PUB with an XSUB, a PUB keeping multipart messages whole while it drops at
//! SNDHWM for a lagging SUB, and incompatible pairs that never handshake (ROUTER and REP among
//! them: RFC 28 and libzmq do not pair them).
//!
//! Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;

use std::time::Duration;

use agent::{crc32, desc, handshakes, hex, m, port, recv, Agent, STEP};
use bytes::Bytes;
use zmtp::monitor::Monitor;
use zmtp::{
    Dealer, Message, Pub, Pull, Rep, Req, Routed, Router, RoutingId, SocketEvent, Sub, XPub, XSub,
};

/// Nothing more arrives on `s` within `wait`.
async fn quiet(s: &zmtp::Socket<impl zmtp::socket::SocketKind>, wait: Duration, what: &str) {
    if let Ok(r) = tokio::time::timeout(wait, s.recv()).await {
        panic!("{what}: {r:?}");
    }
}

/// Options for a socket that may hold unsent messages at close.
fn no_linger() -> zmtp::SocketOptions {
    let mut opts = zmtp::SocketOptions::default();
    opts.linger = Some(Duration::ZERO);
    opts
}

// ---------------------------------------------------------------------------------------------
// DEALER and ROUTER with a REP.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dealer_with_a_pyzmq_rep() {
    let mut a = Agent::spawn("rep");
    a.ok("sock r REP");
    let p = a.bind("r", 0);
    let dealer = Dealer::new();
    dealer.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    // The DEALER puts the delimiter itself; the REP sees the body only.
    dealer.send(m(&[b"", b"hello", b"\x00\xff"])).await.unwrap();
    assert_eq!(a.recv("r"), format!("{} 00ff", hex(b"hello")));
    a.expect(&format!("send r {} -", hex(b"world")), "SENT");
    // The reply comes back behind the delimiter, its empty frame kept.
    assert_eq!(recv(&dealer).await, m(&[b"", b"world", b""]));
    // An envelope of an address frame before the delimiter comes back as it went.
    dealer.send(m(&[b"hop", b"", b"q2"])).await.unwrap();
    assert_eq!(a.recv("r"), hex(b"q2"));
    a.expect(&format!("send r {}", hex(b"a2")), "SENT");
    assert_eq!(recv(&dealer).await, m(&[b"hop", b"", b"a2"]));
    assert!(dealer.try_recv().is_none());
    dealer.close().await;
}

// ---------------------------------------------------------------------------------------------
// The other side of the bind.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_req_binds_for_a_connecting_pyzmq_rep() {
    let req = Req::new();
    let mut mon = req.monitor();
    let ep = req.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("rep");
    a.ok("sock r REP");
    a.ok(&format!("connect r {}", port(&ep)));
    handshakes(&mut mon, 1).await;
    for i in 0..3u8 {
        tokio::time::timeout(STEP, req.send(m(&[b"ask", &[i]])))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.recv("r"), format!("{} {}", hex(b"ask"), hex(&[i])));
        a.expect(&format!("send r {} {}", hex(b"ans"), hex(&[i])), "SENT");
        assert_eq!(recv(&req).await, m(&[b"ans", &[i]]));
    }
    req.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_rep_connects_to_a_bound_pyzmq_req() {
    let mut a = Agent::spawn("req");
    a.ok("sock q REQ");
    let p = a.bind("q", 0);
    let rep = Rep::new();
    rep.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    for i in 0..3u8 {
        // A bound REQ waits for its first peer: the agent's send returns once we are there.
        a.expect(&format!("send q {} - {}", hex(b"req"), hex(&[i])), "SENT");
        assert_eq!(recv(&rep).await, m(&[b"req", b"", &[i]]));
        rep.send(m(&[b"rep", &[i]])).await.unwrap();
        assert_eq!(a.recv("q"), format!("{} {}", hex(b"rep"), hex(&[i])));
    }
    rep.close().await;
}

/// A pyzmq publisher (socket `name` of `a`) sends `probe` until `sub` gets one (its
/// subscription has reached the publisher), then `end`; returns once `end` arrived, every
/// probe before it skipped.
async fn await_subscribed_from_agent(
    a: &mut Agent,
    name: &str,
    sub: &zmtp::Socket<impl zmtp::socket::SocketKind>,
    probe: &[u8],
    end: &[u8],
) {
    let mut tries = 0;
    loop {
        a.expect(&format!("send {name} {}", hex(probe)), "SENT");
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(100), sub.recv()).await {
            assert_eq!(r.unwrap(), m(&[probe]));
            break;
        }
        tries += 1;
        assert!(tries < 50, "the subscription never reached the publisher");
    }
    a.expect(&format!("send {name} {}", hex(end)), "SENT");
    loop {
        let got = recv(sub).await;
        if got == m(&[end]) {
            break;
        }
        assert_eq!(got, m(&[probe]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sub_binds_for_a_connecting_pyzmq_pub() {
    let sub = Sub::new();
    sub.subscribe("t");
    let ep = sub.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("pub");
    a.ok("sock p PUB");
    a.ok(&format!("connect p {}", port(&ep)));
    await_subscribed_from_agent(&mut a, "p", &sub, b"t-probe", b"t-end").await;
    for msg in [
        format!("{} {}", hex(b"u1"), hex(b"x")),
        format!("{} - {}", hex(b"t1"), hex(b"y")),
        hex(b"v1"),
        hex(b"t2"),
    ] {
        a.expect(&format!("send p {msg}"), "SENT");
    }
    assert_eq!(recv(&sub).await, m(&[b"t1", b"", b"y"]));
    assert_eq!(recv(&sub).await, m(&[b"t2"]));
    quiet(
        &sub,
        Duration::from_millis(200),
        "an unsubscribed topic arrived",
    )
    .await;
    sub.close().await;
}

/// Our publisher sends `probe` until the pyzmq subscriber (socket `name` of `a`) gets one,
/// then `end`; returns once `end` arrived there, every probe before it skipped.
async fn await_subscribed_at_agent(
    publ: &zmtp::Socket<impl zmtp::socket::SocketKind>,
    a: &mut Agent,
    name: &str,
    probe: &[u8],
    end: &[u8],
) {
    let mut tries = 0;
    loop {
        publ.send(m(&[probe])).await.unwrap();
        match a.cmd(&format!("recv {name} 100")) {
            r if r == format!("MSG {}", hex(probe)) => break,
            r => assert_eq!(r, "TIMEOUT"),
        }
        tries += 1;
        assert!(tries < 50, "the subscription never reached our publisher");
    }
    publ.send(m(&[end])).await.unwrap();
    loop {
        let got = a.recv(name);
        if got == hex(end) {
            break;
        }
        assert_eq!(got, hex(probe));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pub_connects_to_a_bound_pyzmq_sub() {
    let mut a = Agent::spawn("sub");
    a.ok("sock s SUB");
    a.ok(&format!("subscribe s {}", hex(b"a")));
    let p = a.bind("s", 0);
    let publ = Pub::new();
    publ.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    await_subscribed_at_agent(&publ, &mut a, "s", b"a-probe", b"a-end").await;
    for msg in [
        m(&[b"a1", b"", b"x"]),
        m(&[b"b1", b"y"]),
        m(&[b"a2"]),
        m(&[b"ba"]),
    ] {
        publ.send(msg).await.unwrap();
    }
    assert_eq!(a.recv("s"), format!("{} - {}", hex(b"a1"), hex(b"x")));
    assert_eq!(a.recv("s"), hex(b"a2"));
    a.expect("recv s 200", "TIMEOUT");
    publ.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pull_connects_to_a_bound_pyzmq_push() {
    let mut a = Agent::spawn("push");
    a.ok("sock p PUSH");
    let p = a.bind("p", 0);
    let pull = Pull::new();
    pull.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    // A bound PUSH waits for its first peer: the agent's send returns once we are there.
    let sent = a.expect(&format!("send p {} - @300:7 *3:00ff", hex(b"head")), "SENT");
    let got = recv(&pull).await;
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(&got.frames()[..2], m(&[b"head", b""]).frames());
    assert_eq!(got.frames()[2].len(), 300);
    assert_eq!(desc(got.frames()), sent, "the 300-byte frame differs");
    assert_eq!(a.cmd(&format!("seq p 100 {}", hex(b"n"))), "SENT 100");
    for i in 0..100 {
        assert_eq!(recv(&pull).await, m(&[b"n", format!("{i}").as_bytes()]));
    }
    quiet(&pull, Duration::from_millis(200), "more than was sent").await;
    pull.close().await;
}

// ---------------------------------------------------------------------------------------------
// XPUB and XSUB with their x-peers, PUB with an XSUB.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_xpub_with_a_pyzmq_xsub() {
    let xpub = XPub::new();
    let ep = xpub.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("xsub");
    a.ok("sock x XSUB");
    a.ok(&format!("connect x {}", port(&ep)));
    // The XSUB's subscription, 0x01 + topic, reaches our application.
    a.expect(&format!("send x 01{}", hex(b"t")), "SENT");
    assert_eq!(recv(&xpub).await, m(&[b"\x01t"]));
    // Published messages reach it on its topic only.
    for msg in [m(&[b"u1"]), m(&[b"t1", b"", b"z"]), m(&[b"t2"])] {
        xpub.send(msg).await.unwrap();
    }
    assert_eq!(a.recv("x"), format!("{} - {}", hex(b"t1"), hex(b"z")));
    assert_eq!(a.recv("x"), hex(b"t2"));
    a.expect("recv x 200", "TIMEOUT");
    // Other messages upstream reach our application as they are, multipart too.
    a.expect(&format!("send x {}", hex(b"hello")), "SENT");
    assert_eq!(recv(&xpub).await, m(&[b"hello"]));
    a.expect(
        &format!("send x {} - {}", hex(b"hi"), hex(b"there")),
        "SENT",
    );
    assert_eq!(recv(&xpub).await, m(&[b"hi", b"", b"there"]));
    // The cancel, 0x00 + topic; then nothing more on that topic.
    a.expect(&format!("send x 00{}", hex(b"t")), "SENT");
    assert_eq!(recv(&xpub).await, m(&[b"\x00t"]));
    xpub.send(m(&[b"t3"])).await.unwrap();
    a.expect("recv x 300", "TIMEOUT");
    assert!(xpub.try_recv().is_none());
    xpub.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_xsub_with_a_pyzmq_xpub() {
    let mut a = Agent::spawn("xpub");
    a.ok("sock x XPUB");
    let p = a.bind("x", 0);
    let xsub = XSub::new();
    xsub.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    xsub.send(m(&[b"\x01t"])).await.unwrap();
    // Our subscription reaches the pyzmq application as 0x01 + topic.
    assert_eq!(a.recv("x"), format!("01{}", hex(b"t")));
    // Its published messages reach us on that topic only (it filters: it got the topic).
    for msg in [
        hex(b"u1"),
        format!("{} - {}", hex(b"t1"), hex(b"z")),
        hex(b"t2"),
    ] {
        a.expect(&format!("send x {msg}"), "SENT");
    }
    assert_eq!(recv(&xsub).await, m(&[b"t1", b"", b"z"]));
    assert_eq!(recv(&xsub).await, m(&[b"t2"]));
    // A message that is not a subscription reaches it as it is.
    xsub.send(m(&[b"up", b"", b"stream"])).await.unwrap();
    assert_eq!(a.recv("x"), format!("{} - {}", hex(b"up"), hex(b"stream")));
    // The cancel, then nothing more on that topic.
    xsub.send(m(&[b"\x00t"])).await.unwrap();
    assert_eq!(a.recv("x"), format!("00{}", hex(b"t")));
    a.expect(&format!("send x {}", hex(b"t3")), "SENT");
    quiet(
        &xsub,
        Duration::from_millis(300),
        "a message after the cancel",
    )
    .await;
    a.expect("recv x 100", "TIMEOUT");
    xsub.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pub_with_a_pyzmq_xsub() {
    let publ = Pub::new();
    let ep = publ.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("xsub");
    a.ok("sock x XSUB");
    a.ok(&format!("connect x {}", port(&ep)));
    a.expect(&format!("send x 01{}", hex(b"a")), "SENT");
    await_subscribed_at_agent(&publ, &mut a, "x", b"a-probe", b"a-end").await;
    for msg in [m(&[b"a1", b"", b"x"]), m(&[b"b1"]), m(&[b"a2"])] {
        publ.send(msg).await.unwrap();
    }
    assert_eq!(a.recv("x"), format!("{} - {}", hex(b"a1"), hex(b"x")));
    assert_eq!(a.recv("x"), hex(b"a2"));
    a.expect("recv x 200", "TIMEOUT");
    // A PUB ignores what else comes upstream, and the connection stays: a cancel of "a" and a
    // subscription to "b" after it are applied.
    a.expect(&format!("send x {}", hex(b"noise")), "SENT");
    a.expect(&format!("send x 00{}", hex(b"a")), "SENT");
    a.expect(&format!("send x 01{}", hex(b"b")), "SENT");
    await_subscribed_at_agent(&publ, &mut a, "x", b"b-probe", b"b-end").await;
    publ.send(m(&[b"a3"])).await.unwrap();
    publ.send(m(&[b"b3"])).await.unwrap();
    assert_eq!(a.recv("x"), hex(b"b3"));
    a.expect("recv x 200", "TIMEOUT");
    assert!(publ.try_recv().is_none());
    publ.close().await;
}

// ---------------------------------------------------------------------------------------------
// PUB drops whole messages at SNDHWM.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pub_drops_whole_multipart_messages_for_a_lagging_pyzmq_sub() {
    const COUNT: usize = 1000;
    const BODY: usize = 16 * 1024;
    let mut opts = no_linger();
    opts.sndhwm = 10;
    let publ = Pub::with_options(opts).unwrap();
    let ep = publ.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("sub");
    a.ok("sock s SUB rcvhwm=10");
    a.ok(&format!("subscribe s {}", hex(b"t")));
    a.ok(&format!("connect s {}", port(&ep)));
    await_subscribed_at_agent(&publ, &mut a, "s", b"t-probe", b"t-end").await;
    // 16 MiB in 3-frame messages while the SUB does not read: its RCVHWM and the socket
    // buffers fill, and our PUB drops at SNDHWM.
    let body = |i: usize| {
        let mut v = vec![(i % 251) as u8; BODY];
        v[..8].copy_from_slice(&(i as u64).to_be_bytes());
        Bytes::from(v)
    };
    for i in 0..COUNT {
        let msg = Message::from_frames([
            Bytes::from_static(b"t"),
            Bytes::from(format!("{i}")),
            body(i),
        ]);
        tokio::time::timeout(STEP, publ.send(msg))
            .await
            .expect("a PUB send waited")
            .unwrap();
    }
    // Now it reads: every message that arrives is whole, in order.
    let mut got = Vec::new();
    loop {
        let r = a.cmd("recv s 500");
        if r == "TIMEOUT" {
            break;
        }
        let frames: Vec<&str> = r
            .strip_prefix("MSG ")
            .unwrap_or_else(|| panic!("{r:?}"))
            .split(' ')
            .collect();
        assert_eq!(frames.len(), 3, "not 3 frames: {r}");
        assert_eq!(frames[0], hex(b"t"), "{r}");
        let seq = String::from_utf8(
            (0..frames[1].len())
                .step_by(2)
                .map(|k| u8::from_str_radix(&frames[1][k..k + 2], 16).unwrap())
                .collect(),
        )
        .unwrap();
        let i: usize = seq.parse().unwrap_or_else(|_| panic!("{r}"));
        assert!(i < COUNT, "{r}");
        assert_eq!(
            frames[2],
            format!("#{BODY}:{:08x}", crc32(&body(i))),
            "message {i}'s body"
        );
        if let Some(&last) = got.last() {
            assert!(i > last, "{i} after {last}");
        }
        got.push(i);
    }
    assert!(!got.is_empty(), "nothing arrived");
    assert!(
        got.len() < COUNT,
        "nothing was dropped: the SUB did not lag"
    );
    publ.close().await;
}

// ---------------------------------------------------------------------------------------------
// Incompatible pairs.

/// Waits (at most [`STEP`]) until `n` connections ended without a handshake; fails on any
/// HandshakeSucceeded.
async fn refused(mon: &mut Monitor, n: usize) {
    let mut seen = Vec::new();
    let mut ended = 0;
    let r = tokio::time::timeout(STEP, async {
        while ended < n {
            match mon.recv().await {
                Some(e @ SocketEvent::HandshakeSucceeded { .. }) => {
                    panic!("an incompatible peer handshook: {e:?}; before: {seen:#?}")
                }
                Some(
                    e @ SocketEvent::Disconnected {
                        routing_id: None, ..
                    },
                ) => {
                    ended += 1;
                    seen.push(e);
                }
                Some(e) => seen.push(e),
                None => break,
            }
        }
    })
    .await;
    assert!(
        r.is_ok() && ended == n,
        "{ended} of {n} refusals; seen {seen:#?}"
    );
}

/// The pyzmq side's monitor never saw a handshake succeed.
fn no_handshake_at_agent(a: &mut Agent, name: &str) {
    let events = a.events(name);
    assert!(
        !events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e == "DISCONNECTED"),
        "the connection never ended: {events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_req_and_a_pyzmq_pub_never_handshake() {
    let mut a = Agent::spawn("pub");
    a.ok("sock p PUB");
    a.ok("monitor p");
    let p = a.bind("p", 0);
    let req = Req::with_options(no_linger()).unwrap();
    let mut mon = req.monitor();
    req.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    refused(&mut mon, 1).await;
    // Queued for a peer that never comes; what the PUB publishes never reaches us.
    tokio::time::timeout(STEP, req.send(m(&[b"ask"])))
        .await
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        a.expect(&format!("send p {}", hex(b"news")), "SENT");
    }
    quiet(&req, Duration::from_millis(300), "a message crossed").await;
    assert!(
        !std::iter::from_fn(|| mon.try_recv())
            .any(|e| matches!(e, SocketEvent::HandshakeSucceeded { .. })),
        "a later attempt handshook"
    );
    no_handshake_at_agent(&mut a, "p");
    req.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sub_and_a_pyzmq_push_never_handshake() {
    let sub = Sub::new();
    sub.subscribe("");
    let mut mon = sub.monitor();
    let ep = sub.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("push");
    // Sends without waiting (sndtimeo=0): after each refused handshake libzmq drops the
    // connection's pipe for a moment, and a blocking send would wait out its timeout (seen
    // under load). Queued or refused, nothing may reach us.
    a.ok("sock p PUSH sndtimeo=0");
    a.ok("monitor p");
    a.ok(&format!("connect p {}", port(&ep)));
    refused(&mut mon, 1).await;
    for _ in 0..3 {
        a.send_may_be_refused(&format!("send p {}", hex(b"work")));
    }
    quiet(&sub, Duration::from_millis(300), "a message crossed").await;
    assert!(
        !std::iter::from_fn(|| mon.try_recv())
            .any(|e| matches!(e, SocketEvent::HandshakeSucceeded { .. })),
        "a later attempt handshook"
    );
    no_handshake_at_agent(&mut a, "p");
    sub.close().await;
}

/// RFC 28 pairs a ROUTER with DEALER, REQ and ROUTER peers, never with a REP (libzmq refuses
/// it too): a REP behind a ROUTER is reached through a DEALER in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_router_and_a_pyzmq_rep_never_handshake() {
    let router = Router::with_options(no_linger()).unwrap();
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("rep");
    a.ok(&format!("sock r REP routing_id={}", hex(b"rep-1")));
    a.ok("monitor r");
    a.ok(&format!("connect r {}", port(&ep)));
    refused(&mut mon, 1).await;
    // Nobody to route to under the REP's routing id.
    let sent = router.send(m(&[b"rep-1", b"", b"q1"])).await.unwrap();
    assert!(matches!(sent, Routed::Unroutable), "{sent:?}");
    assert!(!router.has_peer(&RoutingId::from("rep-1")));
    a.expect("recv r 300", "TIMEOUT");
    assert!(
        !std::iter::from_fn(|| mon.try_recv())
            .any(|e| matches!(e, SocketEvent::HandshakeSucceeded { .. })),
        "a later attempt handshook"
    );
    no_handshake_at_agent(&mut a, "r");
    router.close().await;
}
