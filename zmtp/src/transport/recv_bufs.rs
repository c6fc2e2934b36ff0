//! Recycled receive buffers, shared by the connections of one socket.
//!
//! Receiving large messages allocates a large buffer every few messages, and fresh memory costs
//! a page fault per 4 KiB when it is first written (measured: up to a quarter of a 64 KiB
//! receiver's CPU, varying from run to run with what the allocator hands back). A buffer whose
//! bytes were all consumed comes back here; once the application has dropped every frame
//! sliced from it (`BytesMut::try_reclaim` then succeeds), the next connection that needs a
//! buffer of about that size reuses it, its pages already mapped.
//!
//! A buffer is given up with part of a frame still in it more often than not (a 4 KiB
//! message rarely ends where a 64 KiB read-ahead does); that part is copied into the fresh
//! buffer, and the old one comes here all the same.
//!
//! Bounded: buffers of [`MIN_LEN`]..=[`MAX_LEN`] bytes, at most [`MAX_BYTES`] of them per
//! socket (the oldest go), so a socket retains at most 8 MiB it does not use. The bound is in
//! bytes, not in buffers: a receiver of 4 KiB messages has its queue's worth of 80 KiB
//! read-ahead buffers in flight (about 50 at the default RCVHWM). Those the pool does not keep
//! go back to the allocator when the application drains the queue, and glibc's allocator
//! gives the top of its heap back to the kernel and faults it in again on the next burst
//! (measured: 0.17 to 0.3 page faults per 4 KiB message, and 40 % of the receiver's CPU, with
//! a pool of 4 buffers and the buffers given up inside a frame dropped). A buffer into which
//! less than [`MIN_USED`] was read (an idle connection's that received a greeting and a
//! message or two) saves next to no page faults when reused, and is kept only as one of
//! [`SPARE_BUFS`], so a socket with many idle connections keeps no more of theirs than that.

use std::sync::Mutex;

use bytes::BytesMut;

/// Bytes of buffers kept per socket.
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Buffers kept per socket whatever was read into them.
const SPARE_BUFS: usize = 4;
/// Buffers into which less than a page was read are kept only as spares.
const MIN_USED: usize = 4 * 1024;
/// Smaller buffers are left to the allocator. The read-ahead buffers of small messages (64 KiB)
/// are kept: from the allocator they came from the top of the heap, which it gave back to the
/// kernel and took again (a `brk` call and page faults per buffer, measured with 1 KiB
/// messages).
const MIN_LEN: usize = 32 * 1024;
/// Fresh buffers are rounded up to a multiple of this.
const SLACK: usize = 16 * 1024;
/// Larger buffers are not kept.
const MAX_LEN: usize = 2 * 1024 * 1024;

/// The pool; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct RecvBufs {
    /// Consumed buffers and the size of their allocation, the oldest first.
    bufs: Mutex<Vec<(BytesMut, usize)>>,
}

impl RecvBufs {
    /// Makes room for `additional` more bytes in `buf`, whose allocation is `*alloc` bytes: in
    /// place if it can be reclaimed, else in a recycled buffer of between `need` and `2 * need`
    /// bytes, else in a new one of exactly `need` (`need` = what `buf` holds plus
    /// `additional`). The buffer given up comes back to the pool if all its bytes were consumed.
    pub(crate) fn grow(&self, buf: &mut BytesMut, alloc: &mut usize, additional: usize) {
        if buf.try_reclaim(additional) {
            return;
        }
        let need = buf.len() + additional;
        // A fresh buffer gets some slack (rounded up to 16 KiB): the next one needed is the
        // read-ahead plus a partial message of another length, and a recycled buffer must be
        // at least that large to be taken.
        let (mut fresh, fresh_alloc) = self.take(need).unwrap_or_else(|| {
            let len = need.next_multiple_of(SLACK);
            (BytesMut::with_capacity(len), len)
        });
        fresh.extend_from_slice(buf);
        let mut old = std::mem::replace(buf, fresh);
        // Its unconsumed bytes (a partial frame) were copied into the fresh buffer.
        old.clear();
        let old_alloc = std::mem::replace(alloc, fresh_alloc);
        self.give(old, old_alloc);
    }

