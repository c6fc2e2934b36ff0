//! rzmq 0.5 on a tokio multi-thread runtime (its examples use `#[tokio::main]`).
//! - `rzmq`: the standard tokio TCP backend.
//! - `rzmq-uring`: the io_uring backend its README recommends on Linux
//!   (`initialize_uring_backend(UringConfig::default())`: one worker here, multishot receive,
//!   balanced polling; contexts `with_io_uring_sessions(true)`).
//!
//! Default options (SNDHWM/RCVHWM 256: rzmq's `SocketOptions::default()`, not libzmq's 1000;
//! SNDBATCH 128 msgs / 256 KB, adaptive throttle on) except AUTO_DELIMITER off on both ends, so
//! that the wire traffic is the same as libzmq's DEALER/ROUTER (no extra empty delimiter
//! frame), and the memory cell's ROUTER raises MAX_CONNECTIONS from its default of 1024.
//! TCP_CORK is not set: rzmq applies it only to PUSH/PULL/PUB/SUB. rzmq has no proxy helper;
//! ours is one task per direction.
//!
//! PUSH/PULL (cell push) and PUB/SUB (cell pubsub): default options (AUTO_DELIMITER concerns
//! ROUTER/DEALER only; TCP_CORK left off, as in rzmq's own push/pull and pub/sub benches),
//! except SNDHWM/RCVHWM set to the pubsub cell's HWM on both ends of PUB/SUB (its own pub/sub
//! bench raises them too).
//!
//! REQ/REP (cell reqrep): default options, as in its own req_rep bench (which raises the HWMs,
//! irrelevant with one request in flight). The proxy's frontend ROUTER raises MAX_CONNECTIONS
//! as the memory cell's ROUTER does, for the brokermem cell's 10 000 clients.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bytes::Bytes;
use rzmq::socket::options::{
    AUTO_DELIMITER, LAST_ENDPOINT, MAX_CONNECTIONS, RCVHWM, SNDHWM, SUBSCRIBE,
};
use rzmq::{Context, Msg, Socket, SocketType};

use crate::common::*;

static URING: AtomicBool = AtomicBool::new(false);

/// Selects the io_uring backend for this process (`rzmq-uring`).
pub fn use_uring() {
    URING.store(true, Ordering::Relaxed);
}

fn new_ctx() -> Context {
    if URING.load(Ordering::Relaxed) {
        match rzmq::uring::initialize_uring_backend(rzmq::uring::UringConfig::default()) {
            Ok(()) => {}
            Err(e) => {
                eprintln!("rzmq io_uring backend: {e:?}");
                std::process::exit(6);
            }
        }
        Context::new().unwrap().with_io_uring_sessions(true)
    } else {
        Context::new().unwrap()
    }
}

async fn sock(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).expect("socket");
    s.set_option(AUTO_DELIMITER, false)
        .await
        .expect("AUTO_DELIMITER");
    s
}

async fn bind(s: &Socket) -> String {
    bind_at(s, BIND_ANY).await
}

async fn bind_at(s: &Socket, ep: &str) -> String {
    s.bind(ep).await.expect("bind");
    let ep = s.get_option(LAST_ENDPOINT).await.expect("LAST_ENDPOINT");
    String::from_utf8(ep)
        .unwrap()
        .trim_end_matches('\0')
        .to_string()
}

pub fn thr_recv(size: usize, count: usize) {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let r = sock(&ctx, SocketType::Router).await;
        let ep = bind_at(&r, &bind_ep()).await;
        ready(&[&ep]);
        let mut clock = ThrClock::new();
        for _ in 0..count {
            let m = r.recv_multipart().await.expect("recv");
            clock.tick();
            check_size(m.get(1).map_or(0, |f| f.size()), size);
        }
        clock.finish(count, size);
    });
}

pub fn thr_send(ep: &str, size: usize, count: usize) {
    let rt = mt_runtime();
    let keep = rt.block_on(async {
        let ctx = new_ctx();
        let d = sock(&ctx, SocketType::Dealer).await;
        d.connect(ep).await.expect("connect");
        let p = payload(size);
        for _ in 0..count {
            d.send(Msg::from_bytes(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
        }
        (ctx, d)
    });
    sender_done();
    drop(keep);
}

pub fn echo() {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let r = sock(&ctx, SocketType::Router).await;
        let ep = bind_at(&r, &bind_ep()).await;
        ready(&[&ep]);
        loop {
            let m = r.recv_multipart().await.expect("recv");
            r.send_multipart(m).await.expect("send");
        }
    });
}

