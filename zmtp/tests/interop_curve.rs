//! CURVE (RFC 25/26) against real libzmq 4.3.5 (pyzmq agents in child processes, libsodium
//! inside), in both roles: DEALER/ROUTER, REQ/REP and PUB/SUB with subscriptions, multipart
//! messages, a 1 MiB frame, heartbeats under CURVE, allow-lists (our authenticator, and
//! libzmq's ZAP handler), and the negatives (wrong server key, a NULL client, a client not on
//! the allow-list): nothing delivered, others still served.
//!
//! Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;

use std::time::Duration;

use agent::{desc, hex, m, outcome, port, recv, Agent, STEP};
use bytes::Bytes;
use zmtp::auth::{AuthHandle, CurveKeys};
use zmtp::curve::KeyPair;
use zmtp::socket::SocketKind;
use zmtp::{Dealer, Pub, Rep, Req, Routed, Router, Socket, SocketEvent, SocketOptions, Sub};

fn server_opts(server: &KeyPair) -> SocketOptions {
    let mut o = SocketOptions::default();
    o.curve_server = true;
    o.curve_secretkey = Some(server.secret);
    o.linger = Some(Duration::ZERO);
    o
}

fn client_opts(server: &KeyPair, me: &KeyPair) -> SocketOptions {
    let mut o = SocketOptions::default();
    o.curve_serverkey = Some(server.public);
    o.curve_secretkey = Some(me.secret);
    o.linger = Some(Duration::ZERO);
    o
}

/// pyzmq socket options for a CURVE server with this pair.
fn py_server(k: &KeyPair) -> String {
    format!(
        "curve_server=1 curve_secretkey={} curve_publickey={}",
        hex(&k.secret),
        hex(&k.public)
    )
}

/// pyzmq socket options for a CURVE client of `server` with the pair `me`.
fn py_client(server: &KeyPair, me: &KeyPair) -> String {
    format!(
        "curve_serverkey={} curve_secretkey={} curve_publickey={}",
        hex(&server.public),
        hex(&me.secret),
        hex(&me.public)
    )
}

