//! inproc:// between our own sockets (libzmq's inproc cannot cross a process): every socket
//! type pairing, messages handed over without a copy, connect before bind, the high-water
//! marks of both sides, close with messages in flight, many tasks and two runtimes at once,
//! names, unbind and disconnect, an incompatible pair.
//!
//! Every wait is bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use zmtp::socket::SocketKind;
use zmtp::{
    Dealer, Error, Message, Pair, Pub, Pull, Push, Rep, Req, Routed, Router, Socket, SocketOptions,
    Sub, XPub, XSub,
};

#[path = "common/coop.rs"]
mod coop;

const STEP: Duration = Duration::from_secs(10);

fn m(frames: &[&[u8]]) -> Message {
    Message::from_frames(frames.iter().map(|f| Bytes::copy_from_slice(f)))
}

/// A name no other test uses.
fn name(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("inproc://{tag}-{}", N.fetch_add(1, Ordering::Relaxed))
}

async fn recv<K: SocketKind>(s: &Socket<K>) -> Message {
    tokio::time::timeout(STEP, s.recv())
        .await
        .expect("no message in time")
        .expect("recv")
}

async fn quiet<K: SocketKind>(s: &Socket<K>) {
    if let Ok(r) = tokio::time::timeout(Duration::from_millis(200), s.recv()).await {
        panic!("unexpected {r:?}");
    }
}

