//! inproc: sockets of one process, with no bytes in between. A connection is a relay task that
//! moves [`Message`]s, as they are (no copy, no framing, no handshake), from one socket's pipe
//! to the other's, both ways, in batches. Each side keeps its own high-water mark, so the pair
//! holds up to the sum of both, as libzmq's inproc does. Socket-type compatibility (RFC 37)
//! and routing ids (the `routing_id` option) apply as over tcp.
//!
//! Names live in a process-wide registry (our stand-in for libzmq's context): a name is bound
//! by one socket at a time; a connect before the bind waits for it (libzmq 4.x), with its
//! messages queued. When either side closes (or unbinds, or disconnects), what it had queued
//! goes over, and the connection ends; there is no reconnect.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::SocketLink;
use crate::endpoint::Endpoint;
use crate::message::Message;
use crate::monitor::{DisconnectReason, PeerAddr, SocketEvent};
use crate::protocol::peer::PeerInfo;
use crate::routing::PipeId;

/// Bytes moved per batch in each direction, about: a batch of large messages holds that much
/// memory in flight between the sockets. As much as a task sending large messages queues
/// between two yields (`Socket::send` charges tokio's budget by the byte: 128 units of 8 KiB),
/// so that on a current-thread runtime one pass takes what the sender queued in its turn
/// (with 256 KiB the backlog grew by three quarters of each turn's messages).
const BATCH_BYTES: usize = 1024 * 1024;

/// Bound names, and connects waiting for a name to be bound.
#[derive(Default)]
struct Registry {
    bound: BTreeMap<String, Binder>,
    pending: BTreeMap<String, Vec<Side>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    bound: BTreeMap::new(),
    pending: BTreeMap::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // Plain maps behind the lock: a panic while holding it leaves them usable.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The socket that bound a name.
struct Binder {
    link: Weak<dyn SocketLink>,
    /// Unbinds (a child of the socket's shutdown).
    stop: CancellationToken,
}

impl Binder {
    fn live(&self) -> Option<Arc<dyn SocketLink>> {
        if self.stop.is_cancelled() {
            return None;
        }
        self.link.upgrade()
    }
}

/// One end of an inproc connection.
struct Side {
    link: Arc<dyn SocketLink>,
    pipe: PipeId,
    notify: Arc<Notify>,
    stop: CancellationToken,
}

/// Binds `name`: "address in use" if a live socket has it. Connects waiting for it are
/// connected now.
pub(crate) fn bind(
    link: &Arc<dyn SocketLink>,
    ep: &Endpoint,
) -> io::Result<(Endpoint, CancellationToken)> {
    let Endpoint::Inproc { name } = ep else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not inproc"));
    };
    let stop = link.shutdown().child_token();
    let waiting = {
        let mut reg = registry();
        if reg.bound.get(name).is_some_and(|b| b.live().is_some()) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("inproc://{name} is bound by another socket"),
            ));
        }
        reg.bound.insert(
            name.clone(),
            Binder {
                link: Arc::downgrade(link),
                stop: stop.clone(),
            },
        );
        reg.pending.remove(name).unwrap_or_default()
    };
    link.monitors().emit(|| SocketEvent::Listening {
        endpoint: ep.clone(),
    });
    for side in waiting {
        if !side.stop.is_cancelled() {
            establish(side, link, &stop, name);
        }
    }
    // The name is free again once unbound or closed.
    let (name2, stop2, link2, ep2) = (name.clone(), stop.clone(), link.clone(), ep.clone());
    let task = tokio::spawn(async move {
        stop2.cancelled().await;
        let mut reg = registry();
        if reg.bound.get(&name2).is_some_and(|b| b.stop.is_cancelled()) {
            reg.bound.remove(&name2);
        }
        drop(reg);
        link2
            .monitors()
            .emit(|| SocketEvent::Closed { endpoint: ep2 });
    });
    link.add_task(task);
    Ok((ep.clone(), stop))
}

/// Connects to `name` now if it is bound, else when it is. The pipe is made now: messages
/// queue on it meanwhile (up to SNDHWM).
pub(crate) fn connect(link: &Arc<dyn SocketLink>, ep: &Endpoint) -> CancellationToken {
    let stop = link.shutdown().child_token();
    let Endpoint::Inproc { name } = ep else {
        return stop;
    };
    let (pipe, notify) = link.new_pipe(true);
    let side = Side {
        link: link.clone(),
        pipe,
        notify,
        stop: stop.clone(),
    };
    let binder = {
        let mut reg = registry();
        match reg
            .bound
            .get(name)
            .and_then(|b| Some((b.live()?, b.stop.clone())))
        {
            Some(b) => Some((side, b)),
            None => {
                reg.pending.entry(name.clone()).or_default().push(side);
                None
            }
        }
    };
    match binder {
        Some((side, (peer, peer_stop))) => establish(side, &peer, &peer_stop, name),
        None => {
            // Disconnected or closed before anyone bound the name: the pipe goes.
            let (name, stop2, link2) = (name.clone(), stop.clone(), link.clone());
            let task = tokio::spawn(async move {
                stop2.cancelled().await;
                let mut reg = registry();
                if let Some(list) = reg.pending.get_mut(&name) {
                    list.retain(|s| !(s.pipe == pipe && Arc::ptr_eq(&s.link, &link2)));
                    if list.is_empty() {
                        reg.pending.remove(&name);
                    }
                }
                drop(reg);
                link2.detach(pipe, false);
            });
            link.add_task(task);
        }
    }
    stop
}

