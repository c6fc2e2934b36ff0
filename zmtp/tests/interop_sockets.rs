//! Interop proof of the tokio DEALER and ROUTER sockets against real libzmq 4.3.5 (pyzmq in
//! child processes driven line by line, see `tests/py/agent.py`), plus hand-built raw ZMTP
//! peers where libzmq cannot show a behaviour (a silent peer, a ZMTP 3.0 peer).
//!
//! The interpreter is `$ZMTP_PYTHON`, else `<workspace>/.venv/bin/python` (made by
//! `scripts/test.sh`); without it these tests fail, they never skip. Every wait is bounded;
//! agents are killed by PID when their guard drops.
//!
//! Content checks are byte for byte: frames up to 64 bytes are compared as hex, longer ones by
//! length and CRC-32 (the agent prints the same descriptors for what it receives and sends).

#[path = "common/agent.rs"]
mod agent;
mod common;
#[path = "common/raw.rs"]
mod raw;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use raw::{raw_greeting, raw_ready};
use zmtp::{Dealer, Error, Message, Routed, Router, RoutingId, SocketOptions};

use agent::{desc, hex, m, Agent, STEP};

// ---------------------------------------------------------------------------------------------
// Content helpers.

/// The agent's token for a frame we want it to send: `-` or hex.
fn token(b: &[u8]) -> String {
    if b.is_empty() {
        "-".into()
    } else {
        hex(b)
    }
}

fn tokens(frames: &[Bytes]) -> String {
    frames
        .iter()
        .map(|f| token(f))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `[prefix, ...m]`.
fn prefixed(prefix: &[u8], m: &Message) -> Message {
    let mut r = m.clone();
    r.push_front(Bytes::copy_from_slice(prefix));
    r
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn noise(len: usize, seed: u64) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    Bytes::from(v)
}

/// Small multipart messages of every shape: single, multi, empty frames, all byte values, the
/// short/long frame size boundary, many frames.
fn samples() -> Vec<Message> {
    vec![
        m(&[b"hello"]),
        m(&[b"multi", b"part", b"message"]),
        m(&[b""]),
        m(&[b"", b"", b""]),
        m(&[b"a", b"", b"c"]),
        Message::from((0..=255u8).collect::<Vec<u8>>()),
        Message::from_frames([
            vec![b'x'; 255],
            vec![b'y'; 256],
            vec![0u8; 64],
            vec![1u8; 65],
        ]),
        Message::from_frames((0..50).map(|i| format!("f{i}").into_bytes())),
        Message::from_frames([noise(3000, 1), noise(70_000, 2)]),
    ]
}

/// Sends `m` from the agent's socket `name` (after `prefix` frames) and returns its descriptor.
fn agent_send(a: &mut Agent, name: &str, prefix: &[&[u8]], m: &Message) -> String {
    let mut toks: Vec<String> = prefix.iter().map(|p| token(p)).collect();
    toks.push(tokens(m.frames()));
    a.expect(&format!("send {name} {}", toks.join(" ")), "SENT")
}

async fn recv_d(d: &Dealer) -> Message {
    match tokio::time::timeout(STEP, d.recv()).await {
        Ok(r) => r.expect("dealer recv"),
        Err(_) => panic!("dealer: nothing received within {STEP:?}"),
    }
}

async fn recv_r(r: &Router) -> Message {
    match tokio::time::timeout(STEP, r.recv()).await {
        Ok(m) => m.expect("router recv"),
        Err(_) => panic!("router: nothing received within {STEP:?}"),
    }
}

async fn send_d(d: &Dealer, m: impl Into<Message>) {
    tokio::time::timeout(STEP, d.send(m))
        .await
        .expect("dealer send timed out")
        .expect("dealer send");
}

async fn send_r(r: &Router, m: impl Into<Message>) {
    let routed = tokio::time::timeout(STEP, r.send(m))
        .await
        .expect("router send timed out")
        .expect("router send");
    assert_eq!(routed, Routed::Queued);
}

fn opts(routing_id: Option<&'static str>) -> SocketOptions {
    let mut o = SocketOptions::default();
    o.routing_id = routing_id.map(|s| Bytes::from_static(s.as_bytes()));
    o
}

fn port_of(ep: &zmtp::Endpoint) -> u16 {
    ep.to_string().rsplit(':').next().unwrap().parse().unwrap()
}

fn tcp(port: u16) -> String {
    format!("tcp://127.0.0.1:{port}")
}

/// A generated routing id: 5 bytes, 0x00 first (as hex: 10 digits, "00" first).
fn assert_generated_id(id_hex: &str) {
    assert!(
        id_hex.len() == 10 && id_hex.starts_with("00"),
        "expected a generated routing id (00 + 4 bytes), got {id_hex}"
    );
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Pairings.

/// Our DEALER (id set, and id unset) connected to a pyzmq ROUTER: every sample arrives with our
/// routing id in front; the ROUTER's replies come back unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dealer_to_pyzmq_router() {
    let mut a = Agent::spawn("router");
    a.ok("sock r ROUTER");
    let port = a.bind("r", 0);
    let named = Dealer::with_options(opts(Some("rust-dealer"))).unwrap();
    named.connect(&tcp(port)).unwrap();
    let anon = Dealer::new();
    anon.connect(&tcp(port)).unwrap();

    for m in samples() {
        send_d(&named, m.clone()).await;
        assert_eq!(a.recv("r"), desc(prefixed(b"rust-dealer", &m).frames()));
        agent_send(&mut a, "r", &[b"rust-dealer"], &prefixed(b"reply", &m));
        assert_eq!(recv_d(&named).await, prefixed(b"reply", &m));
    }

    // Unset id: libzmq generates one, and routes replies by it.
    send_d(&anon, "anon").await;
    let got = a.recv("r");
    let (id, rest) = got.split_once(' ').unwrap();
    assert_generated_id(id);
    assert_eq!(rest, hex(b"anon"));
    a.expect(&format!("send r {id} {}", hex(b"to-anon")), "SENT");
    assert_eq!(recv_d(&anon).await, m(&[b"to-anon"]));
    assert!(named.try_recv().is_none());
}

/// A pyzmq DEALER (id set, and two without) connected to our ROUTER: we see its id (or a
/// generated 5-byte 0x00 one, distinct per peer) and our replies reach the right peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyzmq_dealer_to_our_router() {
    let r = Router::new();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    let mut a = Agent::spawn("dealers");
    a.ok(&format!("sock d DEALER routing_id={}", hex(b"py-dealer")));
    a.ok("sock x DEALER");
    a.ok("sock y DEALER");
    for s in ["d", "x", "y"] {
        a.ok(&format!("connect {s} {port}"));
    }

    for m in samples() {
        let sent = agent_send(&mut a, "d", &[], &m);
        assert_eq!(sent, desc(m.frames()));
        assert_eq!(recv_r(&r).await, prefixed(b"py-dealer", &m));
        send_r(&r, prefixed(b"py-dealer", &prefixed(b"reply", &m))).await;
        assert_eq!(a.recv("d"), desc(prefixed(b"reply", &m).frames()));
    }

    let mut ids = Vec::new();
    for s in ["x", "y"] {
        a.expect(&format!("send {s} {}", hex(s.as_bytes())), "SENT");
        let got = recv_r(&r).await;
        assert_eq!(got.len(), 2);
        assert_generated_id(&hex(&got.frames()[0]));
        assert_eq!(&got.frames()[1][..], s.as_bytes());
        ids.push(got.frames()[0].clone());
    }
    assert_ne!(ids[0], ids[1], "generated ids must differ per peer");
    for (s, id) in ["x", "y"].into_iter().zip(&ids) {
        assert!(r.has_peer(&RoutingId(id.clone())));
        send_r(
            &r,
            Message::from_frames([id.clone(), Bytes::from(format!("to-{s}"))]),
        )
        .await;
    }
    assert_eq!(a.recv("x"), hex(b"to-x"));
    assert_eq!(a.recv("y"), hex(b"to-y"));
}

