//! Socket monitor events against real libzmq 4.3.5 peers (pyzmq agents in child processes, see
//! `tests/py/agent.py`): a ROUTER learns which routing id went away when a peer is killed with
//! SIGKILL, a DEALER sees its pyzmq ROUTER vanish and the reconnect scheduled, and a handshake
//! refused for an incompatible socket type reports the typed error (a raw peer, as libzmq hangs
//! up on an incompatible peer itself before we get to refuse it).
//!
//! Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;
#[path = "common/raw.rs"]
mod raw;

use std::time::Duration;

use agent::{hex, port, Agent, STEP};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zmtp::monitor::{DisconnectReason, Monitor, PeerAddr};
use zmtp::{Dealer, Message, ProtocolError, Routed, Router, RoutingId, SocketEvent};

/// Waits (at most [`STEP`]) for the first event that `want` accepts; events before it are
/// skipped, and listed if none comes.
async fn wait_for(
    mon: &mut Monitor,
    what: &str,
    mut want: impl FnMut(&SocketEvent) -> bool,
) -> SocketEvent {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(STEP, async {
        while let Some(e) = mon.recv().await {
            if want(&e) {
                return Some(e);
            }
            seen.push(e);
        }
        None
    })
    .await;
    match found {
        Ok(Some(e)) => e,
        Ok(None) => panic!("monitor ended before {what}; seen: {seen:#?}"),
        Err(_) => panic!("no {what} within {STEP:?}; seen: {seen:#?}"),
    }
}

