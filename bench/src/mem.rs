//! The memory cell's client side: `n` idle connections to a ROUTER, each a complete ZMTP 3.1
//! NULL handshake as a DEALER, written by hand on blocking std sockets (so the client's cost
//! does not depend on any implementation). Connections close with RST (SO_LINGER 0) so repeated
//! rounds do not exhaust ephemeral ports with TIME_WAIT.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::common::*;

fn greeting_and_ready() -> Vec<u8> {
    let mut g = vec![0xFFu8, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    let mut mech = [0u8; 20];
    mech[..4].copy_from_slice(b"NULL");
    g.extend_from_slice(&mech);
    g.push(0); // as-server
    g.extend_from_slice(&[0u8; 31]);
    assert_eq!(g.len(), 64);
    let mut body = vec![5u8];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&6u32.to_be_bytes());
    body.extend_from_slice(b"DEALER");
    g.push(0x04);
    g.push(body.len() as u8);
    g.extend_from_slice(&body);
    g
}

fn linger0(s: &TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own with a correctly sized value.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn handshake(addr: &str, hello: &[u8]) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    linger0(&s);
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(hello)?;
    let mut greet = [0u8; 64];
    s.read_exact(&mut greet)?;
    if greet[0] != 0xFF || greet[9] != 0x7F {
        return Err(std::io::Error::other("bad greeting"));
    }
    let mut f = [0u8; 1];
    s.read_exact(&mut f)?;
    let len = if f[0] & 0x02 != 0 {
        let mut b = [0u8; 8];
        s.read_exact(&mut b)?;
        u64::from_be_bytes(b) as usize
    } else {
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        b[0] as usize
    };
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    if f[0] & 0x04 == 0 || !body.starts_with(b"\x05READY") {
        return Err(std::io::Error::other("expected READY"));
    }
    Ok(s)
}

pub fn conns(ep: &str, n: usize) {
    let addr = ep.trim_start_matches("tcp://");
    let hello = greeting_and_ready();
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        match handshake(addr, &hello) {
            Ok(s) => held.push(s),
            Err(e) => {
                eprintln!("mem-conns: connection {i}: {e}");
                std::process::exit(5);
            }
        }
    }
    ready(&[&held.len().to_string()]);
    wait_parent();
}
