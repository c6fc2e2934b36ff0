//! Sockets: the state shared between a socket handle and its connection tasks.
//!
//! Each peer has a `Pipe` (`pipe.rs`): an inbound and an outbound queue of whole messages, bounded
//! by RCVHWM and SNDHWM. Connection tasks (one per TCP connection, see `transport::driver`) move
//! batches of messages between their pipe and the wire under one lock per batch; the socket
//! handle picks a pipe per message: [`dealer`] round-robins sends, [`router`] looks the pipe up
//! by routing id, and both fair-queue receives over the pipes that hold messages.

pub mod dealer;
pub(crate) mod pipe;
pub mod router;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::endpoint::{Endpoint, EndpointError};
use crate::mechanism::null::PeerInfo;
use crate::message::Message;
use crate::options::SocketOptions;
use crate::session::Session;
use crate::socket_type::SocketType;
use pipe::{Pipe, PipeId, PipeMap};

/// A peer's routing id, as a ROUTER sees it: the `Identity` the peer announced, or a generated
/// one (5 bytes: `0x00` then a 32-bit counter, as libzmq makes them).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoutingId(pub Bytes);

impl RoutingId {
    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RoutingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoutingId(\"{}\")", self.0.escape_ascii())
    }
}

impl fmt::Display for RoutingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl From<&'static str> for RoutingId {
    fn from(s: &'static str) -> Self {
        RoutingId(Bytes::from_static(s.as_bytes()))
    }
}

impl From<Bytes> for RoutingId {
    fn from(b: Bytes) -> Self {
        RoutingId(b)
    }
}

/// Errors of socket operations.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint string is malformed.
    Endpoint(EndpointError),
    /// Binding failed (port in use, address not available, name not resolved...).
    Bind {
        /// The endpoint.
        endpoint: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// ROUTER_MANDATORY: no connected peer has this routing id.
    HostUnreachable(RoutingId),
    /// `try_send`: no room (every pipe at SNDHWM, or no peer); the message is handed back.
    Full(Message),
    /// A message needs at least one frame (a ROUTER message two: id and body).
    EmptyMessage,
    /// An option value libzmq would refuse.
    InvalidOption(&'static str),
    /// The socket is closed.
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Endpoint(e) => e.fmt(f),
            Error::Bind { endpoint, source } => write!(f, "cannot bind {endpoint}: {source}"),
            Error::HostUnreachable(id) => {
                write!(f, "host unreachable: no peer with routing id {id}")
            }
            Error::Full(_) => f.write_str("peer queue full (high-water mark reached)"),
            Error::EmptyMessage => f.write_str("message has no frames"),
            Error::InvalidOption(what) => write!(f, "invalid option: {what}"),
            Error::Closed => f.write_str("socket closed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Endpoint(e) => Some(e),
            Error::Bind { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        Error::Endpoint(e)
    }
}

/// The state of one socket, shared by its handle and its connection and listener tasks.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) socket_type: SocketType,
    pub(crate) options: SocketOptions,
    state: Mutex<State>,
    /// Woken when a message arrives and someone waits in `recv`.
    recv_ready: Notify,
    /// Woken when a pipe gets room or appears and someone waits in `send`.
    send_ready: Notify,
    /// Cancelled when the socket closes.
    pub(crate) shutdown: CancellationToken,
    /// Receive buffers recycled between this socket's connections.
    pub(crate) recv_bufs: crate::transport::recv_bufs::RecvBufs,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) pipes: PipeMap,
    next_pipe: u64,
    /// Pipes holding inbound messages, in fair-queue order.
    in_ring: VecDeque<PipeId>,
    /// Pipes a DEALER may send to, in round-robin order.
    pub(crate) out_ring: Vec<PipeId>,
    pub(crate) out_cursor: usize,
    /// ROUTER: routing id to pipe.
    pub(crate) routes: HashMap<RoutingId, PipeId>,
    pub(crate) next_auto_id: u32,
    recv_waiters: usize,
    send_waiters: usize,
    pub(crate) closed: bool,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    bound: Vec<Endpoint>,
}

/// What the connection task should do after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attach {
    /// Messages flow.
    Ok,
    /// ROUTER duplicate routing id without handover: keep the connection, drop its messages.
    Ignored,
}