/// DEALER to DEALER, both ways round: our DEALER binds and a pyzmq one connects, and a pyzmq
/// DEALER binds and ours connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dealer_to_pyzmq_dealer() {
    let bound = Dealer::with_options(opts(Some("rust-bound"))).unwrap();
    let port = port_of(&bound.bind("tcp://127.0.0.1:0").unwrap());
    let mut a = Agent::spawn("dealers");
    a.ok("sock c DEALER");
    a.ok(&format!("connect c {port}"));
    a.ok("sock b DEALER");
    let pport = a.bind("b", 0);
    let connecting = Dealer::new();
    connecting.connect(&tcp(pport)).unwrap();

    for m in samples() {
        // pyzmq connects to us.
        assert_eq!(agent_send(&mut a, "c", &[], &m), desc(m.frames()));
        assert_eq!(recv_d(&bound).await, m);
        send_d(&bound, prefixed(b"back", &m)).await;
        assert_eq!(a.recv("c"), desc(prefixed(b"back", &m).frames()));
        // We connect to pyzmq.
        send_d(&connecting, m.clone()).await;
        assert_eq!(a.recv("b"), desc(m.frames()));
        agent_send(&mut a, "b", &[], &prefixed(b"back", &m));
        assert_eq!(recv_d(&connecting).await, prefixed(b"back", &m));
    }
}

