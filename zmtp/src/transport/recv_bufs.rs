//! Recycled receive buffers, shared by the connections of one socket.
//!
//! Receiving large messages allocates a large buffer every few messages, and fresh memory costs
//! a page fault per 4 KiB when it is first written (measured: up to a quarter of a 64 KiB
//! receiver's CPU, varying from run to run with what the allocator hands back). A buffer whose
//! bytes were all consumed comes back here; once the application has dropped every frame
//! sliced from it (`BytesMut::try_reclaim` then succeeds), the next connection that needs a
//! buffer of about that size reuses it, its pages already mapped.
//!
//! Bounded: at most [`MAX_BUFS`] buffers per socket, each of [`MIN_LEN`]..=[`MAX_LEN`] bytes,
//! so a socket retains at most 8 MiB it does not use.

use std::sync::Mutex;

use bytes::BytesMut;

/// Buffers kept per socket.
const MAX_BUFS: usize = 4;
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
    /// Consumed buffers and the size of their allocation.
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
        let old = std::mem::replace(buf, fresh);
        let old_alloc = std::mem::replace(alloc, fresh_alloc);
        self.give(old, old_alloc);
    }

    /// Hands back a buffer that is about to be dropped (an idle connection's, say).
    pub(crate) fn give(&self, buf: BytesMut, alloc: usize) {
        if !buf.is_empty() || !(MIN_LEN..=MAX_LEN).contains(&alloc) {
            return;
        }
        let mut bufs = self.bufs.lock().unwrap_or_else(|e| e.into_inner());
        if bufs.len() == MAX_BUFS {
            bufs.remove(0);
        }
        bufs.push((buf, alloc));
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
        Some(bufs.swap_remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn bounded_in_count_and_size() {
        let pool = RecvBufs::default();
        for _ in 0..10 {
            pool.give(BytesMut::with_capacity(256 * 1024), 256 * 1024);
        }
        pool.give(BytesMut::with_capacity(4 << 20), 4 << 20);
        pool.give(BytesMut::with_capacity(64 * 1024), 64 * 1024);
        assert_eq!(pool.bufs.lock().unwrap().len(), MAX_BUFS);
        // A buffer much larger than needed is not handed out.
        assert!(pool.take(MIN_LEN / 2).is_none());
    }
}
