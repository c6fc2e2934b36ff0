//! Sockets as `futures` Streams and Sinks (issue 16): `select!` over two sockets, `forward` and
//! `send_all` from one socket to another, `split`, PUB into SUB with a filter, back-pressure
//! through the Sink's `poll_ready`, clones, REQ/REP, the end of a stream, on a current-thread
//! runtime, a multi-thread one, runtimes built by hand with only `enable_io` + `enable_time`,
//! and polled from an executor that is not tokio's; one with real libzmq on both ends.
//!
//! Every wait is bounded by `tokio::time::timeout` (or a deadline), so that a lost wake-up
//! fails a test instead of hanging it.
#![cfg(feature = "tokio")]

#[path = "common/agent.rs"]
mod agent;
mod common;
#[path = "common/coop.rs"]
mod coop;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::time::timeout;
use zmtp::{
    Dealer, Error, Message, Pair, Pub, Pull, Push, Rep, Req, Router, SocketOptions, Sub, XPub, XSub,
};

/// Bound for one scenario.
const STEP: Duration = Duration::from_secs(10);

/// An inproc endpoint of its own (names are process-wide; tests run in parallel).
fn inproc(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "inproc://stream-sink-{what}-{}",
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `f`, bounded by `tokio::time::timeout`; panics with `what` unless it completed in time. A
/// result that came only at the deadline is late too: `timeout` polls its future once more
/// when the time is up, which would hide a lost wake-up.
async fn within<F: Future>(what: &str, f: F) -> F::Output {
    let start = tokio::time::Instant::now();
    match timeout(STEP, f).await {
        Ok(out) if start.elapsed() < STEP => out,
        _ => panic!("{what}: not done within {STEP:?} (a lost wake-up?)"),
    }
}

fn numbered(prefix: &str, n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message::from(format!("{prefix}{i}")))
        .collect()
}

fn text(m: &Message) -> String {
    m.frames()
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join("|")
}

// What is a Stream and what is a Sink, checked when compiling (a PUSH that is a Stream is a
// compile error: see the `compile_fail` example in `zmtp::socket::stream_sink`).
fn is_stream<S: Stream<Item = Result<Message, Error>>>() {}
fn is_sink<S: Sink<Message, Error = Error>>() {}

#[test]
fn every_receiving_type_is_a_stream_and_every_sending_type_a_sink() {
    is_stream::<Dealer>();
    is_stream::<Router>();
    is_stream::<Req>();
    is_stream::<Rep>();
    is_stream::<Sub>();
    is_stream::<XPub>();
    is_stream::<XSub>();
    is_stream::<Pull>();
    is_stream::<Pair>();
    is_sink::<Dealer>();
    is_sink::<Router>();
    is_sink::<Req>();
    is_sink::<Rep>();
    is_sink::<Pub>();
    is_sink::<XPub>();
    is_sink::<XSub>();
    is_sink::<Push>();
    is_sink::<Pair>();
}

