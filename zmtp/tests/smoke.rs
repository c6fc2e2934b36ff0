use std::time::Duration;
use zmtp::{Dealer, Message, Routed, Router, RoutingId, SocketOptions};

#[path = "common/raw.rs"]
mod raw;

#[tokio::test]
async fn dealer_router_round_trip() {
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let mut o = SocketOptions::default();
    o.routing_id = Some("d1".into());
    let dealer = Dealer::with_options(o).unwrap();
    dealer.connect(&ep.to_string()).unwrap();
    dealer.send(Message::from_frames(["a", "b"])).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), router.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m, Message::from_frames(["d1", "a", "b"]));
    let routed = router
        .send(Message::from_frames(["d1", "reply"]))
        .await
        .unwrap();
    assert_eq!(routed, Routed::Queued);
    let r = tokio::time::timeout(Duration::from_secs(5), dealer.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, Message::from("reply"));
}

/// Regression: a connection whose write budget ran out with messages still queued in its pipe
/// waited for a wake-up that never came (the pipe only notifies on empty -> non-empty).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_large_messages_do_not_stall() {
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let dealer = Dealer::new();
    dealer.connect(&ep.to_string()).unwrap();
    let n = 3000;
    let sender = tokio::spawn(async move {
        for i in 0..n {
            let mut body = vec![0u8; 64 * 1024];
            body[..4].copy_from_slice(&(i as u32).to_be_bytes());
            dealer.send(Message::from(body)).await.unwrap();
        }
        dealer
    });
    for i in 0..n {
        let m = tokio::time::timeout(Duration::from_secs(10), router.recv())
            .await
            .unwrap_or_else(|_| panic!("stalled after {i} messages"))
            .unwrap();
        assert_eq!(&m.frames()[1][..4], &(i as u32).to_be_bytes());
    }
    sender.await.unwrap();
}

/// Dropping a socket flushes what was queued (LINGER default: until flushed) and frees its
/// port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_flushes_queued_messages_and_frees_the_port() {
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let dealer = Dealer::new();
    dealer.connect(&ep.to_string()).unwrap();
    for i in 0..1000u32 {
        dealer
            .send(Message::from(i.to_be_bytes().to_vec()))
            .await
            .unwrap();
    }
    drop(dealer);
    for i in 0..1000u32 {
        let m = tokio::time::timeout(Duration::from_secs(5), router.recv())
            .await
            .expect("message lost on drop")
            .unwrap();
        assert_eq!(&m.frames()[1][..], &i.to_be_bytes());
    }
    router.close().await;
    // The listener is gone: the same port binds again.
    let again = Router::new();
    again
        .bind(&ep.to_string())
        .expect("port still held after close");
}

/// LINGER 0: a closed socket gives up on peers that do not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_with_zero_linger_returns_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut o = SocketOptions::default();
    o.linger = Some(Duration::ZERO);
    let dealer = Dealer::with_options(o).unwrap();
    dealer.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    dealer.send(Message::from("never delivered")).await.unwrap();
    // The peer accepts TCP but never speaks ZMTP.
    let _peer = listener.accept().unwrap();
    tokio::time::timeout(Duration::from_secs(2), dealer.close())
        .await
        .expect("close with linger 0 hung");
}

/// Regression: messages read in the same turn as the peer's close were dropped with the
/// connection instead of delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_before_the_peers_close_are_all_delivered() {
    for round in 0..5 {
        // No RCVHWM: everything fits without a reader, so the sender can finish and close
        // while the router's connection is still reading.
        let mut o = SocketOptions::default();
        o.rcvhwm = 0;
        let router = Router::with_options(o).unwrap();
        let ep = router.bind("tcp://127.0.0.1:0").unwrap();
        let dealer = Dealer::new();
        dealer.connect(&ep.to_string()).unwrap();
        let n = 5000u32;
        for i in 0..n {
            let mut body = vec![0u8; 4096];
            body[..4].copy_from_slice(&i.to_be_bytes());
            dealer.send(Message::from(body)).await.unwrap();
        }
        dealer.close().await;
        for i in 0..n {
            let m = tokio::time::timeout(Duration::from_secs(5), router.recv())
                .await
                .unwrap_or_else(|_| panic!("round {round}: message {i} of {n} lost"))
                .unwrap();
            assert_eq!(&m.frames()[1][..4], &i.to_be_bytes());
        }
    }
}

