//! The request-reply state machines of REQ and REP (RFC 28, libzmq `src/req.cpp`,
//! `src/rep.cpp`), sans-IO: which calls are allowed when, which replies are accepted, and the
//! envelopes.
//!
//! - REQ: a request goes out with an empty delimiter frame in front; then only a reply may be
//!   received, only from the peer asked, only with the delimiter (dropped otherwise). With
//!   `correlate` (libzmq's ZMQ_REQ_CORRELATE) a 4-byte request id goes before the delimiter and
//!   a reply must carry it back; with `relaxed` (ZMQ_REQ_RELAXED) a new request may be sent
//!   while a reply is awaited, and the old one's reply is then dropped.
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
    /// ZMQ_REQ_CORRELATE: requests carry an id, and replies must bring it back.
    correlate: bool,
    /// ZMQ_REQ_RELAXED: a new request may be sent before the reply.
    relaxed: bool,
    /// The id of the last request (correlate).
    request_id: u32,
}

impl ReqState {
    /// A REQ with libzmq's options: `correlate`, `relaxed`; request ids count up from `seed`
    /// (libzmq starts from a random number, so ids do not repeat across restarts).
    pub fn new(correlate: bool, relaxed: bool, seed: u32) -> Self {
        ReqState {
            waiting: None,
            correlate,
            relaxed,
            request_id: seed,
        }
    }

    /// A new request may be sent (none is out, or `relaxed`).
    pub fn can_send(&self) -> bool {
        self.waiting.is_none() || self.relaxed
    }

    /// A reply may be received.
    pub fn can_recv(&self) -> bool {
        self.waiting.is_some()
    }

    /// `msg` goes to `pipe` as the new request: returns it as it goes on the wire (with
    /// `correlate`, a new request id; then an empty delimiter; then the frames). Only the reply
    /// to it is accepted from now on.
    pub fn request(&mut self, pipe: PipeId, mut msg: Message) -> Message {
        msg.push_front(Bytes::new());
        if self.correlate {
            self.request_id = self.request_id.wrapping_add(1);
            // In host byte order, as libzmq writes it: only this REQ reads it back.
            msg.push_front(Bytes::copy_from_slice(&self.request_id.to_ne_bytes()));
        }
        self.waiting = Some(pipe);
        msg
    }

    /// A message from `from`: the reply without its envelope if it is the awaited one (the
    /// cycle then starts again), else `None` (dropped: another peer, no delimiter, with
    /// `correlate` a missing or wrong request id).
    pub fn accept_reply(&mut self, from: PipeId, mut msg: Message) -> Option<Message> {
        if self.waiting != Some(from) {
            return None;
        }
        if self.correlate {
            let id = msg.pop_front()?;
            if id[..] != self.request_id.to_ne_bytes() {
                return None;
            }
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
        assert_eq!(r.request(PipeId(1), msg(&["q"])), msg(&["", "q"]));
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
    fn req_correlate_takes_only_the_reply_with_the_request_id() {
        let mut r = ReqState::new(true, false, u32::MAX);
        let wire = r.request(PipeId(1), msg(&["q"]));
        // The id counts up from the seed (wrapping), in host byte order, before the delimiter.
        let id = Bytes::copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(
            wire.frames(),
            &[id.clone(), Bytes::new(), Bytes::from("q")][..]
        );
        let reply = |id: &Bytes, body: &'static str| {
            Message::from_frames([id.clone(), Bytes::new(), Bytes::from(body)])
        };
        let wrong = Bytes::copy_from_slice(&7u32.to_ne_bytes());
        assert_eq!(r.accept_reply(PipeId(1), reply(&wrong, "stale")), None);
        assert_eq!(r.accept_reply(PipeId(1), msg(&["", "no id"])), None);
        assert_eq!(
            r.accept_reply(PipeId(1), msg(&["abc", "", "short id"])),
            None
        );
        assert_eq!(
            r.accept_reply(PipeId(1), reply(&id, "a")),
            Some(msg(&["a"]))
        );
        assert!(r.can_send());
    }

    #[test]
    fn req_relaxed_sends_again_and_waits_for_the_new_reply() {
        let mut r = ReqState::new(false, true, 0);
        r.request(PipeId(1), msg(&["first"]));
        assert!(
            r.can_send(),
            "relaxed: a new request may go before the reply"
        );
        r.request(PipeId(2), msg(&["second"]));
        assert_eq!(r.accept_reply(PipeId(1), msg(&["", "late"])), None);
        assert_eq!(
            r.accept_reply(PipeId(2), msg(&["", "ok"])),
            Some(msg(&["ok"]))
        );
        let strict = ReqState::new(true, false, 0);
        assert!(strict.can_send());
        let mut strict = strict;
        strict.request(PipeId(1), msg(&["x"]));
        assert!(!strict.can_send());
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