/// ROUTER to ROUTER with set ids, both ways round. The connecting side learns the bound side's
/// id from the handshake: a connecting pyzmq ROUTER (ROUTER_MANDATORY) retries until routable;
/// our connecting ROUTER waits for `has_peer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_router_to_pyzmq_router() {
    let mut a = Agent::spawn("routers");

    // pyzmq connects to us and sends first.
    let ours = Router::with_options(opts(Some("rust-r1"))).unwrap();
    let port = port_of(&ours.bind("tcp://127.0.0.1:0").unwrap());
    a.ok(&format!(
        "sock c ROUTER routing_id={} router_mandatory=1",
        hex(b"py-c")
    ));
    a.ok(&format!("connect c {port}"));
    for m in samples() {
        agent_send(&mut a, "c", &[b"rust-r1"], &m);
        assert_eq!(recv_r(&ours).await, prefixed(b"py-c", &m));
        send_r(&ours, prefixed(b"py-c", &prefixed(b"back", &m))).await;
        let want = prefixed(b"rust-r1", &prefixed(b"back", &m));
        assert_eq!(a.recv("c"), desc(want.frames()));
    }

    // We connect to pyzmq and send first.
    a.ok(&format!("sock b ROUTER routing_id={}", hex(b"py-b")));
    let pport = a.bind("b", 0);
    let connecting = Router::with_options(opts(Some("rust-r2"))).unwrap();
    connecting.connect(&tcp(pport)).unwrap();
    let py_b = RoutingId::from("py-b");
    wait_until("the pyzmq ROUTER is routable", || {
        connecting.has_peer(&py_b)
    })
    .await;
    for m in samples() {
        send_r(&connecting, prefixed(b"py-b", &m)).await;
        assert_eq!(a.recv("b"), desc(prefixed(b"rust-r2", &m).frames()));
        agent_send(&mut a, "b", &[b"rust-r2"], &prefixed(b"back", &m));
        assert_eq!(
            recv_r(&connecting).await,
            prefixed(b"py-b", &prefixed(b"back", &m))
        );
    }
}

/// pyzmq REQ to our ROUTER: the empty delimiter frame is kept in what we receive, and a reply
/// `[id, "", ...]` reaches the REQ, which strips the delimiter. Several rounds (REQ's lockstep).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyzmq_req_to_our_router() {
    let r = Router::new();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    let mut a = Agent::spawn("req");
    a.ok("sock q REQ");
    a.ok(&format!("sock n REQ routing_id={}", hex(b"req-n")));
    a.ok(&format!("connect q {port}"));
    a.ok(&format!("connect n {port}"));
    for (i, sample) in samples().into_iter().enumerate() {
        agent_send(&mut a, "q", &[], &sample);
        let got = recv_r(&r).await;
        assert_generated_id(&hex(&got.frames()[0]));
        assert!(got.frames()[1].is_empty(), "REQ delimiter missing: {got:?}");
        assert_eq!(Message::from_frames(got.frames()[2..].to_vec()), sample);
        let reply = Message::from_frames([
            got.frames()[0].clone(),
            Bytes::new(),
            Bytes::from(format!("reply-{i}")),
            Bytes::from_static(b"x"),
        ]);
        send_r(&r, reply).await;
        assert_eq!(
            a.recv("q"),
            format!("{} 78", hex(format!("reply-{i}").as_bytes()))
        );

        agent_send(&mut a, "n", &[], &sample);
        assert_eq!(
            recv_r(&r).await,
            prefixed(b"req-n", &prefixed(b"", &sample))
        );
        send_r(&r, m(&[b"req-n", b"", b"ok"])).await;
        assert_eq!(a.recv("n"), hex(b"ok"));
    }
}

// ---------------------------------------------------------------------------------------------
// Round-robin and fair queuing.

/// One of our DEALERs connected to 4 pyzmq ROUTERs: 4000 messages split 1000 each (±2%), also
/// within the first 400 (100 each ±2%), in order per peer, none lost. SNDHWM is raised so no
/// pipe fills up: at the default 1000, "fill one pipe to the HWM, then the next" would split
/// 4000 messages evenly too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_over_four_pyzmq_routers() {
    let mut a = Agent::spawn("rr");
    let names = ["r0", "r1", "r2", "r3"];
    let mut o = opts(Some("rr"));
    o.sndhwm = 100_000;
    let d = Dealer::with_options(o).unwrap();
    for n in names {
        a.ok(&format!("sock {n} ROUTER router_mandatory=1"));
        let p = a.bind(n, 0);
        d.connect(&tcp(p)).unwrap();
    }
    // Every connection is up once each ROUTER could send us a hello.
    for n in names {
        a.expect(
            &format!("send {n} {} {}", hex(b"rr"), hex(n.as_bytes())),
            "SENT",
        );
    }
    let mut hellos: Vec<Message> = Vec::new();
    for _ in names {
        hellos.push(recv_d(&d).await);
    }
    hellos.sort_by(|x, y| x.frames().cmp(y.frames()));
    let want: Vec<Message> = names.iter().map(|n| Message::from(n.to_string())).collect();
    assert_eq!(hellos, want);

    const N: u64 = 4000;
    for i in 0..N {
        send_d(&d, Message::from(i.to_string())).await;
    }
    let counts = a.count(N as usize, 10_000, &names);
    let mut all: Vec<u64> = Vec::new();
    for (n, seqs) in &counts {
        assert!(
            (980..=1020).contains(&seqs.len()),
            "{n} got {} of {N}: {:?}",
            seqs.len(),
            counts.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>()
        );
        let early = seqs.iter().filter(|&&s| s < 400).count();
        assert!(
            (98..=102).contains(&early),
            "{n} got {early} of the first 400"
        );
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{n}: out of order");
        all.extend(seqs);
    }
    all.sort_unstable();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
}

