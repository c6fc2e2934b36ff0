//! The 64-byte ZMTP greeting (RFC 23 §"The Greeting", RFC 37 §"Version Negotiation").
//!
//! ```text
//! offset  len  content
//!  0       1   0xFF             signature
//!  1       8   padding          not validated (libzmq writes routing-id length + 1)
//!  9       1   0x7F             signature; LSB 0 would be a ZMTP 1.0 identity length
//! 10       1   major version    3
//! 11       1   minor version    0 (3.0) or 1 (3.1); higher accepted
//! 12      20   mechanism        "NULL", NUL padded, compared on all 20 bytes
//! 32       1   as-server        not validated (libzmq always writes 0)
//! 33      31   filler
//! ```
//!
//! libzmq sends its greeting in stages and withholds bytes 10..64 until it has seen ours, so we
//! send ours in full at once and read the peer's incrementally: [`parse_partial`] rejects a peer
//! as soon as its first bytes show it cannot be a ZMTP 3 peer.

use crate::protocol::error::DecodeError;

/// Length of the greeting.
pub const GREETING_LEN: usize = 64;
/// Length of the signature part (bytes 0..10).
pub const SIGNATURE_LEN: usize = 10;
/// The major version we speak.
pub const VERSION_MAJOR: u8 = 3;
/// The minor version we announce (ZMTP 3.1).
pub const VERSION_MINOR: u8 = 1;
/// The NULL mechanism name as it appears in the greeting.
pub const MECHANISM_NULL: [u8; 20] = *b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
/// The PLAIN mechanism's name, NUL-padded to 20 bytes.
pub const MECHANISM_PLAIN: [u8; 20] = *b"PLAIN\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
/// The CURVE mechanism's name, NUL-padded to 20 bytes.
pub const MECHANISM_CURVE: [u8; 20] = *b"CURVE\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// A peer's greeting, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    /// Major version (3 or higher).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// The 20-byte mechanism field.
    pub mechanism: [u8; 20],
    /// The as-server byte (not validated).
    pub as_server: bool,
}

impl Greeting {
    /// Our greeting: ZMTP 3.1, the given mechanism, zero padding.
    pub fn ours(mechanism: [u8; 20], as_server: bool) -> [u8; GREETING_LEN] {
        let mut g = [0u8; GREETING_LEN];
        g[0] = 0xFF;
        g[9] = 0x7F;
        g[10] = VERSION_MAJOR;
        g[11] = VERSION_MINOR;
        g[12..32].copy_from_slice(&mechanism);
        g[32] = as_server as u8;
        g
    }

    /// True if the peer speaks ZMTP 3.1 or later (and so understands PING/PONG).
    pub fn is_v31(&self) -> bool {
        self.major > 3 || self.minor >= 1
    }
}

/// Looks at the first bytes of a peer's greeting.
///
/// Returns `Ok(None)` while more bytes are needed and they may still form a ZMTP 3 greeting,
/// `Ok(Some(greeting))` once all 64 bytes are there, and an error as soon as the bytes show a
/// peer that is not ZMTP 3 (a bad signature, ZMTP 1.0/2.0). Only `buf[..64]` is read.
pub fn parse_partial(buf: &[u8]) -> Result<Option<Greeting>, DecodeError> {
    if let Some(&b) = buf.first() {
        if b != 0xFF {
            return Err(DecodeError::BadSignature { byte: b, offset: 0 });
        }
    }
    if let Some(&b) = buf.get(9) {
        // LSB clear: a ZMTP 1.0 peer whose identity length is encoded in bytes 1..9.
        if b & 0x01 == 0 {
            return Err(DecodeError::BadSignature { byte: b, offset: 9 });
        }
    }
    if let Some(&major) = buf.get(10) {
        if major < VERSION_MAJOR {
            return Err(DecodeError::UnsupportedVersion { major });
        }
    }
    let Some(g) = buf.get(..GREETING_LEN) else {
        return Ok(None);
    };
    let mut mechanism = [0u8; 20];
    mechanism.copy_from_slice(&g[12..32]);
    Ok(Some(Greeting {
        major: g[10],
        minor: g[11],
        mechanism,
        as_server: g[32] != 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The greeting pyzmq 27.3 / libzmq 4.3.5 sends for a DEALER with no routing id (padding is
    /// routing-id length + 1, minor 1, NULL).
    const LIBZMQ_GREETING: [u8; 64] = {
        let mut g = [0u8; 64];
        g[0] = 0xFF;
        g[8] = 0x01;
        g[9] = 0x7F;
        g[10] = 3;
        g[11] = 1;
        g[12] = b'N';
        g[13] = b'U';
        g[14] = b'L';
        g[15] = b'L';
        g
    };

    #[test]
    fn parses_libzmq_greeting_at_every_prefix() {
        for n in 0..64 {
            assert_eq!(parse_partial(&LIBZMQ_GREETING[..n]), Ok(None), "prefix {n}");
        }
        let g = parse_partial(&LIBZMQ_GREETING).unwrap().unwrap();
        assert_eq!((g.major, g.minor), (3, 1));
        assert_eq!(g.mechanism, MECHANISM_NULL);
        assert!(g.is_v31());
    }

    #[test]
    fn ours_is_byte_exact() {
        let g = Greeting::ours(MECHANISM_NULL, false);
        let mut want = LIBZMQ_GREETING;
        want[8] = 0; // we send zero padding, as RFC 37 recommends
        assert_eq!(g, want);
    }

    #[test]
    fn rejects_non_zmtp3_early() {
        assert_eq!(
            parse_partial(b"GET / HTTP/1.1\r\n"),
            Err(DecodeError::BadSignature {
                byte: b'G',
                offset: 0
            })
        );
        // ZMTP 2.0: signature then revision 0x01.
        let mut v2 = LIBZMQ_GREETING;
        v2[10] = 0x01;
        assert_eq!(
            parse_partial(&v2[..11]),
            Err(DecodeError::UnsupportedVersion { major: 1 })
        );
        // ZMTP 1.0 long identity: byte 9 LSB clear.
        let mut v1 = LIBZMQ_GREETING;
        v1[9] = 0x00;
        assert!(matches!(
            parse_partial(&v1[..10]),
            Err(DecodeError::BadSignature { offset: 9, .. })
        ));
    }

    #[test]
    fn accepts_30_and_higher_versions() {
        let mut g = LIBZMQ_GREETING;
        g[11] = 0;
        assert!(!parse_partial(&g).unwrap().unwrap().is_v31());
        g[10] = 4;
        g[11] = 7;
        assert!(parse_partial(&g).unwrap().unwrap().is_v31());
    }
}