pub fn lat_client(ep: &str, size: usize, warm: usize, count: usize) {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let d = sock(&ctx, SocketType::Dealer).await;
        d.connect(ep).await.expect("connect");
        let p = payload(size);
        let mut samples = Vec::with_capacity(count);
        for i in 0..warm + count {
            let t0 = Instant::now();
            d.send(Msg::from_bytes(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
            let m = d.recv_multipart().await.expect("recv");
            let dt = ns_since(t0);
            check_size(m.first().map_or(0, |f| f.size()), size);
            if i >= warm {
                samples.push(dt);
            }
        }
        result(&lat_summary(samples));
    });
}

pub fn proxy() {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let fe = sock(&ctx, SocketType::Router).await;
        // The brokermem cell connects 10 000 clients to the frontend: raise rzmq's default
        // limit of 1024 connections per socket, as mem_router does.
        fe.set_option(MAX_CONNECTIONS, 1_000_000i32)
            .await
            .expect("MAX_CONNECTIONS");
        let be = sock(&ctx, SocketType::Dealer).await;
        let fep = bind(&fe).await;
        let bep = bind(&be).await;
        ready(&[&fep, &bep]);
        let (fe2, be2) = (fe.clone(), be.clone());
        let up = tokio::spawn(async move {
            loop {
                let m = fe2.recv_multipart().await.expect("fe recv");
                be2.send_multipart(m).await.expect("be send");
            }
        });
        let down = tokio::spawn(async move {
            loop {
                let m = be.recv_multipart().await.expect("be recv");
                fe.send_multipart(m).await.expect("fe send");
            }
        });
        let _ = tokio::join!(up, down);
        drop(ctx);
    });
}

pub fn mem_router() {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let r = sock(&ctx, SocketType::Router).await;
        // rzmq accepts at most MAX_CONNECTIONS (default 1024) per socket; the memory cell needs
        // more, so raise it before bind (as a user would).
        r.set_option(MAX_CONNECTIONS, 1_000_000i32)
            .await
            .expect("MAX_CONNECTIONS");
        let ep = bind(&r).await;
        ready(&[&ep]);
        std::future::pending::<()>().await;
        drop((ctx, r));
    });
}

// ---------------------------------------------------------------- PUSH/PULL (cell push)

pub fn push_recv(size: usize, count: usize) {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let r = ctx.socket(SocketType::Pull).expect("socket");
        let ep = bind(&r).await;
        ready(&[&ep]);
        let mut clock = ThrClock::new();
        for _ in 0..count {
            let m = r.recv().await.expect("recv");
            clock.tick();
            check_size(m.size(), size);
        }
        clock.finish(count, size);
    });
}

pub fn push_send(ep: &str, size: usize, count: usize) {
    let rt = mt_runtime();
    let keep = rt.block_on(async {
        let ctx = new_ctx();
        let s = ctx.socket(SocketType::Push).expect("socket");
        s.connect(ep).await.expect("connect");
        let p = payload(size);
        for _ in 0..count {
            s.send(Msg::from_bytes(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
        }
        (ctx, s)
    });
    sender_done();
    drop(keep);
}

// ---------------------------------------------------------------- inproc (cell inproc)

/// One process, one `Context` (rzmq's inproc names live in the context; its `inproc` feature
/// is on by default): the ROUTER binds [`INPROC_EP`] (`inproc://name`), the DEALER connects,
/// AUTO_DELIMITER off on both as in the thr roles, and the sender is a task spawned on the
/// 2-worker runtime whose `block_on` future receives (rzmq's own benches spawn both ends as
/// tasks on a multi-thread runtime). Only `rzmq`: the io_uring backend carries TCP and ipc
/// sessions only, so `rzmq-uring` would run this very code.
pub fn inproc_thr(size: usize, count: usize) {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let r = sock(&ctx, SocketType::Router).await;
        r.bind(INPROC_EP).await.expect("bind");
        let d = sock(&ctx, SocketType::Dealer).await;
        d.connect(INPROC_EP).await.expect("connect");
        let p = payload(size);
        let sender = tokio::spawn(async move {
            for _ in 0..count {
                d.send(Msg::from_bytes(Bytes::copy_from_slice(&p)))
                    .await
                    .expect("send");
            }
            d
        });
        let mut clock = ThrClock::new();
        for _ in 0..count {
            let m = r.recv_multipart().await.expect("recv");
            clock.tick();
            check_size(m.get(1).map_or(0, |f| f.size()), size);
        }
        clock.finish(count, size);
        drop((sender, r, ctx));
    });
}

