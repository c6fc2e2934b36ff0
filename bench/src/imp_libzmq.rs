//! libzmq 4.3.4 through the `zmq` crate (vendored, built from source): one context with the
//! default single I/O thread, default options (SNDHWM/RCVHWM 1000), blocking API as in libzmq's
//! own perf tools (local_thr / remote_thr / local_lat). PUB/SUB: SNDHWM and RCVHWM set to the
//! cell's HWM on both ends, everything else default. REQ/REP: defaults, blocking calls.

use std::time::Instant;

use crate::common::*;

fn last_ep(s: &zmq::Socket) -> String {
    s.get_last_endpoint().unwrap().unwrap()
}

pub fn thr_recv(size: usize, count: usize) {
    let ctx = zmq::Context::new();
    let r = ctx.socket(zmq::ROUTER).unwrap();
    r.bind(&bind_ep()).unwrap();
    ready(&[&last_ep(&r)]);
    let mut id = zmq::Message::new();
    let mut body = zmq::Message::new();
    let mut clock = ThrClock::new();
    for _ in 0..count {
        r.recv(&mut id, 0).unwrap();
        clock.tick();
        r.recv(&mut body, 0).unwrap();
        check_size(body.len(), size);
    }
    clock.finish(count, size);
}

pub fn thr_send(ep: &str, size: usize, count: usize) {
    let ctx = zmq::Context::new();
    let d = ctx.socket(zmq::DEALER).unwrap();
    d.connect(ep).unwrap();
    let p = payload(size);
    for _ in 0..count {
        // `&[u8]` is copied into a fresh zmq_msg_t per send.
        d.send(&p[..], 0).unwrap();
    }
    sender_done();
    drop(d);
}

pub fn echo() {
    let ctx = zmq::Context::new();
    let r = ctx.socket(zmq::ROUTER).unwrap();
    r.bind(&bind_ep()).unwrap();
    ready(&[&last_ep(&r)]);
    let mut id = zmq::Message::new();
    let mut body = zmq::Message::new();
    loop {
        r.recv(&mut id, 0).unwrap();
        r.recv(&mut body, 0).unwrap();
        r.send(
            std::mem::replace(&mut id, zmq::Message::new()),
            zmq::SNDMORE,
        )
        .unwrap();
        r.send(std::mem::replace(&mut body, zmq::Message::new()), 0)
            .unwrap();
    }
}

pub fn lat_client(ep: &str, size: usize, warm: usize, count: usize) {
    let ctx = zmq::Context::new();
    let d = ctx.socket(zmq::DEALER).unwrap();
    d.connect(ep).unwrap();
    let p = payload(size);
    let mut m = zmq::Message::new();
    let mut samples = Vec::with_capacity(count);
    for i in 0..warm + count {
        let t0 = Instant::now();
        d.send(&p[..], 0).unwrap();
        d.recv(&mut m, 0).unwrap();
        let dt = ns_since(t0);
        check_size(m.len(), size);
        if i >= warm {
            samples.push(dt);
        }
    }
    result(&lat_summary(samples));
}

/// zmq_proxy(ROUTER, DEALER).
pub fn proxy() {
    let ctx = zmq::Context::new();
    let fe = ctx.socket(zmq::ROUTER).unwrap();
    let be = ctx.socket(zmq::DEALER).unwrap();
    fe.bind(BIND_ANY).unwrap();
    be.bind(BIND_ANY).unwrap();
    ready(&[&last_ep(&fe), &last_ep(&be)]);
    zmq::proxy(&fe, &be).unwrap();
}

pub fn mem_router() {
    let ctx = zmq::Context::new();
    let r = ctx.socket(zmq::ROUTER).unwrap();
    r.bind(BIND_ANY).unwrap();
    ready(&[&last_ep(&r)]);
    loop {
        std::thread::park();
    }
}

// ---------------------------------------------------------------- PUSH/PULL (cell push)

pub fn push_recv(size: usize, count: usize) {
    let ctx = zmq::Context::new();
    let r = ctx.socket(zmq::PULL).unwrap();
    r.bind(BIND_ANY).unwrap();
    ready(&[&last_ep(&r)]);
    let mut m = zmq::Message::new();
    let mut clock = ThrClock::new();
    for _ in 0..count {
        r.recv(&mut m, 0).unwrap();
        clock.tick();
        check_size(m.len(), size);
    }
    clock.finish(count, size);
}

pub fn push_send(ep: &str, size: usize, count: usize) {
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::PUSH).unwrap();
    s.connect(ep).unwrap();
    let p = payload(size);
    for _ in 0..count {
        s.send(&p[..], 0).unwrap();
    }
    sender_done();
    drop(s);
}

