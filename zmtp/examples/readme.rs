// The example of zmtp/README.md, kept identical to it below this comment (.ci/readme-check
// compares the two; CI builds it with clippy and runs it).
use zmtp::{Dealer, Message, Routed, Router, SocketOptions};

#[tokio::main]
async fn main() -> Result<(), zmtp::Error> {
    // A ROUTER on a port the OS picks: `bind` returns the endpoint actually bound.
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0")?;

    // A DEALER with a routing id (libzmq's ZMQ_ROUTING_ID). `connect` returns at once: the
    // message waits in the peer's queue until the connection is up.
    let mut opts = SocketOptions::default();
    opts.routing_id = Some("client1".into());
    let dealer = Dealer::with_options(opts)?;
    dealer.connect(&ep.to_string())?;
    dealer.send(Message::from("hello")).await?;

    // The ROUTER receives [routing id, body] and routes its reply by the first frame.
    let msg = router.recv().await?;
    println!("router got {msg:?}");
    let routing_id = msg.frames()[0].clone();
    let routed = router
        .send(Message::from_frames([routing_id, "world".into()]))
        .await?;
    // A message for an unknown (or full) peer is dropped, as in libzmq; `send` tells.
    assert_eq!(routed, Routed::Queued);

    let reply = dealer.recv().await?;
    println!("dealer got {reply:?}");
    assert_eq!(reply, Message::from("world"));
    Ok(())
}
