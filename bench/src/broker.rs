//! The broker cell's fixed parts, all libzmq: the load generator (several DEALER clients, each
//! keeping a window of requests in flight and checking every reply) and the echo workers
//! (DEALERs connected to the broker's backend, echoing [client-id, request] back).

use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::common::*;

/// Request body: client index (u32 LE), sequence (u64 LE), then bytes derived from both.
fn fill(buf: &mut [u8], client: u32, seq: u64) {
    buf[..4].copy_from_slice(&client.to_le_bytes());
    buf[4..12].copy_from_slice(&seq.to_le_bytes());
    let k = (seq as u8) ^ (client as u8).wrapping_mul(31);
    for (i, b) in buf[12..].iter_mut().enumerate() {
        *b = k.wrapping_add(i as u8);
    }
}

struct ClientOut {
    lat: Vec<u64>,
    end: Instant,
}

#[allow(clippy::too_many_arguments)]
fn client(
    ctx: &zmq::Context,
    fe: &str,
    me: u32,
    window: usize,
    warm: usize,
    total: usize,
    size: usize,
    barrier: &Barrier,
    t0: &std::sync::OnceLock<Instant>,
) -> ClientOut {
    let d = ctx.socket(zmq::DEALER).unwrap();
    d.set_rcvtimeo(20_000).unwrap();
    d.connect(fe).unwrap();
    let mut out = vec![0u8; size];
    let mut expect = vec![0u8; size];
    let mut inflight: HashMap<u64, Instant> = HashMap::with_capacity(window * 2);
    let mut lat = Vec::with_capacity(total);
    let mut seq = 0u64;
    let mut reply = zmq::Message::new();
    // One phase: `n` requests through a window of `window`, every reply checked.
    let mut phase = |n: usize, lat: Option<&mut Vec<u64>>| {
        let mut lat = lat;
        let mut sent = 0;
        let mut got = 0;
        while sent < n.min(window) {
            fill(&mut out, me, seq);
            inflight.insert(seq, Instant::now());
            d.send(&out[..], 0).unwrap();
            seq += 1;
            sent += 1;
        }
        while got < n {
            if let Err(e) = d.recv(&mut reply, 0) {
                eprintln!("client {me}: recv: {e} ({got}/{n} replies)");
                std::process::exit(4);
            }
            let now = Instant::now();
            if reply.len() != size || d.get_rcvmore().unwrap() {
                eprintln!("client {me}: bad reply shape");
                std::process::exit(4);
            }
            let c = u32::from_le_bytes(reply[..4].try_into().unwrap());
            let sq = u64::from_le_bytes(reply[4..12].try_into().unwrap());
            fill(&mut expect, c, sq);
            let Some(t) = inflight.remove(&sq) else {
                eprintln!("client {me}: unexpected seq {sq}");
                std::process::exit(4);
            };
            if c != me || reply[..] != expect[..] {
                eprintln!("client {me}: corrupt reply");
                std::process::exit(4);
            }
            if let Some(l) = lat.as_deref_mut() {
                l.push((now - t).as_nanos() as u64);
            }
            got += 1;
            if sent < n {
                fill(&mut out, me, seq);
                inflight.insert(seq, Instant::now());
                d.send(&out[..], 0).unwrap();
                seq += 1;
                sent += 1;
            }
        }
    };
    phase(warm, None);
    barrier.wait();
    t0.get_or_init(Instant::now);
    phase(total, Some(&mut lat));
    ClientOut {
        lat,
        end: Instant::now(),
    }
}

/// `total` and `warm` are over all clients.
pub fn load(fe: &str, clients: usize, window: usize, total: usize, warm: usize, size: usize) {
    assert!(size >= 12);
    let ctx = zmq::Context::new();
    let barrier = Arc::new(Barrier::new(clients));
    let t0 = Arc::new(std::sync::OnceLock::new());
    let hs: Vec<_> = (0..clients)
        .map(|i| {
            let (ctx, fe, b, t0) = (ctx.clone(), fe.to_string(), barrier.clone(), t0.clone());
            let (w, n) = (warm / clients, total / clients);
            std::thread::spawn(move || client(&ctx, &fe, i as u32, window, w, n, size, &b, &t0))
        })
        .collect();
    let outs: Vec<ClientOut> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    let start = *t0.get().unwrap();
    let end = outs.iter().map(|o| o.end).max().unwrap();
    let n: usize = outs.iter().map(|o| o.lat.len()).sum();
    let all: Vec<u64> = outs.into_iter().flat_map(|o| o.lat).collect();
    let el = (end - start).as_secs_f64();
    let mut kv = vec![("req_per_s", n as f64 / el), ("elapsed_s", el)];
    kv.extend(lat_summary(all));
    result(&kv);
}

/// `n` echo workers (threads, one DEALER each) on the broker's backend.
pub fn workers(be: &str, n: usize) {
    let ctx = zmq::Context::new();
    for _ in 0..n {
        let (ctx, be) = (ctx.clone(), be.to_string());
        std::thread::spawn(move || {
            let d = ctx.socket(zmq::DEALER).unwrap();
            d.connect(&be).unwrap();
            let mut parts: Vec<zmq::Message> = Vec::new();
            loop {
                loop {
                    let mut m = zmq::Message::new();
                    d.recv(&mut m, 0).unwrap();
                    let more = m.get_more();
                    parts.push(m);
                    if !more {
                        break;
                    }
                }
                let last = parts.len() - 1;
                for (i, m) in parts.drain(..).enumerate() {
                    d.send(m, if i < last { zmq::SNDMORE } else { 0 }).unwrap();
                }
            }
        });
    }
    // Connections are asynchronous: give them time to be up before the load starts.
    std::thread::sleep(Duration::from_millis(500));
    ready(&["workers"]);
    loop {
        std::thread::park();
    }
}
