//! REQ: a request round-robined over the peers with room, with an empty delimiter in front;
//! then exactly one reply, from the peer asked (RFC 28, libzmq `src/req.cpp`). Sending again
//! before the reply, or receiving before a request, is [`Error::State`]. Replies from other
//! peers, or without the delimiter, are dropped. Options `req_correlate` and `req_relaxed` as
//! libzmq's (see [`crate::routing::reqrep`]). Each request starts by dropping the replies
//! received and not taken, as libzmq does: a stale one cannot pass for the new one's reply.

use super::behaviour::{Attempt, Behaviour, RoundRobin, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::reqrep::ReqState;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The REQ socket type's rules; the socket is [`crate::Req`].
#[derive(Debug)]
pub struct ReqBehaviour {
    rr: RoundRobin,
    state: ReqState,
}

impl Behaviour for ReqBehaviour {
    const TYPE: SocketType = SocketType::Req;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;

    fn new(options: &SocketOptions, seed: u32) -> Self {
        ReqBehaviour {
            rr: RoundRobin::default(),
            state: ReqState::new(options.req_correlate, options.req_relaxed, seed),
        }
    }

    fn pipe_created(&mut self, id: PipeId, persistent: bool, options: &SocketOptions) -> bool {
        self.rr.pipe_created(id, persistent, options)
    }

    fn attach(
        &mut self,
        pipes: &mut Pipes,
        id: PipeId,
        peer: &PeerInfo,
        _: &PeerAddr,
        _: &SocketOptions,
    ) -> Attached {
        self.rr.attach(pipes, id, peer)
    }

    fn detach(
        &mut self,
        id: PipeId,
        _: Option<&RoutingId>,
        removed: bool,
        options: &SocketOptions,
    ) {
        self.rr.detach(id, removed, options);
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        _: SendMode,
        options: &SocketOptions,
    ) -> Attempt<()> {
        if !self.state.can_send() {
            return Attempt::Fail(Error::State(
                "REQ: a request is out; receive its reply before sending another",
            ));
        }
        match self.rr.pick(pipes, options) {
            Some(id) => {
                pipes.discard_inbound();
                let request = self.state.request(id, msg);
                pipes.push_outbound(id, request);
                Attempt::Done(())
            }
            None => Attempt::Wait(msg),
        }
    }

    fn recv_allowed(&self) -> Result<(), Error> {
        if self.state.can_recv() {
            return Ok(());
        }
        Err(Error::State("REQ: send a request before receiving"))
    }

    fn received(&mut self, from: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        self.state.accept_reply(from, msg)
    }
}

impl super::SocketKind for ReqBehaviour {}
