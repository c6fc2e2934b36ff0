//! REQ and REP against real libzmq 4.3.5 (pyzmq agents in child processes): envelopes with REP,
//! ROUTER and DEALER peers, alternation enforced (libzmq's EFSM), replies without a delimiter
//! dropped. Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;

use std::time::Duration;

use agent::{handshakes, hex, m, port, recv, Agent};
use bytes::Bytes;
use zmtp::{Error, Message, Rep, Req};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_req_with_a_pyzmq_rep() {
    let mut a = Agent::spawn("rep");
    a.ok("sock r REP");
    let p = a.bind("r", 0);
    let req = Req::new();
    // Receiving before any request is a state error, not a wait.
    assert!(matches!(req.recv().await, Err(Error::State(_))));
    req.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    for i in 0..3u8 {
        req.send(m(&[b"q", &[i]])).await.unwrap();
        // A second request before the reply: refused.
        assert!(matches!(
            req.send(m(&[b"again"])).await,
            Err(Error::State(_))
        ));
        // libzmq's REP sees the body only (it strips our delimiter).
        assert_eq!(a.recv("r"), format!("{} {}", hex(b"q"), hex(&[i])));
        a.expect(&format!("send r {} {}", hex(b"a"), hex(&[i])), "SENT");
        let reply = recv(&req).await;
        assert_eq!(reply, m(&[b"a", &[i]]));
    }
    req.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_req_with_a_pyzmq_router_drops_replies_without_delimiter() {
    let mut a = Agent::spawn("router");
    a.ok("sock r ROUTER");
    let p = a.bind("r", 0);
    let mut opts = zmtp::SocketOptions::default();
    opts.routing_id = Some(Bytes::from_static(b"req1"));
    let req = Req::with_options(opts).unwrap();
    req.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    req.send(m(&[b"ask"])).await.unwrap();
    // On the wire: our id (prefixed by the ROUTER), the empty delimiter, the body.
    assert_eq!(a.recv("r"), format!("{} - {}", hex(b"req1"), hex(b"ask")));
    // A reply without the delimiter is dropped; the proper one arrives.
    a.expect(&format!("send r {} {}", hex(b"req1"), hex(b"bad")), "SENT");
    a.expect(
        &format!("send r {} - {}", hex(b"req1"), hex(b"good")),
        "SENT",
    );
    let reply = recv(&req).await;
    assert_eq!(reply, m(&[b"good"]));
    req.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pyzmq_req_with_our_rep() {
    let rep = Rep::new();
    let ep = rep.bind("tcp://127.0.0.1:0").unwrap();
    assert!(matches!(rep.send(m(&[b"x"])).await, Err(Error::State(_))));
    let mut a = Agent::spawn("req");
    a.ok("sock q REQ");
    a.ok(&format!("connect q {}", port(&ep)));
    for i in 0..3u8 {
        a.expect(&format!("send q {} {}", hex(b"hello"), hex(&[i])), "SENT");
        let req = recv(&rep).await;
        assert_eq!(req, m(&[b"hello", &[i]]));
        // A second receive before the reply: refused.
        assert!(matches!(rep.recv().await, Err(Error::State(_))));
        rep.send(m(&[b"world", &[i]])).await.unwrap();
        assert_eq!(a.recv("q"), format!("{} {}", hex(b"world"), hex(&[i])));
    }
    rep.close().await;
}

/// A REP owes a reply: a second request already waiting in its queue is not handed over
/// before the reply (`recv` takes a waiting message without entering its wait, and must still
/// ask the type first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_rep_refuses_a_waiting_second_request_until_it_replies() {
    let rep = Rep::new();
    let ep = rep.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("req-a");
    let mut b = Agent::spawn("req-b");
    for (x, body) in [(&mut a, b"from-a"), (&mut b, b"from-b")] {
        x.ok("sock q REQ");
        x.ok(&format!("connect q {}", port(&ep)));
        x.expect(&format!("send q {}", hex(body)), "SENT");
    }
    let first = recv(&rep).await;
    // Give the other request time to arrive and wait in the queue.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(rep.recv().await, Err(Error::State(_))));
    rep.send(m(&[b"re", &first.frames()[0]])).await.unwrap();
    let second = recv(&rep).await;
    assert_ne!(first, second);
    rep.send(m(&[b"re", &second.frames()[0]])).await.unwrap();
    for (x, body) in [(&mut a, b"from-a"), (&mut b, b"from-b")] {
        assert_eq!(x.recv("q"), format!("{} {}", hex(b"re"), hex(body)));
    }
    rep.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyzmq_dealers_with_our_rep_envelopes_and_fair_queuing() {
    let rep = Rep::new();
    let ep = rep.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("dealer-a");
    let mut b = Agent::spawn("dealer-b");
    for x in [&mut a, &mut b] {
        x.ok("sock d DEALER");
        x.ok(&format!("connect d {}", port(&ep)));
    }
    // A request without a delimiter is dropped; the next one, with an envelope of two
    // address frames, is answered with that envelope.
    a.expect(&format!("send d {}", hex(b"no-delimiter")), "SENT");
    a.expect(
        &format!("send d {} {} - {}", hex(b"hop1"), hex(b"hop2"), hex(b"qa")),
        "SENT",
    );
    b.expect(&format!("send d - {}", hex(b"qb")), "SENT");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let req = recv(&rep).await;
        let body = req.frames()[0].clone();
        rep.send(Message::from_frames([
            Bytes::from_static(b"re"),
            body.clone(),
        ]))
        .await
        .unwrap();
        seen.push(body);
    }
    seen.sort();
    assert_eq!(seen, [Bytes::from_static(b"qa"), Bytes::from_static(b"qb")]);
    assert_eq!(
        a.recv("d"),
        format!(
            "{} {} - {} {}",
            hex(b"hop1"),
            hex(b"hop2"),
            hex(b"re"),
            hex(b"qa")
        )
    );
    assert_eq!(b.recv("d"), format!("- {} {}", hex(b"re"), hex(b"qb")));
    assert!(
        rep.try_recv().is_none(),
        "the request without a delimiter arrived"
    );
    rep.close().await;
}

fn req_with(correlate: bool, relaxed: bool) -> Req {
    let mut opts = zmtp::SocketOptions::default();
    opts.req_correlate = correlate;
    opts.req_relaxed = relaxed;
    opts.linger = Some(Duration::ZERO);
    Req::with_options(opts).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn req_relaxed_sends_again_and_drops_the_old_reply_from_pyzmq_reps() {
    // libzmq's test_req_relaxed, cases 1 and 2, with our REQ and two pyzmq REPs.
    let mut reps: Vec<Agent> = ["rep0", "rep1"]
        .into_iter()
        .map(|label| {
            let mut a = Agent::spawn(label);
            a.ok("sock r REP");
            a
        })
        .collect();
    let req = req_with(true, true);
    let mut mon = req.monitor();
    for a in &mut reps {
        let p = a.bind("r", 0);
        req.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    }
    handshakes(&mut mon, 2).await;
    // Which REP got a request (round-robin: they alternate).
    let who_got = |reps: &mut Vec<Agent>, body: &[u8]| -> usize {
        for (i, a) in reps.iter_mut().enumerate() {
            let r = a.cmd("recv r 500");
            if r == format!("MSG {}", hex(body)) {
                return i;
            }
            assert_eq!(r, "TIMEOUT", "rep{i}");
        }
        panic!("no REP got {body:?}")
    };
    // Case 1: a second request before the first's reply; the first's reply is dropped.
    req.send(m(&[b"A"])).await.unwrap();
    let first = who_got(&mut reps, b"A");
    req.send(m(&[b"C"])).await.unwrap();
    let second = who_got(&mut reps, b"C");
    assert_ne!(first, second, "round-robin");
    reps[first].expect(&format!("send r {}", hex(b"WRONG")), "SENT");
    tokio::time::sleep(Duration::from_millis(200)).await;
    reps[second].expect(&format!("send r {}", hex(b"OK")), "SENT");
    let reply = recv(&req).await;
    assert_eq!(reply, m(&[b"OK"]));
    // Case 2: a reply already received and not taken is dropped by the next request.
    req.send(m(&[b"H"])).await.unwrap();
    let third = who_got(&mut reps, b"H");
    reps[third].expect(&format!("send r {}", hex(b"BAD")), "SENT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    req.send(m(&[b"I"])).await.unwrap();
    let fourth = who_got(&mut reps, b"I");
    reps[fourth].expect(&format!("send r {}", hex(b"GOOD")), "SENT");
    let reply = recv(&req).await;
    assert_eq!(reply, m(&[b"GOOD"]));
    // Strict (the default): the second request is refused.
    let strict = req_with(false, false);
    strict.connect(&format!("tcp://127.0.0.1:{}", 9)).unwrap();
    strict.send(m(&[b"x"])).await.unwrap();
    assert!(matches!(
        strict.send(m(&[b"y"])).await,
        Err(Error::State(_))
    ));
    strict.close().await;
    req.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn req_correlate_and_relaxed_with_pyzmq_routers() {
    let mut a = Agent::spawn("router");
    a.ok("sock r ROUTER");
    let p = a.bind("r", 0);
    let mut opts = zmtp::SocketOptions::default();
    opts.req_correlate = true;
    opts.routing_id = Some(Bytes::from_static(b"req1"));
    let req = Req::with_options(opts).unwrap();
    req.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    req.send(m(&[b"ask"])).await.unwrap();
    // On the wire: our id, a 4-byte request id, the delimiter, the body.
    let got = a.recv("r");
    let frames: Vec<&str> = got.split(' ').collect();
    assert_eq!(frames.len(), 4, "{got}");
    assert_eq!(frames[0], hex(b"req1"));
    assert_eq!(frames[1].len(), 8, "a 4-byte request id: {got}");
    assert_eq!(&frames[2..], &["-", &hex(b"ask")[..]]);
    let id = frames[1];
    let wrong = if id == "00000000" {
        "01000000"
    } else {
        "00000000"
    };
    // A reply with another id, or without one, is dropped; the one with ours arrives.
    a.expect(
        &format!("send r {} {wrong} - {}", hex(b"req1"), hex(b"old")),
        "SENT",
    );
    a.expect(
        &format!("send r {} - {}", hex(b"req1"), hex(b"noid")),
        "SENT",
    );
    a.expect(
        &format!("send r {} {id} - {}", hex(b"req1"), hex(b"good")),
        "SENT",
    );
    let reply = recv(&req).await;
    assert_eq!(reply, m(&[b"good"]));
    req.close().await;

    // libzmq's case 4: two requests queued before the ROUTER binds; both are bounced back,
    // and only the second's reply is taken.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let req = req_with(true, true);
    req.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    req.send(m(&[b"TO_BE_DISCARDED"])).await.unwrap();
    req.send(m(&[b"TO_BE_ANSWERED"])).await.unwrap();
    let mut b = Agent::spawn("router2");
    b.ok("sock r ROUTER");
    b.bind("r", port);
    b.expect("echo r 2", "ECHOED");
    let reply = recv(&req).await;
    assert_eq!(reply, m(&[b"TO_BE_ANSWERED"]));
    assert!(req.try_recv().is_none());
    req.close().await;

    // Relaxed without correlate, one peer: a reply received and not taken when the next
    // request goes is dropped (libzmq drops them at each request), so it cannot pass for the
    // next request's reply.
    let mut c = Agent::spawn("router3");
    c.ok("sock r ROUTER");
    let p = c.bind("r", 0);
    let mut opts = zmtp::SocketOptions::default();
    opts.req_relaxed = true;
    opts.routing_id = Some(Bytes::from_static(b"req2"));
    opts.linger = Some(Duration::ZERO);
    let req = Req::with_options(opts).unwrap();
    req.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    req.send(m(&[b"H"])).await.unwrap();
    assert_eq!(c.recv("r"), format!("{} - {}", hex(b"req2"), hex(b"H")));
    c.expect(
        &format!("send r {} - {}", hex(b"req2"), hex(b"BAD")),
        "SENT",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    req.send(m(&[b"I"])).await.unwrap();
    assert_eq!(c.recv("r"), format!("{} - {}", hex(b"req2"), hex(b"I")));
    c.expect(
        &format!("send r {} - {}", hex(b"req2"), hex(b"GOOD")),
        "SENT",
    );
    let reply = recv(&req).await;
    assert_eq!(reply, m(&[b"GOOD"]));
    req.close().await;
}
