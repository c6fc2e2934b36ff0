//! PLAIN (RFC 24) against real libzmq 4.3.5 (pyzmq agents in child processes), both roles:
//! our client with a pyzmq server checked by `zmq.auth`, pyzmq clients with our server checked
//! by an authenticator; wrong passwords refused with nothing delivered, others still served.
//!
//! Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;

use std::time::Duration;

use agent::{hex, m, outcome, port, recv, Agent, STEP};
use bytes::Bytes;
use zmtp::auth::{AuthHandle, PlainPasswords};
use zmtp::{Dealer, Routed, Router, SocketOptions};

fn plain_client(user: &'static str, password: &'static str, id: &'static [u8]) -> Dealer {
    let mut o = SocketOptions::default();
    o.plain_username = Some(Bytes::from(user));
    o.plain_password = Some(Bytes::from(password));
    o.routing_id = Some(Bytes::from_static(id));
    o.linger = Some(Duration::ZERO);
    Dealer::with_options(o).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_plain_client_with_a_pyzmq_server_and_zap() {
    let mut a = Agent::spawn("plain-server");
    a.ok("auth_plain admin:secret");
    a.ok("sock r ROUTER plain_server=1");
    let p = a.bind("r", 0);

    // Right password: messages flow both ways.
    let good = plain_client("admin", "secret", b"good");
    let mut mon = good.monitor();
    good.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    assert!(outcome(&mut mon).await.is_ok());
    good.send(m(&[b"hello", b""])).await.unwrap();
    assert_eq!(a.recv("r"), format!("{} {} -", hex(b"good"), hex(b"hello")));
    a.expect(&format!("send r {} {}", hex(b"good"), hex(b"back")), "SENT");
    assert_eq!(recv(&good).await, m(&[b"back"]));

    // Wrong password: the server's ERROR ends the handshake; nothing is delivered.
    let bad = plain_client("admin", "wrong", b"bad");
    let mut mon = bad.monitor();
    bad.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    let e = outcome(&mut mon).await.unwrap_err();
    assert!(e.contains("400"), "{e}");
    // After an ERROR the client does not reconnect (RFC 37), so its queue is gone too.
    let _ = bad.try_send(m(&[b"sneak"]));
    a.expect("recv r 300", "TIMEOUT");
    // The good client is still served.
    good.send(m(&[b"again"])).await.unwrap();
    assert_eq!(a.recv("r"), format!("{} {}", hex(b"good"), hex(b"again")));
    good.close().await;
    bad.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyzmq_plain_clients_with_our_server_and_authenticator() {
    let mut users = PlainPasswords::new();
    users.insert("alice", "pw1");
    let mut o = SocketOptions::default();
    o.plain_server = true;
    o.authenticator = Some(AuthHandle::new(users));
    let router = Router::with_options(o).unwrap();
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("plain-clients");
    a.ok(&format!(
        "sock good DEALER plain_username={} plain_password={} routing_id={}",
        hex(b"alice"),
        hex(b"pw1"),
        hex(b"g")
    ));
    a.ok(&format!(
        "sock bad DEALER plain_username={} plain_password={} routing_id={} sndtimeo=0",
        hex(b"alice"),
        hex(b"nope"),
        hex(b"b")
    ));
    a.ok("monitor bad");
    a.ok(&format!("connect good {}", port(&ep)));
    let id = outcome(&mut mon).await.unwrap();
    assert_eq!(id.as_ref().map(|r| &r.0[..]), Some(&b"g"[..]));
    a.expect(&format!("send good {}", hex(b"hi")), "SENT");
    let got = recv(&router).await;
    assert_eq!(got, m(&[b"g", b"hi"]));
    assert_eq!(got.property("User-Id"), Some(&b"alice"[..]));
    assert_eq!(
        router.send(m(&[b"g", b"yo"])).await.unwrap(),
        Routed::Queued
    );
    assert_eq!(a.recv("good"), hex(b"yo"));

    // Wrong password: refused with ERROR "400", never seen. libzmq 4.3.5's PLAIN client
    // expects ERROR spelt as its own server spells it ("^RROR", a C escape bug), so it reports
    // our well-formed one as HANDSHAKE_FAILED_PROTOCOL rather than _AUTH; it gives up either way.
    a.ok(&format!("connect bad {}", port(&ep)));
    // Without waiting (sndtimeo=0): after the failed handshake libzmq drops the pipe for a
    // moment, and a blocking send would wait out its timeout. Queued or refused, it must never
    // arrive.
    a.send_may_be_refused(&format!("send bad {}", hex(b"sneak")));
    let e = outcome(&mut mon).await.unwrap_err();
    assert!(
        e.contains("400") || e.to_lowercase().contains("auth"),
        "{e}"
    );
    let deadline = std::time::Instant::now() + STEP;
    while !a
        .events("bad")
        .iter()
        .any(|e| e.starts_with("HANDSHAKE_FAILED"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            a.events("bad")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        router.try_recv().is_none(),
        "a refused client's message arrived"
    );
    // The good one is still served.
    a.expect(&format!("send good {}", hex(b"more")), "SENT");
    assert_eq!(recv(&router).await, m(&[b"g", b"more"]));
    router.close().await;
}
