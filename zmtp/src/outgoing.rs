//! What a pipe queues for its connection: the message itself, or a small message's bytes
//! copied into the queue entry.
//!
//! Why the copy: the application allocates a message's frames on its thread and a connection
//! task drops them on another once they are written. glibc's per-thread caches then miss on
//! both sides (the allocation takes the arena's slow path, the free goes back to a foreign
//! arena under its lock): about 190 of a 16 B sender's 900 instructions per message, and for a
//! PUB, a shared reference count that every subscriber's connection decrements. A small
//! message is instead copied into its queue entry when it is queued, and its frames are freed
//! at once, on the thread that allocated them (libzmq keeps messages of up to 33 bytes inline
//! for the same reason). Only for connections that send frames as they are (no CURVE sealing,
//! no subscription rewriting: [`crate::protocol::session::Session::sends_frames_as_is`]);
//! anything else keeps the message.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::message::Message;
use crate::protocol::frame::FLAG_MORE;
use crate::protocol::session::{SendError, Session};

/// Most bytes a message copied inline may take on the wire (its frames and their 2-byte short
/// headers): the entry stays the size of a [`Message`].
pub(crate) const INLINE_WIRE: usize = 104;

/// A message queued for a connection.
#[derive(Clone, Debug)]
pub(crate) enum Outgoing {
    /// The message as the application gave it.
    Message(Message),
    /// A small message, already encoded as it goes on the wire.
    Inline(Inline),
}

/// A small message's frames as ZMTP short frames (flags, length, body), back to back: what the
/// connection writes for them, so that queueing it for the connection is one copy.
#[derive(Clone, Debug)]
pub(crate) struct Inline {
    len: u8,
    wire: [u8; INLINE_WIRE],
}

impl Inline {
    /// `msg` encoded, if it has a frame and fits.
    #[inline(always)]
    fn encode(msg: &Message) -> Option<Inline> {
        let frames = msg.frames();
        let wire_len = frames.iter().map(|f| 2 + f.len()).sum::<usize>();
        if frames.is_empty() || wire_len > INLINE_WIRE {
            return None;
        }
        let mut inline = Inline {
            len: wire_len as u8,
            wire: [0; INLINE_WIRE],
        };
        let last = frames.len() - 1;
        let mut at = 0;
        for (i, f) in frames.iter().enumerate() {
            // The short form (a body under 256 bytes): flags, then the length in one byte.
            let end = at + 2 + f.len();
            let dst = inline.wire.get_mut(at..end)?;
            dst[0] = if i < last { FLAG_MORE } else { 0 };
            dst[1] = f.len() as u8;
            dst[2..].copy_from_slice(f);
            at = end;
        }
        Some(inline)
    }

    fn wire(&self) -> &[u8] {
        &self.wire[..self.len as usize]
    }

    /// The frames again, each in a buffer of its own.
    fn to_message(&self) -> Message {
        let mut msg = Message::new();
        let mut rest = self.wire();
        while let [_flags, len, tail @ ..] = rest {
            let (body, next) = tail.split_at((*len as usize).min(tail.len()));
            msg.push_back(Bytes::copy_from_slice(body));
            rest = next;
        }
        msg
    }
}

impl Outgoing {
    /// `msg` queued as it is, or encoded inline if `inline` and it is small (its frames are
    /// then freed here, on the caller's thread).
    #[inline(always)]
    pub(crate) fn new(msg: Message, inline: bool) -> Outgoing {
        if inline {
            if let Some(i) = Inline::encode(&msg) {
                return Outgoing::Inline(i);
            }
        }
        Outgoing::Message(msg)
    }

    /// As [`Outgoing::new`], from a message the caller keeps (a PUB's copy per subscriber): a
    /// small one is encoded, not cloned, so no reference count is shared between connections.
    #[inline(always)]
    pub(crate) fn from_ref(msg: &Message, inline: bool) -> Outgoing {
        if inline {
            if let Some(i) = Inline::encode(msg) {
                return Outgoing::Inline(i);
            }
        }
        Outgoing::Message(msg.clone())
    }