/// What a handshake would have told each side about the other.
fn peer_info(link: &dyn SocketLink) -> PeerInfo {
    PeerInfo {
        socket_type: Some(link.socket_type()),
        identity: link.options().routing_id.clone().unwrap_or_default(),
        minor: 1,
        metadata: Default::default(),
        user_id: Bytes::new(),
    }
}

/// Connects the connecting side `a` to the socket that bound `name`, and starts the relay.
fn establish(a: Side, binder: &Arc<dyn SocketLink>, binder_stop: &CancellationToken, name: &str) {
    let endpoint = Endpoint::Inproc {
        name: name.to_string(),
    };
    let addr = PeerAddr::Inproc(name.to_string());
    let (ta, tb) = (a.link.socket_type(), binder.socket_type());
    if !ta.is_compatible(tb) {
        tracing::warn!(
            target: super::loglimit::CONNECTION,
            endpoint = %endpoint,
            socket_type = %ta,
            peer_socket_type = %tb,
            "inproc connect refused: a {ta} socket cannot talk to a {tb} socket"
        );
        a.link.detach(a.pipe, false);
        return;
    }
    let (pipe, notify) = binder.new_pipe(false);
    let b = Side {
        link: binder.clone(),
        pipe,
        notify,
        stop: binder_stop.clone(),
    };
    let (info_a, info_b) = (peer_info(&*a.link), peer_info(&*b.link));
    a.link.monitors().emit(|| SocketEvent::Connected {
        endpoint: endpoint.clone(),
        peer: addr.clone(),
    });
    b.link.monitors().emit(|| SocketEvent::Accepted {
        endpoint: endpoint.clone(),
        peer: addr.clone(),
    });
    for (side, info) in [(&a, &info_b), (&b, &info_a)] {
        // Not inline: messages move to the peer's queue as they are, with no copy to save.
        let attached = side.link.attach(side.pipe, info, &addr, false);
        side.link
            .monitors()
            .emit(|| SocketEvent::HandshakeSucceeded {
                endpoint: endpoint.clone(),
                peer: addr.clone(),
                routing_id: attached.routing_id.clone(),
            });
    }
    let spawner = a.link.clone();
    let task = tokio::spawn(relay(a, b, endpoint, addr));
    spawner.add_task(task);
}

/// Moves messages both ways until either side stops (or is kicked), then hands over what the
/// stopping side had queued and detaches both pipes.
async fn relay(a: Side, b: Side, endpoint: Endpoint, addr: PeerAddr) {
    let mut batch = Vec::new();
    let reason = loop {
        if a.stop.is_cancelled() || b.stop.is_cancelled() {
            // As a closing connection flushes within LINGER: what was queued goes over.
            pass(&a, &b, &mut batch, true);
            pass(&b, &a, &mut batch, true);
            break DisconnectReason::SocketClosed;
        }
        let ab = pass(&a, &b, &mut batch, false);
        let ba = pass(&b, &a, &mut batch, false);
        match (ab, ba) {
            (Pass::Kicked, _) | (_, Pass::Kicked) => break DisconnectReason::Kicked,
            (Pass::Moved, _) | (_, Pass::Moved) => {
                // Let the receivers run before the next batch.
                tokio::task::yield_now().await;
                continue;
            }
            _ => {}
        }
        tokio::select! {
            _ = a.notify.notified() => {}
            _ = b.notify.notified() => {}
            _ = a.stop.cancelled() => {}
            _ = b.stop.cancelled() => {}
        }
    };
    for side in [&a, &b] {
        let routing_id = side.link.routing_id(side.pipe);
        side.link.detach(side.pipe, false);
        side.link.monitors().emit(|| SocketEvent::Disconnected {
            endpoint: endpoint.clone(),
            peer: addr.clone(),
            routing_id,
            reason: reason.clone(),
        });
    }
}

/// What one pass of a direction did.
#[derive(Debug, PartialEq, Eq)]
enum Pass {
    Idle,
    Moved,
    Kicked,
}

/// Moves a batch from `from`'s outbound queue to `to`'s inbound one, unless `to` is at RCVHWM
/// (`all`: everything, whatever the mark, for the last pass). A batch is up to `to`'s RCVHWM
/// messages (no limit when it is 0), so an inbound queue that was under the mark stays under
/// twice it, and about [`BATCH_BYTES`].
fn pass(from: &Side, to: &Side, batch: &mut Vec<Message>, all: bool) -> Pass {
    if !all && to.link.inbound_paused(to.pipe) {
        return Pass::Idle;
    }
    let (max, max_bytes) = match to.link.options().rcvhwm {
        _ if all => (usize::MAX, usize::MAX),
        0 => (usize::MAX, BATCH_BYTES),
        hwm => (hwm, BATCH_BYTES),
    };
    if from.link.take_outbound(from.pipe, max, max_bytes, batch) {
        return Pass::Kicked;
    }
    if batch.is_empty() {
        return Pass::Idle;
    }
    to.link.deliver(to.pipe, batch);
    batch.clear();
    Pass::Moved
}