/// Waits until the agent's monitor on `name` has reported an event starting with `prefix`.
fn await_event(a: &mut Agent, name: &str, prefix: &str) {
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let ev = a.events(name);
        if ev.iter().any(|e| e.starts_with(prefix)) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no {prefix}: {ev:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The agent's socket `name` sends `sneak` without waiting: queued or refused (EAGAIN), never
/// an agent stuck in a blocking send.
fn try_send(a: &mut Agent, name: &str) {
    a.send_may_be_refused(&format!("send {name} {}", hex(b"sneak")));
}

/// Nothing arrives on `s` for a while.
async fn silent<K: SocketKind>(s: &Socket<K>) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.try_recv().is_none(), "a message arrived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dealer_with_a_pyzmq_curve_router() {
    let (server, me) = (KeyPair::generate(), KeyPair::generate());
    let mut a = Agent::spawn("curve-router");
    a.ok(&format!("sock r ROUTER {}", py_server(&server)));
    let p = a.bind("r", 0);

    let mut o = client_opts(&server, &me);
    o.routing_id = Some(Bytes::from_static(b"me"));
    let d = Dealer::with_options(o).unwrap();
    let mut mon = d.monitor();
    d.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    assert_eq!(outcome(&mut mon).await, Ok(None));

    // Multipart both ways, empty frames included.
    d.send(m(&[b"hello", b"", b"world"])).await.unwrap();
    assert_eq!(
        a.recv("r"),
        format!("{} {} - {}", hex(b"me"), hex(b"hello"), hex(b"world"))
    );
    a.expect(
        &format!("send r {} {} - {}", hex(b"me"), hex(b"back"), hex(b"again")),
        "SENT",
    );
    assert_eq!(recv(&d).await, m(&[b"back", b"", b"again"]));

    // A 1 MiB frame each way.
    let big = Bytes::from(
        (0..1 << 20)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    d.send(zmtp::Message::from_frames([big.clone()]))
        .await
        .unwrap();
    assert_eq!(a.recv("r"), format!("{} {}", hex(b"me"), desc([&big])));
    let sent = a.expect(&format!("send r {} @1048576:7", hex(b"me")), "SENT");
    let got = recv(&d).await;
    assert_eq!(format!("{} {}", hex(b"me"), desc(got.frames())), sent);
    d.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyzmq_dealers_with_our_curve_router() {
    let server = KeyPair::generate();
    let router = Router::with_options(server_opts(&server)).unwrap();
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let client = KeyPair::generate();
    let mut a = Agent::spawn("curve-dealers");
    a.ok(&format!(
        "sock d DEALER {} routing_id={}",
        py_client(&server, &client),
        hex(b"py")
    ));
    a.ok(&format!("connect d {}", port(&ep)));
    let id = outcome(&mut mon).await.unwrap();
    assert_eq!(id.as_ref().map(|r| &r.0[..]), Some(&b"py"[..]));
    a.expect(&format!("send d {} {}", hex(b"one"), hex(b"two")), "SENT");
    let got = recv(&router).await;
    assert_eq!(got, m(&[b"py", b"one", b"two"]));
    // No authenticator: no metadata on the messages (they cost nothing more).
    assert!(got.metadata().is_none());
    assert_eq!(
        router.send(m(&[b"py", b"three"])).await.unwrap(),
        Routed::Queued
    );
    assert_eq!(a.recv("d"), hex(b"three"));
    let sent = a.expect("send d @1048576:3", "SENT");
    let got = recv(&router).await;
    assert_eq!(got.frames()[1].len(), 1 << 20);
    assert_eq!(desc(&got.frames()[1..]), sent);
    router.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_allow_list_refuses_a_pyzmq_client_and_serves_the_others() {
    let server = KeyPair::generate();
    let (good, bad) = (KeyPair::generate(), KeyPair::generate());
    let mut keys = CurveKeys::new();
    keys.insert(good.public);
    let mut o = server_opts(&server);
    o.authenticator = Some(AuthHandle::new(keys));
    let router = Router::with_options(o).unwrap();
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("curve-allow");
    a.ok(&format!(
        "sock good DEALER {} routing_id={}",
        py_client(&server, &good),
        hex(b"g")
    ));
    a.ok(&format!(
        "sock bad DEALER {} routing_id={} sndtimeo=0",
        py_client(&server, &bad),
        hex(b"b")
    ));
    a.ok("monitor bad");
    a.ok(&format!("connect good {}", port(&ep)));
    assert!(outcome(&mut mon).await.is_ok());
    a.expect(&format!("send good {}", hex(b"hi")), "SENT");
    let got = recv(&router).await;
    assert_eq!(got, m(&[b"g", b"hi"]));
    // The user id the allow-list gave (the key in Z85), as libzmq's User-Id.
    assert_eq!(got.property("User-Id"), Some(good.public_z85().as_bytes()));
    assert_eq!(got.property("peer-address"), Some(&b"127.0.0.1"[..]));
    assert_eq!(got.property("Socket-Type"), Some(&b"DEALER"[..]));
    assert_eq!(got.property("Identity"), Some(&b"g"[..]));
    assert_eq!(got.property("X-Nothing"), None);

    // Not on the list: ERROR "400", libzmq reports an authentication failure, nothing arrives.
    a.ok(&format!("connect bad {}", port(&ep)));
    try_send(&mut a, "bad");
    let e = outcome(&mut mon).await.unwrap_err();
    assert!(e.contains("400"), "{e}");
    await_event(&mut a, "bad", "HANDSHAKE_FAILED_AUTH");
    silent(&router).await;
    // The good one is still served.
    a.expect(&format!("send good {}", hex(b"more")), "SENT");
    assert_eq!(recv(&router).await, m(&[b"g", b"more"]));
    router.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zap_handler_in_libzmq_refuses_our_client_not_on_its_list() {
    let server = KeyPair::generate();
    let (good, bad) = (KeyPair::generate(), KeyPair::generate());
    let mut a = Agent::spawn("curve-zap");
    a.ok(&format!("auth_curve {}", hex(&good.public)));
    a.ok(&format!("sock r ROUTER {}", py_server(&server)));
    let p = a.bind("r", 0);

    let mut o = client_opts(&server, &good);
    o.routing_id = Some(Bytes::from_static(b"good"));
    let g = Dealer::with_options(o).unwrap();
    let mut gmon = g.monitor();
    g.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    assert!(outcome(&mut gmon).await.is_ok());

    let mut o = client_opts(&server, &bad);
    o.routing_id = Some(Bytes::from_static(b"bad"));
    let b = Dealer::with_options(o).unwrap();
    let mut bmon = b.monitor();
    b.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    let e = outcome(&mut bmon).await.unwrap_err();
    assert!(e.contains("400"), "{e}");
    let _ = b.try_send(m(&[b"sneak"]));
    g.send(m(&[b"hi"])).await.unwrap();
    assert_eq!(a.recv("r"), format!("{} {}", hex(b"good"), hex(b"hi")));
    a.expect("recv r 300", "TIMEOUT");
    g.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_server_keys_and_null_clients_get_nothing_either_way() {
    // Our server: a pyzmq client holding another server key, and a pyzmq NULL client.
    let server = KeyPair::generate();
    let router = Router::with_options(server_opts(&server)).unwrap();
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("curve-wrong");
    // The shut-out clients send without waiting (sndtimeo=0): after a failed handshake libzmq
    // drops the connection's pipe for a moment, and a blocking send would wait out its
    // timeout. Whether the message was queued or refused, it must never arrive.
    a.ok(&format!(
        "sock wrong DEALER {} routing_id={} sndtimeo=0",
        py_client(&KeyPair::generate(), &KeyPair::generate()),
        hex(b"w")
    ));
    a.ok(&format!("connect wrong {}", port(&ep)));
    try_send(&mut a, "wrong");
    let e = outcome(&mut mon).await.unwrap_err();
    assert!(e.contains("HELLO box does not open"), "{e}");
    // A NULL client: libzmq sees our CURVE greeting and closes before its own is complete,
    // so the mismatch shows on its side.
    a.ok(&format!(
        "sock null DEALER routing_id={} sndtimeo=0",
        hex(b"n")
    ));
    a.ok("monitor null");
    a.ok(&format!("connect null {}", port(&ep)));
    try_send(&mut a, "null");
    await_event(&mut a, "null", "HANDSHAKE_FAILED_PROTOCOL");
    silent(&router).await;
    // A right one is served meanwhile.
    let me = KeyPair::generate();
    a.ok(&format!(
        "sock ok DEALER {} routing_id={}",
        py_client(&server, &me),
        hex(b"ok")
    ));
    a.ok(&format!("connect ok {}", port(&ep)));
    a.expect(&format!("send ok {}", hex(b"fine")), "SENT");
    assert_eq!(recv(&router).await, m(&[b"ok", b"fine"]));
    router.close().await;

    // A pyzmq server: our client with another server key never gets through.
    a.ok(&format!("sock r ROUTER {}", py_server(&server)));
    a.ok("monitor r");
    let p = a.bind("r", 0);
    let d = Dealer::with_options(client_opts(&KeyPair::generate(), &me)).unwrap();
    d.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    let _ = d.try_send(m(&[b"sneak"]));
    await_event(&mut a, "r", "HANDSHAKE_FAILED_PROTOCOL");
    a.expect("recv r 300", "TIMEOUT");
    d.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn req_rep_under_curve_both_ways() {
    let server = KeyPair::generate();
    let me = KeyPair::generate();
    // Our REQ, pyzmq REP.
    let mut a = Agent::spawn("curve-reqrep");
    a.ok(&format!("sock rep REP {}", py_server(&server)));
    let p = a.bind("rep", 0);
    let req = Req::with_options(client_opts(&server, &me)).unwrap();
    req.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    req.send(m(&[b"ping", b"two"])).await.unwrap();
    a.start("echo rep 1");
    assert_eq!(recv(&req).await, m(&[b"ping", b"two"]));
    assert_eq!(a.reply(STEP), "ECHOED 1");
    req.close().await;

    // pyzmq REQ, our REP.
    let rep = Rep::with_options(server_opts(&server)).unwrap();
    let ep = rep.bind("tcp://127.0.0.1:0").unwrap();
    a.ok(&format!("sock req REQ {}", py_client(&server, &me)));
    a.ok(&format!("connect req {}", port(&ep)));
    a.expect(&format!("send req {}", hex(b"question")), "SENT");
    assert_eq!(recv(&rep).await, m(&[b"question"]));
    rep.send(m(&[b"answer"])).await.unwrap();
    assert_eq!(a.recv("req"), hex(b"answer"));
    rep.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_sub_subscriptions_travel_inside_the_boxes() {
    let server = KeyPair::generate();
    let me = KeyPair::generate();
    // Our PUB (server), a pyzmq SUB (client) taking "a" only: its SUBSCRIBE is a boxed
    // command, which our PUB must read to filter.
    let publisher = Pub::with_options(server_opts(&server)).unwrap();
    let mut mon = publisher.monitor();
    let ep = publisher.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("curve-pubsub");
    a.ok(&format!("sock s SUB {}", py_client(&server, &me)));
    a.ok(&format!("subscribe s {}", hex(b"a")));
    a.ok(&format!("connect s {}", port(&ep)));
    assert!(outcome(&mut mon).await.is_ok());
    // Until the subscription is in, nothing matches; send until one arrives.
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        publisher.send(m(&[b"b-skip"])).await.unwrap();
        publisher.send(m(&[b"a-first"])).await.unwrap();
        if a.cmd("recv s 100") == format!("MSG {}", hex(b"a-first")) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no subscription");
    }
    a.expect("recv s 300", "TIMEOUT");
    publisher.send(m(&[b"b-no"])).await.unwrap();
    publisher.send(m(&[b"a-yes", b"part"])).await.unwrap();
    assert_eq!(a.recv("s"), format!("{} {}", hex(b"a-yes"), hex(b"part")));
    // The cancel travels boxed too: nothing more arrives.
    a.ok(&format!("unsubscribe s {}", hex(b"a")));
    tokio::time::sleep(Duration::from_millis(200)).await;
    publisher.send(m(&[b"a-late"])).await.unwrap();
    a.expect("recv s 300", "TIMEOUT");
    publisher.close().await;

    // A pyzmq PUB (server), our SUB (client) taking "x".
    a.ok(&format!("sock p PUB {}", py_server(&server)));
    let p = a.bind("p", 0);
    let sub = Sub::with_options(client_opts(&server, &me)).unwrap();
    sub.subscribe(&b"x"[..]);
    sub.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    let deadline = tokio::time::Instant::now() + STEP;
    let got = loop {
        a.expect(&format!("send p {}", hex(b"y-skip")), "SENT");
        a.expect(&format!("send p {}", hex(b"x-hit")), "SENT");
        if let Ok(Ok(msg)) = tokio::time::timeout(Duration::from_millis(100), sub.recv()).await {
            break msg;
        }
        assert!(tokio::time::Instant::now() < deadline, "no subscription");
    };
    assert_eq!(got, m(&[b"x-hit"]));
    while let Some(msg) = sub.try_recv() {
        assert_eq!(msg, m(&[b"x-hit"]));
    }
    sub.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_travel_inside_the_boxes() {
    // PINGs both ways and the PONGs that answer them, all boxed, over an idle second, with
    // timeouts of 300 ms on both sides: a PING or PONG that either side cannot read ends the
    // connection.
    let server = KeyPair::generate();
    let me = KeyPair::generate();
    let mut a = Agent::spawn("curve-heartbeat");
    a.ok(&format!(
        "sock r ROUTER {} heartbeat_ivl=50 heartbeat_timeout=300",
        py_server(&server)
    ));
    a.ok("monitor r");
    let p = a.bind("r", 0);
    let mut o = client_opts(&server, &me);
    o.heartbeat_ivl = Some(Duration::from_millis(50));
    o.heartbeat_timeout = Some(Duration::from_millis(300));
    o.routing_id = Some(Bytes::from_static(b"hb"));
    let d = Dealer::with_options(o).unwrap();
    let mut mon = d.monitor();
    d.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    assert!(outcome(&mut mon).await.is_ok());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    while let Some(ev) = mon.try_recv() {
        assert!(
            !matches!(ev, SocketEvent::Disconnected { .. }),
            "disconnected: {ev:?}"
        );
    }
    let ev = a.events("r");
    assert!(!ev.iter().any(|e| e.starts_with("DISCONNECTED")), "{ev:?}");
    d.send(m(&[b"still here"])).await.unwrap();
    assert_eq!(
        a.recv("r"),
        format!("{} {}", hex(b"hb"), hex(b"still here"))
    );
    d.close().await;
}

/// A TCP relay to `upstream` on 127.0.0.1 that records both directions of the first
/// connection: (client to server, server to client).
type Recorded = std::sync::Arc<std::sync::Mutex<(Vec<u8>, Vec<u8>)>>;

async fn tap(upstream: u16) -> (u16, Recorded) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let p = l.local_addr().unwrap().port();
    let rec: Recorded = Default::default();
    let r = rec.clone();
    tokio::spawn(async move {
        let (down, _) = l.accept().await.unwrap();
        let up = tokio::net::TcpStream::connect(("127.0.0.1", upstream))
            .await
            .unwrap();
        let (mut dr, mut dw) = down.into_split();
        let (mut ur, mut uw) = up.into_split();
        let r2 = r.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n @ 1..) = dr.read(&mut buf).await {
                r2.lock().unwrap().0.extend_from_slice(&buf[..n]);
                if uw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n @ 1..) = ur.read(&mut buf).await {
            r.lock().unwrap().1.extend_from_slice(&buf[..n]);
            if dw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    (p, rec)
}

/// The frames after the 64-byte greeting: (flags, body).
fn frames(wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut rest = &wire[64..];
    let mut out = Vec::new();
    while rest.len() >= 2 {
        let (len, head) = if rest[0] & 0x02 != 0 {
            (
                u64::from_be_bytes(rest[1..9].try_into().unwrap()) as usize,
                9,
            )
        } else {
            (rest[1] as usize, 2)
        };
        out.push((rest[0], rest[head..head + len].to_vec()));
        rest = &rest[head + len..];
    }
    out
}

fn nonce_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

/// Checks a recorded CURVE conversation: the client's HELLO (200 B, 72 zero bytes, nonce 1)
/// and INITIATE (>= 257 B, nonce 2) and the server's WELCOME (168 B) and READY (>= 30 B,
/// nonce 1) as command frames; then `c2s` and `s2c` MESSAGEs in data frames with no flags,
/// 33 bytes over their frame, nonces counting up from 3 (client) and 2 (server).
fn check_conversation(rec: &Recorded, c2s: &[usize], s2c: &[usize]) {
    let (up, down) = rec.lock().unwrap().clone();
    assert_eq!(&up[12..17], b"CURVE");
    assert_eq!(&down[12..17], b"CURVE");
    let (up, down) = (frames(&up), frames(&down));
    assert_eq!(up.len(), 2 + c2s.len(), "{:?}", up.len());
    assert_eq!(down.len(), 2 + s2c.len());
    let (flags, hello) = &up[0];
    assert_eq!((*flags, hello.len()), (0x04, 200));
    assert_eq!(&hello[..8], b"\x05HELLO\x01\x00");
    assert!(hello[8..80].iter().all(|&b| b == 0));
    assert_eq!(nonce_at(hello, 112), 1);
    let (flags, initiate) = &up[1];
    assert_eq!(flags & 0x04, 0x04);
    assert!(initiate.len() >= 257 && initiate.starts_with(b"\x08INITIATE"));
    assert_eq!(nonce_at(initiate, 105), 2);
    let (flags, welcome) = &down[0];
    assert_eq!((*flags, welcome.len()), (0x04, 168));
    assert!(welcome.starts_with(b"\x07WELCOME"));
    let (flags, ready) = &down[1];
    assert_eq!(*flags, 0x04);
    assert!(ready.len() >= 30 && ready.starts_with(b"\x05READY"));
    assert_eq!(nonce_at(ready, 6), 1);
    for (dir, frames, sizes, first) in [("c2s", &up, c2s, 3), ("s2c", &down, s2c, 2)] {
        for (i, ((flags, body), size)) in frames[2..].iter().zip(sizes).enumerate() {
            assert_eq!(*flags & !0x02, 0x00, "{dir} MESSAGE {i}: outer flags");
            assert!(body.starts_with(b"\x07MESSAGE"), "{dir} {i}");
            assert_eq!(body.len(), size + 33, "{dir} MESSAGE {i}");
            assert_eq!(nonce_at(body, 8), first + i as u64, "{dir} MESSAGE {i}");
        }
    }
}

/// Waits until `rec` holds `frames` frames each way past the greetings.
async fn recorded(rec: &Recorded, up: usize, down: usize) {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        {
            let (u, d) = &*rec.lock().unwrap();
            if u.len() > 64 && d.len() > 64 && frames(u).len() >= up && frames(d).len() >= down {
                return;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "not recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bytes_each_side_sends_captured() {
    let server = KeyPair::generate();
    let me = KeyPair::generate();
    // Our client, through the tap, to a pyzmq server: our HELLO, INITIATE and MESSAGEs,
    // libzmq's WELCOME, READY and MESSAGEs.
    let mut a = Agent::spawn("curve-tap");
    a.ok(&format!("sock r ROUTER {}", py_server(&server)));
    let p = a.bind("r", 0);
    let (tp, rec) = tap(p).await;
    let mut o = client_opts(&server, &me);
    o.routing_id = Some(Bytes::from_static(b"t"));
    let d = Dealer::with_options(o).unwrap();
    d.connect(&format!("tcp://127.0.0.1:{tp}")).unwrap();
    d.send(m(&[b"abc", b"defgh"])).await.unwrap();
    assert_eq!(
        a.recv("r"),
        format!("{} {} {}", hex(b"t"), hex(b"abc"), hex(b"defgh"))
    );
    a.expect(&format!("send r {} {}", hex(b"t"), hex(b"xy")), "SENT");
    assert_eq!(recv(&d).await, m(&[b"xy"]));
    recorded(&rec, 4, 3).await;
    check_conversation(&rec, &[3, 5], &[2]);
    d.close().await;

    // A pyzmq client, through the tap, to our server: the other way round.
    let router = Router::with_options(server_opts(&server)).unwrap();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let (tp, rec) = tap(port(&ep)).await;
    a.ok(&format!(
        "sock c DEALER {} routing_id={}",
        py_client(&server, &me),
        hex(b"c")
    ));
    a.ok(&format!("connect c {tp}"));
    a.expect(&format!("send c {} -", hex(b"1234")), "SENT");
    assert_eq!(recv(&router).await, m(&[b"c", b"1234", b""]));
    assert_eq!(
        router.send(m(&[b"c", b"reply", b"z"])).await.unwrap(),
        Routed::Queued
    );
    assert_eq!(a.recv("c"), format!("{} {}", hex(b"reply"), hex(b"z")));
    recorded(&rec, 4, 4).await;
    check_conversation(&rec, &[4, 0], &[5, 1]);
    router.close().await;
}