/// A ROUTER_MANDATORY send waiting for room on a peer's full queue ends with HostUnreachable
/// when that peer disconnects (libzmq: EHOSTUNREACH), instead of waiting for a wake-up that
/// only room on some pipe or a new peer would give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandatory_send_waiting_for_room_ends_when_the_peer_goes() {
    let mut ro = SocketOptions::default();
    ro.router_mandatory = true;
    ro.sndhwm = 1;
    let router = Router::with_options(ro).unwrap();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let mut o = SocketOptions::default();
    o.routing_id = Some("d".into());
    o.rcvhwm = 1;
    let dealer = Dealer::with_options(o).unwrap();
    dealer.connect(&ep.to_string()).unwrap();
    dealer.send(Message::from("hello")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), router.recv())
        .await
        .unwrap()
        .unwrap();
    // The dealer reads nothing (its queue is full after one message), so the kernel buffers
    // fill up, then the router's queue for it: a send waits.
    let body = bytes::Bytes::from(vec![0u8; 1 << 20]);
    let blocked = loop {
        let r2 = router.clone();
        let msg = Message::from_frames([bytes::Bytes::from_static(b"d"), body.clone()]);
        let mut send = tokio::spawn(async move { r2.send(msg).await });
        match tokio::time::timeout(Duration::from_millis(200), &mut send).await {
            Ok(r) => {
                // ROUTER_MANDATORY: a send to a known peer queues (or waits), never drops.
                assert_eq!(r.unwrap().unwrap(), Routed::Queued);
            }
            Err(_) => break send,
        }
    };
    dealer.close().await;
    // The router notices: the peer is gone.
    let gone = RoutingId::from("d");
    let t0 = std::time::Instant::now();
    while router.has_peer(&gone) {
        assert!(t0.elapsed() < Duration::from_secs(5), "peer still routable");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = tokio::time::timeout(Duration::from_secs(5), blocked)
        .await
        .expect("send still waiting 5 s after the peer left")
        .unwrap();
    assert!(matches!(r, Err(zmtp::Error::HostUnreachable(_))), "{r:?}");
}

/// A large frame that trickles in (a slow peer, a slow link) is received whole, and so is the
/// message after it: while a connection waits for the rest of a large frame it may ask the
/// kernel to hold the bytes back until more have come (SO_RCVLOWAT), but never for more than
/// the frame still needs. The raw peer pauses with 2 MiB, then 200 KiB, 50 KiB and 1 byte of
/// the frame missing, then before the next message, so the receiver goes to sleep in each state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_frame_trickling_in_arrives_whole() {
    use std::io::Write;
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let addr = ep.to_string().trim_start_matches("tcp://").to_string();
    let body: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
    let sent = body.clone();
    let peer = tokio::task::spawn_blocking(move || {
        let pause = || std::thread::sleep(Duration::from_millis(150));
        let mut s = std::net::TcpStream::connect(addr).expect("raw connect");
        s.write_all(&raw::raw_greeting(1)).unwrap();
        s.write_all(&raw::raw_ready(b"slow")).unwrap();
        let mut head = vec![0x02];
        head.extend_from_slice(&(sent.len() as u64).to_be_bytes());
        s.write_all(&head).unwrap();
        let len = sent.len();
        let cuts = [1 << 20, len - 200 * 1024, len - 50 * 1024, len - 1, len];
        let mut at = 0;
        for cut in cuts {
            for chunk in sent[at..cut].chunks(64 * 1024) {
                s.write_all(chunk).unwrap();
            }
            at = cut;
            pause();
        }
        s.write_all(b"\x00\x05after").unwrap();
        // Held open until the router has both messages.
        s
    });
    let recv = || async {
        tokio::time::timeout(Duration::from_secs(10), router.recv())
            .await
            .expect("the frame or the message after it never arrived")
            .unwrap()
    };
    let m = recv().await;
    assert_eq!(&m.frames()[0][..], b"slow");
    assert!(m.frames()[1] == body, "the large frame arrived altered");
    assert_eq!(recv().await, Message::from_frames(["slow", "after"]));
    drop(peer.await.unwrap());
    router.close().await;
}