impl Core {
    pub(crate) fn new(socket_type: SocketType, options: SocketOptions) -> Arc<Core> {
        Arc::new(Core {
            socket_type,
            options,
            state: Mutex::new(State {
                next_auto_id: random_u32(),
                ..State::default()
            }),
            recv_ready: Notify::new(),
            send_ready: Notify::new(),
            shutdown: CancellationToken::new(),
            recv_bufs: Default::default(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain queues behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Creates a pipe. `persistent`: the connecting side's pipe, which outlives connections.
    pub(crate) fn new_pipe(&self, persistent: bool) -> (PipeId, Arc<Notify>) {
        let mut st = self.lock();
        st.next_pipe += 1;
        let id = PipeId(st.next_pipe);
        let notify = Arc::new(Notify::new());
        st.pipes.insert(
            id,
            Box::new(Pipe::new(notify.clone(), persistent, self.options.rcvhwm)),
        );
        // libzmq: connect() creates the pipe at once unless IMMEDIATE, so a DEALER can queue
        // messages before the connection is up.
        if persistent && !self.options.immediate && self.socket_type == SocketType::Dealer {
            st.activate(id);
            drop(st);
            self.wake_senders();
        }
        (id, notify)
    }

    /// The handshake on `pipe`'s connection is done.
    pub(crate) fn attach(&self, id: PipeId, peer: &PeerInfo, addr: SocketAddr) -> Attach {
        let mut st = self.lock();
        let result = match self.socket_type {
            SocketType::Router => router::identify(&mut st, &self.options, id, peer, addr),
            _ => {
                st.activate(id);
                Attach::Ok
            }
        };
        if let Some(p) = st.pipes.get_mut(&id) {
            p.connected = true;
            p.ignored = result == Attach::Ignored;
        }
        drop(st);
        self.wake_senders();
        result
    }

    /// The connection of `pipe` ended. A persistent (connecting) pipe keeps its queues for the
    /// next connection; any other pipe is removed, its outbound queue discarded, its inbound
    /// messages still delivered.
    ///
    /// Senders waiting for room are woken: one waiting for this pipe (ROUTER_MANDATORY) must
    /// now fail with `HostUnreachable` instead of waiting for room that will not come.
    pub(crate) fn detach(&self, id: PipeId, keep: bool) {
        let mut st = self.lock();
        let Some(p) = st.pipes.get_mut(&id) else {
            return;
        };
        p.connected = false;
        p.kick = false;
        if keep && p.persistent {
            if self.options.immediate {
                st.deactivate(id);
            }
        } else {
            st.remove_pipe(id);
        }
        let wake = st.send_waiters > 0;
        drop(st);
        if wake {
            self.send_ready.notify_waiters();
        }
    }

    /// Pushes messages received on `pipe`. Returns true if the pipe is now at RCVHWM and the
    /// connection should stop reading.
    pub(crate) fn deliver(&self, id: PipeId, msgs: &mut Vec<Message>) -> bool {
        if msgs.is_empty() {
            return false;
        }
        let mut st = self.lock();
        let hwm = self.options.rcvhwm;
        let Some(p) = st.pipes.get_mut(&id) else {
            msgs.clear();
            return false;
        };
        if p.ignored {
            msgs.clear();
            return false;
        }
        p.inbound.extend(msgs.drain(..));
        let full = hwm != 0 && p.inbound.len() >= hwm;
        p.reader_paused = full;
        let newly_ready = !p.in_ring;
        p.in_ring = true;
        if newly_ready {
            st.in_ring.push_back(id);
        }
        let wake = st.recv_waiters > 0;
        drop(st);
        if wake {
            self.recv_ready.notify_waiters();
        }
        full
    }

    /// True if the pipe's inbound queue is still over its low-water mark.
    pub(crate) fn inbound_paused(&self, id: PipeId) -> bool {
        self.lock().pipes.get(&id).is_some_and(|p| p.reader_paused)
    }

    /// Moves queued outbound messages of `pipe` into the session until about `max_bytes` are
    /// pending there. Returns true if the pipe was asked to disconnect (handover, kick).
    ///
    /// Messages are taken out under the lock and encoded after it is released, so a sender is
    /// never held up by the encoding.
    pub(crate) fn fill(
        &self,
        id: PipeId,
        session: &mut Session,
        max_bytes: usize,
        batch: &mut Vec<Message>,
    ) -> bool {
        let budget = max_bytes.saturating_sub(session.pending_out());
        {
            let mut st = self.lock();
            let Some(p) = st.pipes.get_mut(&id) else {
                return true;
            };
            if p.kick {
                return true;
            }
            let mut bytes = 0;
            while bytes < budget {
                let Some(msg) = p.outbound.pop_front() else {
                    break;
                };
                bytes += msg.byte_len() + 2 * msg.len();
                batch.push(msg);
            }
            // Senders waiting for room are woken once the pipe is down to half its SNDHWM
            // (libzmq's low-water mark), not after every batch: waking them for every few
            // messages costs a futex round trip per batch.
            let hwm = self.options.sndhwm;
            let low = hwm == 0 || p.outbound.len() <= hwm / 2;
            let wake = !batch.is_empty() && low && st.send_waiters > 0;
            drop(st);
            if wake {
                self.send_ready.notify_waiters();
            }
        }
        for msg in batch.drain(..) {
            // The socket API refuses empty messages, so this cannot fail once ready.
            let _ = session.send(&msg);
        }
        false
    }

    /// True if the pipe has outbound messages queued.
    pub(crate) fn has_outbound(&self, id: PipeId) -> bool {
        self.lock()
            .pipes
            .get(&id)
            .is_some_and(|p| !p.outbound.is_empty())
    }

    pub(crate) fn wake_senders(&self) {
        if self.lock().send_waiters > 0 {
            self.send_ready.notify_waiters();
        }
    }

    /// Takes the next message in fair-queue order: one message per pipe per turn.
    pub(crate) fn try_recv(&self) -> Option<(Option<RoutingId>, Message)> {
        let mut st = self.lock();
        st.pop_inbound()
    }

    /// Waits for a message. Cancel safe: a message is taken only when it is returned.
    pub(crate) async fn recv(&self) -> Result<(Option<RoutingId>, Message), Error> {
        self.recv_with(State::pop_inbound).await
    }

    /// Waits for at least one message, then takes up to `limit` (at least one), fair-queued,
    /// under one lock, each passed through `map` into `out`. Returns how many were taken.
    /// Cancel safe: messages are taken only when the call returns.
    pub(crate) async fn recv_many(
        &self,
        out: &mut Vec<Message>,
        limit: usize,
        mut map: impl FnMut(Option<RoutingId>, Message) -> Message,
    ) -> Result<usize, Error> {
        let limit = limit.max(1);
        self.recv_with(|st| {
            let mut n = 0;
            while n < limit {
                let Some((id, m)) = st.pop_inbound() else {
                    break;
                };
                out.push(map(id, m));
                n += 1;
            }
            (n > 0).then_some(n)
        })
        .await
    }

    /// Runs `take` under the lock until it returns something, waiting for inbound messages in
    /// between. Cancel safe if `take` only takes what it returns.
    async fn recv_with<T>(
        &self,
        mut take: impl FnMut(&mut State) -> Option<T>,
    ) -> Result<T, Error> {
        // Fast path: a message is waiting.
        if let Some(m) = take(&mut self.lock()) {
            return Ok(m);
        }
        loop {
            let notified = self.recv_ready.notified();
            tokio::pin!(notified);
            {
                let mut st = self.lock();
                if let Some(m) = take(&mut st) {
                    return Ok(m);
                }
                if st.closed {
                    return Err(Error::Closed);
                }
                notified.as_mut().enable();
                st.recv_waiters += 1;
            }
            let _guard = WaiterGuard {
                core: self,
                recv: true,
            };
            notified.await;
        }
    }

    /// Runs `attempt` under the lock until it succeeds or fails for good, waiting for pipe room
    /// in between. Cancel safe in that nothing is queued unless `Ok` is returned.
    pub(crate) async fn send_with<F>(&self, mut attempt: F) -> Result<(), Error>
    where
        F: FnMut(&mut State) -> Result<bool, Error>,
    {
        // Fast path: room now.
        {
            let mut st = self.lock();
            if st.closed {
                return Err(Error::Closed);
            }
            if attempt(&mut st)? {
                return Ok(());
            }
        }
        loop {
            let notified = self.send_ready.notified();
            tokio::pin!(notified);
            {
                let mut st = self.lock();
                if st.closed {
                    return Err(Error::Closed);
                }
                if attempt(&mut st)? {
                    return Ok(());
                }
                notified.as_mut().enable();
                st.send_waiters += 1;
            }
            let _guard = WaiterGuard {
                core: self,
                recv: false,
            };
            notified.await;
        }
    }

    pub(crate) fn add_task(&self, h: tokio::task::JoinHandle<()>) {
        let mut st = self.lock();
        st.tasks.retain(|t| !t.is_finished());
        st.tasks.push(h);
    }

    pub(crate) fn add_bound(&self, ep: Endpoint) {
        self.lock().bound.push(ep);
    }

    pub(crate) fn bound(&self) -> Vec<Endpoint> {
        self.lock().bound.clone()
    }

    /// Starts closing: no more sends or receives; connection tasks flush within LINGER and end.
    pub(crate) fn close(&self) {
        let notifies: Vec<Arc<Notify>> = {
            let mut st = self.lock();
            st.closed = true;
            st.pipes.values().map(|p| p.notify.clone()).collect()
        };
        self.shutdown.cancel();
        for n in notifies {
            n.notify_one();
        }
        self.recv_ready.notify_waiters();
        self.send_ready.notify_waiters();
    }

    /// Closes and waits until every task has ended.
    pub(crate) async fn close_and_wait(&self) {
        self.close();
        let tasks = std::mem::take(&mut self.lock().tasks);
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Asks the connection of the peer with this routing id to close. Returns false if unknown.
    /// The peer is unroutable at once, so senders waiting for its room are woken (to fail).
    pub(crate) fn kick(&self, id: &RoutingId) -> bool {
        let mut st = self.lock();
        let Some(pid) = st.routes.get(id).copied() else {
            return false;
        };
        st.kick_pipe(pid);
        let wake = st.send_waiters > 0;
        drop(st);
        if wake {
            self.send_ready.notify_waiters();
        }
        true
    }
}

struct WaiterGuard<'a> {
    core: &'a Core,
    recv: bool,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.core.lock();
        if self.recv {
            st.recv_waiters -= 1;
        } else {
            st.send_waiters -= 1;
        }
    }
}

impl State {
    pub(crate) fn activate(&mut self, id: PipeId) {
        if let Some(p) = self.pipes.get_mut(&id) {
            if !p.active {
                p.active = true;
                self.out_ring.push(id);
            }
        }
    }

    pub(crate) fn deactivate(&mut self, id: PipeId) {
        if let Some(p) = self.pipes.get_mut(&id) {
            p.active = false;
        }
        if let Some(pos) = self.out_ring.iter().position(|&p| p == id) {
            self.out_ring.remove(pos);
            if self.out_cursor > pos {
                self.out_cursor -= 1;
            }
        }
    }

    /// Queues `msg` on pipe `id` and wakes its connection if it was idle.
    pub(crate) fn push_outbound(&mut self, id: PipeId, msg: Message) {
        if let Some(p) = self.pipes.get_mut(&id) {
            let was_empty = p.outbound.is_empty();
            p.outbound.push_back(msg);
            if was_empty {
                p.notify.notify_one();
            }
        }
    }

    pub(crate) fn kick_pipe(&mut self, id: PipeId) {
        if let Some(p) = self.pipes.get_mut(&id) {
            p.kick = true;
            p.notify.notify_one();
        }
        self.unroute(id);
    }

    fn unroute(&mut self, id: PipeId) {
        if let Some(rid) = self.pipes.get(&id).and_then(|p| p.routing_id.clone()) {
            if self.routes.get(&rid) == Some(&id) {
                self.routes.remove(&rid);
            }
        }
    }

    fn remove_pipe(&mut self, id: PipeId) {
        self.deactivate(id);
        self.unroute(id);
        let Some(p) = self.pipes.get_mut(&id) else {
            return;
        };
        p.outbound.clear();
        if p.inbound.is_empty() {
            self.pipes.remove(&id);
        } else {
            // Delivered later; removed when drained.
            p.dead = true;
        }
    }

    fn pop_inbound(&mut self) -> Option<(Option<RoutingId>, Message)> {
        while let Some(id) = self.in_ring.pop_front() {
            let Some(p) = self.pipes.get_mut(&id) else {
                continue;
            };
            let Some(msg) = p.inbound.pop_front() else {
                p.in_ring = false;
                continue;
            };
            let rid = p.routing_id.clone();
            if p.inbound.is_empty() {
                p.in_ring = false;
                if p.dead {
                    self.pipes.remove(&id);
                    return Some((rid, msg));
                }
            } else {
                self.in_ring.push_back(id);
            }
            if p.reader_paused && p.inbound.len() <= p.low_water {
                p.reader_paused = false;
                p.notify.notify_one();
            }
            return Some((rid, msg));
        }
        None
    }
}

/// A random 32-bit value from the standard library's per-process hash seed (no RNG crate).
pub(crate) fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() as u32
}

/// The handle shared by clones of a socket; closing happens when the last clone is dropped.
#[derive(Debug)]
pub(crate) struct Handle {
    pub(crate) core: Arc<Core>,
}

impl Handle {
    pub(crate) fn new(socket_type: SocketType, options: SocketOptions) -> Result<Handle, Error> {
        options.validate().map_err(Error::InvalidOption)?;
        Ok(Handle {
            core: Core::new(socket_type, options),
        })
    }

    pub(crate) fn bind(&self, endpoint: &str) -> Result<Endpoint, Error> {
        let ep: Endpoint = endpoint.parse()?;
        crate::transport::tcp::bind(&self.core, &ep)
    }

    pub(crate) fn connect(&self, endpoint: &str) -> Result<(), Error> {
        let ep: Endpoint = endpoint.parse()?;
        if self.core.is_closed() {
            return Err(Error::Closed);
        }
        crate::transport::tcp::connect(&self.core, ep);
        Ok(())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.core.close();
    }
}
