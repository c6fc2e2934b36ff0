//! Frame headers (RFC 23/37 §"Framing").
//!
//! ```text
//! flags: bit0 MORE, bit1 LONG (8-byte size follows), bit2 COMMAND, bits 3..7 reserved
//! size:  1 octet when LONG is clear, else 8 octets, big-endian
//! ```
//!
//! On input we are as lenient as libzmq: reserved bits are ignored, the long form is accepted
//! for small sizes, and MORE on a command is ignored. On output we are strict: short form up to
//! 255 bytes, reserved bits zero.

use bytes::Bytes;

/// Flag bit: more frames of this message follow.
pub const FLAG_MORE: u8 = 0x01;
/// Flag bit: the size is 8 octets.
pub const FLAG_LONG: u8 = 0x02;
/// Flag bit: the frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
/// Largest body that uses the 1-octet size form.
pub const MAX_SHORT_FRAME_LEN: usize = 0xFF;
/// Largest frame header: flags plus an 8-octet size.
pub const MAX_HEADER_LEN: usize = 9;

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// MORE flag (meaningless on commands, where it is ignored).
    pub more: bool,
    /// COMMAND flag.
    pub command: bool,
    /// Declared body length, as sent by the peer (not yet checked against any limit).
    pub len: u64,
    /// Bytes the header itself took: 2 or 9.
    pub header_len: usize,
}

impl FrameHeader {
    /// Parses a header at the start of `buf`; `None` if `buf` is too short to hold it.
    pub fn parse(buf: &[u8]) -> Option<FrameHeader> {
        let flags = *buf.first()?;
        let (len, header_len) = if flags & FLAG_LONG != 0 {
            let size: [u8; 8] = buf.get(1..9)?.try_into().ok()?;
            (u64::from_be_bytes(size), 9)
        } else {
            (u64::from(*buf.get(1)?), 2)
        };
        Some(FrameHeader {
            more: flags & FLAG_MORE != 0,
            command: flags & FLAG_COMMAND != 0,
            len,
            header_len,
        })
    }

    /// Writes the header for a frame of `len` bytes into `out`, returning how many bytes it
    /// took: the short form up to 255 bytes, the long form above, reserved bits zero.
    pub fn encode(more: bool, command: bool, len: usize, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let mut flags = 0;
        if more {
            flags |= FLAG_MORE;
        }
        if command {
            flags |= FLAG_COMMAND;
        }
        if len <= MAX_SHORT_FRAME_LEN {
            out[0] = flags;
            out[1] = len as u8;
            2
        } else {
            out[0] = flags | FLAG_LONG;
            out[1..9].copy_from_slice(&(len as u64).to_be_bytes());
            9
        }
    }
}

/// One frame off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// MORE flag.
    pub more: bool,
    /// COMMAND flag.
    pub command: bool,
    /// The body, sliced out of the receive buffer without a copy.
    pub body: Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_forms() {
        let mut h = [0u8; MAX_HEADER_LEN];
        assert_eq!(FrameHeader::encode(true, false, 255, &mut h), 2);
        assert_eq!(&h[..2], &[0x01, 0xFF]);
        assert_eq!(FrameHeader::encode(false, true, 256, &mut h), 9);
        assert_eq!(h, [0x06, 0, 0, 0, 0, 0, 0, 1, 0]);
        let p = FrameHeader::parse(&h).unwrap();
        assert_eq!(
            (p.more, p.command, p.len, p.header_len),
            (false, true, 256, 9)
        );
    }

    #[test]
    fn lenient_on_input() {
        // Reserved bits set, long form for a small size.
        let p = FrameHeader::parse(&[0xF3, 0, 0, 0, 0, 0, 0, 0, 5]).unwrap();
        assert_eq!((p.more, p.command, p.len), (true, false, 5));
        assert_eq!(FrameHeader::parse(&[0x02, 0, 0]), None);
        assert_eq!(FrameHeader::parse(&[0x00]), None);
        assert_eq!(FrameHeader::parse(&[]), None);
    }
}
