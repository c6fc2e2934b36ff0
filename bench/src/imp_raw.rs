//! The raw-TCP ceiling: blocking std sockets writing and reading the same ZMTP frames (1-byte
//! flags + 1- or 8-byte size + payload) with no protocol logic: no handshake, no queues, no
//! routing. The sender copies the payload into its write buffer per message; the receiver reads
//! every payload into a buffer. In the ipc cell the same over a std `UnixStream` (the server
//! binds the path the parent gave in `ZBENCH_BIND`).

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
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

/// A TCP or Unix-domain stream (`TCP_NODELAY` on TCP).
enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn try_clone(&self) -> std::io::Result<Conn> {
        Ok(match self {
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
        })
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    fn accept(&self) -> Conn {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept().unwrap();
                s.set_nodelay(true).unwrap();
                Conn::Tcp(s)
            }
            Listener::Unix(l) => Conn::Unix(l.accept().unwrap().0),
        }
    }
}

/// Binds 127.0.0.1 on a free port, or the ipc path in `ZBENCH_BIND`, and says READY.
fn listen() -> Listener {
    let ep = bind_ep();
    if let Some(path) = ep.strip_prefix("ipc://") {
        let l = UnixListener::bind(path).unwrap();
        ready(&[&ep]);
        return Listener::Unix(l);
    }
    let l = TcpListener::bind(ep.trim_start_matches("tcp://")).unwrap();
    ready(&[&format!("tcp://{}", l.local_addr().unwrap())]);
    Listener::Tcp(l)
}

fn dial(ep: &str) -> Conn {
    if let Some(path) = ep.strip_prefix("ipc://") {
        return Conn::Unix(UnixStream::connect(path).unwrap());
    }
    let s = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    s.set_nodelay(true).unwrap();
    Conn::Tcp(s)
}

pub fn thr_recv(size: usize, count: usize) {
    let s = listen().accept();
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
    let s = listen().accept();
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