/// `tokio::select!` over two sockets' streams: every message of both arrives, each on the
/// branch of its socket.
async fn select_over_two_sockets() {
    let mut a = Pull::new();
    let ep_a = a.bind("tcp://127.0.0.1:0").expect("bind a");
    let mut b = Pull::new();
    let ep_b = inproc("select");
    b.bind(&ep_b).expect("bind b");
    let push_a = Push::new();
    push_a.connect(&ep_a.to_string()).expect("connect a");
    let push_b = Push::new();
    push_b.connect(&ep_b).expect("connect b");
    let n = 200;
    let sender = tokio::spawn(async move {
        // Interleaved, so that both branches are ready at times, and at times neither.
        for i in 0..n {
            push_a.send(format!("a{i}")).await?;
            push_b.send(format!("b{i}")).await?;
            if i % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Ok::<_, Error>((push_a, push_b))
    });
    let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
    while from_a.len() < n || from_b.len() < n {
        tokio::select! {
            m = a.next() => from_a.push(text(&m.expect("a open").expect("a item"))),
            m = b.next() => from_b.push(text(&m.expect("b open").expect("b item"))),
        }
    }
    assert_eq!(from_a, (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>());
    assert_eq!(from_b, (0..n).map(|i| format!("b{i}")).collect::<Vec<_>>());
    let (push_a, push_b) = sender.await.expect("sender task").expect("sends");
    for s in [push_a, push_b] {
        s.close().await;
    }
    a.close().await;
    b.close().await;
}

/// `SinkExt::send_all` into a PUSH, through a PULL whose stream is `forward`ed into a second
/// PUSH (the second hop's PUSH is at a small SNDHWM, so its sink waits for room), to the last
/// PULL: all in order. Closing the middle PULL ends its stream, and with it the forward.
async fn forward_and_send_all_through_a_relay() {
    let mut first = Push::new();
    let relay_in = Pull::new();
    let ep_in = relay_in.bind("tcp://127.0.0.1:0").expect("bind relay in");
    first.connect(&ep_in.to_string()).expect("connect first");
    let mut opts = SocketOptions::default();
    opts.sndhwm = 4;
    let relay_out = Push::with_options(opts).expect("options");
    let ep_out = inproc("relay");
    relay_out.connect(&ep_out).expect("connect relay out");
    let mut last = Pull::new();
    last.bind(&ep_out).expect("bind last");

    let closer = relay_in.clone();
    let relay = tokio::spawn(relay_in.forward(relay_out));
    let n = 500;
    let mut items = futures_util::stream::iter(numbered("m", n).into_iter().map(Ok));
    first.send_all(&mut items).await.expect("send_all");
    let got: Vec<String> = (&mut last)
        .take(n)
        .map(|m| text(&m.expect("item")))
        .collect()
        .await;
    assert_eq!(got, (0..n).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert!(
        !relay.is_finished(),
        "the relay stopped while its input was open"
    );
    closer.close().await;
    within("forward did not end when its stream's socket closed", relay)
        .await
        .expect("relay task")
        .expect("forward");
    first.close().await;
    last.close().await;
}

/// `StreamExt::split` of a ROUTER: its stream forwarded into its own sink is an echo server
/// (a ROUTER's messages start with the routing id it routes back by). A DEALER split the
/// same way sends from one task and receives in another.
async fn split_router_echo() {
    let router = Router::new();
    let ep = router.bind("tcp://127.0.0.1:0").expect("bind");
    let (router_tx, router_rx) = router.split();
    let echo = tokio::spawn(router_rx.forward(router_tx));
    let dealer = Dealer::new();
    dealer.connect(&ep.to_string()).expect("connect");
    let (mut tx, rx) = dealer.split();
    let n = 300;
    let sender = tokio::spawn(async move {
        let mut items =
            futures_util::stream::iter(numbered("e", n).into_iter().map(Ok::<_, Error>));
        tx.send_all(&mut items).await.map(|()| tx)
    });
    let got: Vec<String> = rx.take(n).map(|m| text(&m.expect("item"))).collect().await;
    assert_eq!(got, (0..n).map(|i| format!("e{i}")).collect::<Vec<_>>());
    let tx = sender.await.expect("sender task").expect("send_all");
    drop(tx);
    // The echo's halves are the ROUTER's last handles: aborting the task closes it.
    echo.abort();
}

/// A PUB's sink into a SUB's stream, with a filter: only the subscribed topic arrives.
async fn pub_sink_into_filtered_sub_stream() {
    let mut publisher = Pub::new();
    let ep = publisher.bind("tcp://127.0.0.1:0").expect("bind");
    let mut sub = Sub::new();
    sub.subscribe("keep");
    sub.connect(&ep.to_string()).expect("connect");
    // PUB drops what it sends before the subscription reached it: probe until one arrives.
    let deadline = Instant::now() + STEP;
    loop {
        assert!(Instant::now() < deadline, "the subscription never arrived");
        publisher
            .feed(Message::from(["keep", "probe"]))
            .await
            .expect("feed probe");
        SinkExt::<Message>::flush(&mut publisher)
            .await
            .expect("flush");
        if let Ok(Some(m)) = timeout(Duration::from_millis(20), sub.next()).await {
            assert_eq!(m.expect("probe"), Message::from(["keep", "probe"]));
            break;
        }
    }
    // Drain the other probes in flight, then the real run: mixed topics, ended by a marker.
    while let Ok(Some(m)) = timeout(Duration::from_millis(100), sub.next()).await {
        assert_eq!(m.expect("probe"), Message::from(["keep", "probe"]));
    }
    let mut run = Vec::new();
    for i in 0..100 {
        run.push(Message::from(["drop".to_string(), format!("{i}")]));
        run.push(Message::from(["keep".to_string(), format!("{i}")]));
    }
    run.push(Message::from(["keep", "end"]));
    let mut items = futures_util::stream::iter(run.into_iter().map(Ok));
    publisher.send_all(&mut items).await.expect("send_all");
    let mut got = Vec::new();
    loop {
        let m = sub.next().await.expect("open").expect("item");
        if m == Message::from(["keep", "end"]) {
            break;
        }
        // A probe that was still in flight (under load) is not part of the run.
        if m != Message::from(["keep", "probe"]) {
            got.push(text(&m));
        }
    }
    assert_eq!(
        got,
        (0..100).map(|i| format!("keep|{i}")).collect::<Vec<_>>()
    );
    publisher.close().await;
    sub.close().await;
}

/// The sink waits for room under SNDHWM: a PUSH connected to a name nobody has bound yet
/// takes SNDHWM messages, then `send_all` waits (in `poll_ready`) until the PULL binds and
/// reads; the stream then gets all of them, in order.
async fn sink_waits_for_room() {
    let mut opts = SocketOptions::default();
    opts.sndhwm = 3;
    let mut push = Push::with_options(opts).expect("options");
    let ep = inproc("room");
    push.connect(&ep).expect("connect");
    let n = 40;
    let sending = tokio::spawn(async move {
        let mut items = futures_util::stream::iter(numbered("r", n).into_iter().map(Ok));
        push.send_all(&mut items).await.map(|()| push)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!sending.is_finished(), "send_all did not wait for room");
    let mut opts = SocketOptions::default();
    opts.rcvhwm = 2;
    let mut pull = Pull::with_options(opts).expect("options");
    pull.bind(&ep).expect("bind");
    let got: Vec<String> = (&mut pull)
        .take(n)
        .map(|m| text(&m.expect("item")))
        .collect()
        .await;
    assert_eq!(got, (0..n).map(|i| format!("r{i}")).collect::<Vec<_>>());
    let push = sending.await.expect("task").expect("send_all");
    push.close().await;
    pull.close().await;
}

/// Every pattern above, one after the other, each bounded.
async fn all_patterns() {
    within(
        "select! over two sockets timed out",
        select_over_two_sockets(),
    )
    .await;
    within(
        "forward / send_all timed out",
        forward_and_send_all_through_a_relay(),
    )
    .await;
    within("split echo timed out", split_router_echo()).await;
    within(
        "PUB into SUB timed out",
        pub_sink_into_filtered_sub_stream(),
    )
    .await;
    within("sink back-pressure timed out", sink_waits_for_room()).await;
}

#[tokio::test]
async fn patterns_on_a_current_thread_runtime() {
    all_patterns().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_on_a_multi_thread_runtime() {
    all_patterns().await;
}

#[test]
fn patterns_on_a_hand_built_current_thread_runtime_with_io_and_time_only() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(all_patterns());
}

#[test]
fn patterns_on_a_hand_built_multi_thread_runtime_with_io_and_time_only() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(all_patterns());
}

/// A minimal executor that is not tokio's: polls `f` on this thread, parks between polls.
fn block_on<F: Future>(f: F, limit: Duration) -> Option<F::Output> {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    let deadline = Instant::now() + limit;
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return Some(out);
        }
        std::thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
        // Not polled again once the time is up: that would hide a lost wake-up.
        if Instant::now() >= deadline {
            return None;
        }
    }
}

/// The connections run on a tokio runtime; the stream and the sink are polled from a plain
/// thread by another executor, and their wake-ups (from tokio's threads) reach it.
#[test]
fn polled_from_a_foreign_executor() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (mut pull, push) = rt.block_on(async {
        let pull = Pull::new();
        let ep = pull.bind("tcp://127.0.0.1:0").expect("bind");
        let mut opts = SocketOptions::default();
        opts.sndhwm = 2;
        let push = Push::with_options(opts).expect("options");
        push.connect(&ep.to_string()).expect("connect");
        (pull, push)
    });
    let n = 50;
    let sender = std::thread::spawn(move || {
        let mut push = push;
        let mut items = futures_util::stream::iter(numbered("f", n).into_iter().map(Ok));
        let r = block_on(push.send_all(&mut items), STEP);
        (r, push)
    });
    let got = block_on(
        (&mut pull)
            .take(n)
            .map(|m| text(&m.expect("item")))
            .collect::<Vec<_>>(),
        STEP,
    )
    .expect("the stream was not woken in time");
    assert_eq!(got, (0..n).map(|i| format!("f{i}")).collect::<Vec<_>>());
    let (sent, push) = sender.join().expect("sender thread");
    sent.expect("the sink was not woken in time")
        .expect("send_all");
    rt.block_on(async {
        push.close().await;
        pull.close().await;
    });
}

