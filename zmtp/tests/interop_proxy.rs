//! `zmtp::proxy` between real libzmq 4.3.5 peers (pyzmq agents in child processes): a
//! request-reply broker (ROUTER/DEALER) between pyzmq REQ clients and a REP worker, and a
//! pipeline stage (PULL/PUSH). Every wait is bounded; agents are killed by PID on drop.

#[path = "common/agent.rs"]
mod agent;
mod common;

use agent::{hex, port, Agent};
use zmtp::{Dealer, Pull, Push, Router};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steerable_proxy_with_capture_and_a_pyzmq_control_req() {
    use zmtp::proxy::{Counts, Proxy};
    use zmtp::{Pub, Rep};
    let front = Router::new();
    let back = Dealer::new();
    let capture = Pub::new();
    let control = Rep::new();
    let fp = port(&front.bind("tcp://127.0.0.1:0").unwrap());
    let bp = port(&back.bind("tcp://127.0.0.1:0").unwrap());
    let cap = port(&capture.bind("tcp://127.0.0.1:0").unwrap());
    let cp = port(&control.bind("tcp://127.0.0.1:0").unwrap());
    let (f, b, k, c) = (
        front.clone(),
        back.clone(),
        capture.clone(),
        control.clone(),
    );
    let task = tokio::spawn(async move { Proxy::new(&f, &b).capture(&k).control(&c).run().await });

    let mut spy = Agent::spawn("capture-sub");
    spy.ok("sock s SUB");
    spy.ok("subscribe s");
    spy.ok(&format!("connect s {cap}"));
    let mut worker = Agent::spawn("rep");
    worker.ok("sock w REP");
    worker.ok(&format!("connect w {bp}"));
    let mut client = Agent::spawn("req");
    client.ok(&format!("sock q REQ routing_id={}", hex(b"cli")));
    client.ok(&format!("connect q {fp}"));
    let mut ctl = Agent::spawn("control");
    ctl.ok("sock c REQ");
    ctl.ok(&format!("connect c {cp}"));
    std::thread::sleep(std::time::Duration::from_millis(300));

    // One request and its reply, both copied to the capture socket (frame by frame, as the
    // proxy moved them: the envelope included).
    client.expect(&format!("send q {}", hex(b"ask")), "SENT");
    assert_eq!(worker.recv("w"), hex(b"ask"));
    worker.expect(&format!("send w {}", hex(b"ans")), "SENT");
    assert_eq!(client.recv("q"), hex(b"ans"));
    assert_eq!(spy.recv("s"), format!("{} - {}", hex(b"cli"), hex(b"ask")));
    assert_eq!(spy.recv("s"), format!("{} - {}", hex(b"cli"), hex(b"ans")));

    // PAUSE (documented meaning): nothing moves until RESUME; every command is answered.
    assert_eq!(
        ctl.cmd(&format!("send c {}", hex(b"PAUSE"))),
        format!("SENT {}", hex(b"PAUSE"))
    );
    assert_eq!(ctl.recv("c"), "-");
    client.expect(&format!("send q {}", hex(b"held")), "SENT");
    worker.expect("recv w 500", "TIMEOUT");
    ctl.expect(&format!("send c {}", hex(b"RESUME")), "SENT");
    assert_eq!(ctl.recv("c"), "-");
    assert_eq!(worker.recv("w"), hex(b"held"));
    worker.expect(&format!("send w {}", hex(b"ok")), "SENT");
    assert_eq!(client.recv("q"), hex(b"ok"));

    // STATISTICS: 8 u64 in host byte order. Two requests in (3 frames each: id, delimiter,
    // body), two replies out, the same through the backend.
    ctl.expect(&format!("send c {}", hex(b"STATISTICS")), "SENT");
    let stats = ctl.recv("c");
    let values: Vec<u64> = stats
        .split(' ')
        .map(|h| {
            let b: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            u64::from_ne_bytes(b.try_into().unwrap())
        })
        .collect();
    let (req_bytes, rep_bytes) = ((3 + 3) + (3 + 4), (3 + 3) + (3 + 2));
    assert_eq!(
        values,
        vec![6, req_bytes, 6, rep_bytes, 6, rep_bytes, 6, req_bytes],
        "{stats}"
    );

    // TERMINATE: answered, and the proxy ends with the same figures.
    ctl.expect(&format!("send c {}", hex(b"TERMINATE")), "SENT");
    assert_eq!(ctl.recv("c"), "-");
    let ended = tokio::time::timeout(agent::STEP, task)
        .await
        .expect("proxy ended")
        .expect("proxy task")
        .expect("proxy result");
    assert_eq!(
        ended.frontend_received,
        Counts {
            frames: 6,
            bytes: req_bytes
        }
    );
    assert_eq!(ended.backend_received.frames, 6);
    // After TERMINATE nothing moves.
    client.expect(&format!("send q {}", hex(b"late")), "SENT");
    worker.expect("recv w 300", "TIMEOUT");
    front.close().await;
    back.close().await;
    capture.close().await;
    control.close().await;
}
