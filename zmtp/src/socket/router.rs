//! ROUTER: prefixes each received message with the sender's routing id and routes each sent
//! message by its first frame (libzmq `src/router.cpp`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::pipe::PipeId;
use super::{Attach, Error, Handle, RoutingId, State};
use crate::endpoint::Endpoint;
use crate::mechanism::null::PeerInfo;
use crate::message::Message;
use crate::options::SocketOptions;
use crate::socket_type::SocketType;

/// A ROUTER socket.
///
/// Received messages start with the sender's routing id; messages to send start with the
/// routing id of the peer to send to. Clones share the socket; it closes when the last clone is
/// dropped or [`Router::close`] is called.
#[derive(Debug, Clone)]
pub struct Router {
    h: Arc<Handle>,
}

/// What happened to a message given to [`Router::send`] (without ROUTER_MANDATORY, drops are
/// silent on the wire, as in libzmq; this tells the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routed {
    /// Queued for the peer.
    Queued,
    /// Dropped: no peer has this routing id (or the message had no frame after the id).
    Unroutable,
    /// Dropped: the peer's queue is at SNDHWM.
    Full,
}

impl Router {
    /// A ROUTER with libzmq's default options.
    pub fn new() -> Self {
        Router {
            h: Arc::new(Handle {
                core: super::Core::new(SocketType::Router, SocketOptions::default()),
            }),
        }
    }

    /// A ROUTER with the given options.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for values libzmq would refuse.
    pub fn with_options(options: SocketOptions) -> Result<Self, Error> {
        Ok(Router {
            h: Arc::new(Handle::new(SocketType::Router, options)?),
        })
    }

    /// The options the socket was made with.
    pub fn options(&self) -> &SocketOptions {
        &self.h.core.options
    }

    /// Listens on `endpoint` and returns the endpoint actually bound. See [`crate::Dealer::bind`].
    ///
    /// # Errors
    /// A malformed endpoint, or the OS refusing the address.
    pub fn bind(&self, endpoint: &str) -> Result<Endpoint, Error> {
        self.h.bind(endpoint)
    }

    /// Dials `endpoint` in the background, re-dialling when the connection drops. The peer is
    /// routable once its handshake is done.
    ///
    /// # Errors
    /// A malformed endpoint, or a closed socket.
    pub fn connect(&self, endpoint: &str) -> Result<(), Error> {
        self.h.connect(endpoint)
    }

    /// The endpoints bound so far.
    pub fn bound_endpoints(&self) -> Vec<Endpoint> {
        self.h.core.bound()
    }

    /// Sends `msg`, whose first frame names the peer.
    ///
    /// Without ROUTER_MANDATORY (libzmq's default) a message for an unknown peer, or for a peer
    /// at SNDHWM, is dropped and `Ok` tells which ([`Routed`]); a message with only the id frame
    /// is dropped too. With ROUTER_MANDATORY an unknown peer is [`Error::HostUnreachable`] and a
    /// full peer makes the call wait for room.
    ///
    /// # Cancel safety
    /// If the future is dropped before it completes (it can only wait with ROUTER_MANDATORY),
    /// the message was not queued.
    ///
    /// # Errors
    /// [`Error::HostUnreachable`] (mandatory), [`Error::EmptyMessage`], [`Error::Closed`].
    pub async fn send(&self, msg: impl Into<Message>) -> Result<Routed, Error> {
        let (id, body) = split_id(msg.into())?;
        let Some(body) = body else {
            return Ok(Routed::Unroutable);
        };
        let core = &self.h.core;
        let hwm = core.options.sndhwm;
        if !core.options.router_mandatory {
            let mut st = core.lock();
            if st.closed {
                return Err(Error::Closed);
            }
            return Ok(route(&mut st, &id, body, hwm).unwrap_or_else(|(r, _)| r));
        }
        let mut body = Some(body);
        core.send_with(|st| {
            let Some(b) = body.take() else {
                return Ok(true);
            };
            match route(st, &id, b, hwm) {
                Ok(_) => Ok(true),
                Err((Routed::Full, b)) => {
                    body = Some(b);
                    Ok(false)
                }
                Err(_) => Err(Error::HostUnreachable(id.clone())),
            }
        })
        .await
        .map(|()| Routed::Queued)
    }

    /// Sends without waiting. A full peer is [`Error::Full`] (the whole message handed back), an
    /// unknown one [`Error::HostUnreachable`], whatever ROUTER_MANDATORY says: the caller
    /// decides.
    ///
    /// # Errors
    /// [`Error::Full`], [`Error::HostUnreachable`], [`Error::EmptyMessage`], [`Error::Closed`].
    pub fn try_send(&self, msg: impl Into<Message>) -> Result<(), Error> {
        let (id, body) = split_id(msg.into())?;
        let Some(body) = body else {
            return Err(Error::EmptyMessage);
        };
        let core = &self.h.core;
        let mut st = core.lock();
        if st.closed {
            return Err(Error::Closed);
        }
        match route(&mut st, &id, body, core.options.sndhwm) {
            Ok(_) => Ok(()),
            Err((Routed::Full, mut b)) => {
                b.push_front(id.0);
                Err(Error::Full(b))
            }
            Err(_) => Err(Error::HostUnreachable(id)),
        }
    }