    /// Frame bytes plus the smallest frame headers (the budget of a batch).
    #[inline(always)]
    pub(crate) fn wire_len(&self) -> usize {
        match self {
            Outgoing::Message(m) => wire_len(m),
            Outgoing::Inline(i) => i.len as usize,
        }
    }

    /// Queues it in `session` (see [`Session::send`]).
    #[inline(always)]
    pub(crate) fn send(&self, session: &mut Session) -> Result<(), SendError> {
        match self {
            Outgoing::Message(m) => session.send(m),
            Outgoing::Inline(i) => {
                if session.send_encoded(i.wire()) {
                    return Ok(());
                }
                // A reconnection that no longer sends frames as they are (or not ready).
                session.send(&i.to_message())
            }
        }
    }

    /// The message (an inline one's frames copied into new buffers).
    pub(crate) fn into_message(self) -> Message {
        match self {
            Outgoing::Message(m) => m,
            Outgoing::Inline(i) => i.to_message(),
        }
    }
}

/// A pipe's outbound queue, in the form its consumer takes it: entries ([`Outgoing`]) for a
/// connection that encodes them (tcp, ipc: [`OutQueue::take_entries`]), or the messages as they
/// are for an inproc relay, which hands them to the other socket
/// ([`OutQueue::take_messages`]). A queue starts as entries and turns into the other form,
/// converting what it holds, the first time it is taken in that form; then a whole queue is
/// taken in one swap, with no entry moved (callgrind, inproc 16 B: the relay's take, which
/// moved each entry out as a message, cost about 270 of 1260 instructions per message).
#[derive(Debug)]
pub(crate) enum OutQueue {
    /// For a connection: small messages may be encoded inline.
    Entries(VecDeque<Outgoing>),
    /// For an inproc relay.
    Messages(VecDeque<Message>),
}

impl Default for OutQueue {
    fn default() -> OutQueue {
        OutQueue::Entries(VecDeque::new())
    }
}

impl OutQueue {
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        match self {
            OutQueue::Entries(q) => q.len(),
            OutQueue::Messages(q) => q.len(),
        }
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn clear(&mut self) {
        match self {
            OutQueue::Entries(q) => q.clear(),
            OutQueue::Messages(q) => q.clear(),
        }
    }

    /// Queues `msg` at the back (see [`Outgoing::new`] for `inline`).
    #[inline(always)]
    pub(crate) fn push(&mut self, msg: Message, inline: bool) {
        match self {
            OutQueue::Entries(q) => q.push_back(Outgoing::new(msg, inline)),
            OutQueue::Messages(q) => q.push_back(msg),
        }
    }

    /// Queues a copy of `msg` at the back (see [`Outgoing::from_ref`]).
    #[inline(always)]
    pub(crate) fn push_ref(&mut self, msg: &Message, inline: bool) {
        match self {
            OutQueue::Entries(q) => q.push_back(Outgoing::from_ref(msg, inline)),
            OutQueue::Messages(q) => q.push_back(msg.clone()),
        }
    }

    /// Moves entries from the front into `batch` while under `max_bytes` on the wire (at least
    /// one if any, unless `max_bytes` is 0): the whole queue by swapping buffers when it fits
    /// and `batch` is empty.
    #[inline(always)]
    pub(crate) fn take_entries(&mut self, max_bytes: usize, batch: &mut VecDeque<Outgoing>) {
        if let OutQueue::Messages(q) = self {
            *self = OutQueue::Entries(q.drain(..).map(Outgoing::Message).collect());
        }
        if let OutQueue::Entries(q) = self {
            let n = count_up_to(q, max_bytes);
            if n == q.len() && batch.is_empty() {
                std::mem::swap(q, batch);
            } else {
                batch.extend(q.drain(..n));
            }
        }
    }

