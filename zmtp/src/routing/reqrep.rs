//! The request-reply state machines of REQ and REP (RFC 28, libzmq `src/req.cpp`,
//! `src/rep.cpp`), sans-IO: which calls are allowed when, which replies are accepted, and the
//! envelopes.
//!
//! - REQ: a request goes out with an empty delimiter frame in front; then only a reply may be
//!   received, only from the peer asked, only with the delimiter (dropped otherwise).
//! - REP: a request's envelope (every frame up to and including the first empty one) is kept
//!   and put back on the reply, which goes to the peer the request came from; a request
//!   without a delimiter is dropped.

use bytes::Bytes;

use super::PipeId;
use crate::message::Message;

/// REQ: where it is in its send/receive cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReqState {
    /// The peer asked, while a reply is awaited.
    waiting: Option<PipeId>,
}

impl ReqState {
    /// A new request may be sent.
    pub fn can_send(&self) -> bool {
        self.waiting.is_none()
    }

    /// A reply may be received.
    pub fn can_recv(&self) -> bool {
        self.waiting.is_some()
    }

    /// The request went to `pipe`: its delimiter is to be put in front by the caller with
    /// [`ReqState::frame_request`].
    pub fn sent(&mut self, pipe: PipeId) {
        self.waiting = Some(pipe);
    }

    /// The request as it goes on the wire: an empty delimiter, then the frames.
    pub fn frame_request(mut msg: Message) -> Message {
        msg.push_front(Bytes::new());
        msg
    }

    /// A message from `from`: the reply without its delimiter if it is the awaited one (the
    /// cycle then starts again), else `None` (dropped: another peer, or no delimiter).
    pub fn accept_reply(&mut self, from: PipeId, mut msg: Message) -> Option<Message> {
        if self.waiting != Some(from) {
            return None;
        }
        if !msg.first().is_some_and(|f| f.is_empty()) || msg.len() < 2 {
            return None;
        }
        msg.pop_front();
        self.waiting = None;
        Some(msg)
    }
}

/// REP: the request being answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepState {
    /// The peer and envelope of the request taken, until it is answered.
    replying: Option<(PipeId, Vec<Bytes>)>,
}

impl RepState {
    /// A request may be received (the previous one was answered).
    pub fn can_recv(&self) -> bool {
        self.replying.is_none()
    }

    /// A reply may be sent.
    pub fn can_send(&self) -> bool {
        self.replying.is_some()
    }

    /// A request from `from`: its body (the frames after the first empty one), keeping its
    /// envelope for the reply; `None` if it has no delimiter (dropped).
    pub fn take_request(&mut self, from: PipeId, msg: Message) -> Option<Message> {
        let frames = msg.into_frames();
        let split = frames.iter().position(|f| f.is_empty())?;
        let mut envelope = frames;
        let body = envelope.split_off(split + 1);
        self.replying = Some((from, envelope));
        Some(Message::from_frames(body))
    }

    /// The reply to the request taken: the peer to send it to and the message with the
    /// envelope in front. The cycle starts again.
    pub fn frame_reply(&mut self, msg: Message) -> Option<(PipeId, Message)> {
        let (pipe, envelope) = self.replying.take()?;
        let mut frames = envelope;
        frames.extend(msg.into_frames());
        Some((pipe, Message::from_frames(frames)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(frames: &[&'static str]) -> Message {
        Message::from_frames(frames.iter().map(|f| Bytes::from_static(f.as_bytes())))
    }

    #[test]
    fn req_alternates_and_takes_only_the_awaited_reply() {
        let mut r = ReqState::default();
        assert!(r.can_send() && !r.can_recv());
        assert_eq!(ReqState::frame_request(msg(&["q"])), msg(&["", "q"]));
        r.sent(PipeId(1));
        assert!(!r.can_send() && r.can_recv());
        // From another peer, or without a delimiter: dropped, still waiting.
        assert_eq!(r.accept_reply(PipeId(2), msg(&["", "a"])), None);
        assert_eq!(r.accept_reply(PipeId(1), msg(&["a"])), None);
        assert_eq!(r.accept_reply(PipeId(1), msg(&[""])), None);
        assert!(r.can_recv());
        assert_eq!(
            r.accept_reply(PipeId(1), msg(&["", "a", "b"])),
            Some(msg(&["a", "b"]))
        );
        assert!(r.can_send() && !r.can_recv());
        // Nothing awaited: dropped.
        assert_eq!(r.accept_reply(PipeId(1), msg(&["", "late"])), None);
    }

    #[test]
    fn rep_keeps_the_envelope_for_the_reply() {
        let mut r = RepState::default();
        assert!(r.can_recv() && !r.can_send());
        assert_eq!(r.frame_reply(msg(&["x"])), None);
        // A routed request: two address frames, the delimiter, a body of two frames.
        let body = r.take_request(PipeId(7), msg(&["id1", "id2", "", "a", "b"]));
        assert_eq!(body, Some(msg(&["a", "b"])));
        assert!(!r.can_recv() && r.can_send());
        assert_eq!(
            r.frame_reply(msg(&["r"])),
            Some((PipeId(7), msg(&["id1", "id2", "", "r"])))
        );
        assert!(r.can_recv());
        // The body may contain empty frames after the first one.
        assert_eq!(
            r.take_request(PipeId(1), msg(&["", "", "x"])),
            Some(msg(&["", "x"]))
        );
        assert_eq!(
            r.frame_reply(msg(&["y"])),
            Some((PipeId(1), msg(&["", "y"])))
        );
        // No delimiter: dropped, still ready for a request.
        assert_eq!(r.take_request(PipeId(1), msg(&["no", "delimiter"])), None);
        assert!(r.can_recv());
    }
}
