use std::time::Duration;
use zmtp::{Dealer, Message, Router, SocketOptions};

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
    router
        .send(Message::from_frames(["d1", "reply"]))
        .await
        .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), dealer.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, Message::from("reply"));
}
