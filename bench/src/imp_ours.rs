//! Ours: the `zmtp` crate (path ../zmtp), default options (SNDHWM/RCVHWM 1000 as in libzmq).
//!
//! Runtime flavour, as we recommend it: a current-thread runtime where per-message overhead
//! dominates (latency roles, and throughput with messages under 16 KiB): the connection task
//! and the application share one thread, so a message costs no cross-thread wake-up. A 2-worker
//! multi-thread runtime where copying dominates (throughput with 16 KiB and larger messages,
//! where receiving and consuming in parallel pays) and for the broker and memory roles.
//! Measured on this machine: current-thread 16 B 6.2M vs 5.0M msgs/s, 4 KiB 280-570k vs
//! 230-320k; 64 KiB 15k vs 24k.
//!
//! PUSH/PULL (cell push) as DEALER/ROUTER in cell thr. PUB/SUB (cell pubsub): SNDHWM/RCVHWM
//! set to the cell's HWM on both ends; the publisher on the 2-worker runtime, the subscribers
//! on a current-thread runtime (as the 16 B throughput receiver). A current-thread publisher
//! works since PUB's sends yield to tokio's coop budget (before, a tight loop let no connection
//! task run); measured, it spends less CPU but gives a lower 4-topic rate (BENCHMARKS.md).
//!
//! REQ/REP (cell reqrep): default options, both ends on a current-thread runtime as the latency
//! roles.
//!
//! inproc (cell inproc): both sockets in one process on the thr roles' runtime for the size,
//! the sender a spawned task (see [`inproc_thr`]).

use std::time::Instant;

use bytes::Bytes;
use zmtp::{Dealer, Message, Pub, Pull, Push, Rep, Req, Router, SocketOptions, Sub};

use crate::common::*;

/// A ROUTER with default options; the CURVE server in the curve cell.
fn router() -> Router {
    let mut o = SocketOptions::default();
    if let Some(k) = curve_keys() {
        o.curve_server = true;
        o.curve_secretkey = Some(k.server_secret);
    }
    Router::with_options(o).expect("router")
}

/// A DEALER with default options; the CURVE client in the curve cell.
fn dealer() -> Dealer {
    let mut o = SocketOptions::default();
    if let Some(k) = curve_keys() {
        o.curve_serverkey = Some(k.server_public);
        o.curve_secretkey = Some(k.client_secret);
    }
    Dealer::with_options(o).expect("dealer")
}

