//! PAIR: exactly one peer (RFC 31, libzmq `src/pair.cpp`). A second connection while the first
//! is attached is refused (closed, and logged); the first is unaffected. Sends go to the peer,
//! waiting while it is at SNDHWM or absent; receives come from it.

use super::behaviour::{announced_id, Attempt, Behaviour, SendMode};
use super::pipe::Pipes;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The PAIR socket type's rules; the socket is [`crate::Pair`].
#[derive(Debug)]
pub struct PairBehaviour {
    /// The one pipe: the connecting side's from `connect` on (unless IMMEDIATE), else the first
    /// peer whose handshake is done.
    pipe: Option<PipeId>,
}

impl Behaviour for PairBehaviour {
    const TYPE: SocketType = SocketType::Pair;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;

    fn new(_: &SocketOptions, _: u32) -> Self {
        PairBehaviour { pipe: None }
    }

    fn pipe_created(&mut self, id: PipeId, persistent: bool, options: &SocketOptions) -> bool {
        if persistent && !options.immediate && self.pipe.is_none() {
            self.pipe = Some(id);
            return true;
        }
        false
    }

    fn attach(
        &mut self,
        pipes: &mut Pipes,
        id: PipeId,
        peer: &PeerInfo,
        addr: &PeerAddr,
        _: &SocketOptions,
    ) -> Attached {
        let routing_id = announced_id(peer);
        match self.pipe {
            Some(p) if p != id => {
                if let Some(left_out) = crate::transport::loglimit::DUPLICATE_PEER.check() {
                    tracing::warn!(
                        target: crate::transport::loglimit::ROUTING,
                        peer = %addr,
                        socket_type = %SocketType::Pair,
                        routing_id = routing_id.as_ref().map(tracing::field::display),
                        left_out,
                        "PAIR already has a peer: new connection refused"
                    );
                }
                pipes.kick(id);
                return Attached {
                    ignored: true,
                    routing_id,
                };
            }
            _ => self.pipe = Some(id),
        }
        if let Some(p) = pipes.get_mut(id) {
            p.routing_id.clone_from(&routing_id);
        }
        Attached {
            ignored: false,
            routing_id,
        }
    }

    fn detach(&mut self, id: PipeId, _: Option<&RoutingId>, removed: bool, _: &SocketOptions) {
        if removed && self.pipe == Some(id) {
            self.pipe = None;
        }
    }

    #[inline]
    fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        _: SendMode,
        options: &SocketOptions,
    ) -> Attempt<()> {
        match self.pipe {
            Some(id) if pipes.has_room(id, options.sndhwm) => {
                pipes.push_outbound(id, msg);
                Attempt::Done(())
            }
            _ => Attempt::Wait(msg),
        }
    }

    #[inline]
    fn received(&mut self, _: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        Some(msg)
    }
}

impl super::SocketKind for PairBehaviour {}