// ---------------------------------------------------------------- PUB/SUB (cell pubsub)

async fn hwm_sock(ctx: &Context, t: SocketType, hwm: usize) -> Socket {
    let s = ctx.socket(t).expect("socket");
    let hwm = i32::try_from(hwm).unwrap_or(i32::MAX);
    s.set_option(SNDHWM, hwm).await.expect("SNDHWM");
    s.set_option(RCVHWM, hwm).await.expect("RCVHWM");
    s
}

pub fn publisher(size: usize, count: usize, hwm: usize, topics: usize) {
    let go = parent_signals();
    let rt = mt_runtime();
    let keep = rt.block_on(async {
        let ctx = new_ctx();
        let s = hwm_sock(&ctx, SocketType::Pub, hwm).await;
        let ep = bind(&s).await;
        ready(&[&ep]);
        let mut plan = PubPlan::new(size, topics);
        let mut w = 0;
        while !signalled(&go) {
            s.send(Msg::from_bytes(Bytes::copy_from_slice(plan.warm(w))))
                .await
                .expect("send");
            w += 1;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let t0 = Instant::now();
        for _ in 0..count {
            s.send(Msg::from_bytes(Bytes::copy_from_slice(plan.next_msg())))
                .await
                .expect("send");
        }
        publisher_sent(t0, &plan);
        (ctx, s)
    });
    publisher_done(&go);
    drop(keep);
}

pub fn subscriber(ep: &str, size: usize, count: usize, hwm: usize, topic: &str) {
    let topic = sub_topic(topic);
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let s = hwm_sock(&ctx, SocketType::Sub, hwm).await;
        s.set_option(SUBSCRIBE, &topic[..])
            .await
            .expect("SUBSCRIBE");
        s.connect(ep).await.expect("connect");
        let mut c = SubCounter::new(size, count, &topic);
        loop {
            let m = s.recv().await.expect("recv");
            if c.on_msg(m.data().unwrap_or(&[])) {
                c.finish();
                break;
            }
        }
        drop(ctx);
    });
}

// ---------------------------------------------------------------- REQ/REP (cell reqrep)

/// REP: binds, echoes every request. Default options (AUTO_DELIMITER is a ROUTER/DEALER
/// option; REQ and REP keep their delimiter as the protocol asks).
pub fn rep() {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let r = ctx.socket(SocketType::Rep).expect("socket");
        let ep = bind_at(&r, &bind_ep()).await;
        ready(&[&ep]);
        loop {
            let m = r.recv().await.expect("recv");
            r.send(m).await.expect("send");
        }
    });
}

/// REQ: connects, `warm` + `count` round trips of one request each, every reply checked.
pub fn req(ep: &str, size: usize, warm: usize, count: usize) {
    mt_runtime().block_on(async {
        let ctx = new_ctx();
        let d = ctx.socket(SocketType::Req).expect("socket");
        d.connect(ep).await.expect("connect");
        req_rounds(
            size,
            warm,
            count,
            async |p| {
                d.send(Msg::from_bytes(Bytes::copy_from_slice(p)))
                    .await
                    .expect("send");
                d.recv().await.expect("recv")
            },
            |m, p| {
                if m.is_more() {
                    eprintln!("reply of more than one frame");
                    std::process::exit(3);
                }
                check_reply(m.data().unwrap_or(&[]), p);
            },
        )
        .await;
        drop(ctx);
    });
}