fn with_id(id: &'static [u8]) -> SocketOptions {
    let mut o = SocketOptions::default();
    o.routing_id = Some(Bytes::from_static(id));
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reply_pairings() {
    // REQ -> REP.
    let ep = name("reqrep");
    let rep = Rep::new();
    rep.bind(&ep).unwrap();
    let req = Req::new();
    req.connect(&ep).unwrap();
    for i in 0..3u8 {
        req.send(m(&[b"q", &[i]])).await.unwrap();
        assert_eq!(recv(&rep).await, m(&[b"q", &[i]]));
        rep.send(m(&[b"a", &[i]])).await.unwrap();
        assert_eq!(recv(&req).await, m(&[b"a", &[i]]));
    }
    // DEALER -> ROUTER: the routing id option is the id the ROUTER routes by.
    let ep = name("dealer-router");
    let router = Router::new();
    router.bind(&ep).unwrap();
    let dealer = Dealer::with_options(with_id(b"d1")).unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send(m(&[b"hi", b""])).await.unwrap();
    assert_eq!(recv(&router).await, m(&[b"d1", b"hi", b""]));
    assert_eq!(
        router.send(m(&[b"d1", b"back"])).await.unwrap(),
        Routed::Queued
    );
    assert_eq!(recv(&dealer).await, m(&[b"back"]));
    // REQ -> ROUTER: the delimiter is there; DEALER -> REP: the DEALER supplies it.
    let req2 = Req::with_options(with_id(b"r2")).unwrap();
    req2.connect(&ep).unwrap();
    req2.send(m(&[b"ask"])).await.unwrap();
    assert_eq!(recv(&router).await, m(&[b"r2", b"", b"ask"]));
    assert_eq!(
        router.send(m(&[b"r2", b"", b"ok"])).await.unwrap(),
        Routed::Queued
    );
    assert_eq!(recv(&req2).await, m(&[b"ok"]));
    let ep = name("dealer-rep");
    let rep2 = Rep::new();
    rep2.bind(&ep).unwrap();
    let d2 = Dealer::new();
    d2.connect(&ep).unwrap();
    d2.send(m(&[b"", b"x"])).await.unwrap();
    assert_eq!(recv(&rep2).await, m(&[b"x"]));
    rep2.send(m(&[b"y"])).await.unwrap();
    assert_eq!(recv(&d2).await, m(&[b"", b"y"]));
    // ROUTER -> ROUTER, both with ids.
    let ep = name("router-router");
    let r1 = Router::with_options(with_id(b"one")).unwrap();
    r1.bind(&ep).unwrap();
    let r2 = Router::with_options(with_id(b"two")).unwrap();
    r2.connect(&ep).unwrap();
    // The connecting ROUTER knows its peer once connected; retry until routable.
    let deadline = tokio::time::Instant::now() + STEP;
    while !r2.has_peer(&zmtp::RoutingId(Bytes::from_static(b"one"))) {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        r2.send(m(&[b"one", b"ping"])).await.unwrap(),
        Routed::Queued
    );
    assert_eq!(recv(&r1).await, m(&[b"two", b"ping"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_subscribe_pairings() {
    let ep = name("pubsub");
    let publ = Pub::new();
    publ.bind(&ep).unwrap();
    let sub = Sub::new();
    sub.subscribe("a");
    sub.connect(&ep).unwrap();
    // The subscription reaches the publisher asynchronously: publish until one arrives.
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        publ.send(m(&[b"a0"])).await.unwrap();
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(10), sub.recv()).await {
            assert_eq!(r.unwrap(), m(&[b"a0"]));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never subscribed");
    }
    while sub.try_recv().is_some() {}
    publ.send(m(&[b"b1"])).await.unwrap();
    publ.send(m(&[b"a1", b"more"])).await.unwrap();
    assert_eq!(recv(&sub).await, m(&[b"a1", b"more"]));
    sub.unsubscribe("a");
    tokio::time::sleep(Duration::from_millis(50)).await;
    publ.send(m(&[b"a2"])).await.unwrap();
    quiet(&sub).await;

    // XSUB -> XPUB: subscriptions as messages both ways.
    let ep = name("xpubxsub");
    let xpub = XPub::new();
    xpub.bind(&ep).unwrap();
    let xsub = XSub::new();
    xsub.connect(&ep).unwrap();
    xsub.send(m(&[b"\x01t"])).await.unwrap();
    assert_eq!(recv(&xpub).await, m(&[b"\x01t"]));
    xpub.send(m(&[b"u1"])).await.unwrap();
    xpub.send(m(&[b"t1"])).await.unwrap();
    assert_eq!(recv(&xsub).await, m(&[b"t1"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_and_pair_and_no_copy() {
    let ep = name("pipeline");
    let pull = Pull::new();
    pull.bind(&ep).unwrap();
    let push = Push::new();
    push.connect(&ep).unwrap();
    // Handed over as it is: the very same buffer arrives.
    let body = Bytes::from(vec![7u8; 4096]);
    push.send(Message::from(body.clone())).await.unwrap();
    let got = recv(&pull).await;
    assert_eq!(
        got.frames()[0].as_ptr(),
        body.as_ptr(),
        "the frame was copied"
    );
    // PAIR both ways; a second peer is refused.
    let ep = name("pair");
    let a = Pair::new();
    a.bind(&ep).unwrap();
    let b = Pair::new();
    b.connect(&ep).unwrap();
    b.send(m(&[b"to-a"])).await.unwrap();
    assert_eq!(recv(&a).await, m(&[b"to-a"]));
    a.send(m(&[b"to-b"])).await.unwrap();
    assert_eq!(recv(&b).await, m(&[b"to-b"]));
    let mut o = SocketOptions::default();
    o.linger = Some(Duration::ZERO);
    let c = Pair::with_options(o).unwrap();
    c.connect(&ep).unwrap();
    // Refused: its message may be queued or find no peer, but never reaches `a`.
    let _ = c.try_send(m(&[b"intruder"]));
    b.send(m(&[b"still-b"])).await.unwrap();
    assert_eq!(recv(&a).await, m(&[b"still-b"]));
    quiet(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_before_bind_and_names() {
    let ep = name("early");
    let push = Push::new();
    push.connect(&ep).unwrap();
    for i in 0..10 {
        push.send(m(&[format!("{i}").as_bytes()])).await.unwrap();
    }
    let pull = Pull::new();
    pull.bind(&ep).unwrap();
    for i in 0..10 {
        assert_eq!(recv(&pull).await, m(&[format!("{i}").as_bytes()]));
    }
    // A name is bound by one socket at a time.
    let other = Pull::new();
    match other.bind(&ep) {
        Err(Error::Bind { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse)
        }
        r => panic!("bound twice: {r:?}"),
    }
    pull.close().await;
    other.bind(&ep).unwrap();
    other.close().await;
    // Unbind frees the name; disconnect ends that peer.
    let ep = name("unbind");
    let p = Pull::new();
    p.bind(&ep).unwrap();
    p.unbind(&ep).unwrap();
    let q = Pull::new();
    q.bind(&ep).unwrap();
    let s = Push::new();
    s.connect(&ep).unwrap();
    s.send(m(&[b"1"])).await.unwrap();
    assert_eq!(recv(&q).await, m(&[b"1"]));
    s.disconnect(&ep).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), s.send(m(&[b"2"])))
            .await
            .is_err(),
        "a PUSH with no peer left should wait"
    );
    quiet(&q).await;
    // Incompatible types never exchange a message.
    let ep = name("incompatible");
    let a = Push::new();
    a.bind(&ep).unwrap();
    let b = Push::with_options({
        let mut o = SocketOptions::default();
        o.linger = Some(Duration::ZERO);
        o
    })
    .unwrap();
    b.connect(&ep).unwrap();
    let pulls = Pull::new();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), b.send(m(&[b"x"])))
            .await
            .is_err(),
        "a PUSH connected only to a PUSH has no peer to send to"
    );
    pulls.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_water_marks_add_up_and_close_delivers_in_flight() {
    let ep = name("hwm");
    let mut o = SocketOptions::default();
    o.rcvhwm = 10;
    let pull = Pull::with_options(o).unwrap();
    pull.bind(&ep).unwrap();
    let mut o = SocketOptions::default();
    o.sndhwm = 10;
    let push = Push::with_options(o).unwrap();
    push.connect(&ep).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut sent = 0;
    while push.try_send(m(&[b"x"])).is_ok() {
        sent += 1;
        assert!(sent < 1000, "no back-pressure");
        if sent % 5 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // Both marks hold messages (libzmq: the sum; ours, give or take a batch).
    assert!((15..=40).contains(&sent), "{sent} queued before Full");
    for _ in 0..sent {
        recv(&pull).await;
    }
    // Close with messages in flight (as many as both marks hold, nobody reading): all arrive.
    for i in 0..sent {
        push.send(m(&[format!("{i}").as_bytes()])).await.unwrap();
    }
    push.close().await;
    for i in 0..sent {
        assert_eq!(recv(&pull).await, m(&[format!("{i}").as_bytes()]));
    }
}

#[test]
fn many_tasks_and_two_runtimes() {
    let ep = name("many");
    const SENDERS: usize = 8;
    const EACH: usize = 5000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pull = rt.block_on(async {
        let pull = Pull::new();
        pull.bind(&ep).unwrap();
        pull
    });
    // Senders on another runtime, in another thread, several tasks each.
    let ep2 = ep.clone();
    let senders = std::thread::spawn(move || {
        let rt2 = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt2.block_on(async move {
            let mut tasks = Vec::new();
            for s in 0..SENDERS {
                let ep = ep2.clone();
                tasks.push(tokio::spawn(async move {
                    let push = Push::new();
                    push.connect(&ep).unwrap();
                    for i in 0..EACH {
                        push.send(m(&[&[s as u8], &(i as u32).to_be_bytes()]))
                            .await
                            .unwrap();
                    }
                    push.close().await;
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        })
    });
    rt.block_on(async {
        let mut next = [0u32; SENDERS];
        for _ in 0..SENDERS * EACH {
            let msg = recv(&pull).await;
            let s = msg.frames()[0][0] as usize;
            let i = u32::from_be_bytes(msg.frames()[1][..].try_into().unwrap());
            assert_eq!(i, next[s], "sender {s} out of order");
            next[s] += 1;
        }
        assert!(next.iter().all(|&n| n as usize == EACH));
    });
    senders.join().unwrap();
}

/// A task sending large messages yields to the runtime about once per MiB, even while the pipe
/// has room: on a current-thread runtime the relay and the receiver then run during the
/// sender's loop, and read each message while it is still in the cache. Before, the loop
/// queued up to SNDHWM (1000 messages of 64 KiB: 64 MB) before the peer read one. Small
/// messages are not charged: their sends do not yield while there is room.
#[tokio::test(flavor = "current_thread")]
async fn a_sender_of_large_messages_lets_the_receiver_run() {
    let ep = || name("coop-bytes");
    coop::assert_yields_by_size(ep, "during the sender's loop", async |push, m| {
        push.send(m).await.unwrap();
    })
    .await;
}
