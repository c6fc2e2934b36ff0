//! omq: the `omq-tokio` crate 0.33. A `Context::new()` owns one dedicated I/O thread (its
//! libzmq-like default, like `OMQ_IO_THREADS=1` in its two-process bench peer) and the
//! application code runs on a current-thread runtime on the main thread. Default options
//! (send/recv HWM 1000, throughput profile); the latency cell sets
//! `WorkloadProfile::Latency` on both ends, as its docs advise for ROUTER/DEALER ping-pong. The
//! proxy is the crate's own `omq_tokio::proxy::proxy`. PUB/SUB: `send_hwm`/`recv_hwm` set to the
//! cell's HWM on both ends, everything else default (its own PUB/SUB bench sets `xpub_nodrop`,
//! which makes a PUB wait instead of dropping; not here, as for every other PUB). REQ/REP:
//! default options, which for these two socket types mean its latency profile.

use std::time::{Duration, Instant};

use bytes::Bytes;
use omq_tokio::options::WorkloadProfile;
use omq_tokio::{
    Context, CurveKeypair, CurvePublicKey, CurveSecretKey, Message, Options, Socket, SocketType,
};

use crate::common::*;

fn app_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sock(ctx: &Context, t: SocketType, latency: bool) -> Socket {
    let mut o = Options::default();
    if latency {
        o = o.workload_profile(WorkloadProfile::Latency);
    }
    // The curve cell: the ROUTER is the CURVE server, the DEALER its client.
    if let Some(k) = curve_keys() {
        let pair = |secret: [u8; 32], public: [u8; 32]| CurveKeypair {
            public: CurvePublicKey::from_bytes(public),
            secret: CurveSecretKey::from_bytes(secret),
        };
        o = match t {
            SocketType::Router => o.curve_server(pair(k.server_secret, k.server_public)),
            _ => o.curve_client(
                pair(k.client_secret, k.client_public),
                CurvePublicKey::from_bytes(k.server_public),
            ),
        };
    }
    ctx.socket(t, o)
}

pub fn thr_recv(size: usize, count: usize) {
    let ctx = Context::new();
    app_rt().block_on(async {
        let r = sock(&ctx, SocketType::Router, false);
        let ep = r.bind(&bind_ep()).await.expect("bind");
        ready(&[&ep.to_string()]);
        let mut clock = ThrClock::new();
        for _ in 0..count {
            let m = r.recv().await.expect("recv");
            clock.tick();
            check_size(m.get(1).map_or(0, |f| f.len()), size);
        }
        clock.finish(count, size);
    });
}

