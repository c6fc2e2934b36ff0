//! REQ and REP against real libzmq 4.3.5 (pyzmq agents in child processes): envelopes with REP,
//! ROUTER and DEALER peers, alternation enforced (libzmq's EFSM), replies without a delimiter
//! dropped. Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;

use std::time::Duration;

use agent::{Agent, STEP};
use bytes::Bytes;
use zmtp::{Endpoint, Error, Message, Rep, Req};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn port(ep: &Endpoint) -> u16 {
    let Endpoint::Tcp { port, .. } = ep else {
        panic!("not tcp: {ep}")
    };
    *port
}

fn m(frames: &[&[u8]]) -> Message {
    Message::from_frames(frames.iter().map(|f| Bytes::copy_from_slice(f)))
}

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
        let reply = tokio::time::timeout(STEP, req.recv())
            .await
            .unwrap()
            .unwrap();
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
    let reply = tokio::time::timeout(STEP, req.recv())
        .await
        .unwrap()
        .unwrap();
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
        let req = tokio::time::timeout(STEP, rep.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(req, m(&[b"hello", &[i]]));
        // A second receive before the reply: refused.
        assert!(matches!(rep.recv().await, Err(Error::State(_))));
        rep.send(m(&[b"world", &[i]])).await.unwrap();
        assert_eq!(a.recv("q"), format!("{} {}", hex(b"world"), hex(&[i])));
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
        let req = tokio::time::timeout(STEP, rep.recv())
            .await
            .unwrap()
            .unwrap();
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