/// Clones of one PULL, each a stream in its own task: every message arrives exactly once,
/// and no waiting clone misses its wake-up (the messages would stop arriving, and the test
/// would fail at its deadline); closing the socket wakes and ends every stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_are_streams_of_the_same_socket() {
    let pull = Pull::new();
    let ep = pull.bind("tcp://127.0.0.1:0").expect("bind");
    let push = Push::new();
    push.connect(&ep.to_string()).expect("connect");
    let n = 400;
    let taken = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let mut s = pull.clone();
            let taken = taken.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(m) = s.next().await {
                    taken.fetch_add(1, Ordering::SeqCst);
                    got.push(text(&m.expect("item")));
                    if got.len() > n {
                        break;
                    }
                }
                got
            })
        })
        .collect();
    for i in 0..n {
        push.send(format!("c{i}")).await.expect("send");
        if i % 100 == 0 {
            // Let the readers drain the socket and wait again.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let deadline = Instant::now() + STEP;
    while taken.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} messages taken",
            taken.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    pull.close().await;
    let mut all = Vec::new();
    for r in readers {
        all.extend(
            within("a stream did not end at close", r)
                .await
                .expect("task"),
        );
    }
    all.sort_by_key(|s| s[1..].parse::<usize>().expect("number"));
    assert_eq!(all, (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>());
    push.close().await;
}

/// Closing the socket (from another handle) ends a stream that waits: its task is woken, gets
/// the messages still queued, then `None`.
#[tokio::test]
async fn a_waiting_stream_ends_when_the_socket_closes() {
    let mut pair = Pair::new();
    let ep = inproc("end");
    pair.bind(&ep).expect("bind");
    let other = pair.clone();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        // Bounded: a stream that never ended would fail the test, not spin forever.
        while let Some(m) = pair.next().await {
            got.push(m);
            if got.len() > 10 {
                break;
            }
        }
        got
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!reader.is_finished());
    other.close().await;
    let got = within("the stream did not end", reader)
        .await
        .expect("task");
    assert!(got.is_empty(), "{got:?}");
}