    /// Moves up to `max` messages from the front into `batch`, and about `max_bytes` of them
    /// as judged by the first one's size (at least one if any): the whole queue without moving
    /// a message when it fits and `batch` is empty (a `Vec` and a `VecDeque` that starts at the
    /// front of its buffer convert into each other in place; an inproc pipe's queue only grows
    /// at the back until it is taken). Judged from the front, the take costs the same whatever
    /// the queue's length; a relay's messages are usually alike in size.
    #[inline(always)]
    pub(crate) fn take_messages(&mut self, max: usize, max_bytes: usize, batch: &mut Vec<Message>) {
        if let OutQueue::Entries(q) = self {
            *self = OutQueue::Messages(q.drain(..).map(Outgoing::into_message).collect());
        }
        if let OutQueue::Messages(q) = self {
            let Some(front) = q.front() else {
                return;
            };
            let by_bytes = max_bytes.div_ceil(wire_len(front).max(1));
            let n = q.len().min(max).min(by_bytes.max(1));
            // Swapped only for a buffer that holds as many: from a smaller one the queue would
            // grow again, copying its messages at each step.
            if n == q.len() && batch.is_empty() && batch.capacity() >= n {
                let empty = VecDeque::from(std::mem::take(batch));
                *batch = Vec::from(std::mem::replace(q, empty));
            } else {
                batch.extend(q.drain(..n));
            }
        }
    }
}

/// `msg`'s frame bytes plus the smallest frame headers (2 bytes each): what a batch budget
/// counts.
#[inline(always)]
fn wire_len(msg: &Message) -> usize {
    msg.byte_len() + 2 * msg.len()
}

