//! The batch calls: `Dealer::send_many`, `Dealer::recv_many`, `Router::recv_many`.

use std::time::Duration;

use bytes::Bytes;
use zmtp::{Dealer, Error, Message, Routed, Router, SocketOptions};

const STEP: Duration = Duration::from_secs(10);

fn dealer_with_id(id: &'static str) -> Dealer {
    let mut o = SocketOptions::default();
    o.routing_id = Some(id.into());
    Dealer::with_options(o).unwrap()
}

fn msgs(tag: &str, n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message::from(Bytes::from(format!("{tag}-{i}"))))
        .collect()
}

/// Receives exactly `n` messages with `recv_many(limit)`, checking every batch's size.
async fn recv_n(r: &Router, n: usize, limit: usize) -> Vec<Message> {
    let mut all = Vec::new();
    while all.len() < n {
        let before = all.len();
        let got = tokio::time::timeout(STEP, r.recv_many(&mut all, limit))
            .await
            .expect("recv_many stalled")
            .unwrap();
        assert!(
            got >= 1 && got <= limit,
            "batch of {got} with limit {limit}"
        );
        assert_eq!(all.len() - before, got);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_many_prefixes_ids_keeps_order_and_fair_queues() {
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap().to_string();
    let (a, b) = (dealer_with_id("a"), dealer_with_id("b"));
    a.connect(&ep).unwrap();
    b.connect(&ep).unwrap();
    a.send_many(&mut msgs("a", 100)).await.unwrap();
    b.send_many(&mut msgs("b", 100)).await.unwrap();
    // Let both queues fill before the first receive, so fair queuing shows.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = recv_n(&router, 200, 7).await;
    // One message per peer per turn while both have messages queued.
    let first: Vec<&[u8]> = all[..20].iter().map(|m| &m.frames()[0][..]).collect();
    for w in first.windows(2) {
        assert_ne!(w[0], w[1], "not fair-queued: {first:?}");
    }
    for id in ["a", "b"] {
        let bodies: Vec<Bytes> = all
            .iter()
            .filter(|m| &m.frames()[0][..] == id.as_bytes())
            .map(|m| m.frames()[1].clone())
            .collect();
        let want: Vec<Bytes> = (0..100).map(|i| Bytes::from(format!("{id}-{i}"))).collect();
        assert_eq!(bodies, want, "peer {id}: lost, duplicated or reordered");
    }
    assert!(router.try_recv().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_many_round_robins_over_peers() {
    let dealer = Dealer::new();
    let ep = dealer.bind("tcp://127.0.0.1:0").unwrap().to_string();
    let (r1, r2) = (Router::new(), Router::new());
    r1.connect(&ep).unwrap();
    r2.connect(&ep).unwrap();
    // Wait until both routers are connected: a probe round trip through each.
    let deadline = tokio::time::Instant::now() + STEP;
    while !(dealer_sees(&dealer, &r1).await && dealer_sees(&dealer, &r2).await) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "peers never connected"
        );
    }
    // A probe goes to the next router in turn, not always to the one asked about, so one may
    // still sit in either: let the last ones arrive, and drop them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while r1.try_recv().is_some() || r2.try_recv().is_some() {}
    let mut batch = msgs("m", 100);
    dealer.send_many(&mut batch).await.unwrap();
    assert!(batch.is_empty());
    let (got1, got2) = (recv_n(&r1, 50, 64).await, recv_n(&r2, 50, 64).await);
    let mut bodies: Vec<Bytes> = got1
        .iter()
        .chain(&got2)
        .map(|m| m.frames()[1].clone())
        .collect();
    bodies.sort();
    let mut want: Vec<Bytes> = (0..100).map(|i| Bytes::from(format!("m-{i}"))).collect();
    want.sort();
    assert_eq!(bodies, want);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(r1.try_recv().is_none() && r2.try_recv().is_none());
}

/// Sends a probe and drains whatever the router got (its probes); true if it arrived.
async fn dealer_sees(dealer: &Dealer, r: &Router) -> bool {
    let _ = dealer.try_send(Message::from("probe"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut seen = false;
    while let Some(m) = r.try_recv() {
        seen |= &m.frames()[1][..] == b"probe";
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_send_many_keeps_what_was_not_queued() {
    // A port with nothing listening yet: the dealer queues up to SNDHWM before it exists.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut o = SocketOptions::default();
    o.sndhwm = 10;
    let dealer = Dealer::with_options(o).unwrap();
    dealer.connect(&ep).unwrap();
    let mut batch = msgs("x", 25);
    let r = tokio::time::timeout(Duration::from_millis(300), dealer.send_many(&mut batch)).await;
    assert!(r.is_err(), "send_many should wait at SNDHWM");
    assert_eq!(batch.len(), 15, "the 10 queued are removed, the rest kept");
    assert_eq!(batch[0], Message::from("x-10"));

    let router = Router::new();
    router.bind(&ep).unwrap();
    tokio::time::timeout(STEP, dealer.send_many(&mut batch))
        .await
        .expect("send_many stalled")
        .unwrap();
    let got = recv_n(&router, 25, 256).await;
    let bodies: Vec<Bytes> = got.iter().map(|m| m.frames()[1].clone()).collect();
    let want: Vec<Bytes> = (0..25).map(|i| Bytes::from(format!("x-{i}"))).collect();
    assert_eq!(bodies, want);
}

#[tokio::test]
async fn send_many_with_an_empty_message_sends_nothing() {
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap().to_string();
    let dealer = Dealer::new();
    dealer.connect(&ep).unwrap();
    let mut batch = vec![Message::from("a"), Message::new(), Message::from("c")];
    assert!(matches!(
        dealer.send_many(&mut batch).await,
        Err(Error::EmptyMessage)
    ));
    assert_eq!(batch.len(), 3);
    dealer.send(Message::from("after")).await.unwrap();
    let m = tokio::time::timeout(STEP, router.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&m.frames()[1][..], b"after");
}

#[tokio::test]
async fn dealer_recv_many_and_limit_zero_takes_one() {
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap().to_string();
    let dealer = dealer_with_id("d");
    dealer.connect(&ep).unwrap();
    dealer.send(Message::from("hello")).await.unwrap();
    tokio::time::timeout(STEP, router.recv())
        .await
        .unwrap()
        .unwrap();
    for i in 0..5 {
        let routed = router
            .send(Message::from_frames(["d".to_string(), format!("r-{i}")]))
            .await
            .unwrap();
        assert_eq!(routed, Routed::Queued);
    }
    let mut buf = Vec::new();
    let mut got = 0;
    while got < 5 {
        let n = tokio::time::timeout(STEP, dealer.recv_many(&mut buf, 0))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1, "limit 0 takes one message");
        got += n;
    }
    let bodies: Vec<Message> = buf;
    let want: Vec<Message> = (0..5).map(|i| Message::from(format!("r-{i}"))).collect();
    assert_eq!(bodies, want);
}