/// REQ/REP keep their alternation: a REP stream polled again before its reply yields a state
/// error (an item, not the end); the REP sink sends the reply; a REQ sink refuses a second
/// request before the reply.
#[tokio::test]
async fn req_rep_alternate_through_stream_and_sink() {
    let mut rep = Rep::new();
    let ep = inproc("reqrep");
    rep.bind(&ep).expect("bind");
    let mut req = Req::new();
    req.connect(&ep).expect("connect");
    // REQ's stream before a request, REP's sink before one: out of turn.
    assert!(matches!(req.next().await, Some(Err(Error::State(_)))));
    assert!(matches!(
        SinkExt::send(&mut rep, Message::from("early")).await,
        Err(Error::State(_))
    ));
    for i in 0..3 {
        SinkExt::send(&mut req, Message::from(format!("q{i}")))
            .await
            .expect("request");
        assert!(matches!(
            SinkExt::send(&mut req, Message::from("again")).await,
            Err(Error::State(_))
        ));
        let q = within("request in time", rep.next())
            .await
            .expect("open")
            .expect("request");
        assert_eq!(q, Message::from(format!("q{i}")));
        assert!(matches!(rep.next().await, Some(Err(Error::State(_)))));
        SinkExt::send(&mut rep, Message::from(format!("a{i}")))
            .await
            .expect("reply");
        let a = within("reply in time", req.next())
            .await
            .expect("open")
            .expect("reply");
        assert_eq!(a, Message::from(format!("a{i}")));
    }
    req.close().await;
    rep.close().await;
}

