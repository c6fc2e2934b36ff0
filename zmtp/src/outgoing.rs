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
            Outgoing::Message(m) => m.byte_len() + 2 * m.len(),
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
