//! zmq.rs: the `zeromq` crate 0.7 with its default `tokio-runtime` feature, on a tokio
//! multi-thread runtime (its own benches use a 2-worker runtime), default SocketOptions (it has
//! no HWM knob). The proxy is the crate's own `zeromq::proxy`. PUB/SUB: no HWM option either;
//! its PUB queues at most 100 000 messages per subscriber (`PUB_SEND_QUEUE_CAPACITY`, fixed)
//! and drops beyond that, which is why the pubsub cell sets everyone else's HWM to 100 000.
//! REQ/REP: `ReqSocket::new()` / `RepSocket::new()`, defaults.

use std::time::Instant;

use bytes::Bytes;
use zeromq::prelude::*;
use zeromq::{
    DealerSocket, PubSocket, PullSocket, PushSocket, RepSocket, ReqSocket, RouterSocket, SubSocket,
    ZmqMessage,
};

use crate::common::*;

pub fn thr_recv(size: usize, count: usize) {
    mt_runtime().block_on(async {
        let mut r = RouterSocket::new();
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
    let rt = mt_runtime();
    let d = rt.block_on(async {
        let mut d = DealerSocket::new();
        d.connect(ep).await.expect("connect");
        let p = payload(size);
        for _ in 0..count {
            d.send(ZmqMessage::from(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
        }
        d
    });
    sender_done();
    drop(d);
}

pub fn echo() {
    mt_runtime().block_on(async {
        let mut r = RouterSocket::new();
        let ep = r.bind(&bind_ep()).await.expect("bind");
        ready(&[&ep.to_string()]);
        loop {
            let m = r.recv().await.expect("recv");
            r.send(m).await.expect("send");
        }
    });
}

pub fn lat_client(ep: &str, size: usize, warm: usize, count: usize) {
    mt_runtime().block_on(async {
        let mut d = DealerSocket::new();
        d.connect(ep).await.expect("connect");
        let p = payload(size);
        let mut samples = Vec::with_capacity(count);
        for i in 0..warm + count {
            let t0 = Instant::now();
            d.send(ZmqMessage::from(Bytes::copy_from_slice(&p)))
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
    mt_runtime().block_on(async {
        let mut fe = RouterSocket::new();
        let mut be = DealerSocket::new();
        let fep = fe.bind(BIND_ANY).await.expect("bind fe");
        let bep = be.bind(BIND_ANY).await.expect("bind be");
        ready(&[&fep.to_string(), &bep.to_string()]);
        zeromq::proxy(fe, be, None).await.expect("proxy");
    });
}

pub fn mem_router() {
    mt_runtime().block_on(async {
        let mut r = RouterSocket::new();
        let ep = r.bind(BIND_ANY).await.expect("bind");
        ready(&[&ep.to_string()]);
        std::future::pending::<()>().await;
    });
}

// ---------------------------------------------------------------- PUSH/PULL (cell push)

pub fn push_recv(size: usize, count: usize) {
    mt_runtime().block_on(async {
        let mut r = PullSocket::new();
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
    let rt = mt_runtime();
    let s = rt.block_on(async {
        let mut s = PushSocket::new();
        s.connect(ep).await.expect("connect");
        let p = payload(size);
        for _ in 0..count {
            s.send(ZmqMessage::from(Bytes::copy_from_slice(&p)))
                .await
                .expect("send");
        }
        s
    });
    sender_done();
    drop(s);
}

// ---------------------------------------------------------------- PUB/SUB (cell pubsub)

/// `hwm` is not settable in zmq.rs (see the module doc).
pub fn publisher(size: usize, count: usize, _hwm: usize, topics: usize) {
    let go = parent_signals();
    let rt = mt_runtime();
    let s = rt.block_on(async {
        let mut s = PubSocket::new();
        let ep = s.bind(BIND_ANY).await.expect("bind");
        ready(&[&ep.to_string()]);
        let mut plan = PubPlan::new(size, topics);
        let mut w = 0;
        while !signalled(&go) {
            s.send(ZmqMessage::from(Bytes::copy_from_slice(plan.warm(w))))
                .await
                .expect("send");
            w += 1;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let t0 = Instant::now();
        for _ in 0..count {
            s.send(ZmqMessage::from(Bytes::copy_from_slice(plan.next_msg())))
                .await
                .expect("send");
        }
        publisher_sent(t0, &plan);
        s
    });
    publisher_done(&go);
    drop(s);
}

pub fn subscriber(ep: &str, size: usize, count: usize, _hwm: usize, topic: &str) {
    let topic = sub_topic(topic);
    mt_runtime().block_on(async {
        let mut s = SubSocket::new();
        s.connect(ep).await.expect("connect");
        // zmq.rs takes a topic as &str; ours are ASCII.
        let t = std::str::from_utf8(&topic).expect("ASCII topic");
        s.subscribe(t).await.expect("subscribe");
        let mut c = SubCounter::new(size, count, &topic);
        loop {
            let m = s.recv().await.expect("recv");
            if c.on_msg(m.get(0).map_or(&[][..], |f| &f[..])) {
                return c.finish();
            }
        }
    });
}

// ---------------------------------------------------------------- REQ/REP (cell reqrep)

/// REP: binds, echoes every request.
pub fn rep() {
    mt_runtime().block_on(async {
        let mut r = RepSocket::new();
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
    mt_runtime().block_on(async {
        let mut d = ReqSocket::new();
        d.connect(ep).await.expect("connect");
        req_rounds(
            size,
            warm,
            count,
            async |p| {
                d.send(ZmqMessage::from(Bytes::copy_from_slice(p)))
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

/// zmq.rs 0.7 has no inproc transport (its `Transport` is `Tcp` or `Ipc`; `inproc` parses to
/// `EndpointError::UnknownTransport`), so the inproc cell does not run it. This role only
/// shows that: it tries to bind [`INPROC_EP`] and exits with status 4 and the error.
pub fn inproc_thr(_size: usize, _count: usize) {
    mt_runtime().block_on(async {
        let mut r = RouterSocket::new();
        match r.bind(INPROC_EP).await {
            Ok(ep) => eprintln!("zmq.rs bound {ep}: inproc is supported after all"),
            Err(e) => eprintln!("zmq.rs cannot bind {INPROC_EP}: {e}"),
        }
        std::process::exit(4);
    });
}