/// 4 pyzmq DEALERs each queue 500 messages, one sender after the other, before we read: our
/// ROUTER hands them out interleaved (one message per peer per turn), not sender by sender.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fair_queuing_over_four_pyzmq_dealers() {
    let r = Router::new();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    let mut a = Agent::spawn("fq");
    let names = ["d0", "d1", "d2", "d3"];
    for n in names {
        a.ok(&format!("sock {n} DEALER routing_id={}", hex(n.as_bytes())));
        a.ok(&format!("connect {n} {port}"));
        a.expect(&format!("send {n} {}", hex(b"hello")), "SENT");
    }
    for _ in names {
        assert_eq!(&recv_r(&r).await.frames()[1][..], b"hello");
    }
    const PER: usize = 500;
    a.expect(&format!("burst {PER} {}", names.join(" ")), "SENT");
    // Let everything land in our inbound queues (2000 tiny messages over loopback).
    tokio::time::sleep(Duration::from_millis(700)).await;

    let mut order: Vec<(String, u64)> = Vec::new();
    for _ in 0..PER * names.len() {
        let m = recv_r(&r).await;
        let id = String::from_utf8(m.frames()[0].to_vec()).unwrap();
        let seq = std::str::from_utf8(&m.frames()[1])
            .unwrap()
            .parse()
            .unwrap();
        order.push((id, seq));
    }
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, _) in &order[..400] {
        *first.entry(id.as_str()).or_default() += 1;
    }
    eprintln!("fair queuing: first 400 by sender {first:?}");
    for n in names {
        let c = first.get(n).copied().unwrap_or(0);
        assert!(c >= 60, "{n} got {c} of the first 400: {first:?}");
        let seqs: Vec<u64> = order
            .iter()
            .filter(|(i, _)| i == n)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(seqs, (0..PER as u64).collect::<Vec<_>>(), "{n}");
    }
}

// ---------------------------------------------------------------------------------------------
// High-water marks.

const HWM: usize = 8;
const BIG: usize = 64 * 1024;

/// A stalled pyzmq socket: RCVHWM small, a small kernel receive buffer, and never reading.
fn stalled_sock(a: &mut Agent, name: &str, kind: &str, id: &[u8]) {
    a.ok(&format!(
        "sock {name} {kind} routing_id={} rcvhwm={HWM} rcvbuf=65536",
        hex(id)
    ));
}

fn numbered(i: usize) -> Message {
    Message::from_frames([noise(BIG, i as u64), Bytes::from(i.to_string())])
}

/// Calls `try_send` until it has refused for 300 ms in a row (the connection's buffers are
/// full, not just momentarily behind); returns how many were accepted.
async fn fill_until_stalled(
    mut try_send: impl FnMut(usize) -> Result<(), Error>,
    limit: usize,
) -> usize {
    let mut sent = 0;
    let mut full_since: Option<Instant> = None;
    loop {
        match try_send(sent) {
            Ok(()) => {
                sent += 1;
                full_since = None;
                assert!(sent <= limit, "never stalled: {sent} messages accepted");
            }
            Err(Error::Full(_)) => {
                let since = *full_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_millis(300) {
                    return sent;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("try_send: {e}"),
        }
    }
}

/// Upper bound on what can be in flight to a stalled peer: SNDHWM, our session batch, both
/// kernels' buffers (autotuned up to tcp_wmem's max), libzmq's RCVHWM and batch.
const STALL_LIMIT: usize = HWM + 400;

/// Our DEALER to a stalled pyzmq DEALER: `try_send` reports Full after about SNDHWM + socket
/// buffers and `send` waits; once the peer reads, every accepted message arrives, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dealer_hwm_against_stalled_pyzmq_peer() {
    let mut a = Agent::spawn("stalled");
    stalled_sock(&mut a, "s", "DEALER", b"stalled");
    let port = a.bind("s", 0);
    let mut o = opts(Some("hwm-dealer"));
    o.sndhwm = HWM;
    let d = Dealer::with_options(o).unwrap();
    d.connect(&tcp(port)).unwrap();
    a.expect(&format!("send s {}", hex(b"hello")), "SENT");
    assert_eq!(recv_d(&d).await, m(&[b"hello"]));

    let sent = fill_until_stalled(|i| d.try_send(numbered(i)), STALL_LIMIT).await;
    eprintln!("DEALER stalled after {sent} messages of {BIG} bytes (SNDHWM {HWM})");
    assert!(sent >= HWM, "stalled after {sent} < SNDHWM");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), d.send(numbered(sent)))
            .await
            .is_err(),
        "send did not wait at the high-water mark"
    );

    // The peer starts reading: nothing was lost, nothing reordered, and traffic flows again.
    let counts = a.count(sent, 10_000, &["s"]);
    assert_eq!(counts["s"], (0..sent as u64).collect::<Vec<_>>());
    send_d(&d, numbered(sent)).await;
    assert_eq!(a.recv("s"), desc(numbered(sent).frames()));
}

