//! DEALER: sends round-robin over the peers with room under SNDHWM, receives fair-queued
//! (libzmq `src/dealer.cpp`, `src/lb.cpp`, `src/fq.cpp`; RFC 28).

use std::sync::Arc;

use super::pipe::PipeId;
use super::{Error, Handle, State};
use crate::endpoint::Endpoint;
use crate::message::Message;
use crate::options::SocketOptions;
use crate::socket_type::SocketType;

/// A DEALER socket.
///
/// Clones share the socket (send from one task, receive from another); it closes when the last
/// clone is dropped or [`Dealer::close`] is called. Needs a tokio runtime for `bind`/`connect`.
#[derive(Debug, Clone)]
pub struct Dealer {
    h: Arc<Handle>,
}

impl Dealer {
    /// A DEALER with libzmq's default options.
    pub fn new() -> Self {
        Dealer {
            h: Arc::new(Handle {
                core: super::Core::new(SocketType::Dealer, SocketOptions::default()),
            }),
        }
    }

    /// A DEALER with the given options.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for values libzmq would refuse (a routing id of 0 or more than
    /// 255 bytes).
    pub fn with_options(options: SocketOptions) -> Result<Self, Error> {
        Ok(Dealer {
            h: Arc::new(Handle::new(SocketType::Dealer, options)?),
        })
    }

    /// The options the socket was made with.
    pub fn options(&self) -> &SocketOptions {
        &self.h.core.options
    }

    /// Listens on `endpoint` (e.g. `tcp://127.0.0.1:0`) and returns the endpoint actually bound
    /// (with the port the OS chose). Peers that connect get their own queues, which go away
    /// with their connection.
    ///
    /// # Errors
    /// A malformed endpoint, or the OS refusing the address (port in use...).
    pub fn bind(&self, endpoint: &str) -> Result<Endpoint, Error> {
        self.h.bind(endpoint)
    }

    /// Dials `endpoint` in the background and returns at once. Messages sent before the
    /// connection is up wait in this peer's queue (up to SNDHWM); the connection is re-dialled
    /// whenever it drops, and the queue survives. Needs a tokio runtime.
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

    /// Sends a multipart message to the next peer in round-robin order that has room, waiting
    /// while every peer is at SNDHWM or no peer exists (back-pressure; nothing is dropped).
    ///
    /// # Cancel safety
    /// If the future is dropped before it completes, the message was not queued (and is
    /// dropped with the future). Use [`Dealer::try_send`] to keep it.
    ///
    /// # Errors
    /// [`Error::EmptyMessage`], [`Error::Closed`].
    pub async fn send(&self, msg: impl Into<Message>) -> Result<(), Error> {
        let mut msg = Some(msg.into());
        if msg.as_ref().is_some_and(Message::is_empty) {
            return Err(Error::EmptyMessage);
        }
        let hwm = self.h.core.options.sndhwm;
        self.h
            .core
            .send_with(|st| match pick(st, hwm) {
                Some(id) => {
                    if let Some(m) = msg.take() {
                        st.push_outbound(id, m);
                    }
                    Ok(true)
                }
                None => Ok(false),
            })
            .await
    }

    /// Sends without waiting: [`Error::Full`] hands the message back when no peer has room.
    ///
    /// # Errors
    /// [`Error::Full`], [`Error::EmptyMessage`], [`Error::Closed`].
    pub fn try_send(&self, msg: impl Into<Message>) -> Result<(), Error> {
        let msg = msg.into();
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        let mut st = self.h.core.lock();
        if st.closed {
            return Err(Error::Closed);
        }
        match pick(&mut st, self.h.core.options.sndhwm) {
            Some(id) => {
                st.push_outbound(id, msg);
                Ok(())
            }
            None => Err(Error::Full(msg)),
        }
    }

    /// Receives the next message, fair-queued over peers (one whole message per peer per
    /// turn), waiting until one arrives.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped, no message was taken.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn recv(&self) -> Result<Message, Error> {
        self.h.core.recv().await.map(|(_, m)| m)
    }

    /// Receives a message if one is waiting.
    pub fn try_recv(&self) -> Option<Message> {
        self.h.core.try_recv().map(|(_, m)| m)
    }

    /// Receives up to `limit` messages (at least one), appending them to `buf` in the order
    /// [`Dealer::recv`] would return them, waiting until at least one arrives. Returns how
    /// many were received.
    ///
    /// One call takes the socket's lock once for the whole batch: for small messages at high
    /// rates it costs much less per message than calling [`Dealer::recv`] in a loop (as
    /// `tokio::sync::mpsc::Receiver::recv_many` does for channels).
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped, no message was taken.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn recv_many(&self, buf: &mut Vec<Message>, limit: usize) -> Result<usize, Error> {
        self.h.core.recv_many(buf, limit, |_, m| m).await
    }

    /// Sends every message of `msgs`, in order, each to the next peer in round-robin order
    /// that has room (as [`Dealer::send`] would), taking the socket's lock once per run of
    /// messages that fit; waits while every peer is at SNDHWM or no peer exists. `msgs` is
    /// empty when it returns `Ok`.
    ///
    /// # Cancel safety
    /// Messages are removed from the front of `msgs` as they are queued: if the future is
    /// dropped, what is left in `msgs` was not sent.
    ///
    /// # Errors
    /// [`Error::EmptyMessage`] (nothing of the batch is sent), [`Error::Closed`].
    pub async fn send_many(&self, msgs: &mut Vec<Message>) -> Result<(), Error> {
        if msgs.iter().any(Message::is_empty) {
            return Err(Error::EmptyMessage);
        }
        let hwm = self.h.core.options.sndhwm;
        self.h
            .core
            .send_with(|st| {
                let mut sent = 0;
                while sent < msgs.len() {
                    let Some(id) = pick(st, hwm) else { break };
                    st.push_outbound(id, std::mem::take(&mut msgs[sent]));
                    sent += 1;
                }
                msgs.drain(..sent);
                Ok(msgs.is_empty())
            })
            .await
    }

    /// Closes the socket and waits until queued messages were flushed to connected peers
    /// (bounded by LINGER) and every connection and listener is released.
    pub async fn close(self) {
        self.h.core.close_and_wait().await;
    }
}

impl Default for Dealer {
    fn default() -> Self {
        Dealer::new()
    }
}

/// The round-robin choice: the next pipe after the last one used that has room.
fn pick(st: &mut State, sndhwm: usize) -> Option<PipeId> {
    let n = st.out_ring.len();
    for i in 0..n {
        let idx = (st.out_cursor + i) % n;
        let id = st.out_ring[idx];
        if st.pipes.get(&id).is_some_and(|p| !p.is_full(sndhwm)) {
            st.out_cursor = (idx + 1) % n;
            return Some(id);
        }
    }
    None
}
