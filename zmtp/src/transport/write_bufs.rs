//! Write buffers recycled between the connections a thread runs.
//!
//! A connection frees its write buffer before it sleeps (an idle connection holds no memory
//! but its state), and a connection woken for one message then allocated a new one: 540
//! instructions per wake-up in a broker with 64 workers, most of what encoding a message cost
//! there (callgrind). The buffers of connections going idle are kept here, per thread (no
//! lock), for the next connection woken on the thread to take.
//!
//! Bounded: at most [`MAX_BUFS`] buffers per thread, each of at most [`MAX_LEN`] bytes of
//! capacity; others are freed as before.

use std::cell::RefCell;

use bytes::BytesMut;

/// Buffers kept per thread.
const MAX_BUFS: usize = 32;
/// Largest capacity kept (bytes): the buffer of a connection that wrote small messages.
const MAX_LEN: usize = 8 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `buf` (an empty write buffer) for the next connection woken on this thread, if there
/// is room; else it is freed.
pub(crate) fn give(mut buf: BytesMut) {
    if buf.capacity() > MAX_LEN || buf.capacity() == 0 {
        return;
    }
    buf.clear();
    // Unavailable only while the thread exits: the buffer is then freed.
    let _ = SPARE.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < MAX_BUFS {
            s.push(buf);
        }
    });
}

/// A buffer kept by [`give`] on this thread, if any.
pub(crate) fn take() -> Option<BytesMut> {
    SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_small_buffers_up_to_the_bound() {
        // A fresh thread: the pool starts empty.
        std::thread::spawn(|| {
            assert!(take().is_none());
            give(BytesMut::new());
            assert!(take().is_none(), "a buffer without capacity is not kept");
            give(BytesMut::with_capacity(MAX_LEN + 1));
            assert!(take().is_none(), "a large buffer is not kept");
            let mut b = BytesMut::with_capacity(256);
            b.extend_from_slice(b"left over");
            give(b);
            let b = take().expect("kept");
            assert!(b.is_empty() && b.capacity() >= 256);
            for _ in 0..MAX_BUFS + 5 {
                give(BytesMut::with_capacity(64));
            }
            let mut n = 0;
            while take().is_some() {
                n += 1;
            }
            assert_eq!(n, MAX_BUFS);
        })
        .join()
        .expect("test thread");
    }
}