/// Our ROUTER to a stalled pyzmq DEALER: past the HWM messages are dropped (`Routed::Full`),
/// and the peer gets exactly the ones reported `Queued`. With ROUTER_MANDATORY, `try_send`
/// reports Full, `send` waits, nothing is lost, and an unknown id is HostUnreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_hwm_against_stalled_pyzmq_peer() {
    let mut a = Agent::spawn("stalled");
    let mut o = SocketOptions::default();
    o.sndhwm = HWM;
    let r = Router::with_options(o.clone()).unwrap();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    o.router_mandatory = true;
    let rm = Router::with_options(o).unwrap();
    let mport = port_of(&rm.bind("tcp://127.0.0.1:0").unwrap());
    stalled_sock(&mut a, "s", "DEALER", b"stall");
    stalled_sock(&mut a, "m", "DEALER", b"stall-m");
    a.ok(&format!("connect s {port}"));
    a.ok(&format!("connect m {mport}"));
    a.expect(&format!("send s {}", hex(b"hello")), "SENT");
    a.expect(&format!("send m {}", hex(b"hello")), "SENT");
    assert_eq!(recv_r(&r).await, m(&[b"stall", b"hello"]));
    assert_eq!(recv_r(&rm).await, m(&[b"stall-m", b"hello"]));

    // Default: drop past the HWM.
    let mut queued: Vec<u64> = Vec::new();
    let mut fulls = 0;
    let mut full_run = 0;
    let mut i = 0;
    while full_run < 50 {
        let routed = r.send(prefixed(b"stall", &numbered(i))).await.unwrap();
        match routed {
            Routed::Queued => {
                queued.push(i as u64);
                full_run = 0;
            }
            Routed::Full => {
                fulls += 1;
                full_run += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Routed::Unroutable => panic!("peer vanished"),
        }
        i += 1;
        assert!(queued.len() <= STALL_LIMIT, "never dropped");
    }
    eprintln!(
        "ROUTER: {} queued, {fulls} dropped as Full (SNDHWM {HWM})",
        queued.len()
    );
    assert!(queued.len() >= HWM);
    let counts = a.count(queued.len(), 10_000, &["s"]);
    assert_eq!(
        counts["s"], queued,
        "the peer must get exactly the Queued messages"
    );
    assert_eq!(a.cmd("recv s 300"), "TIMEOUT", "a dropped message arrived");
    let unknown = m(&[b"nobody", b"x"]);
    assert_eq!(r.send(unknown.clone()).await.unwrap(), Routed::Unroutable);

    // ROUTER_MANDATORY: Full from try_send, send waits, nothing lost.
    let sent = fill_until_stalled(
        |i| {
            rm.try_send(prefixed(b"stall-m", &numbered(i)))
                .inspect_err(|e| {
                    if let Error::Full(m) = e {
                        assert_eq!(
                            m,
                            &prefixed(b"stall-m", &numbered(i)),
                            "Full hands back the message"
                        );
                    }
                })
        },
        STALL_LIMIT,
    )
    .await;
    eprintln!("ROUTER_MANDATORY stalled after {sent} messages");
    assert!(sent >= HWM);
    assert!(
        tokio::time::timeout(
            Duration::from_millis(300),
            rm.send(prefixed(b"stall-m", &numbered(sent)))
        )
        .await
        .is_err(),
        "mandatory send did not wait at the high-water mark"
    );
    assert!(matches!(
        rm.try_send(unknown.clone()),
        Err(Error::HostUnreachable(id)) if id == RoutingId::from("nobody")
    ));
    assert!(matches!(
        rm.send(unknown).await,
        Err(Error::HostUnreachable(id)) if id == RoutingId::from("nobody")
    ));
    let counts = a.count(sent, 10_000, &["m"]);
    assert_eq!(counts["m"], (0..sent as u64).collect::<Vec<_>>());
    send_r(&rm, prefixed(b"stall-m", &numbered(sent))).await;
    assert_eq!(a.recv("m"), desc(numbered(sent).frames()));
}

// ---------------------------------------------------------------------------------------------
// Reconnect.

/// We connect: the pyzmq ROUTER is killed and restarted on the same port. A message sent while
/// it was down is kept and delivered to the new one, and its replies reach us: no action on
/// our side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_after_pyzmq_router_restart() {
    let mut a = Agent::spawn("router-1");
    a.ok("sock r ROUTER router_mandatory=1");
    let port = a.bind("r", 0);
    let d = Dealer::with_options(opts(Some("rc"))).unwrap();
    d.connect(&tcp(port)).unwrap();
    send_d(&d, "one").await;
    assert_eq!(a.recv("r"), format!("{} {}", hex(b"rc"), hex(b"one")));
    a.expect(&format!("send r {} {}", hex(b"rc"), hex(b"back-1")), "SENT");
    assert_eq!(recv_d(&d).await, m(&[b"back-1"]));

    a.kill();
    drop(a);
    // Give our side time to see the connection drop, so "two" waits in the kept queue.
    tokio::time::sleep(Duration::from_millis(200)).await;
    send_d(&d, "two").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut b = Agent::spawn("router-2");
    b.ok("sock r ROUTER router_mandatory=1");
    assert_eq!(b.bind("r", port), port);
    assert_eq!(b.recv("r"), format!("{} {}", hex(b"rc"), hex(b"two")));
    b.expect(&format!("send r {} {}", hex(b"rc"), hex(b"back-2")), "SENT");
    assert_eq!(recv_d(&d).await, m(&[b"back-2"]));
    send_d(&d, "three").await;
    assert_eq!(b.recv("r"), format!("{} {}", hex(b"rc"), hex(b"three")));
}

