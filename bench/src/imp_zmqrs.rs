//! zmq.rs: the `zeromq` crate 0.7 with its default `tokio-runtime` feature, on a tokio
//! multi-thread runtime (its own benches use a 2-worker runtime), default SocketOptions (it has
//! no HWM knob). The proxy is the crate's own `zeromq::proxy`.

use std::time::Instant;

use bytes::Bytes;
use zeromq::prelude::*;
use zeromq::{DealerSocket, RouterSocket, ZmqMessage};

use crate::common::*;

pub fn thr_recv(size: usize, count: usize) {
    mt_runtime().block_on(async {
        let mut r = RouterSocket::new();
        let ep = r.bind(BIND_ANY).await.expect("bind");
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
        let ep = r.bind(BIND_ANY).await.expect("bind");
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
