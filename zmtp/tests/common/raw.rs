//! Hand-built ZMTP bytes for raw peers (no zmtp code on that side), shared by the tests that
//! need one: `#[path = "common/raw.rs"] mod raw;`.
#![allow(dead_code)] // Each test file uses its own subset.

/// A ZMTP greeting for NULL, version 3.`minor`.
pub fn raw_greeting(minor: u8) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, minor];
    g.extend_from_slice(b"NULL");
    g.resize(64, 0);
    g
}

/// A NULL READY command frame for a DEALER with this identity.
pub fn raw_ready(identity: &[u8]) -> Vec<u8> {
    let mut body = b"\x05READY".to_vec();
    body.extend_from_slice(b"\x0bSocket-Type\x00\x00\x00\x06DEALER");
    body.push(8);
    body.extend_from_slice(b"Identity");
    body.extend_from_slice(&(identity.len() as u32).to_be_bytes());
    body.extend_from_slice(identity);
    let mut f = vec![0x04, body.len() as u8];
    f.extend_from_slice(&body);
    f
}