/// We bind: the connected pyzmq DEALER is killed (we notice and drop its route) and a new one
/// with the same id connects to the same port; traffic flows both ways again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_after_pyzmq_dealer_restart() {
    let r = Router::new();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    let pd = RoutingId::from("pd");
    for round in 1..=2 {
        let mut a = Agent::spawn("dealer");
        a.ok(&format!("sock d DEALER routing_id={}", hex(b"pd")));
        a.ok(&format!("connect d {port}"));
        let hello = format!("hello-{round}");
        a.expect(&format!("send d {}", hex(hello.as_bytes())), "SENT");
        assert_eq!(recv_r(&r).await, m(&[b"pd", hello.as_bytes()]));
        let back = format!("back-{round}");
        send_r(&r, m(&[b"pd", back.as_bytes()])).await;
        assert_eq!(a.recv("d"), hex(back.as_bytes()));
        a.kill();
        wait_until("the killed peer's route is gone", || !r.has_peer(&pd)).await;
        assert_eq!(
            r.send(m(&[b"pd", b"lost"])).await.unwrap(),
            Routed::Unroutable
        );
    }
}

/// Our DEALER connects and sends before any pyzmq ROUTER exists; when one binds the port, the
/// queued messages arrive in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_before_bind() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let d = Dealer::with_options(opts(Some("early"))).unwrap();
    d.connect(&tcp(port)).unwrap();
    for m in samples() {
        send_d(&d, m).await;
    }
    // A few failed dials happen meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut a = Agent::spawn("late-router");
    a.ok("sock r ROUTER");
    assert_eq!(a.bind("r", port), port);
    for m in samples() {
        assert_eq!(a.recv("r"), desc(prefixed(b"early", &m).frames()));
    }
}

// ---------------------------------------------------------------------------------------------
// Heartbeats.

/// 2 s of silence with heartbeats on one side at a time, both directions at once:
/// - a pyzmq DEALER (HEARTBEAT_IVL 100 ms, TIMEOUT 300 ms) connected to our ROUTER: we answer
///   its PINGs;
/// - our DEALER (heartbeat_ivl 100 ms, timeout 300 ms) connected to a pyzmq ROUTER: libzmq
///   answers ours and we accept its PONGs.
///
/// Afterwards messages still go through, and the pyzmq monitors show one connection that never
/// dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_idle_connections_up() {
    let mut a = Agent::spawn("heartbeat");
    let r = Router::new();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    a.ok(&format!(
        "sock hd DEALER routing_id={} heartbeat_ivl=100 heartbeat_timeout=300",
        hex(b"hb-a")
    ));
    a.ok("monitor hd");
    a.ok(&format!("connect hd {port}"));

    a.ok("sock pr ROUTER router_mandatory=1");
    a.ok("monitor pr");
    let pport = a.bind("pr", 0);
    let mut o = opts(Some("hb-b"));
    o.heartbeat_ivl = Some(Duration::from_millis(100));
    o.heartbeat_timeout = Some(Duration::from_millis(300));
    let d = Dealer::with_options(o).unwrap();
    d.connect(&tcp(pport)).unwrap();

    a.expect(&format!("send hd {}", hex(b"one")), "SENT");
    assert_eq!(recv_r(&r).await, m(&[b"hb-a", b"one"]));
    send_d(&d, "one").await;
    assert_eq!(a.recv("pr"), format!("{} {}", hex(b"hb-b"), hex(b"one")));

    tokio::time::sleep(Duration::from_secs(2)).await;

    a.expect(&format!("send hd {}", hex(b"two")), "SENT");
    assert_eq!(recv_r(&r).await, m(&[b"hb-a", b"two"]));
    send_r(&r, m(&[b"hb-a", b"reply"])).await;
    assert_eq!(a.recv("hd"), hex(b"reply"));
    send_d(&d, "two").await;
    assert_eq!(a.recv("pr"), format!("{} {}", hex(b"hb-b"), hex(b"two")));
    a.expect(
        &format!("send pr {} {}", hex(b"hb-b"), hex(b"reply")),
        "SENT",
    );
    assert_eq!(recv_d(&d).await, m(&[b"reply"]));

    let count = |ev: &[String], name: &str| ev.iter().filter(|e| *e == name).count();
    let ev = a.events("hd");
    assert_eq!(count(&ev, "CONNECTED"), 1, "pyzmq DEALER events: {ev:?}");
    assert_eq!(count(&ev, "HANDSHAKE_SUCCEEDED"), 1, "{ev:?}");
    assert_eq!(count(&ev, "DISCONNECTED"), 0, "{ev:?}");
    let ev = a.events("pr");
    assert_eq!(count(&ev, "ACCEPTED"), 1, "pyzmq ROUTER events: {ev:?}");
    assert_eq!(count(&ev, "HANDSHAKE_SUCCEEDED"), 1, "{ev:?}");
    assert_eq!(count(&ev, "DISCONNECTED"), 0, "{ev:?}");
}