pub fn thr_recv(size: usize, count: usize) {
    runtime_for(size).block_on(async {
        let r = router();
        let ep = r.bind(&bind_ep()).expect("bind");
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
    thr_send_with(ep, size, count, false);
}

/// `ours-shared` (opt-in, thr cell only): [`thr_send`] with one payload whose `Bytes` every
/// message shares (a reference count, no copy), as raw TCP writes one buffer again and again.
/// It shows what the per-message copy of the other roles costs at large sizes.
pub fn thr_send_shared(ep: &str, size: usize, count: usize) {
    thr_send_with(ep, size, count, true);
}

fn thr_send_with(ep: &str, size: usize, count: usize, shared: bool) {
    let rt = runtime_for(size);
    let d = rt.block_on(async {
        let d = dealer();
        d.connect(ep).expect("connect");
        let p = Bytes::from(payload(size));
        for _ in 0..count {
            let body = if shared {
                p.clone()
            } else {
                Bytes::copy_from_slice(&p)
            };
            d.send(Message::from(body)).await.expect("send");
        }
        d
    });
    // Flush what is still queued (LINGER; libzmq's zmq_ctx_term does the same for the libzmq
    // sender) before `sender_done` blocks this thread: on a current-thread runtime nothing
    // runs while it waits.
    rt.block_on(d.close());
    sender_done();
}

/// Messages per batch call in the `ours-batch` roles.
const BATCH: usize = 256;

/// As [`thr_recv`], with `Router::recv_many`.
pub fn thr_recv_batch(size: usize, count: usize) {
    runtime_for(size).block_on(async {
        let r = router();
        let ep = r.bind(&bind_ep()).expect("bind");
        ready(&[&ep.to_string()]);
        recv_batches(&r, count, size, 1).await;
    });
}

/// As [`thr_send`], with `Dealer::send_many` (each message still a fresh copy).
pub fn thr_send_batch(ep: &str, size: usize, count: usize) {
    let rt = runtime_for(size);
    let d = rt.block_on(async {
        let d = dealer();
        d.connect(ep).expect("connect");
        let p = payload(size);
        let mut batch = Vec::with_capacity(BATCH);
        let mut sent = 0;
        while sent < count {
            let n = BATCH.min(count - sent);
            batch.extend((0..n).map(|_| Message::from(Bytes::copy_from_slice(&p))));
            d.send_many(&mut batch).await.expect("send");
            sent += n;
        }
        d
    });
    rt.block_on(d.close());
    sender_done();
}

pub fn echo() {
    ct_runtime().block_on(async {
        let r = router();
        let ep = r.bind(&bind_ep()).expect("bind");
        ready(&[&ep.to_string()]);
        loop {
            let m = r.recv().await.expect("recv");
            // `Routed` ignored on purpose: a reply to a client that left is dropped, as by
            // libzmq's ROUTER (the client, still there, always gets its reply).
            let _ = r.send(m).await.expect("send");
        }
    });
}

pub fn lat_client(ep: &str, size: usize, warm: usize, count: usize) {
    ct_runtime().block_on(async {
        let d = dealer();
        d.connect(ep).expect("connect");
        let p = payload(size);
        let mut samples = Vec::with_capacity(count);
        for i in 0..warm + count {
            let t0 = Instant::now();
            d.send(Message::from(Bytes::copy_from_slice(&p)))
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

/// ROUTER frontend / DEALER backend, one task per direction.
pub fn proxy() {
    mt_runtime().block_on(async {
        let fe = router();
        let be = dealer();
        let fep = fe.bind(BIND_ANY).expect("bind fe");
        let bep = be.bind(BIND_ANY).expect("bind be");
        ready(&[&fep.to_string(), &bep.to_string()]);
        let (fe2, be2) = (fe.clone(), be.clone());
        let up = tokio::spawn(async move {
            loop {
                let m = fe2.recv().await.expect("fe recv");
                be2.send(m).await.expect("be send");
            }
        });
        let down = tokio::spawn(async move {
            loop {
                let m = be.recv().await.expect("be recv");
                // As zmq_proxy: a reply to a client that left is dropped.
                let _ = fe.send(m).await.expect("fe send");
            }
        });
        let _ = tokio::join!(up, down);
    });
}

pub fn mem_router() {
    mt_runtime().block_on(async {
        let r = router();
        let ep = r.bind(BIND_ANY).expect("bind");
        ready(&[&ep.to_string()]);
        std::future::pending::<()>().await;
    });
}

// ---------------------------------------------------------------- PUSH/PULL (cell push)

pub fn push_recv(size: usize, count: usize) {
    runtime_for(size).block_on(async {
        let r = Pull::with_options(SocketOptions::default()).expect("pull");
        let ep = r.bind(BIND_ANY).expect("bind");
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
    let rt = runtime_for(size);
    let s = rt.block_on(async {
        let s = Push::with_options(SocketOptions::default()).expect("push");
        s.connect(ep).expect("connect");
        let p = payload(size);
        for _ in 0..count {
            s.send(Message::from(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
        }
        s
    });
    // As thr_send: flush before blocking this thread.
    rt.block_on(s.close());
    sender_done();
}

/// As [`push_recv`], with `Pull::recv_many`.
pub fn push_recv_batch(size: usize, count: usize) {
    runtime_for(size).block_on(async {
        let r = Pull::with_options(SocketOptions::default()).expect("pull");
        let ep = r.bind(BIND_ANY).expect("bind");
        ready(&[&ep.to_string()]);
        recv_batches(&r, count, size, 0).await;
    });
}

/// As [`push_send`], with `Push::send_many` (each message still a fresh copy).
pub fn push_send_batch(ep: &str, size: usize, count: usize) {
    let rt = runtime_for(size);
    let s = rt.block_on(async {
        let s = Push::with_options(SocketOptions::default()).expect("push");
        s.connect(ep).expect("connect");
        let p = payload(size);
        let mut batch = Vec::with_capacity(BATCH);
        let mut sent = 0;
        while sent < count {
            let n = BATCH.min(count - sent);
            batch.extend((0..n).map(|_| Message::from(Bytes::copy_from_slice(&p))));
            s.send_many(&mut batch).await.expect("send");
            sent += n;
        }
        s
    });
    rt.block_on(s.close());
    sender_done();
}

// ---------------------------------------------------------------- PUB/SUB (cell pubsub)

fn hwm_options(hwm: usize) -> SocketOptions {
    let mut o = SocketOptions::default();
    o.sndhwm = hwm;
    o.rcvhwm = hwm;
    o
}

/// PUB: binds, publishes warm-up messages (see [`PubPlan`]) every millisecond until the parent
/// says go, then `count` messages of `size` bytes, cycling over `topics` topics if not 0 (one
/// per `send`, or `BATCH` per `send_many` with `batch`).
fn publish(size: usize, count: usize, hwm: usize, topics: usize, batch: bool) {
    let rt = mt_runtime();
    let go = parent_signals();
    let s = rt.block_on(async {
        let s = Pub::with_options(hwm_options(hwm)).expect("pub");
        let ep = s.bind(BIND_ANY).expect("bind");
        ready(&[&ep.to_string()]);
        let mut plan = PubPlan::new(size, topics);
        let mut w = 0;
        while !signalled(&go) {
            s.send(Message::from(Bytes::copy_from_slice(plan.warm(w))))
                .await
                .expect("send");
            w += 1;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let t0 = Instant::now();
        if batch {
            let mut b = Vec::with_capacity(BATCH);
            let mut sent = 0;
            while sent < count {
                let n = BATCH.min(count - sent);
                b.extend((0..n).map(|_| Message::from(Bytes::copy_from_slice(plan.next_msg()))));
                s.send_many(&mut b).await.expect("send");
                sent += n;
            }
        } else {
            for _ in 0..count {
                s.send(Message::from(Bytes::copy_from_slice(plan.next_msg())))
                    .await
                    .expect("send");
            }
        }
        publisher_sent(t0, &plan);
        s
    });
    rt.block_on(s.close());
    publisher_done(&go);
}

/// SUB: connects, subscribes to `topic` (see [`sub_topic`]), counts (see [`SubCounter`]); one
/// message per `recv`, or up to `BATCH` per `recv_many` with `batch`.
fn subscribe(ep: &str, size: usize, count: usize, hwm: usize, topic: &str, batch: bool) {
    let topic = sub_topic(topic);
    ct_runtime().block_on(async {
        let s = Sub::with_options(hwm_options(hwm)).expect("sub");
        s.subscribe(Bytes::copy_from_slice(&topic));
        s.connect(ep).expect("connect");
        let mut c = SubCounter::new(size, count, &topic);
        if batch {
            let mut buf = Vec::with_capacity(BATCH);
            loop {
                s.recv_many(&mut buf, BATCH).await.expect("recv");
                for m in buf.drain(..) {
                    if c.on_msg(m.get(0).map_or(&[][..], |f| &f[..])) {
                        return c.finish();
                    }
                }
            }
        }
        loop {
            let m = s.recv().await.expect("recv");
            if c.on_msg(m.get(0).map_or(&[][..], |f| &f[..])) {
                return c.finish();
            }
        }
    });
}

pub fn publisher(size: usize, count: usize, hwm: usize, topics: usize) {
    publish(size, count, hwm, topics, false);
}

/// `ours-batch`: `Pub::send_many`.
pub fn publisher_batch(size: usize, count: usize, hwm: usize, topics: usize) {
    publish(size, count, hwm, topics, true);
}

pub fn subscriber(ep: &str, size: usize, count: usize, hwm: usize, topic: &str) {
    subscribe(ep, size, count, hwm, topic, false);
}

/// `ours-batch`: `Sub::recv_many`.
pub fn subscriber_batch(ep: &str, size: usize, count: usize, hwm: usize, topic: &str) {
    subscribe(ep, size, count, hwm, topic, true);
}

// ---------------------------------------------------------------- REQ/REP (cell reqrep)

/// REP: binds, echoes every request (on the lat roles' current-thread runtime).
pub fn rep() {
    ct_runtime().block_on(async {
        let r = Rep::with_options(SocketOptions::default()).expect("rep");
        let ep = r.bind(&bind_ep()).expect("bind");
        ready(&[&ep.to_string()]);
        loop {
            let m = r.recv().await.expect("recv");
            r.send(m).await.expect("send");
        }
    });
}

/// REQ: connects, `warm` + `count` round trips of one request each, every reply checked.
pub fn req(ep: &str, size: usize, warm: usize, count: usize) {
    ct_runtime().block_on(async {
        let d = Req::with_options(SocketOptions::default()).expect("req");
        d.connect(ep).expect("connect");
        req_rounds(
            size,
            warm,
            count,
            async |p| {
                d.send(Message::from(Bytes::copy_from_slice(p)))
                    .await
                    .expect("send");
                d.recv().await.expect("recv")
            },
            |m, p| check_one_frame_reply(m.len(), m.get(0).map_or(&[][..], |f| &f[..]), p),
        )
        .await;
    });
}

// ---------------------------------------------------------------- inproc (cell inproc)

/// One process: the ROUTER binds [`INPROC_EP`], the DEALER connects to it, and the sender is a
/// task spawned on the same runtime as the receiving loop (the thr roles' runtime for `size`:
/// current-thread under 16 KiB, so sender, receiver and the inproc relay task share one
/// thread; 2 workers from 16 KiB up, the receiver then on the thread calling `block_on`).
/// The receiver's clock and report are the thr receiver's; `cpu_s` is the whole process's.
pub fn inproc_thr(size: usize, count: usize) {
    runtime_for(size).block_on(async {
        let r = router();
        r.bind(INPROC_EP).expect("bind");
        let d = dealer();
        d.connect(INPROC_EP).expect("connect");
        let p = payload(size);
        let sender = tokio::spawn(async move {
            for _ in 0..count {
                d.send(Message::from(Bytes::copy_from_slice(&p)))
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

/// As [`inproc_thr`], with `Dealer::send_many` and `Router::recv_many` (`BATCH` per call).
pub fn inproc_thr_batch(size: usize, count: usize) {
    runtime_for(size).block_on(async {
        let r = router();
        r.bind(INPROC_EP).expect("bind");
        let d = dealer();
        d.connect(INPROC_EP).expect("connect");
        let p = payload(size);
        let sender = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            let mut sent = 0;
            while sent < count {
                let n = BATCH.min(count - sent);
                batch.extend((0..n).map(|_| Message::from(Bytes::copy_from_slice(&p))));
                d.send_many(&mut batch).await.expect("send");
                sent += n;
            }
            d
        });
        recv_batches(&r, count, size, 1).await;
        drop(sender);
    });
}

/// Receives `count` messages with `recv_many`, timing them (the payload is frame `frame`), and
/// prints the thr RESULT line.
async fn recv_batches<K: zmtp::socket::SocketKind>(
    r: &zmtp::Socket<K>,
    count: usize,
    size: usize,
    frame: usize,
) {
    let mut clock = ThrClock::new();
    let mut buf = Vec::with_capacity(BATCH);
    let mut got = 0;
    while got < count {
        let n = r
            .recv_many(&mut buf, BATCH.min(count - got))
            .await
            .expect("recv");
        for m in buf.drain(..) {
            clock.tick();
            check_size(m.get(frame).map_or(0, |f| f.len()), size);
        }
        got += n;
    }
    clock.finish(count, size);
}

fn ct_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The runtime for a throughput role with `size`-byte messages (see the module doc); also the
/// inproc cell's `mpsc` ceiling's.
pub fn runtime_for(size: usize) -> tokio::runtime::Runtime {
    if size < 16 * 1024 {
        ct_runtime()
    } else {
        mt_runtime()
    }
}