pub fn thr_send(ep: &str, size: usize, count: usize) {
    let ctx = Context::new();
    let d = app_rt().block_on(async {
        let d = sock(&ctx, SocketType::Dealer, false);
        d.connect(ep).await.expect("connect");
        let p = payload(size);
        for _ in 0..count {
            d.send(Message::single(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
        }
        d
    });
    sender_done();
    drop(d);
}

pub fn echo() {
    let ctx = Context::new();
    app_rt().block_on(async {
        let r = sock(&ctx, SocketType::Router, true);
        let ep = r.bind(&bind_ep()).await.expect("bind");
        ready(&[&ep.to_string()]);
        loop {
            let m = r.recv().await.expect("recv");
            r.send(m).await.expect("send");
        }
    });
}

pub fn lat_client(ep: &str, size: usize, warm: usize, count: usize) {
    let ctx = Context::new();
    app_rt().block_on(async {
        let d = sock(&ctx, SocketType::Dealer, true);
        d.connect(ep).await.expect("connect");
        d.wait_connected(1, Duration::from_secs(10))
            .await
            .expect("connected");
        let p = payload(size);
        let mut samples = Vec::with_capacity(count);
        for i in 0..warm + count {
            let t0 = Instant::now();
            d.send(Message::single(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
            let m = d.recv().await.expect("recv");
            let dt = ns_since(t0);
            check_size(m.get(0).map_or(0, |f| f.len()), size);
            if i >= warm {
                samples.push(dt);
            }
        }
        result(&lat_summary(samples));
    });
}

pub fn proxy() {
    let ctx = Context::new();
    app_rt().block_on(async {
        let fe = sock(&ctx, SocketType::Router, false);
        let be = sock(&ctx, SocketType::Dealer, false);
        let fep = fe.bind(BIND_ANY).await.expect("bind fe");
        let bep = be.bind(BIND_ANY).await.expect("bind be");
        ready(&[&fep.to_string(), &bep.to_string()]);
        omq_tokio::proxy::proxy(fe, be, None).await.expect("proxy");
    });
}

pub fn mem_router() {
    let ctx = Context::new();
    app_rt().block_on(async {
        let r = sock(&ctx, SocketType::Router, false);
        let ep = r.bind(BIND_ANY).await.expect("bind");
        ready(&[&ep.to_string()]);
        std::future::pending::<()>().await;
    });
}

// ---------------------------------------------------------------- PUSH/PULL (cell push)

pub fn push_recv(size: usize, count: usize) {
    let ctx = Context::new();
    app_rt().block_on(async {
        let r = sock(&ctx, SocketType::Pull, false);
        let ep = r.bind(BIND_ANY).await.expect("bind");
        ready(&[&ep.to_string()]);
        let mut clock = ThrClock::new();
        for _ in 0..count {
            let m = r.recv().await.expect("recv");
            clock.tick();
            check_size(m.get(0).map_or(0, |f| f.len()), size);
        }
        clock.finish(count, size);
    });
}

pub fn push_send(ep: &str, size: usize, count: usize) {
    let ctx = Context::new();
    let s = app_rt().block_on(async {
        let s = sock(&ctx, SocketType::Push, false);
        s.connect(ep).await.expect("connect");
        let p = payload(size);
        for _ in 0..count {
            s.send(Message::single(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
        }
        s
    });
    sender_done();
    drop(s);
}

// ---------------------------------------------------------------- inproc (cell inproc)

/// One process, one `Context::new()` (inproc names live in the context; one dedicated I/O
/// thread, as in the thr roles): the ROUTER binds [`INPROC_EP`] (`inproc://name`, as libzmq
/// spells it), the DEALER connects, and the sender is a task spawned on the current-thread
/// application runtime whose main future receives (the thr roles' runtime; omq's own
/// router_dealer bench runs its inproc cells as tasks on one thread too).
pub fn inproc_thr(size: usize, count: usize) {
    let ctx = Context::new();
    app_rt().block_on(async {
        let r = sock(&ctx, SocketType::Router, false);
        r.bind(INPROC_EP).await.expect("bind");
        let d = sock(&ctx, SocketType::Dealer, false);
        d.connect(INPROC_EP).await.expect("connect");
        let p = payload(size);
        let sender = tokio::spawn(async move {
            for _ in 0..count {
                d.send(Message::single(Bytes::copy_from_slice(&p)))
                    .await
                    .expect("send");
            }
            d
        });
        let mut clock = ThrClock::new();
        for _ in 0..count {
            let m = r.recv().await.expect("recv");
            clock.tick();
            check_size(m.get(1).map_or(0, |f| f.len()), size);
        }
        clock.finish(count, size);
        drop(sender);
    });
}

// ---------------------------------------------------------------- PUB/SUB (cell pubsub)

fn hwm_sock(ctx: &Context, t: SocketType, hwm: usize) -> Socket {
    let hwm = u32::try_from(hwm).unwrap_or(u32::MAX);
    ctx.socket(t, Options::default().send_hwm(hwm).recv_hwm(hwm))
}

pub fn publisher(size: usize, count: usize, hwm: usize, topics: usize) {
    let go = parent_signals();
    let ctx = Context::new();
    let s = app_rt().block_on(async {
        let s = hwm_sock(&ctx, SocketType::Pub, hwm);
        let ep = s.bind(BIND_ANY).await.expect("bind");
        ready(&[&ep.to_string()]);
        let mut plan = PubPlan::new(size, topics);
        let mut w = 0;
        while !signalled(&go) {
            s.send(Message::single(Bytes::copy_from_slice(plan.warm(w))))
                .await
                .expect("send");
            w += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let t0 = Instant::now();
        for _ in 0..count {
            s.send(Message::single(Bytes::copy_from_slice(plan.next_msg())))
                .await
                .expect("send");
        }
        publisher_sent(t0, &plan);
        s
    });
    publisher_done(&go);
    drop(s);
}

pub fn subscriber(ep: &str, size: usize, count: usize, hwm: usize, topic: &str) {
    let topic = sub_topic(topic);
    let ctx = Context::new();
    app_rt().block_on(async {
        let s = hwm_sock(&ctx, SocketType::Sub, hwm);
        s.subscribe(Bytes::copy_from_slice(&topic))
            .await
            .expect("subscribe");
        s.connect(ep).await.expect("connect");
        let mut c = SubCounter::new(size, count, &topic);
        loop {
            let m = s.recv().await.expect("recv");
            if c.on_msg(m.get(0).unwrap_or(&[])) {
                return c.finish();
            }
        }
    });
}

// ---------------------------------------------------------------- REQ/REP (cell reqrep)

/// REP: binds, echoes every request. Default options: omq gives REQ and REP its latency
/// profile by default (`Options::workload_profile` = `None`), and its own REQ/REP latency bench
/// uses `Options::default()`.
pub fn rep() {
    let ctx = Context::new();
    app_rt().block_on(async {
        let r = ctx.socket(SocketType::Rep, Options::default());
        let ep = r.bind(&bind_ep()).await.expect("bind");
        ready(&[&ep.to_string()]);
        loop {
            let m = r.recv().await.expect("recv");
            r.send(m).await.expect("send");
        }
    });
}

/// REQ: connects, `warm` + `count` round trips of one request each, every reply checked.
pub fn req(ep: &str, size: usize, warm: usize, count: usize) {
    let ctx = Context::new();
    app_rt().block_on(async {
        let d = ctx.socket(SocketType::Req, Options::default());
        d.connect(ep).await.expect("connect");
        d.wait_connected(1, Duration::from_secs(10))
            .await
            .expect("connected");
        req_rounds(
            size,
            warm,
            count,
            async |p| {
                d.send(Message::single(Bytes::copy_from_slice(p)))
                    .await
                    .expect("send");
                d.recv().await.expect("recv")
            },
            |m, p| check_one_frame_reply(m.len(), m.get(0).unwrap_or(&[]), p),
        )
        .await;
    });
}
