//! REP: requests fair-queued from the peers, each handed over without its envelope; the reply
//! gets the envelope back and goes to the peer that asked (RFC 28, libzmq `src/rep.cpp`).
//! Receiving again before replying, or replying without a request, is [`Error::State`]. A
//! request without a delimiter is dropped; a reply to a peer that left, or is at SNDHWM, is
//! dropped (as a ROUTER would).

use super::behaviour::{Attempt, Behaviour, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use crate::message::Message;
use crate::options::SocketOptions;
use crate::routing::reqrep::RepState;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;

/// The REP socket type's rules; the socket is [`crate::Rep`].
#[derive(Debug)]
pub struct RepBehaviour {
    state: RepState,
}

impl Behaviour for RepBehaviour {
    const TYPE: SocketType = SocketType::Rep;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;

    fn new(_: &SocketOptions, _: u32) -> Self {
        RepBehaviour {
            state: RepState::default(),
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        _: SendMode,
        options: &SocketOptions,
    ) -> Attempt<()> {
        let Some((pipe, reply)) = self.state.frame_reply(msg) else {
            return Attempt::Fail(Error::State("REP: receive a request before replying"));
        };
        // Dropped if the peer left or is full, as libzmq's REP (a ROUTER underneath) does.
        if pipes.get(pipe).is_some_and(|p| p.connected) && pipes.has_room(pipe, options.sndhwm) {
            pipes.push_outbound(pipe, reply);
        }
        Attempt::Done(())
    }

    fn recv_allowed(&self) -> Result<(), Error> {
        if self.state.can_recv() {
            return Ok(());
        }
        Err(Error::State(
            "REP: reply to the request before receiving another",
        ))
    }

    fn received(&mut self, from: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        self.state.take_request(from, msg)
    }
}

impl super::SocketKind for RepBehaviour {}
