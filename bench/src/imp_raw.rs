//! The raw-TCP ceiling: blocking std sockets writing and reading the same ZMTP frames (1-byte
//! flags + 1- or 8-byte size + payload) with no protocol logic: no handshake, no queues, no
//! routing. The sender copies the payload into its write buffer per message; the receiver reads
//! every payload into a buffer.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use crate::common::*;

const BUF: usize = 256 * 1024;

fn header(size: usize, out: &mut Vec<u8>) {
    out.clear();
    if size < 256 {
        out.extend_from_slice(&[0u8, size as u8]);
    } else {
        out.push(0x02);
        out.extend_from_slice(&(size as u64).to_be_bytes());
    }
}

fn read_frame<R: Read>(r: &mut R, buf: &mut Vec<u8>) -> usize {
    let mut h = [0u8; 2];
    if r.read_exact(&mut h).is_err() {
        // The peer is gone (the echo server outlives its client).
        std::process::exit(0);
    }
    let size = if h[0] & 0x02 != 0 {
        let mut rest = [0u8; 7];
        r.read_exact(&mut rest).unwrap();
        let mut b = [0u8; 8];
        b[0] = h[1];
        b[1..].copy_from_slice(&rest);
        u64::from_be_bytes(b) as usize
    } else {
        h[1] as usize
    };
    buf.resize(size, 0);
    r.read_exact(&mut buf[..size]).unwrap();
    size
}

fn listen() -> TcpListener {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    ready(&[&format!("tcp://{}", l.local_addr().unwrap())]);
    l
}

fn dial(ep: &str) -> TcpStream {
    let s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

pub fn thr_recv(size: usize, count: usize) {
    let l = listen();
    let (s, _) = l.accept().unwrap();
    let mut r = BufReader::with_capacity(BUF, s);
    let mut buf = Vec::new();
    let mut clock = ThrClock::new();
    for _ in 0..count {
        let n = read_frame(&mut r, &mut buf);
        clock.tick();
        check_size(n, size);
    }
    clock.finish(count, size);
}

pub fn thr_send(ep: &str, size: usize, count: usize) {
    let s = dial(ep);
    let mut w = BufWriter::with_capacity(BUF, s);
    let p = payload(size);
    let mut h = Vec::new();
    header(size, &mut h);
    for _ in 0..count {
        w.write_all(&h).unwrap();
        w.write_all(&p).unwrap();
    }
    w.flush().unwrap();
    sender_done();
}

pub fn echo() {
    let l = listen();
    let (s, _) = l.accept().unwrap();
    s.set_nodelay(true).unwrap();
    let mut r = BufReader::with_capacity(BUF, s.try_clone().unwrap());
    let mut w = s;
    let mut buf = Vec::new();
    let mut h = Vec::new();
    loop {
        let n = read_frame(&mut r, &mut buf);
        header(n, &mut h);
        h.extend_from_slice(&buf[..n]);
        w.write_all(&h).unwrap();
    }
}

pub fn lat_client(ep: &str, size: usize, warm: usize, count: usize) {
    let s = dial(ep);
    let mut r = BufReader::with_capacity(BUF, s.try_clone().unwrap());
    let mut w = s;
    let p = payload(size);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut samples = Vec::with_capacity(count);
    for i in 0..warm + count {
        let t0 = Instant::now();
        header(size, &mut out);
        out.extend_from_slice(&p);
        w.write_all(&out).unwrap();
        let n = read_frame(&mut r, &mut buf);
        let dt = ns_since(t0);
        check_size(n, size);
        if i >= warm {
            samples.push(dt);
        }
    }
    result(&lat_summary(samples));
}