/// The Sink's contract, poll by poll: `start_send` queues while there is room and holds one
/// message back when there is none; another `start_send` then hands its message back
/// (`Error::Full`); `poll_flush` is pending until the held message is queued, and is woken
/// when room comes.
#[tokio::test]
async fn start_send_holds_one_message_and_flush_waits_for_room() {
    let mut opts = SocketOptions::default();
    opts.sndhwm = 1;
    let mut push = Push::with_options(opts).expect("options");
    let ep = inproc("contract");
    push.connect(&ep).expect("connect");
    let mut sink = Pin::new(&mut push);
    std::future::poll_fn(|cx| sink.as_mut().poll_ready(cx))
        .await
        .expect("ready");
    sink.as_mut()
        .start_send(Message::from("one"))
        .expect("queued");
    sink.as_mut()
        .start_send(Message::from("two"))
        .expect("held back");
    match sink.as_mut().start_send(Message::from("three")) {
        Err(Error::Full(m)) => assert_eq!(m, Message::from("three")),
        other => panic!("expected Full, got {other:?}"),
    }
    assert!(matches!(
        sink.as_mut().start_send(Message::new()),
        Err(Error::Full(_))
    ));
    let woken = Arc::new(Flag::default());
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(sink.as_mut().poll_flush(&mut cx).is_pending());
    assert!(sink.as_mut().poll_ready(&mut cx).is_pending());
    assert!(!woken.0.load(Ordering::SeqCst));

    let mut pull = Pull::new();
    pull.bind(&ep).expect("bind");
    assert_eq!(
        within("one", pull.next())
            .await
            .expect("open")
            .expect("one"),
        Message::from("one")
    );
    let deadline = Instant::now() + STEP;
    while !woken.0.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the flush was never woken");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    within(
        "flush in time",
        std::future::poll_fn(|cx| sink.as_mut().poll_flush(cx)),
    )
    .await
    .expect("flush");
    assert_eq!(
        within("two", pull.next())
            .await
            .expect("open")
            .expect("two"),
        Message::from("two")
    );
    // poll_close flushes and leaves the socket open.
    std::future::poll_fn(|cx| sink.as_mut().poll_close(cx))
        .await
        .expect("close");
    push.send("after close").await.expect("still open");
    assert_eq!(
        within("3", pull.next()).await.expect("open").expect("3"),
        Message::from("after close")
    );
    // Empty messages are refused, as by `send`.
    assert!(matches!(
        SinkExt::send(&mut push, Message::new()).await,
        Err(Error::EmptyMessage)
    ));
    push.close().await;
    pull.close().await;
}