// ---------------------------------------------------------------- inproc (cell inproc)

/// One process, one context shared by both sockets (libzmq's inproc endpoints live in the
/// context): the ROUTER binds [`INPROC_EP`] on the main thread, which receives; the DEALER
/// connects and sends from a second thread, as libzmq's own `perf/inproc_thr` does. Blocking
/// calls, one fresh `zmq_msg_t` copy per send, one reused `zmq_msg_t` per receive, as the thr
/// roles. The context keeps its default I/O thread (inproc does not use it).
pub fn inproc_thr(size: usize, count: usize) {
    let ctx = zmq::Context::new();
    let r = ctx.socket(zmq::ROUTER).unwrap();
    r.bind(INPROC_EP).unwrap();
    let ctx2 = ctx.clone();
    let sender = std::thread::spawn(move || {
        let d = ctx2.socket(zmq::DEALER).unwrap();
        d.connect(INPROC_EP).unwrap();
        let p = payload(size);
        for _ in 0..count {
            d.send(&p[..], 0).unwrap();
        }
        // Closed by the main thread once everything arrived.
        d
    });
    let mut id = zmq::Message::new();
    let mut body = zmq::Message::new();
    let mut clock = ThrClock::new();
    for _ in 0..count {
        r.recv(&mut id, 0).unwrap();
        clock.tick();
        r.recv(&mut body, 0).unwrap();
        check_size(body.len(), size);
    }
    clock.finish(count, size);
    let _d = sender.join().unwrap();
}

// ---------------------------------------------------------------- PUB/SUB (cell pubsub)

fn hwm_socket(ctx: &zmq::Context, t: zmq::SocketType, hwm: usize) -> zmq::Socket {
    let s = ctx.socket(t).unwrap();
    s.set_sndhwm(hwm as i32).unwrap();
    s.set_rcvhwm(hwm as i32).unwrap();
    s
}

pub fn publisher(size: usize, count: usize, hwm: usize, topics: usize) {
    let go = parent_signals();
    let ctx = zmq::Context::new();
    let s = hwm_socket(&ctx, zmq::PUB, hwm);
    s.bind(BIND_ANY).unwrap();
    ready(&[&last_ep(&s)]);
    let mut plan = PubPlan::new(size, topics);
    let mut w = 0;
    while !signalled(&go) {
        s.send(plan.warm(w), 0).unwrap();
        w += 1;
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let t0 = Instant::now();
    for _ in 0..count {
        s.send(plan.next_msg(), 0).unwrap();
    }
    publisher_sent(t0, &plan);
    publisher_done(&go);
    drop(s);
}

pub fn subscriber(ep: &str, size: usize, count: usize, hwm: usize, topic: &str) {
    let topic = sub_topic(topic);
    let ctx = zmq::Context::new();
    let s = hwm_socket(&ctx, zmq::SUB, hwm);
    s.set_subscribe(&topic).unwrap();
    s.connect(ep).unwrap();
    let mut c = SubCounter::new(size, count, &topic);
    let mut m = zmq::Message::new();
    loop {
        s.recv(&mut m, 0).unwrap();
        if c.on_msg(&m) {
            return c.finish();
        }
    }
}

// ---------------------------------------------------------------- REQ/REP (cell reqrep)

/// REP: binds, echoes every request.
pub fn rep() {
    let ctx = zmq::Context::new();
    let r = ctx.socket(zmq::REP).unwrap();
    r.bind(&bind_ep()).unwrap();
    ready(&[&last_ep(&r)]);
    let mut m = zmq::Message::new();
    loop {
        r.recv(&mut m, 0).unwrap();
        r.send(std::mem::replace(&mut m, zmq::Message::new()), 0)
            .unwrap();
    }
}

/// REQ: connects, `warm` + `count` round trips of one request each, every reply checked.
pub fn req(ep: &str, size: usize, warm: usize, count: usize) {
    let ctx = zmq::Context::new();
    let d = ctx.socket(zmq::REQ).unwrap();
    d.connect(ep).unwrap();
    let mut p = payload(size);
    let mut m = zmq::Message::new();
    let mut samples = Vec::with_capacity(count);
    for i in 0..warm + count {
        req_body(&mut p, i as u64);
        let t0 = Instant::now();
        d.send(&p[..], 0).unwrap();
        d.recv(&mut m, 0).unwrap();
        let dt = ns_since(t0);
        check_reply(&m, &p);
        if i >= warm {
            samples.push(dt);
        }
    }
    result(&lat_summary(samples));
}
