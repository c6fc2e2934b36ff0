//! PUSH, PULL and PAIR against real libzmq 4.3.5 (pyzmq agents in child processes, see
//! `tests/py/agent.py`): round-robin over several PULLs, fair queuing from several PUSHes,
//! PAIR both ways with a second peer refused, connect before bind, an incompatible peer.
//!
//! Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use agent::{handshakes, hex, port, recv, Agent, STEP};
use bytes::Bytes;
use zmtp::monitor::DisconnectReason;
use zmtp::{Error, Message, Pair, Pull, Push, SocketEvent, SocketType};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_push_round_robins_over_three_pyzmq_pulls() {
    let push = Push::new();
    let mut mon = push.monitor();
    let ep = push.bind("tcp://127.0.0.1:0").unwrap();
    let mut agents: Vec<Agent> = ["pull0", "pull1", "pull2"]
        .into_iter()
        .map(|label| {
            let mut a = Agent::spawn(label);
            a.ok("sock p PULL");
            a.ok(&format!("connect p {}", port(&ep)));
            a
        })
        .collect();
    handshakes(&mut mon, 3).await;
    for i in 0..3000 {
        push.send(Message::from(format!("{i}"))).await.unwrap();
    }
    let mut residues = Vec::new();
    for a in &mut agents {
        let got: BTreeMap<String, Vec<u64>> = a.count(1000, 10_000, &["p"]);
        let seqs = &got["p"];
        assert_eq!(
            seqs.len(),
            1000,
            "uneven split: {:?}",
            &seqs[..seqs.len().min(20)]
        );
        // Strict round-robin: each PULL gets every third message, in order.
        let r = seqs[0] % 3;
        assert!(
            seqs.iter().enumerate().all(|(k, &s)| s == r + 3 * k as u64),
            "not every third message in order"
        );
        residues.push(r);
    }
    residues.sort();
    assert_eq!(residues, [0, 1, 2]);
    // PUSH does not receive.
    assert!(matches!(
        push.recv().await,
        Err(Error::NotSupported {
            socket_type: SocketType::Push,
            ..
        })
    ));
    push.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pull_fair_queues_two_pyzmq_pushes() {
    let pull = Pull::new();
    let mut mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("push-a");
    let mut b = Agent::spawn("push-b");
    for x in [&mut a, &mut b] {
        x.ok("sock p PUSH");
        x.ok(&format!("connect p {}", port(&ep)));
    }
    handshakes(&mut mon, 2).await;
    // Both queue 500 messages with us (under RCVHWM) before we read any.
    assert_eq!(a.cmd(&format!("seq p 500 {}", hex(b"a"))), "SENT 500");
    assert_eq!(b.cmd(&format!("seq p 500 {}", hex(b"b"))), "SENT 500");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut next = BTreeMap::from([(b"a".to_vec(), 0u32), (b"b".to_vec(), 0u32)]);
    let mut first = Vec::new();
    for _ in 0..1000 {
        let m = recv(&pull).await;
        assert_eq!(m.len(), 2, "{m:?}");
        let from = m.frames()[0].to_vec();
        let seq: u32 = std::str::from_utf8(&m.frames()[1])
            .unwrap()
            .parse()
            .unwrap();
        let expected = next.get_mut(&from).expect("unknown sender");
        assert_eq!(seq, *expected, "out of order from {from:?}");
        *expected += 1;
        if first.len() < 400 {
            first.push(from);
        }
    }
    // One message per peer per turn: the first 400 alternate.
    assert!(
        first.windows(2).all(|w| w[0] != w[1]),
        "not fair-queued: {:?}",
        first.iter().map(|f| f[0] as char).collect::<String>()
    );
    assert!(matches!(
        pull.send(Message::from("x")).await,
        Err(Error::NotSupported {
            socket_type: SocketType::Pull,
            ..
        })
    ));
    assert!(pull.try_send(Message::from("x")).is_err());
    pull.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_push_connects_before_a_pyzmq_pull_binds() {
    let mut a = Agent::spawn("pull");
    a.ok("sock p PULL");
    // A free port: bind and release it, then connect to it before anyone listens.
    let p = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let push = Push::new();
    push.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    // Queued on the connecting pipe while nothing listens.
    for i in 0..10 {
        tokio::time::timeout(STEP, push.send(Message::from(format!("{i}"))))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(a.bind("p", p), p);
    let got = a.count(10, 10_000, &["p"]);
    assert_eq!(got["p"], (0..10).collect::<Vec<u64>>());
    push.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_with_pyzmq_both_ways_and_a_second_peer_refused() {
    let pair = Pair::new();
    let mut mon = pair.monitor();
    let ep = pair.bind("tcp://127.0.0.1:0").unwrap();
    let mut first = Agent::spawn("pair1");
    first.ok("sock p PAIR");
    first.ok(&format!("connect p {}", port(&ep)));
    handshakes(&mut mon, 1).await;

    // Both ways, multipart and a 1 MiB frame.
    first.expect(
        &format!("send p {} - {}", hex(b"hello"), hex(b"pair")),
        "SENT",
    );
    let m = recv(&pair).await;
    assert_eq!(
        m.frames(),
        [&b"hello"[..], b"", b"pair"].map(Bytes::from_static)
    );
    let big = Bytes::from(vec![0xabu8; 1 << 20]);
    pair.send(Message::from_frames([
        Bytes::from_static(b"big"),
        big.clone(),
    ]))
    .await
    .unwrap();
    let got = first.recv("p");
    let (head, tail) = got.split_once(' ').unwrap();
    assert_eq!(head, hex(b"big"));
    assert!(tail.starts_with("#1048576:"), "{tail}");

    // A second PAIR is refused: closed by us, the first is unaffected.
    let mut second = Agent::spawn("pair2");
    second.ok("sock p PAIR");
    second.ok(&format!("connect p {}", port(&ep)));
    let e = tokio::time::timeout(STEP, async {
        loop {
            match mon.recv().await {
                Some(e @ SocketEvent::Disconnected { .. }) => return e,
                Some(_) => {}
                None => panic!("monitor ended"),
            }
        }
    })
    .await
    .expect("second peer not refused");
    assert!(
        matches!(
            e,
            SocketEvent::Disconnected {
                reason: DisconnectReason::Kicked,
                ..
            }
        ),
        "{e:?}"
    );
    // libzmq's PAIR queues what it sends until it is connected; we must never see it.
    second.expect(&format!("send p {}", hex(b"intruder")), "SENT");
    first.expect(&format!("send p {}", hex(b"still")), "SENT");
    let m = recv(&pair).await;
    assert_eq!(m.frames(), [Bytes::from_static(b"still")]);
    pair.send(Message::from("back")).await.unwrap();
    assert_eq!(first.recv("p"), hex(b"back"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        pair.try_recv().is_none(),
        "a refused peer's message arrived"
    );
    pair.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_pair_connects_before_a_pyzmq_pair_binds() {
    let mut a = Agent::spawn("pair");
    a.ok("sock p PAIR");
    let p = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let pair = Pair::new();
    pair.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    pair.send(Message::from("early")).await.unwrap();
    assert_eq!(a.bind("p", p), p);
    assert_eq!(a.recv("p"), hex(b"early"));
    a.expect(&format!("send p {}", hex(b"reply")), "SENT");
    assert_eq!(recv(&pair).await, Message::from("reply"));
    pair.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pyzmq_push_cannot_talk_to_our_push() {
    let push = Push::new();
    let mut mon = push.monitor();
    let ep = push.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("push");
    a.ok("sock p PUSH");
    a.ok(&format!("connect p {}", port(&ep)));
    let e = tokio::time::timeout(STEP, async {
        loop {
            match mon.recv().await {
                Some(e @ SocketEvent::HandshakeSucceeded { .. }) => return e,
                Some(e @ SocketEvent::Disconnected { .. }) => return e,
                Some(_) => {}
                None => panic!("monitor ended"),
            }
        }
    })
    .await
    .expect("no verdict on the incompatible peer");
    assert!(
        matches!(
            e,
            SocketEvent::Disconnected {
                routing_id: None,
                ..
            }
        ),
        "{e:?}"
    );
    // Nothing to send to: a send waits (try_send says so).
    assert!(matches!(
        push.try_send(Message::from("x")),
        Err(Error::Full(_))
    ));
    push.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflate_keeps_only_the_last_message_both_ways() {
    // Inbound: a pyzmq PUSH sends 200 messages before we read; we get the last one only.
    let mut opts = zmtp::SocketOptions::default();
    opts.conflate = true;
    let pull = Pull::with_options(opts.clone()).unwrap();
    let mut mon = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("push");
    a.ok("sock p PUSH");
    a.ok(&format!("connect p {}", port(&ep)));
    handshakes(&mut mon, 1).await;
    assert_eq!(a.cmd("seq p 200"), "SENT 200");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(recv(&pull).await, Message::from("199"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(pull.try_recv().is_none(), "more than the last message kept");
    pull.close().await;

    // Outbound: 10 sends while the pyzmq PULL is not there yet; it gets the last one.
    let mut b = Agent::spawn("pull");
    b.ok("sock p PULL");
    let p = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let push = Push::with_options(opts).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    for i in 0..10 {
        push.send(Message::from(format!("{i}"))).await.unwrap();
    }
    assert_eq!(b.bind("p", p), p);
    assert_eq!(b.recv("p"), hex(b"9"));
    assert_eq!(b.cmd("recv p 300"), "TIMEOUT");
    push.close().await;
}