    /// Hands back a buffer, all its bytes consumed: one given up for a larger one, or an
    /// idle connection's. One into which less than [`MIN_USED`] was read is kept only while
    /// the pool holds fewer than [`SPARE_BUFS`]; the oldest go while it holds over
    /// [`MAX_BYTES`].
    pub(crate) fn give(&self, buf: BytesMut, alloc: usize) {
        if !buf.is_empty() || !(MIN_LEN..=MAX_LEN).contains(&alloc) {
            return;
        }
        let used = alloc.saturating_sub(buf.capacity());
        let mut bufs = self.bufs.lock().unwrap_or_else(|e| e.into_inner());
        if used < MIN_USED && bufs.len() >= SPARE_BUFS {
            return;
        }
        bufs.push((buf, alloc));
        let mut total: usize = bufs.iter().map(|&(_, a)| a).sum();
        let mut evict = 0;
        for &(_, a) in bufs.iter() {
            if total <= MAX_BYTES {
                break;
            }
            total -= a;
            evict += 1;
        }
        bufs.drain(..evict);
    }

    fn take(&self, need: usize) -> Option<(BytesMut, usize)> {
        if !(MIN_LEN..=MAX_LEN).contains(&need) {
            return None;
        }
        let mut bufs = self.bufs.lock().unwrap_or_else(|e| e.into_inner());
        let i = bufs.iter_mut().position(|(b, a)| {
            // Reclaimable only once no frame references it any more.
            (need..=2 * need).contains(a) && b.try_reclaim(need)
        })?;
        Some(bufs.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_consumed_buffer_is_reused_once_its_frames_are_dropped() {
        let pool = RecvBufs::default();
        let mut buf = BytesMut::new();
        let mut alloc = 0;
        pool.grow(&mut buf, &mut alloc, 256 * 1024);
        assert_eq!(alloc, 256 * 1024);
        let first = buf.as_ptr();
        buf.extend_from_slice(&vec![1u8; 256 * 1024]);
        let frame = buf.split_to(256 * 1024).freeze();
        // Full and consumed, a frame still alive: a new buffer; the old one goes to the pool.
        pool.grow(&mut buf, &mut alloc, 256 * 1024);
        assert_ne!(buf.as_ptr(), first);
        buf.extend_from_slice(&vec![2u8; 256 * 1024]);
        let frame2 = buf.split_to(256 * 1024).freeze();
        // The first buffer's frame is still alive: it cannot be reused yet.
        pool.grow(&mut buf, &mut alloc, 256 * 1024);
        assert_ne!(buf.as_ptr(), first);
        assert!(frame.iter().all(|&b| b == 1) && frame2.iter().all(|&b| b == 2));
        drop(frame);
        buf.extend_from_slice(&vec![3u8; 256 * 1024]);
        let frame3 = buf.split_to(256 * 1024).freeze();
        // Now it is free: reused, and nothing else was overwritten.
        pool.grow(&mut buf, &mut alloc, 256 * 1024);
        assert_eq!(buf.as_ptr(), first);
        buf.extend_from_slice(&vec![4u8; 256 * 1024]);
        assert!(frame2.iter().all(|&b| b == 2) && frame3.iter().all(|&b| b == 3));
    }

    /// The read-ahead buffers of small messages (64 KiB) are recycled, and a fresh one has
    /// room for the next need, which is the read-ahead plus a partial message of another length.
    /// (Checked on the pool itself: the allocator may hand the same address back anyway.)
    #[test]
    fn a_read_ahead_buffer_is_kept_for_a_slightly_larger_need() {
        const READ_AHEAD: usize = 64 * 1024;
        let pool = RecvBufs::default();
        let mut buf = BytesMut::new();
        let mut alloc = 0;
        pool.grow(&mut buf, &mut alloc, READ_AHEAD + 100);
        let first = buf.as_ptr();
        buf.extend_from_slice(&vec![1u8; READ_AHEAD + 100]);
        let frame = buf.split_to(READ_AHEAD + 100).freeze();
        // Consumed, a frame alive: a new buffer, and the first one is kept.
        pool.grow(&mut buf, &mut alloc, READ_AHEAD + 700);
        assert_ne!(buf.as_ptr(), first);
        assert_eq!(
            pool.bufs.lock().unwrap().len(),
            1,
            "the 64 KiB buffer was not kept"
        );
        drop(frame);
        // 600 bytes more than the first buffer was asked for: it is handed out all the same.
        let (reused, _) = pool
            .take(READ_AHEAD + 700)
            .expect("the kept buffer fits the larger need");
        assert_eq!(reused.as_ptr(), first);
    }

    /// A buffer of `len` bytes, all consumed, and the frame sliced from it (alive: the buffer
    /// is in use until it is dropped).
    fn consumed(len: usize) -> (BytesMut, Bytes) {
        let mut buf = BytesMut::with_capacity(len);
        buf.resize(len, 7);
        let frame = buf.split_to(len).freeze();
        (buf, frame)
    }

    fn kept(pool: &RecvBufs) -> Vec<*const u8> {
        let bufs = pool.bufs.lock().unwrap();
        let sum: usize = bufs.iter().map(|&(_, a)| a).sum();
        assert!(sum <= MAX_BYTES, "{sum} bytes kept");
        bufs.iter().map(|(b, _)| b.as_ptr()).collect()
    }

    /// Most buffers are given up with part of a frame in them (a 4 KiB message rarely ends
    /// where a 64 KiB read-ahead does); those bytes were copied into the fresh buffer, so the
    /// old one is recycled all the same.
    #[test]
    fn a_buffer_given_up_inside_a_frame_is_recycled() {
        const READ_AHEAD: usize = 64 * 1024;
        let pool = RecvBufs::default();
        let mut buf = BytesMut::new();
        let mut alloc = 0;
        pool.grow(&mut buf, &mut alloc, READ_AHEAD);
        let first = buf.as_ptr();
        buf.resize(buf.capacity(), 1);
        let frames = buf.split_to(buf.len() - 1000).freeze();
        // 1000 bytes of the next frame are in; the read-ahead needs a new buffer.
        pool.grow(&mut buf, &mut alloc, READ_AHEAD);
        assert_ne!(buf.as_ptr(), first);
        assert_eq!(&buf[..], &[1u8; 1000][..], "the partial frame moved over");
        assert_eq!(kept(&pool).len(), 1, "the buffer given up is kept");
        drop(frames);
        let (reused, _) = pool.take(READ_AHEAD).expect("reusable");
        assert_eq!(reused.as_ptr(), first);
    }

    /// A receiver of 4 KiB messages has a queue's worth of read-ahead buffers in use (about
    /// 50 at the default RCVHWM): all are kept up to MAX_BYTES, then the oldest go.
    #[test]
    fn buffers_in_use_are_kept_up_to_the_byte_bound() {
        const LEN: usize = 80 * 1024;
        let pool = RecvBufs::default();
        let mut frames = Vec::new();
        let mut ptrs = Vec::new();
        for _ in 0..50 {
            let (buf, frame) = consumed(LEN);
            ptrs.push(buf.as_ptr());
            pool.give(buf, LEN);
            frames.push(frame);
        }
        assert_eq!(kept(&pool), ptrs, "all 50 kept, the oldest first");
        let more = MAX_BYTES / LEN - 50 + 10;
        for _ in 0..more {
            let (buf, frame) = consumed(LEN);
            ptrs.push(buf.as_ptr());
            pool.give(buf, LEN);
            frames.push(frame);
        }
        let now = kept(&pool);
        assert_eq!(now.len(), MAX_BYTES / LEN, "bounded in bytes");
        assert_eq!(now[..], ptrs[ptrs.len() - now.len()..], "the oldest went");
    }

    /// A socket with many idle connections keeps no more than SPARE_BUFS of their buffers,
    /// into each of which little was read (a greeting, a handshake, a message or two).
    #[test]
    fn barely_used_buffers_are_kept_only_as_spares() {
        const LEN: usize = 80 * 1024;
        let pool = RecvBufs::default();
        let used = |n: usize| {
            let mut buf = BytesMut::with_capacity(LEN);
            buf.resize(n, 7);
            drop(buf.split_to(n));
            buf
        };
        let mut ptrs = Vec::new();
        for _ in 0..10 {
            let buf = used(MIN_USED - 1);
            ptrs.push(buf.as_ptr());
            pool.give(buf, LEN);
        }
        assert_eq!(kept(&pool), ptrs[..SPARE_BUFS], "only spares");
        // One into which more was read is kept beyond them.
        let buf = used(MIN_USED);
        ptrs.truncate(SPARE_BUFS);
        ptrs.push(buf.as_ptr());
        pool.give(buf, LEN);
        assert_eq!(kept(&pool), ptrs);
    }

    #[test]
    fn bounded_in_size() {
        let pool = RecvBufs::default();
        pool.give(BytesMut::with_capacity(4 << 20), 4 << 20);
        pool.give(BytesMut::with_capacity(16 * 1024), 16 * 1024);
        assert!(kept(&pool).is_empty(), "too large, too small");
        pool.give(BytesMut::with_capacity(256 * 1024), 256 * 1024);
        // A buffer much larger than needed is not handed out.
        assert!(pool.take(MIN_LEN).is_none());
        assert!(pool.take(200 * 1024).is_some());
    }
}