// ---------------------------------------------------------------------------------------------
// Raw ZMTP peers (hand-built bytes, no zmtp code on that side).

/// Short message frames.
fn raw_message(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        out.push(u8::from(i + 1 < frames.len()));
        out.push(f.len() as u8);
        out.extend_from_slice(f);
    }
    out
}

/// A blocking raw connection that parses what it reads.
struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Raw {
    fn connect(port: u16, minor: u8, identity: &[u8]) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_nodelay(true).unwrap();
        let mut r = Raw {
            s,
            buf: Vec::new(),
            eof: false,
        };
        let mut hello = raw_greeting(minor);
        hello.extend(raw_ready(identity));
        r.s.write_all(&hello).unwrap();
        r
    }

    /// One read, waiting at most `timeout`; sets `eof` on EOF or reset.
    fn read_once(&mut self, timeout: Duration) {
        let mut chunk = [0u8; 64 * 1024];
        self.s.set_read_timeout(Some(timeout)).unwrap();
        match self.s.read(&mut chunk) {
            Ok(0) => self.eof = true,
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // A reset is as good as an EOF for "the peer closed".
            Err(_) => self.eof = true,
        }
    }

    /// Reads what arrives within `dur`, or until EOF (returning when it came).
    fn read_for(&mut self, dur: Duration) -> Option<Instant> {
        let deadline = Instant::now() + dur;
        while !self.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.read_once(left);
        }
        Some(Instant::now())
    }

    /// Reads until `n` bytes are buffered.
    fn need(&mut self, n: usize) {
        let deadline = Instant::now() + STEP;
        while self.buf.len() < n {
            assert!(!self.eof, "EOF with {} of {n} bytes", self.buf.len());
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out reading");
            self.read_once(left);
        }
    }

    /// Takes our side's greeting and asserts it is a ZMTP 3.1 NULL one.
    fn take_greeting(&mut self) {
        self.need(64);
        let g: Vec<u8> = self.buf.drain(..64).collect();
        assert_eq!((g[0], g[9], g[10], g[11]), (0xFF, 0x7F, 3, 1), "{g:02x?}");
        assert_eq!(&g[12..16], b"NULL");
    }

    /// Takes one frame: (flags, body). Our side uses the long form only above 255 bytes.
    fn take_frame(&mut self) -> (u8, Vec<u8>) {
        self.need(2);
        let flags = self.buf[0];
        let (hdr, len) = if flags & 0x02 != 0 {
            self.need(9);
            (
                9,
                u64::from_be_bytes(self.buf[1..9].try_into().unwrap()) as usize,
            )
        } else {
            (2, self.buf[1] as usize)
        };
        self.need(hdr + len);
        let f: Vec<u8> = self.buf.drain(..hdr + len).collect();
        (flags, f[hdr..].to_vec())
    }

    /// Frames buffered so far, without blocking (a trailing partial frame stays).
    fn take_buffered_frames(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            if self.buf.len() < 2 {
                return out;
            }
            let long = self.buf[0] & 0x02 != 0;
            let (hdr, len) = if long {
                if self.buf.len() < 9 {
                    return out;
                }
                (
                    9,
                    u64::from_be_bytes(self.buf[1..9].try_into().unwrap()) as usize,
                )
            } else {
                (2, self.buf[1] as usize)
            };
            if self.buf.len() < hdr + len {
                return out;
            }
            out.push(self.take_frame());
        }
    }
}

fn is_ping(f: &(u8, Vec<u8>)) -> bool {
    f.0 & 0x04 != 0 && f.1.starts_with(b"\x04PING")
}

/// Our ROUTER with heartbeat_ivl 100 ms / timeout 300 ms, and a raw ZMTP 3.1 peer that does
/// the handshake by hand and then never writes again: we PING it, and drop it (the raw socket
/// sees EOF) once the timeout passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pings_drop_a_silent_peer() {
    let mut o = SocketOptions::default();
    o.heartbeat_ivl = Some(Duration::from_millis(100));
    o.heartbeat_timeout = Some(Duration::from_millis(300));
    let r = Router::with_options(o).unwrap();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    let mut raw = Raw::connect(port, 1, b"silent");
    // Our side completes the handshake as soon as it reads what `connect` wrote.
    let up = Instant::now();
    raw.take_greeting();
    let (flags, ready) = raw.take_frame();
    assert_eq!(flags, 0x04);
    assert!(ready.starts_with(b"\x05READY"), "{ready:02x?}");
    wait_until("the raw peer is routable", || {
        r.has_peer(&RoutingId::from("silent"))
    })
    .await;

    let eof_at = raw.read_for(Duration::from_secs(3));
    let down = eof_at.expect("silent peer not dropped within 3 s") - up;
    let frames = raw.take_buffered_frames();
    let pings = frames.iter().filter(|f| is_ping(f)).count();
    eprintln!("silent peer dropped after {down:?}, {pings} PINGs seen");
    assert!(pings >= 1, "no PING before the drop: {frames:02x?}");
    assert_eq!(
        frames.iter().find(|f| is_ping(f)).unwrap(),
        &(0x04, b"\x04PING\x00\x00".to_vec()),
        "PING with TTL 0 and no context"
    );
    // Dropped after the first PING (100 ms) plus the timeout (300 ms), give or take scheduling.
    assert!(
        down >= Duration::from_millis(350) && down <= Duration::from_millis(1500),
        "dropped after {down:?}, expected about 400 ms"
    );
    wait_until("the route is gone", || {
        !r.has_peer(&RoutingId::from("silent"))
    })
    .await;
}