/// How many entries from the front of `queue` to take for about `max_bytes` on the wire: they
/// are taken while under it (at least one if any, unless `max_bytes` is 0).
#[inline(always)]
fn count_up_to(queue: &VecDeque<Outgoing>, max_bytes: usize) -> usize {
    let mut bytes = 0;
    queue
        .iter()
        .take_while(|m| {
            let under = bytes < max_bytes;
            bytes += m.wire_len();
            under
        })
        .count()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::session::SessionConfig;
    use crate::socket_type::SocketType;
    use bytes::BytesMut;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::time::Instant;

    fn msg(frames: &[&[u8]]) -> Message {
        frames.iter().map(|f| Bytes::copy_from_slice(f)).collect()
    }

    #[test]
    fn small_messages_go_inline_and_come_back_unchanged() {
        let cases: [&[&[u8]]; 6] = [
            &[b"x"],
            &[b""],
            &[b"id", b"", b"body"],
            &[b"a", b"b", b"c", b"d"],
            &[b"" as &[u8]; 52],
            &[&[7u8; INLINE_WIRE - 2]],
        ];
        for frames in cases {
            let m = msg(frames);
            let o = Outgoing::new(m.clone(), true);
            assert!(matches!(o, Outgoing::Inline(_)), "{frames:?} not inline");
            assert_eq!(o.wire_len(), m.byte_len() + 2 * m.len());
            assert_eq!(Outgoing::from_ref(&m, true).into_message(), m);
            assert_eq!(o.into_message(), m);
        }
    }

    #[test]
    fn large_or_many_framed_messages_and_no_inline_keep_the_message() {
        let big = [9u8; INLINE_WIRE - 1];
        let cases: [&[&[u8]]; 3] = [&[&big], &[&big[..50], &big[..51]], &[&[b'a'; 300]]];
        for frames in cases {
            let m = msg(frames);
            assert!(matches!(
                Outgoing::new(m.clone(), true),
                Outgoing::Message(_)
            ));
            assert_eq!(Outgoing::from_ref(&m, true).into_message(), m);
        }
        let m = msg(&[b"x"]);
        assert!(matches!(
            Outgoing::new(m.clone(), false),
            Outgoing::Message(_)
        ));
        assert!(matches!(
            Outgoing::from_ref(&m, false),
            Outgoing::Message(_)
        ));
        // No frame: kept as it is, for the session to refuse.
        assert!(matches!(
            Outgoing::new(Message::new(), true),
            Outgoing::Message(_)
        ));
    }

    #[test]
    fn the_entry_is_no_larger_than_a_message() {
        assert!(std::mem::size_of::<Outgoing>() <= std::mem::size_of::<Message>() + 8);
    }

    /// A session of `ours` type with a peer of type `theirs`, both past the handshake.
    pub(crate) fn ready(ours: SocketType, theirs: SocketType) -> Session {
        let now = Instant::now();
        let mut a = Session::new(SessionConfig::new(ours), now);
        let mut b = Session::new(SessionConfig::new(theirs), now);
        fn pass(now: Instant, from: &mut Session, to: &mut Session) {
            let mut buf = BytesMut::from(&from.out().to_vec()[..]);
            let n = from.pending_out();
            from.out().advance(n);
            to.handle_input(now, &mut buf).expect("handshake");
        }
        for _ in 0..3 {
            pass(now, &mut a, &mut b);
            pass(now, &mut b, &mut a);
        }
        assert!(a.is_ready() && b.is_ready());
        a
    }

    /// What `send` queues in a fresh ready session.
    fn wire_of(ours: SocketType, theirs: SocketType, send: impl Fn(&mut Session)) -> Vec<u8> {
        let mut s = ready(ours, theirs);
        send(&mut s);
        s.out().to_vec()
    }

    proptest! {
        /// An inline entry puts on the wire exactly what the session's own encoder makes of the
        /// message.
        #[test]
        fn inline_wire_is_the_encoders(frames in vec(vec(any::<u8>(), 0..40), 1..6)) {
            let m: Message = frames.iter().map(|f| Bytes::copy_from_slice(f)).collect();
            let o = Outgoing::new(m.clone(), true);
            let expect = wire_of(SocketType::Dealer, SocketType::Router, |s| s.send(&m).expect("send"));
            let got = wire_of(SocketType::Dealer, SocketType::Router, |s| o.send(s).expect("send"));
            prop_assert_eq!(got, expect);
        }
    }

    /// What an out queue's consumer takes, in either form, as messages.
    fn drain_entries(q: &mut OutQueue, budget: usize) -> Vec<Message> {
        let mut batch = VecDeque::new();
        q.take_entries(budget, &mut batch);
        batch.into_iter().map(Outgoing::into_message).collect()
    }

    #[test]
    fn an_out_queue_turns_into_messages_for_a_relay_and_back_keeping_order() {
        let m = |i: u8| msg(&[&[i; 3]]);
        let mut q = OutQueue::default();
        // Queued as entries (inline and not) before a relay takes them.
        q.push(m(0), true);
        q.push_ref(&m(1), false);
        q.push(m(2), true);
        let mut batch = Vec::new();
        q.take_messages(2, usize::MAX, &mut batch);
        assert!(matches!(q, OutQueue::Messages(_)));
        assert_eq!(batch, [m(0), m(1)], "up to the count, from the front");
        assert_eq!(q.len(), 1);
        q.push(m(3), true);
        q.push_ref(&m(4), true);
        // A non-empty batch is appended to.
        q.take_messages(usize::MAX, usize::MAX, &mut batch);
        assert_eq!(batch, [m(0), m(1), m(2), m(3), m(4)]);
        assert!(q.is_empty());
        // The whole queue into an empty batch: the buffers swap.
        let mut batch = Vec::with_capacity(64);
        let cap = batch.capacity();
        for i in 5..9 {
            q.push(m(i), true);
        }
        q.take_messages(usize::MAX, usize::MAX, &mut batch);
        assert_eq!(batch, [m(5), m(6), m(7), m(8)]);
        assert!(
            q_capacity(&q) >= cap,
            "the queue took the batch's buffer ({} < {cap})",
            q_capacity(&q)
        );
        // About `max_bytes`, by the first message's size (3 bytes, 5 on the wire): while under
        // it, so two of them for 10 bytes, three for 11; at least one, whatever the budget.
        for i in 9..13 {
            q.push(m(i), true);
        }
        let mut batch = Vec::new();
        q.take_messages(usize::MAX, 10, &mut batch);
        assert_eq!(batch, [m(9), m(10)]);
        q.push(m(13), true);
        q.take_messages(usize::MAX, 0, &mut batch);
        assert_eq!(batch, [m(9), m(10), m(11)]);
        q.take_messages(usize::MAX, 11, &mut batch);
        assert_eq!(batch, [m(9), m(10), m(11), m(12), m(13)]);
        q.clear();
        // Back to entries for a connection.
        q.push(m(9), true);
        q.push(m(10), false);
        assert_eq!(drain_entries(&mut q, 1 << 20), [m(9), m(10)]);
        assert!(matches!(q, OutQueue::Entries(_)));
        q.push(m(11), true);
        assert!(matches!(&q, OutQueue::Entries(e) if matches!(e[0], Outgoing::Inline(_))));
        q.clear();
        assert!(q.is_empty());
    }

    fn q_capacity(q: &OutQueue) -> usize {
        match q {
            OutQueue::Entries(e) => e.capacity(),
            OutQueue::Messages(m) => m.capacity(),
        }
    }

    /// A step of the model test below.
    #[derive(Debug, Clone)]
    enum Op {
        Push(Vec<u8>, bool),
        PushRef(Vec<u8>, bool),
        Entries(usize),
        Messages(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (vec(any::<u8>(), 0..120), any::<bool>()).prop_map(|(b, i)| Op::Push(b, i)),
            (vec(any::<u8>(), 0..120), any::<bool>()).prop_map(|(b, i)| Op::PushRef(b, i)),
            (0usize..400).prop_map(Op::Entries),
            (0usize..6, 0usize..400).prop_map(|(n, b)| Op::Messages(n, b)),
        ]
    }

    proptest! {
        /// Whatever the mix of pushes and takes in either form, the queue hands out exactly
        /// the messages pushed, in order, as a plain queue of messages would; a take of
        /// messages takes up to `max` and about `max_bytes` (by the first one's size, at least
        /// one), one of entries at least one if any (budget > 0).
        #[test]
        fn an_out_queue_is_a_fifo_of_messages(ops in vec(op(), 1..60)) {
            let mut q = OutQueue::default();
            let mut model: VecDeque<Message> = VecDeque::new();
            let mut out = Vec::new();
            let mut want = Vec::new();
            for op in ops {
                match op {
                    Op::Push(b, inline) => {
                        q.push(Message::from(b.clone()), inline);
                        model.push_back(Message::from(b));
                    }
                    Op::PushRef(b, inline) => {
                        q.push_ref(&Message::from(b.clone()), inline);
                        model.push_back(Message::from(b));
                    }
                    Op::Entries(budget) => {
                        let before = q.len();
                        let got = drain_entries(&mut q, budget);
                        prop_assert!(budget == 0 || before == 0 || !got.is_empty());
                        prop_assert_eq!(got.len() + q.len(), before);
                        want.extend(model.drain(..got.len()));
                        out.extend(got);
                    }
                    Op::Messages(max, max_bytes) => {
                        let mut batch = Vec::new();
                        let before = q.len();
                        q.take_messages(max, max_bytes, &mut batch);
                        // Bytes are judged by the first message's wire size.
                        let by_bytes = model
                            .front()
                            .map_or(0, |m| max_bytes.div_ceil((m.byte_len() + 2 * m.len()).max(1)));
                        prop_assert_eq!(batch.len(), before.min(max).min(by_bytes.max(1)));
                        want.extend(model.drain(..batch.len()));
                        out.extend(batch);
                    }
                }
                prop_assert_eq!(q.len(), model.len());
            }
            out.extend(drain_entries(&mut q, usize::MAX));
            want.extend(model.drain(..));
            prop_assert_eq!(out, want);
        }
    }

    /// Queued inline while the connection sent frames as they are, then sent on one that does
    /// not (a SUB towards a ZMTP 3.1 peer turns a subscription message into SUBSCRIBE): the
    /// message is rebuilt and goes through the session's rules.
    #[test]
    fn an_inline_entry_on_a_session_that_transforms_is_sent_as_the_message() {
        let m = Message::from(&b"\x01topic"[..]);
        let o = Outgoing::new(m.clone(), true);
        assert!(matches!(o, Outgoing::Inline(_)));
        let expect = wire_of(SocketType::Sub, SocketType::Pub, |s| {
            s.send(&m).expect("send")
        });
        let got = wire_of(SocketType::Sub, SocketType::Pub, |s| {
            o.send(s).expect("send")
        });
        assert_eq!(got, expect);
        // SUBSCRIBE's command frame: flags 0x04, not the message frame the entry holds.
        assert_eq!(got[0], 0x04);
    }
}
