//! PUB and SUB against real libzmq 4.3.5 (pyzmq agents in child processes) and raw ZMTP 3.0 and
//! 3.1 peers: publisher-side prefix filtering over several SUBs, counted subscriptions and
//! local filtering, and both wire forms of a subscription in both directions.
//!
//! Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;
#[path = "common/raw.rs"]
mod raw;

use std::time::Duration;

use agent::{handshakes, hex, port, Agent, STEP};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zmtp::{Error, Message, Pub, Sub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pub_filters_for_three_pyzmq_subs() {
    let publ = Pub::new();
    let mut mon = publ.monitor();
    let ep = publ.bind("tcp://127.0.0.1:0").unwrap();
    let mut subs: Vec<(Agent, &str)> = [("sub-a", "61"), ("sub-b", "62"), ("sub-all", "")]
        .into_iter()
        .map(|(label, prefix)| {
            let mut a = Agent::spawn(label);
            a.ok("sock s SUB");
            if prefix.is_empty() {
                a.ok("subscribe s");
            } else {
                a.ok(&format!("subscribe s {prefix}"));
            }
            a.ok(&format!("connect s {}", port(&ep)));
            (a, prefix)
        })
        .collect();
    handshakes(&mut mon, 3).await;
    // Slow joiners: their subscriptions follow the handshake.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for m in [&[&b"a1"[..], b"x"][..], &[b"b1"], &[b"c1"], &[b"a2"]] {
        publ.send(Message::from_frames(
            m.iter().map(|f| Bytes::copy_from_slice(f)),
        ))
        .await
        .unwrap();
    }
    let expect = |prefix: &str| -> Vec<String> {
        let all = [
            format!("{} {}", hex(b"a1"), hex(b"x")),
            hex(b"b1"),
            hex(b"c1"),
            hex(b"a2"),
        ];
        all.into_iter().filter(|d| d.starts_with(prefix)).collect()
    };
    for (a, prefix) in &mut subs {
        for want in expect(prefix) {
            assert_eq!(a.recv("s"), want, "subscriber to {prefix:?}");
        }
        assert_eq!(
            a.cmd("recv s 200"),
            "TIMEOUT",
            "subscriber to {prefix:?} got more"
        );
    }
    assert!(matches!(publ.recv().await, Err(Error::NotSupported { .. })));
    publ.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sub_with_a_pyzmq_pub_counted_subscriptions() {
    let mut a = Agent::spawn("pub");
    a.ok("sock p PUB");
    let p = a.bind("p", 0);
    let sub = Sub::new();
    // Before connect, twice (counted).
    sub.subscribe("t");
    sub.subscribe("t");
    sub.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    for m in ["t1", "u1", "t2"] {
        a.expect(&format!("send p {}", hex(m.as_bytes())), "SENT");
    }
    for want in ["t1", "t2"] {
        let m = tokio::time::timeout(STEP, sub.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m, Message::from(want));
    }
    // One unsubscribe of two: still subscribed.
    sub.unsubscribe("t");
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.expect(&format!("send p {}", hex(b"t3")), "SENT");
    let m = tokio::time::timeout(STEP, sub.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m, Message::from("t3"));
    // The last one: libzmq's PUB stops sending.
    sub.unsubscribe("t");
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.expect(&format!("send p {}", hex(b"t4")), "SENT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        sub.try_recv().is_none(),
        "got a message after the last unsubscribe"
    );
    assert!(matches!(
        sub.send(Message::from("x")).await,
        Err(Error::NotSupported { .. })
    ));
    sub.close().await;
}

/// Reads what arrives within `wait` (at most 64 KiB).
async fn read_for(s: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = b"\x05READY\x0bSocket-Type".to_vec();
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut f = vec![0x04, body.len() as u8];
    f.extend_from_slice(&body);
    f
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pub_takes_both_subscription_forms_from_raw_peers() {
    // ZMTP 3.0 subscribes with a data frame 0x01 + topic; 3.1 with a SUBSCRIBE command.
    for (minor, subscription) in [
        (0u8, b"\x00\x02\x01a".to_vec()),
        (1, b"\x04\x0b\x09SUBSCRIBEa".to_vec()),
    ] {
        let publ = Pub::new();
        let mut mon = publ.monitor();
        let ep = publ.bind("tcp://127.0.0.1:0").unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", port(&ep))).await.unwrap();
        let mut hello = raw::raw_greeting(minor);
        hello.extend_from_slice(&ready("SUB"));
        hello.extend_from_slice(&subscription);
        s.write_all(&hello).await.unwrap();
        handshakes(&mut mon, 1).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for m in ["a1", "b1", "a2"] {
            publ.send(Message::from(m)).await.unwrap();
        }
        let got = read_for(&mut s, Duration::from_millis(500)).await;
        assert!(
            contains(&got, b"\x00\x02a1") && contains(&got, b"\x00\x02a2"),
            "3.{minor}: {got:?}"
        );
        assert!(
            !contains(&got, b"b1"),
            "3.{minor}: unsubscribed topic sent: {got:?}"
        );
        publ.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sub_sends_the_form_each_peer_version_expects() {
    for (minor, expected) in [
        (0u8, b"\x00\x02\x01t".to_vec()),
        (1, b"\x04\x0b\x09SUBSCRIBEt".to_vec()),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = listener.local_addr().unwrap().port();
        let sub = Sub::new();
        sub.subscribe("t");
        sub.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
        let (mut s, _) = tokio::time::timeout(STEP, listener.accept())
            .await
            .unwrap()
            .unwrap();
        let mut hello = raw::raw_greeting(minor);
        hello.extend_from_slice(&ready("PUB"));
        s.write_all(&hello).await.unwrap();
        let got = read_for(&mut s, Duration::from_millis(500)).await;
        // Our greeting (64 bytes) and READY, then the subscription.
        assert!(got.len() > 64, "3.{minor}: {got:?}");
        assert!(
            got[64..].ends_with(&expected),
            "3.{minor}: {:?}",
            &got[64..]
        );
        // Then a message on the topic reaches us.
        s.write_all(b"\x00\x02t1\x00\x02u1").await.unwrap();
        let m = tokio::time::timeout(STEP, sub.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m, Message::from("t1"), "3.{minor}");
        sub.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xpub_and_xsub_forward_between_pyzmq_pub_and_subs() {
    use zmtp::{XPub, XSub};
    let mut publ = Agent::spawn("pub");
    publ.ok("sock p PUB");
    let pp = publ.bind("p", 0);
    let xsub = XSub::new();
    xsub.connect(&format!("tcp://127.0.0.1:{pp}")).unwrap();
    let xpub = XPub::new();
    let ep = xpub.bind("tcp://127.0.0.1:0").unwrap();
    let recv = |s: &XPub| {
        let s = s.clone();
        async move { tokio::time::timeout(STEP, s.recv()).await.unwrap().unwrap() }
    };

    // The first subscriber to "w": the subscription reaches the application, which forwards it.
    let mut s1 = Agent::spawn("sub1");
    s1.ok("sock s SUB");
    s1.ok(&format!("subscribe s {}", hex(b"w")));
    s1.ok(&format!("connect s {}", port(&ep)));
    let sub = recv(&xpub).await;
    assert_eq!(sub, Message::from(Bytes::from_static(b"\x01w")));
    xsub.send(sub).await.unwrap();
    // A second subscriber to "w": nothing new for the application.
    let mut s2 = Agent::spawn("sub2");
    s2.ok("sock s SUB");
    s2.ok(&format!("subscribe s {}", hex(b"w")));
    s2.ok(&format!("connect s {}", port(&ep)));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        xpub.try_recv().is_none(),
        "a repeated subscription was handed over"
    );

    // Messages flow down: the libzmq PUB filters with the forwarded subscription.
    publ.expect(&format!("send p {}", hex(b"x1")), "SENT");
    publ.expect(&format!("send p {}", hex(b"w1")), "SENT");
    let m = tokio::time::timeout(STEP, xsub.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m, Message::from("w1"));
    xpub.send(m).await.unwrap();
    assert_eq!(s1.recv("s"), hex(b"w1"));
    assert_eq!(s2.recv("s"), hex(b"w1"));

    // Subscribers leave: the cancel comes when the last one with "w" has gone.
    s1.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        xpub.try_recv().is_none(),
        "cancel while a subscriber remains"
    );
    s2.kill();
    let cancel = recv(&xpub).await;
    assert_eq!(cancel, Message::from(Bytes::from_static(b"\x00w")));
    xsub.send(cancel).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    publ.expect(&format!("send p {}", hex(b"w2")), "SENT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        xsub.try_recv().is_none(),
        "the PUB still sends after the cancel"
    );
    xpub.close().await;
    xsub.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xpub_verboser_and_welcome_with_pyzmq_subs() {
    use zmtp::XPub;
    let mut opts = zmtp::SocketOptions::default();
    opts.xpub_verboser = true;
    opts.xpub_welcome_msg = Some(Bytes::from_static(b"hi"));
    let xpub = XPub::with_options(opts).unwrap();
    let ep = xpub.bind("tcp://127.0.0.1:0").unwrap();
    let next = || async {
        tokio::time::timeout(STEP, xpub.recv())
            .await
            .unwrap()
            .unwrap()
    };
    let mut subs: Vec<Agent> = ["s1", "s2"]
        .into_iter()
        .map(|label| {
            let mut a = Agent::spawn(label);
            a.ok("sock s SUB");
            a.ok(&format!("subscribe s {}", hex(b"h")));
            a.ok(&format!("connect s {}", port(&ep)));
            a
        })
        .collect();
    // Verbose: both subscriptions to "h" are handed over, not only the first.
    for _ in 0..2 {
        assert_eq!(next().await, Message::from(Bytes::from_static(b"\x01h")));
    }
    // Each subscriber got the welcome message.
    for s in &mut subs {
        assert_eq!(s.recv("s"), hex(b"hi"));
    }
    // Verboser: a departure is handed over at once, although another subscriber remains.
    subs[0].kill();
    assert_eq!(next().await, Message::from(Bytes::from_static(b"\x00h")));
    xpub.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xpub_nodrop_refuses_rather_than_drops_for_a_stalled_subscriber() {
    use zmtp::XPub;
    for nodrop in [true, false] {
        let mut opts = zmtp::SocketOptions::default();
        opts.xpub_nodrop = nodrop;
        opts.sndhwm = 10;
        // The subscriber never reads: do not wait for a flush at close.
        opts.linger = Some(Duration::ZERO);
        let xpub = XPub::with_options(opts).unwrap();
        let mut mon = xpub.monitor();
        let ep = xpub.bind("tcp://127.0.0.1:0").unwrap();
        // A raw 3.1 SUB that subscribes to everything and never reads.
        let mut s = TcpStream::connect(("127.0.0.1", port(&ep))).await.unwrap();
        let mut hello = raw::raw_greeting(1);
        hello.extend_from_slice(&ready("SUB"));
        hello.extend_from_slice(b"\x04\x0a\x09SUBSCRIBE");
        s.write_all(&hello).await.unwrap();
        handshakes(&mut mon, 1).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            tokio::time::timeout(STEP, xpub.recv())
                .await
                .unwrap()
                .unwrap(),
            Message::from(Bytes::from_static(b"\x01"))
        );
        let body = Bytes::from(vec![7u8; 64 * 1024]);
        let mut refused = None;
        for i in 0..2000 {
            if let Err(e) = xpub.try_send(Message::from(body.clone())) {
                refused = Some((i, e));
                break;
            }
            if i % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        if nodrop {
            assert!(
                matches!(refused, Some((_, Error::Full(_)))),
                "XPUB_NODROP never refused: {refused:?}"
            );
        } else {
            assert!(refused.is_none(), "dropping XPUB refused: {refused:?}");
        }
        xpub.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xpub_manual_lets_the_application_decide_each_pyzmq_subscription() {
    use zmtp::XPub;
    // Without XPUB_MANUAL the calls are refused, as libzmq refuses ZMQ_SUBSCRIBE on an XPUB.
    let plain = XPub::new();
    assert!(matches!(plain.subscribe("x"), Err(Error::InvalidOption(_))));
    plain.close().await;

    let mut opts = zmtp::SocketOptions::default();
    opts.xpub_manual = true;
    let xpub = XPub::with_options(opts).unwrap();
    let ep = xpub.bind("tcp://127.0.0.1:0").unwrap();
    let next = || async {
        tokio::time::timeout(STEP, xpub.recv())
            .await
            .unwrap()
            .unwrap()
    };
    let sub = |label: &'static str, topic: &[u8]| {
        let mut a = Agent::spawn(label);
        a.ok("sock s SUB");
        a.ok(&format!("subscribe s {}", hex(topic)));
        a.ok(&format!("connect s {}", port(&ep)));
        a
    };
    // s1 asks for everything; the application gives it only "b" (a libzmq SUB filters too,
    // so what it is given must be within what it asked for).
    let mut s1 = sub("s1", b"");
    assert_eq!(next().await, Message::from(Bytes::from_static(b"\x01")));
    xpub.subscribe("b").unwrap();
    // s2 asks for "a" too: handed over again (manual mode hands over every one); granted.
    let mut s2 = sub("s2", b"a");
    assert_eq!(next().await, Message::from(Bytes::from_static(b"\x01a")));
    xpub.subscribe("a").unwrap();
    for m in ["a1", "b1"] {
        xpub.send(Message::from(m)).await.unwrap();
    }
    assert_eq!(
        s1.recv("s"),
        hex(b"b1"),
        "s1 got what the application chose"
    );
    assert_eq!(s2.recv("s"), hex(b"a1"));
    s2.expect("recv s 300", "TIMEOUT");
    // The application takes "a" back from s2 (the last subscriber it heard from).
    xpub.unsubscribe("a").unwrap();
    xpub.send(Message::from("a2")).await.unwrap();
    xpub.send(Message::from("b2")).await.unwrap();
    assert_eq!(s1.recv("s"), hex(b"b2"));
    s2.expect("recv s 300", "TIMEOUT");
    s1.expect("recv s 300", "TIMEOUT");
    // A subscriber that leaves cancels what it asked for (everything), not what it was given.
    s1.kill();
    assert_eq!(next().await, Message::from(Bytes::from_static(b"\x00")));
    xpub.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_is_a_set_at_the_publisher_and_repeats_reach_a_verbose_xpub() {
    // A raw 3.0 SUB subscribes to "a" twice and cancels once: as libzmq's mtrie, our PUB keeps
    // one subscription per subscriber and topic, so the one cancel ends it.
    let publ = Pub::new();
    let mut mon = publ.monitor();
    let ep = publ.bind("tcp://127.0.0.1:0").unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port(&ep))).await.unwrap();
    let mut hello = raw::raw_greeting(0);
    hello.extend_from_slice(&ready("SUB"));
    hello.extend_from_slice(b"\x00\x02\x01a\x00\x02\x01a\x00\x02\x01b");
    s.write_all(&hello).await.unwrap();
    handshakes(&mut mon, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    publ.send(Message::from("a1")).await.unwrap();
    s.write_all(b"\x00\x02\x00a").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    publ.send(Message::from("a2")).await.unwrap();
    publ.send(Message::from("b2")).await.unwrap();
    let got = read_for(&mut s, Duration::from_millis(500)).await;
    assert!(contains(&got, b"a1") && contains(&got, b"b2"), "{got:?}");
    assert!(
        !contains(&got, b"a2"),
        "still subscribed after the cancel: {got:?}"
    );
    publ.close().await;

    // Our SUB sends every subscription, repeats too, as libzmq's does: a pyzmq XPUB_VERBOSE sees
    // both; the cancel goes when the last subscription to the topic is removed.
    let mut xpub = Agent::spawn("xpub");
    xpub.ok("sock x XPUB xpub_verbose=1");
    let xp = xpub.bind("x", 0);
    let sub = zmtp::Sub::new();
    sub.subscribe("t");
    sub.connect(&format!("tcp://127.0.0.1:{xp}")).unwrap();
    assert_eq!(xpub.recv("x"), hex(b"\x01t"));
    sub.subscribe("t");
    assert_eq!(xpub.recv("x"), hex(b"\x01t"));
    sub.unsubscribe("t");
    xpub.expect("recv x 300", "TIMEOUT");
    sub.unsubscribe("t");
    assert_eq!(xpub.recv("x"), hex(b"\x00t"));
    sub.close().await;
}
