//! The frame codec: [`FrameDecoder`] slices frames out of a receive buffer, [`OutBuf`] queues
//! encoded frames for a (vectored) write.
//!
//! Decoding follows tokio-util's `Decoder` contract: `Ok(None)` means more bytes are needed and
//! the buffer keeps the partial frame; a frame's size is checked against the limit as soon as
//! its header is parsed, before any room is reserved for it, so a peer that declares 2^62 bytes
//! costs nothing until it actually sends them (and then only what it sent, see
//! [`FrameDecoder::reserve_hint`]).

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::frame::{Frame, FrameHeader, MAX_HEADER_LEN};

/// Largest command frame accepted (READY with its metadata, PING, ...). Commands are small; a
/// bound here keeps a hostile handshake from buffering megabytes.
pub const MAX_COMMAND_LEN: u64 = 64 * 1024;

/// Largest frame body size that ZMTP allows (the size field is a signed 64-bit value).
const MAX_WIRE_LEN: u64 = i64::MAX as u64;

/// The smallest read the driver should make room for.
pub const MIN_READ_LEN: usize = 8 * 1024;

/// Read-ahead used when not inside a large frame.
pub const READ_AHEAD_LEN: usize = 64 * 1024;

/// Decodes frames from a byte buffer.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_len: Option<u64>,
    head: Option<FrameHeader>,
}

impl FrameDecoder {
    /// A decoder rejecting data frames over `max_frame_len` bytes (MAXMSGSIZE; `None` = no
    /// limit, libzmq's default). Commands are always bounded by [`MAX_COMMAND_LEN`].
    pub fn new(max_frame_len: Option<u64>) -> Self {
        FrameDecoder {
            max_frame_len,
            head: None,
        }
    }

    /// Takes the next complete frame off the front of `buf`.
    ///
    /// `Ok(None)`: more bytes are needed. Errors are final: the connection must be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        let head = match self.head {
            Some(h) => h,
            None => {
                let Some(h) = FrameHeader::parse(buf) else {
                    return Ok(None);
                };
                self.check(&h)?;
                buf.advance(h.header_len);
                self.head = Some(h);
                h
            }
        };
        // `check` guarantees head.len fits in usize.
        let len = head.len as usize;
        if buf.len() < len {
            return Ok(None);
        }
        self.head = None;
        Ok(Some(Frame {
            more: head.more,
            command: head.command,
            body: buf.split_to(len).freeze(),
        }))
    }

    fn check(&self, h: &FrameHeader) -> Result<(), DecodeError> {
        if h.command {
            if h.len > MAX_COMMAND_LEN {
                return Err(DecodeError::CommandTooLarge { len: h.len });
            }
        } else if let Some(max) = self.max_frame_len {
            if h.len > max {
                return Err(DecodeError::FrameTooLarge { len: h.len, max });
            }
        }
        let max = MAX_WIRE_LEN.min(usize::MAX as u64);
        if h.len > max {
            return Err(DecodeError::FrameTooLarge { len: h.len, max });
        }
        Ok(())
    }

    /// How much free room the driver should reserve before its next read, given `buffered`
    /// bytes already in the buffer.
    ///
    /// Inside a large frame this is what the frame still needs, but never more than what has
    /// already been buffered (so memory grows at most geometrically with the bytes actually
    /// received, never with the size a peer merely declares) and never less than
    /// [`MIN_READ_LEN`].
    ///
    /// Prefer [`FrameDecoder::reserve_for_read`]: `buf.reserve(hint)` on every read lets
    /// `BytesMut` double a capacity that already has up to `hint` bytes free, which reaches
    /// about four times the bytes received.
    pub fn reserve_hint(&self, buffered: usize) -> usize {
        match self.head {
            Some(h) => {
                let missing = (h.len as usize).saturating_sub(buffered);
                missing.min(buffered.max(READ_AHEAD_LEN)).max(MIN_READ_LEN)
            }
            None => READ_AHEAD_LEN,
        }
    }

    /// Makes room in `buf` for the next read: nothing while [`MIN_READ_LEN`] bytes are free,
    /// else [`FrameDecoder::reserve_hint`]. Afterwards at least [`MIN_READ_LEN`] bytes are free.
    ///
    /// Growing only once the free room is nearly used up keeps the capacity within about twice
    /// the bytes received plus [`READ_AHEAD_LEN`], whatever size a peer declares, while the
    /// buffer still grows geometrically (no quadratic copying inside a large frame).
    pub fn reserve_for_read(&self, buf: &mut BytesMut) {
        reserve_for_read(buf, self.reserve_hint(buf.len()));
    }
}

