//! `zbench cipher`: the cost of CurveZMQ's per-frame box (XSalsa20-Poly1305 under a fresh
//! nonce), in this process, for the crate zmtp uses (RustCrypto's `crypto_secretbox`, built as
//! every build in this repository is, with poly1305's portable code) and for `salsabox` (omq's,
//! with a SIMD Salsa20 core, and poly1305 0.9's run-time detected AVX2 code). No sockets: it
//! shows how much of the curve cell's 64 KiB gap is the cipher itself.

use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use salsa20::cipher::{KeyIvInit, StreamCipher};
use std::time::Instant;

const SIZES: [usize; 3] = [16, 1024, 65536];

fn nonce(i: u64) -> [u8; 24] {
    let mut n = [0u8; 24];
    n[..8].copy_from_slice(&i.to_le_bytes());
    n
}

/// Mean seconds per call of `f` over enough calls to seal about 200 MB.
fn time(size: usize, mut f: impl FnMut(u64, &mut [u8]) -> u8) -> f64 {
    let n = (200_000_000 / (size + 64)).max(1000) as u64;
    let mut buf = vec![7u8; size];
    let mut acc = 0u8;
    let t = Instant::now();
    for i in 0..n {
        acc ^= f(i, &mut buf);
    }
    let s = t.elapsed().as_secs_f64() / n as f64;
    std::hint::black_box(acc);
    s
}

pub fn main() {
    let key = [3u8; 32];
    let rc = crypto_secretbox::XSalsa20Poly1305::new(&key.into());
    let sb = salsabox::SecretBox::new(key);
    println!(
        "{:>7}  {:>26}  {:>26}  {:>26}  {:>9}",
        "bytes", "RustCrypto box, us (ns/B)", "its XSalsa20 alone", "salsabox box", "RC/salsabox"
    );
    for size in SIZES {
        let rc_box = time(size, |i, buf| {
            let tag = rc
                .encrypt_in_place_detached(&nonce(i).into(), b"", buf)
                .expect("seal");
            tag[0]
        });
        let rc_stream = time(size, |i, buf| {
            let mut c = salsa20::XSalsa20::new(&key.into(), &nonce(i).into());
            c.apply_keystream(buf);
            buf[0]
        });
        let sb_box = time(size, |i, buf| sb.encrypt_detached(&nonce(i), buf)[0]);
        let cell = |s: f64| format!("{:.2} ({:.2})", s * 1e6, s * 1e9 / size as f64);
        println!(
            "{size:>7}  {:>26}  {:>26}  {:>26}  {:>9.2}",
            cell(rc_box),
            cell(rc_stream),
            cell(sb_box),
            rc_box / sb_box
        );
    }
}