/// What a peer's death may look like: the kernel closes its socket (FIN, or RST if it had
/// unread data).
fn is_peer_loss(reason: &DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::PeerClosed | DisconnectReason::Io(_)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_monitor_names_the_routing_id_of_a_killed_pyzmq_dealer() {
    let router = Router::new();
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let e = wait_for(&mut mon, "Listening", |e| {
        matches!(e, SocketEvent::Listening { .. })
    })
    .await;
    assert!(matches!(e, SocketEvent::Listening { endpoint } if endpoint == ep));

    // A DEALER with a routing id, and one without (the ROUTER generates its id).
    let mut named = Agent::spawn("named");
    named.ok(&format!("sock d DEALER routing_id={}", hex(b"py-dealer")));
    named.ok(&format!("connect d {}", port(&ep)));
    let e = wait_for(&mut mon, "HandshakeSucceeded", |e| {
        matches!(e, SocketEvent::HandshakeSucceeded { .. })
    })
    .await;
    let SocketEvent::HandshakeSucceeded {
        endpoint,
        peer: named_peer,
        routing_id,
    } = e
    else {
        unreachable!()
    };
    assert_eq!(endpoint, ep);
    assert_eq!(routing_id, Some(RoutingId::from("py-dealer")));
    let PeerAddr::Tcp(named_addr) = named_peer else {
        panic!("{named_peer:?}")
    };
    assert!(named_addr.ip().is_loopback());

    let mut anon = Agent::spawn("anon");
    anon.ok("sock d DEALER");
    anon.ok(&format!("connect d {}", port(&ep)));
    let e = wait_for(&mut mon, "HandshakeSucceeded", |e| {
        matches!(e, SocketEvent::HandshakeSucceeded { .. })
    })
    .await;
    let SocketEvent::HandshakeSucceeded {
        routing_id: Some(anon_id),
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(anon_id.as_bytes().len(), 5, "{anon_id:?}");
    assert_eq!(anon_id.as_bytes()[0], 0, "{anon_id:?}");
    // The id in the event is the one the ROUTER routes by.
    anon.expect("send d 6869", "SENT");
    let m = tokio::time::timeout(STEP, router.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.frames()[0], anon_id.0);
    // Both are listed as the ROUTER's peers.
    let mut peers = router.peers();
    peers.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(peers, [anon_id.clone(), RoutingId::from("py-dealer")]);
    assert_eq!(router.peer_count(), 2);

    // SIGKILL the named one: the event names it.
    named.kill();
    let e = wait_for(&mut mon, "Disconnected", |e| {
        matches!(e, SocketEvent::Disconnected { .. })
    })
    .await;
    let SocketEvent::Disconnected {
        endpoint,
        peer,
        routing_id,
        reason,
    } = e
    else {
        unreachable!()
    };
    assert_eq!(endpoint, ep);
    assert_eq!(peer, PeerAddr::Tcp(named_addr));
    assert_eq!(routing_id, Some(RoutingId::from("py-dealer")));
    assert!(is_peer_loss(&reason), "{reason:?}");
    assert!(!router.has_peer(&RoutingId::from("py-dealer")));
    assert_eq!(router.peers(), std::slice::from_ref(&anon_id));

    // The other peer is still served.
    let routed = router
        .send(Message::from_frames([
            anon_id.0.clone(),
            Bytes::from_static(b"still"),
        ]))
        .await
        .unwrap();
    assert_eq!(routed, Routed::Queued);
    assert_eq!(anon.recv("d"), hex(b"still"));

    // Closing the socket ends the stream with MonitorStopped.
    drop(anon);
    router.close().await;
    let e = wait_for(&mut mon, "MonitorStopped", |e| {
        matches!(e, SocketEvent::MonitorStopped)
    })
    .await;
    assert!(matches!(e, SocketEvent::MonitorStopped));
    assert!(tokio::time::timeout(STEP, mon.recv())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dealer_monitor_sees_a_killed_pyzmq_router_and_the_reconnect() {
    let mut agent = Agent::spawn("router");
    agent.ok("sock r ROUTER");
    let p = agent.bind("r", 0);
    let mut opts = zmtp::SocketOptions::default();
    opts.reconnect_ivl = Some(Duration::from_millis(50));
    let dealer = Dealer::with_options(opts).unwrap();
    let mut mon = dealer.monitor();
    dealer.connect(&format!("tcp://127.0.0.1:{p}")).unwrap();
    wait_for(&mut mon, "ConnectDelayed", |e| {
        matches!(e, SocketEvent::ConnectDelayed { .. })
    })
    .await;
    let e = wait_for(&mut mon, "Connected", |e| {
        matches!(e, SocketEvent::Connected { .. })
    })
    .await;
    let SocketEvent::Connected { endpoint, .. } = e else {
        unreachable!()
    };
    assert_eq!(port(&endpoint), p);
    let e = wait_for(&mut mon, "HandshakeSucceeded", |e| {
        matches!(e, SocketEvent::HandshakeSucceeded { .. })
    })
    .await;
    // A libzmq ROUTER announces an empty Identity: no routing id to report.
    assert!(
        matches!(
            e,
            SocketEvent::HandshakeSucceeded {
                routing_id: None,
                ..
            }
        ),
        "{e:?}"
    );

    agent.kill();
    let e = wait_for(&mut mon, "Disconnected", |e| {
        matches!(e, SocketEvent::Disconnected { .. })
    })
    .await;
    let SocketEvent::Disconnected { reason, .. } = &e else {
        unreachable!()
    };
    assert!(is_peer_loss(reason), "{e:?}");
    let e = wait_for(&mut mon, "ConnectRetried", |e| {
        matches!(e, SocketEvent::ConnectRetried { .. })
    })
    .await;
    let SocketEvent::ConnectRetried { delay, .. } = e else {
        unreachable!()
    };
    // RECONNECT_IVL plus libzmq's jitter of up to one interval.
    assert!(
        (Duration::from_millis(50)..Duration::from_millis(100)).contains(&delay),
        "{delay:?}"
    );
    dealer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incompatible_peers_never_count_as_handshaken() {
    let router = Router::new();
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();

    // A libzmq PUB: libzmq checks our READY and hangs up (before or after its own READY
    // reaches us): a disconnection without a routing id, and no handshake.
    let mut agent = Agent::spawn("pub");
    agent.ok("sock p PUB");
    agent.ok(&format!("connect p {}", port(&ep)));
    let mut seen = Vec::new();
    let e = wait_for(&mut mon, "Disconnected", |e| {
        seen.push(format!("{e:?}"));
        matches!(e, SocketEvent::Disconnected { .. })
    })
    .await;
    assert!(
        matches!(
            &e,
            SocketEvent::Disconnected {
                routing_id: None,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        !seen.iter().any(|e| e.starts_with("HandshakeSucceeded")),
        "{seen:#?}"
    );
    drop(agent);

    // A raw peer announcing PUB: we refuse it ourselves, with the typed error, and tell it why.
    let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", port(&ep)))
        .await
        .unwrap();
    let mut hello = raw::raw_greeting(1);
    let body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x03PUB";
    hello.extend_from_slice(&[0x04, body.len() as u8]);
    hello.extend_from_slice(body);
    raw.write_all(&hello).await.unwrap();
    let e = wait_for(&mut mon, "HandshakeFailed", |e| {
        matches!(e, SocketEvent::HandshakeFailed { .. })
    })
    .await;
    let SocketEvent::HandshakeFailed { error, .. } = e else {
        unreachable!()
    };
    assert!(
        matches!(error, ProtocolError::IncompatibleSocketType { .. }),
        "{error:?}"
    );
    let e = wait_for(&mut mon, "Disconnected", |e| {
        matches!(e, SocketEvent::Disconnected { .. })
    })
    .await;
    assert!(
        matches!(
            &e,
            SocketEvent::Disconnected {
                routing_id: None,
                reason: DisconnectReason::Protocol(ProtocolError::IncompatibleSocketType { .. }),
                ..
            }
        ),
        "{e:?}"
    );
    let mut got = Vec::new();
    tokio::time::timeout(STEP, raw.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert!(
        got.ends_with(b"\x05ERROR\x13Invalid socket type"),
        "{got:?}"
    );
    router.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_names_no_routing_id_for_a_duplicate_it_ignores() {
    // A broker tracking its workers by these events must not take the ignored newcomer's
    // coming and going for the first peer's.
    let router = Router::new();
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let mut first = Agent::spawn("dup-first");
    first.ok(&format!("sock d DEALER routing_id={}", hex(b"dup")));
    first.ok(&format!("connect d {}", port(&ep)));
    let e = wait_for(&mut mon, "HandshakeSucceeded", |e| {
        matches!(e, SocketEvent::HandshakeSucceeded { .. })
    })
    .await;
    assert!(
        matches!(&e, SocketEvent::HandshakeSucceeded { routing_id: Some(id), .. } if *id == RoutingId::from("dup")),
        "{e:?}"
    );
    let mut second = Agent::spawn("dup-second");
    second.ok(&format!("sock d DEALER routing_id={}", hex(b"dup")));
    second.ok(&format!("connect d {}", port(&ep)));
    let e = wait_for(&mut mon, "HandshakeSucceeded", |e| {
        matches!(e, SocketEvent::HandshakeSucceeded { .. })
    })
    .await;
    assert!(
        matches!(
            e,
            SocketEvent::HandshakeSucceeded {
                routing_id: None,
                ..
            }
        ),
        "{e:?}"
    );
    second.kill();
    let e = wait_for(&mut mon, "Disconnected", |e| {
        matches!(e, SocketEvent::Disconnected { .. })
    })
    .await;
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
    assert!(router.has_peer(&RoutingId::from("dup")));
    first.kill();
    let e = wait_for(&mut mon, "Disconnected", |e| {
        matches!(e, SocketEvent::Disconnected { .. })
    })
    .await;
    assert!(
        matches!(&e, SocketEvent::Disconnected { routing_id: Some(id), .. } if *id == RoutingId::from("dup")),
        "{e:?}"
    );
    router.close().await;
}
