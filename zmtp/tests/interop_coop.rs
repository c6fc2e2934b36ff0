//! Sends that never wait for room (PUB, ROUTER: a full peer misses the message) take part in
//! tokio's cooperative scheduling. Without it, a tight loop of them on a current-thread runtime
//! never let the connection tasks run: everything past SNDHWM was dropped before a byte was
//! written. Each test sends 20 000 messages in a tight loop to a pyzmq peer (libzmq 4.3.5, in
//! a child process) that counts them; before, it got SNDHWM's 1000.
//!
//! Every wait is bounded; agents are killed by PID when their guard drops.

#[path = "common/agent.rs"]
mod agent;
mod common;

use std::time::Duration;

use agent::{handshakes, hex, port, Agent};
use futures_util::SinkExt;
use zmtp::{Message, Pub, Router};

const N: usize = 20_000;

/// Starts the agent's count of `N` messages on socket `name` (its last frame is the sequence
/// number), runs `send` (a tight loop), then `close` (LINGER writes what is still queued), and
/// checks the count.
async fn count_at_agent(a: &mut Agent, name: &str, send: impl AsyncFnOnce()) {
    a.start_count(N, 5000, &[name]);
    send().await;
    let got = a.counted(5000).get(name).map_or(0, Vec::len);
    // All of them, unless the socket's buffers filled at some point (then some are dropped,
    // as these types do): half is far above the old bound of 1000.
    assert!(got > N / 2, "the peer got {got} of {N}");
}

/// A pyzmq SUB subscribed to everything, connected to a new PUB (SNDHWM 1000).
async fn pub_and_sub() -> (Pub, Agent) {
    let publ = Pub::new();
    let mut mon = publ.monitor();
    let ep = publ.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("sub");
    a.ok("sock s SUB rcvhwm=100000");
    a.ok("subscribe s");
    a.ok(&format!("connect s {}", port(&ep)));
    handshakes(&mut mon, 1).await;
    // The subscription follows the handshake: probe until one gets through (each probe is
    // written during the sleep; the agent's receive blocks this thread, not the write). A
    // probe is a number past the loop's, should a late one be counted.
    for _ in 0..100 {
        publ.send(N.to_string()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        if a.cmd("recv s 50").starts_with("MSG") {
            return (publ, a);
        }
    }
    panic!("the SUB's subscription never arrived");
}

#[tokio::test(flavor = "current_thread")]
async fn a_tight_pub_loop_on_a_current_thread_runtime_lets_the_connection_write() {
    let (publ, mut a) = pub_and_sub().await;
    count_at_agent(&mut a, "s", async || {
        for i in 0..N {
            publ.send(i.to_string()).await.unwrap();
        }
        publ.close().await;
    })
    .await;
}

/// The same through the `Sink` (`send_all`): its `poll_ready` takes part too.
#[tokio::test(flavor = "current_thread")]
async fn a_tight_pub_sink_on_a_current_thread_runtime_lets_the_connection_write() {
    let (mut publ, mut a) = pub_and_sub().await;
    count_at_agent(&mut a, "s", async || {
        let mut msgs = futures_util::stream::iter((0..N).map(|i| Ok(Message::from(i.to_string()))));
        publ.send_all(&mut msgs).await.unwrap();
        publ.close().await;
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_tight_router_loop_on_a_current_thread_runtime_lets_the_connection_write() {
    let router = Router::new(); // SNDHWM 1000, drops for a full peer
    let mut mon = router.monitor();
    let ep = router.bind("tcp://127.0.0.1:0").unwrap();
    let mut a = Agent::spawn("dealer");
    a.ok(&format!(
        "sock d DEALER routing_id={} rcvhwm=100000",
        hex(b"d1")
    ));
    a.ok(&format!("connect d {}", port(&ep)));
    handshakes(&mut mon, 1).await;
    count_at_agent(&mut a, "d", async || {
        for i in 0..N {
            let _routed = router
                .send(["d1".to_string(), i.to_string()])
                .await
                .unwrap();
        }
        router.close().await;
    })
    .await;
}
