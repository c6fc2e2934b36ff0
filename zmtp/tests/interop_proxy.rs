//! `zmtp::proxy` between real libzmq 4.3.5 peers (pyzmq agents in child processes): a
//! request-reply broker (ROUTER/DEALER) between pyzmq REQ clients and a REP worker, and a
//! pipeline stage (PULL/PUSH). Every wait is bounded; agents are killed by PID on drop.

#[path = "common/agent.rs"]
mod agent;
mod common;

use agent::Agent;
use zmtp::{Dealer, Endpoint, Pull, Push, Router};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn port(ep: &Endpoint) -> u16 {
    let Endpoint::Tcp { port, .. } = ep else {
        panic!("not tcp: {ep}")
    };
    *port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_dealer_proxy_between_pyzmq_reqs_and_a_rep() {
    let front = Router::new();
    let back = Dealer::new();
    let fp = port(&front.bind("tcp://127.0.0.1:0").unwrap());
    let bp = port(&back.bind("tcp://127.0.0.1:0").unwrap());
    let (f, b) = (front.clone(), back.clone());
    let task = tokio::spawn(async move { zmtp::proxy(&f, &b).await });

    let mut worker = Agent::spawn("rep");
    worker.ok("sock w REP");
    worker.ok(&format!("connect w {bp}"));
    let mut clients: Vec<Agent> = ["req1", "req2"]
        .into_iter()
        .map(|label| {
            let mut a = Agent::spawn(label);
            a.ok("sock q REQ");
            a.ok(&format!("connect q {fp}"));
            a
        })
        .collect();
    for round in 0..10u8 {
        for (i, c) in clients.iter_mut().enumerate() {
            let body = [b'c', i as u8, round];
            c.expect(&format!("send q {}", hex(&body)), "SENT");
            // The worker sees the request without envelope and answers it.
            assert_eq!(worker.recv("w"), hex(&body));
            worker.expect(&format!("send w {} {}", hex(b"re"), hex(&body)), "SENT");
            assert_eq!(c.recv("q"), format!("{} {}", hex(b"re"), hex(&body)));
        }
    }
    task.abort();
    front.close().await;
    back.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_push_proxy_keeps_order_between_pyzmq_peers() {
    let pull = Pull::new();
    let push = Push::new();
    let inp = port(&pull.bind("tcp://127.0.0.1:0").unwrap());
    let out = port(&push.bind("tcp://127.0.0.1:0").unwrap());
    let (a, b) = (pull.clone(), push.clone());
    let task = tokio::spawn(async move { zmtp::proxy(&a, &b).await });
    let mut sink = Agent::spawn("sink");
    sink.ok("sock s PULL");
    sink.ok(&format!("connect s {out}"));
    let mut source = Agent::spawn("source");
    source.ok("sock p PUSH");
    source.ok(&format!("connect p {inp}"));
    assert_eq!(source.cmd("seq p 1000"), "SENT 1000");
    let got = sink.count(1000, 10_000, &["s"]);
    assert_eq!(got["s"], (0..1000).collect::<Vec<u64>>());
    // Closing a socket ends the proxy, without an error.
    pull.close().await;
    let ended = tokio::time::timeout(agent::STEP, task).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    push.close().await;
}