#[derive(Default)]
struct Flag(std::sync::atomic::AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Real libzmq on both ends: a pyzmq PUSH feeds our PULL, whose stream is forwarded into our
/// PUSH's sink, which feeds a pyzmq PULL: every message arrives, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_between_pyzmq_peers() {
    let relay_in = Pull::new();
    let ep_in = relay_in.bind("tcp://127.0.0.1:0").expect("bind in");
    let relay_out = Push::new();
    let ep_out = relay_out.bind("tcp://127.0.0.1:0").expect("bind out");
    let mut mon_in = relay_in.monitor();
    let mut mon_out = relay_out.monitor();
    let mut peer = agent::Agent::spawn("stream-sink");
    peer.ok("sock src PUSH");
    peer.ok("sock dst PULL");
    peer.ok(&format!("connect src {}", agent::port(&ep_in)));
    peer.ok(&format!("connect dst {}", agent::port(&ep_out)));
    agent::handshakes(&mut mon_in, 1).await;
    agent::handshakes(&mut mon_out, 1).await;
    let closer = relay_in.clone();
    let relay = tokio::spawn(relay_in.forward(relay_out));
    let n = 500;
    // The agent's commands block this thread; the relay runs on the runtime's workers.
    assert_eq!(peer.expect(&format!("seq src {n}"), "SENT"), n.to_string());
    let got = peer.count(n, 10_000, &["dst"]);
    assert_eq!(got["dst"], (0..n as u64).collect::<Vec<_>>());
    closer.close().await;
    within("forward ended", relay)
        .await
        .expect("task")
        .expect("forward");
    peer.ok("close src");
    peer.ok("close dst");
}

/// inproc needs neither of tokio's drivers: a runtime built with no `enable_*` at all carries
/// messages through a Sink and a Stream, and closes. (TCP and ipc need `enable_io` and
/// `enable_time`: without timers their connection tasks panic.)
#[test]
fn inproc_on_a_runtime_without_io_or_time() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let got = block_on_bounded(&rt, async {
        let mut pull = Pull::new();
        let ep = inproc("bare");
        pull.bind(&ep).expect("bind");
        let mut push = Push::new();
        push.connect(&ep).expect("connect");
        let mut items = futures_util::stream::iter(numbered("i", 20).into_iter().map(Ok));
        push.send_all(&mut items).await.expect("send_all");
        let got: Vec<String> = (&mut pull)
            .take(20)
            .map(|m| text(&m.expect("item")))
            .collect()
            .await;
        push.close().await;
        pull.close().await;
        got
    });
    assert_eq!(got, (0..20).map(|i| format!("i{i}")).collect::<Vec<_>>());
}

/// Runs `f` on `rt`, bounded without tokio's timer (the runtime may have none): a watchdog
/// thread fails the test if it takes longer than [`STEP`].
fn block_on_bounded<F: Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    let (done, watch) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if watch.recv_timeout(STEP).is_err() {
            eprintln!("not done within {STEP:?}");
            std::process::abort();
        }
    });
    let out = rt.block_on(f);
    let _ = done.send(());
    watchdog.join().expect("watchdog");
    out
}

/// As `Socket::send`, a sink of large messages yields about once per MiB even while the pipe
/// has room (the units a message takes for its size are paid by the next `poll_ready`): on a
/// current-thread runtime the receiver then runs while the sink is fed (`feed`, as `send_all`
/// does). 16 B messages are not charged, and all are queued before the receiver runs.
#[tokio::test(flavor = "current_thread")]
async fn a_sink_of_large_messages_lets_the_receiver_run() {
    // `feed` (the sink's `poll_ready` and `start_send`), and the count taken when the last one
    // is queued, before any flush.
    let ep = || inproc("coop-bytes");
    coop::assert_yields_by_size(ep, "while the sink was fed", async |push, m| {
        push.feed(m).await.unwrap();
    })
    .await;
}