    /// Receives the next message, prefixed with the sender's routing id, fair-queued over
    /// peers.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped, no message was taken.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn recv(&self) -> Result<Message, Error> {
        let (id, msg) = self.h.core.recv().await?;
        Ok(prefix(id, msg))
    }

    /// Receives a message if one is waiting.
    pub fn try_recv(&self) -> Option<Message> {
        self.h.core.try_recv().map(|(id, m)| prefix(id, m))
    }

    /// Receives up to `limit` messages (at least one), each prefixed with its sender's
    /// routing id, appending them to `buf` in the order [`Router::recv`] would return them
    /// (fair-queued), waiting until at least one arrives. Returns how many were received.
    ///
    /// One call takes the socket's lock once for the whole batch: for small messages at high
    /// rates it costs much less per message than calling [`Router::recv`] in a loop.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped, no message was taken.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn recv_many(&self, buf: &mut Vec<Message>, limit: usize) -> Result<usize, Error> {
        self.h.core.recv_many(buf, limit, prefix).await
    }

    /// Closes the connection of the peer with this routing id (its queues are dropped). Returns
    /// false if no peer has it. A connecting peer will dial again.
    pub fn disconnect_peer(&self, id: &RoutingId) -> bool {
        self.h.core.kick(id)
    }

    /// True if a connected peer has this routing id.
    pub fn has_peer(&self, id: &RoutingId) -> bool {
        self.h.core.lock().routes.contains_key(id)
    }

    /// Closes the socket and waits until queued messages were flushed (bounded by LINGER) and
    /// every connection and listener is released.
    pub async fn close(self) {
        self.h.core.close_and_wait().await;
    }
}

impl Default for Router {
    fn default() -> Self {
        Router::new()
    }
}

fn split_id(mut msg: Message) -> Result<(RoutingId, Option<Message>), Error> {
    let Some(id) = msg.pop_front() else {
        return Err(Error::EmptyMessage);
    };
    // libzmq: an id frame without MORE (nothing after it) discards the message.
    Ok((RoutingId(id), (!msg.is_empty()).then_some(msg)))
}

fn prefix(id: Option<RoutingId>, mut msg: Message) -> Message {
    msg.push_front(id.map(|i| i.0).unwrap_or_default());
    msg
}

/// Where a ROUTER picks the peer: by routing id, if it exists and has room.
fn route(
    st: &mut State,
    id: &RoutingId,
    body: Message,
    sndhwm: usize,
) -> Result<Routed, (Routed, Message)> {
    let Some(pid) = st.routes.get(id).copied() else {
        return Err((Routed::Unroutable, body));
    };
    match st.pipes.get(&pid) {
        Some(p) if p.is_full(sndhwm) => return Err((Routed::Full, body)),
        Some(_) => {}
        None => return Err((Routed::Unroutable, body)),
    }
    st.push_outbound(pid, body);
    Ok(Routed::Queued)
}

/// Gives the pipe whose handshake just finished its routing id: the peer's `Identity` if it
/// sent one, else a generated `0x00` + u32 id. A clash keeps the old peer (the newcomer is
/// ignored, and logged) unless ROUTER_HANDOVER, where the newcomer takes the id and the old
/// connection is closed.
pub(crate) fn identify(
    st: &mut State,
    options: &SocketOptions,
    pid: PipeId,
    peer: &PeerInfo,
    addr: SocketAddr,
) -> Attach {
    let rid = if peer.identity.is_empty() {
        auto_id(st)
    } else {
        RoutingId(peer.identity.clone())
    };
    match st.routes.get(&rid).copied() {
        Some(owner) if owner == pid => return Attach::Ok,
        Some(owner) => {
            if !options.router_handover {
                tracing::warn!(
                    routing_id = %rid,
                    peer = %addr,
                    "duplicate routing id: new connection ignored (set router_handover to let it take over)"
                );
                return Attach::Ignored;
            }
            tracing::info!(routing_id = %rid, peer = %addr, "routing id handed over to new connection");
            st.kick_pipe(owner);
        }
        None => {}
    }
    // A reconnecting pipe may come back with another id.
    if let Some(old) = st.pipes.get(&pid).and_then(|p| p.routing_id.clone()) {
        if st.routes.get(&old) == Some(&pid) {
            st.routes.remove(&old);
        }
    }
    st.routes.insert(rid.clone(), pid);
    if let Some(p) = st.pipes.get_mut(&pid) {
        p.routing_id = Some(rid);
    }
    Attach::Ok
}

fn auto_id(st: &mut State) -> RoutingId {
    loop {
        let n = st.next_auto_id;
        st.next_auto_id = n.wrapping_add(1);
        let mut b = [0u8; 5];
        b[1..].copy_from_slice(&n.to_be_bytes());
        let id = RoutingId(Bytes::copy_from_slice(&b));
        if !st.routes.contains_key(&id) {
            return id;
        }
    }
}