/// Reserves `hint` bytes in `buf` unless [`MIN_READ_LEN`] bytes are already free (see
/// [`FrameDecoder::reserve_for_read`]).
pub(crate) fn reserve_for_read(buf: &mut BytesMut, hint: usize) {
    if buf.capacity() - buf.len() < MIN_READ_LEN {
        buf.reserve(hint.max(MIN_READ_LEN));
    }
}

/// Frames at or below this size are copied into the write buffer; larger ones are queued as
/// their own chunk and written with a vectored write, without a copy.
pub const COPY_THRESHOLD: usize = 4 * 1024;

/// Encoded bytes waiting to be written: a queue of shared chunks (large payloads, referenced
/// not copied) followed by a buffer that small frames and headers are copied into.
#[derive(Debug, Default)]
pub struct OutBuf {
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    len: usize,
}

impl OutBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        OutBuf::default()
    }

    /// Queues one frame: header, then body (copied if small, referenced if large).
    pub fn push_frame(&mut self, more: bool, command: bool, body: &Bytes) {
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = FrameHeader::encode(more, command, body.len(), &mut head);
        self.tail.extend_from_slice(&head[..n]);
        if body.len() <= COPY_THRESHOLD {
            self.tail.extend_from_slice(body);
        } else {
            if !self.tail.is_empty() {
                self.chunks.push_back(self.tail.split().freeze());
            }
            self.chunks.push_back(body.clone());
        }
        self.len += n + body.len();
    }

    /// Queues raw bytes (the greeting).
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `dst` with slices of the pending bytes, in order; returns how many were filled.
    pub fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for c in &self.chunks {
            if n == dst.len() {
                return n;
            }
            dst[n] = IoSlice::new(c);
            n += 1;
        }
        if n < dst.len() && !self.tail.is_empty() {
            dst[n] = IoSlice::new(&self.tail);
            n += 1;
        }
        n
    }

    /// The first contiguous pending slice (for a plain, non-vectored write).
    pub fn chunk(&self) -> &[u8] {
        match self.chunks.front() {
            Some(c) => c,
            None => &self.tail,
        }
    }

    /// Marks `n` bytes as written.
    pub fn advance(&mut self, mut n: usize) {
        debug_assert!(n <= self.len);
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            match self.chunks.front_mut() {
                Some(c) if c.len() <= n => {
                    n -= c.len();
                    self.chunks.pop_front();
                }
                Some(c) => {
                    c.advance(n);
                    return;
                }
                None => {
                    self.tail.advance(n);
                    return;
                }
            }
        }
        if self.len == 0 {
            // Reclaims the buffer in place when no frame still references it.
            self.tail.clear();
        }
    }

    /// Frees the write buffer's memory if nothing is pending (for idle connections).
    pub fn release_if_empty(&mut self) {
        if self.len == 0 && self.tail.capacity() > 0 {
            self.tail = BytesMut::new();
        }
    }

    /// Copies everything pending into one vector (tests and simple drivers).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for c in &self.chunks {
            v.extend_from_slice(c);
        }
        v.extend_from_slice(&self.tail);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(dec: &mut FrameDecoder, buf: &mut BytesMut) -> Vec<Frame> {
        let mut out = vec![];
        while let Some(f) = dec.decode(buf).unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn round_trip_across_the_short_long_boundary() {
        let mut ob = OutBuf::new();
        let bodies: Vec<Bytes> = [0usize, 1, 255, 256, 5000, 70_000]
            .iter()
            .map(|&n| Bytes::from(vec![n as u8; n]))
            .collect();
        for (i, b) in bodies.iter().enumerate() {
            ob.push_frame(i + 1 < bodies.len(), false, b);
        }
        let mut buf = BytesMut::from(&ob.to_vec()[..]);
        let frames = decode_all(&mut FrameDecoder::new(None), &mut buf);
        assert_eq!(frames.len(), bodies.len());
        for (f, b) in frames.iter().zip(&bodies) {
            assert_eq!(&f.body, b);
        }
        assert!(frames[..5].iter().all(|f| f.more));
        assert!(!frames[5].more);
        assert!(buf.is_empty());
    }

    #[test]
    fn limit_checked_at_header_time() {
        let mut dec = FrameDecoder::new(Some(100));
        let mut buf = BytesMut::from(&[0x02u8, 0x40, 0, 0, 0, 0, 0, 0, 0][..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(DecodeError::FrameTooLarge { len, max: 100 }) if len == 1 << 62
        ));
    }

    #[test]
    fn huge_declared_size_without_limit_reserves_little() {
        let mut dec = FrameDecoder::new(None);
        let mut buf = BytesMut::from(&[0x02u8, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3][..]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        assert!(dec.reserve_hint(buf.len()) <= READ_AHEAD_LEN);
        assert!(dec.reserve_hint(1 << 20) <= 1 << 20);
    }

    /// Feeds `total` bytes of one frame body, `chunk` bytes per read, reserving room with
    /// `reserve` before each read; returns the largest capacity seen.
    fn peak_capacity(
        total: usize,
        chunk: usize,
        reserve: impl Fn(&FrameDecoder, &mut BytesMut),
    ) -> usize {
        let mut dec = FrameDecoder::new(None);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x10, 0, 0, 0]); // a 256 MiB frame
        assert_eq!(dec.decode(&mut buf), Ok(None));
        let (mut fed, mut peak) = (9, 0);
        while fed < total {
            reserve(&dec, &mut buf);
            let n = chunk.min(buf.capacity() - buf.len());
            assert!(n > 0);
            buf.extend_from_slice(&vec![0u8; n]);
            fed += n;
            assert_eq!(dec.decode(&mut buf), Ok(None));
            peak = peak.max(buf.capacity());
        }
        peak
    }

    #[test]
    fn reserve_for_read_keeps_capacity_within_twice_the_bytes_received() {
        // Found by the `frame_decoder` fuzz target: reserving the hint before every read made
        // BytesMut double a half-empty buffer (2 MiB of capacity for 934 KB received). Reads
        // smaller than the free room (here 100 KB) are what leave it half empty.
        let total = 934_000;
        let naive = peak_capacity(total, 100_000, |d, b| b.reserve(d.reserve_hint(b.len())));
        assert!(naive > 2 * total + 128 * 1024, "{naive}");
        let fixed = peak_capacity(total, 100_000, |d, b| d.reserve_for_read(b));
        assert!(fixed <= 2 * total + READ_AHEAD_LEN, "{fixed}");
        for chunk in [1000, 8192, 65_536, 300_000] {
            let peak = peak_capacity(total, chunk, |d, b| d.reserve_for_read(b));
            assert!(peak <= 2 * total + READ_AHEAD_LEN, "chunk {chunk}: {peak}");
        }
    }

    #[test]
    fn oversized_command_rejected() {
        let mut dec = FrameDecoder::new(None);
        let mut buf = BytesMut::from(&[0x06u8, 0, 0, 0, 0, 0, 1, 0, 1][..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(DecodeError::CommandTooLarge { len: 65537 })
        );
    }

    #[test]
    fn partial_writes_advance_through_chunks() {
        let mut ob = OutBuf::new();
        ob.push_frame(true, false, &Bytes::from_static(b"abc"));
        ob.push_frame(false, false, &Bytes::from(vec![7u8; 10_000]));
        ob.push_frame(false, false, &Bytes::from_static(b"z"));
        let all = ob.to_vec();
        let mut written = Vec::new();
        while !ob.is_empty() {
            let c = ob.chunk();
            let n = c.len().min(777);
            written.extend_from_slice(&c[..n]);
            ob.advance(n);
        }
        assert_eq!(written, all);
    }
}