/// A hand-built ZMTP 3.0 peer is accepted by our ROUTER (its message is delivered, our reply
/// reaches it) and, although heartbeat_ivl is set, never gets a PING, so it is not dropped for
/// not answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zmtp30_peer_accepted_and_never_pinged() {
    let mut o = SocketOptions::default();
    o.heartbeat_ivl = Some(Duration::from_millis(100));
    o.heartbeat_timeout = Some(Duration::from_millis(300));
    let r = Router::with_options(o).unwrap();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    let mut raw = Raw::connect(port, 0, b"raw30");
    raw.s
        .write_all(&raw_message(&[b"a", b"", b"hello"]))
        .unwrap();
    assert_eq!(recv_r(&r).await, m(&[b"raw30", b"a", b"", b"hello"]));
    raw.take_greeting();
    let (flags, ready) = raw.take_frame();
    assert_eq!(flags, 0x04);
    assert!(ready.starts_with(b"\x05READY"), "{ready:02x?}");

    send_r(&r, m(&[b"raw30", b"re", b"ply"])).await;
    assert_eq!(raw.take_frame(), (0x01, b"re".to_vec()));
    assert_eq!(raw.take_frame(), (0x00, b"ply".to_vec()));

    // Ten heartbeat intervals, three timeouts: nothing may come, and we must not hang up.
    assert!(
        raw.read_for(Duration::from_secs(1)).is_none(),
        "the 3.0 peer was dropped"
    );
    let frames = raw.take_buffered_frames();
    assert!(
        frames.is_empty(),
        "unexpected traffic to a 3.0 peer: {frames:02x?}"
    );
    raw.s.write_all(&raw_message(&[b"still", b"here"])).unwrap();
    assert_eq!(recv_r(&r).await, m(&[b"raw30", b"still", b"here"]));
}

// ---------------------------------------------------------------------------------------------
// Large and odd messages.

/// Big and odd messages both ways, with both of our socket types: a 16 MiB frame, 1000 frames
/// (empty ones among them), single and all-empty frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_and_odd_messages_both_ways() {
    let mut a = Agent::spawn("large");
    a.ok("sock r ROUTER");
    let pport = a.bind("r", 0);
    let d = Dealer::with_options(opts(Some("big-d"))).unwrap();
    d.connect(&tcp(pport)).unwrap();
    let r = Router::new();
    let port = port_of(&r.bind("tcp://127.0.0.1:0").unwrap());
    a.ok(&format!("sock d DEALER routing_id={}", hex(b"big-py")));
    a.ok(&format!("connect d {port}"));

    let ours: Vec<Message> = vec![
        Message::from(noise(16 << 20, 16)),
        Message::from_frames((0..1000).map(|i| noise((i * 7) % 300, i as u64))),
        m(&[b""]),
        m(&[b"", b"", b""]),
        m(&[b"", b"x"]),
        Message::from_frames([noise(16 << 20, 17), Bytes::new(), noise(1, 18)]),
    ];
    // The agent's counterparts, generated on its side.
    let theirs: Vec<String> = vec![
        "@16777216:1".into(),
        (0..1000)
            .map(|i| format!("@{}:{i}", (i * 13) % 300))
            .collect::<Vec<_>>()
            .join(" "),
        "-".into(),
        "- - -".into(),
        "*1000:-".into(),
        "@16777216:2 - 00".into(),
    ];

    for (m, t) in ours.iter().zip(&theirs) {
        // Our DEALER -> pyzmq ROUTER, and back.
        send_d(&d, m.clone()).await;
        assert_eq!(a.recv("r"), desc(prefixed(b"big-d", m).frames()));
        let sent = a.expect(&format!("send r {} {t}", hex(b"big-d")), "SENT");
        let (_, sent_body) = sent.split_once(' ').unwrap();
        assert_eq!(desc(recv_d(&d).await.frames()), sent_body);

        // Our ROUTER -> pyzmq DEALER, and back.
        let sent = a.expect(&format!("send d {t}"), "SENT");
        let got = recv_r(&r).await;
        assert_eq!(&got.frames()[0][..], b"big-py");
        assert_eq!(desc(&got.frames()[1..]), sent);
        send_r(&r, prefixed(b"big-py", m)).await;
        assert_eq!(a.recv("d"), desc(m.frames()));
    }
}
