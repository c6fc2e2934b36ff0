//! The state shared by a socket handle and its connection and listener tasks, written once for
//! every socket type: pipes, the fair queue, waiting for messages and for room, closing. The
//! type's routing rules come from its [`Behaviour`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::behaviour::{Attempt, Behaviour, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use crate::endpoint::Endpoint;
use crate::message::Message;
use crate::monitor::{Monitors, PeerAddr};
use crate::options::SocketOptions;
use crate::outgoing::{OutQueue, Outgoing};
use crate::protocol::peer::PeerInfo;
use crate::protocol::session::Session;
use crate::routing::fq::FairQueue;
use crate::routing::PipeId;
use crate::socket_type::SocketType;
use crate::transport::{Attached, RecvBufs, SocketLink};

/// The state of one socket, shared by its handle and its tasks.
#[derive(Debug)]
pub(crate) struct Core<B> {
    pub(crate) options: SocketOptions,
    state: Mutex<State<B>>,
    /// Woken when a message arrives and someone waits in `recv`.
    recv_ready: Notify,
    /// Woken when a pipe gets room or appears and someone waits in `send`.
    send_ready: Notify,
    /// Cancelled when the socket closes.
    shutdown: CancellationToken,
    /// Receive buffers recycled between this socket's connections.
    recv_bufs: RecvBufs,
    monitors: Monitors,
}

/// What the lock protects.
#[derive(Debug)]
pub(crate) struct State<B> {
    pub(crate) pipes: Pipes,
    /// Pipes holding inbound messages, in fair-queue order.
    fq: FairQueue,
    /// The socket type's routing state.
    pub(crate) behaviour: B,
    /// Who waits for messages (`recv_ready`'s waiters and `recv_wakers`).
    recv_waiters: usize,
    /// Who waits for room (`send_ready`'s waiters and `send_wakers`).
    send_waiters: usize,
    /// The tasks of `poll_*` callers (Stream, Sink) waiting for messages: each woken once.
    recv_wakers: Vec<Waker>,
    /// The tasks of `poll_*` callers waiting for room.
    send_wakers: Vec<Waker>,
    pub(crate) closed: bool,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    endpoints: Vec<EndpointEntry>,
}

/// An endpoint bound or connected, and the token that undoes it.
#[derive(Debug)]
struct EndpointEntry {
    /// As the application wrote it.
    requested: Endpoint,
    /// As bound (the port or path chosen for `0` or `*`); as requested for a connect.
    actual: Endpoint,
    bound: bool,
    stop: CancellationToken,
}

impl<B: Behaviour> State<B> {
    /// Takes the next message in fair-queue order (one message per pipe per turn), as the
    /// socket type hands it to the application.
    pub(crate) fn pop(&mut self) -> Option<Message> {
        loop {
            let pipes = &mut self.pipes;
            let (from, (rid, msg)) = self.fq.next(|id| {
                let p = pipes.get_mut(id)?;
                let msg = p.inbound.pop_front()?;
                let rid = if B::RECEIVES_ROUTING_ID {
                    p.routing_id.clone()
                } else {
                    None
                };
                let more = !p.inbound.is_empty();
                if !more && p.dead {
                    pipes.remove(id);
                } else if p.reader_paused && p.inbound.len() <= p.low_water {
                    p.reader_paused = false;
                    p.notify.notify_one();
                }
                Some(((rid, msg), more))
            })?;
            if let Some(m) = self.behaviour.received(from, rid, msg) {
                return Some(m);
            }
        }
    }
}

impl<B: Behaviour> Core<B> {
    pub(crate) fn new(options: SocketOptions) -> Arc<Core<B>> {
        let seed = crate::transport::random_u32();
        Arc::new(Core {
            state: Mutex::new(State {
                pipes: Pipes::new(options.conflate && B::CONFLATES),
                fq: FairQueue::new(),
                behaviour: B::new(&options, seed),
                recv_waiters: 0,
                send_waiters: 0,
                recv_wakers: Vec::new(),
                send_wakers: Vec::new(),
                closed: false,
                tasks: Vec::new(),
                endpoints: Vec::new(),
            }),
            options,
            recv_ready: Notify::new(),
            send_ready: Notify::new(),
            shutdown: CancellationToken::new(),
            recv_bufs: RecvBufs::default(),
            monitors: Monitors::default(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<B>> {
        // A panic while holding the lock leaves plain queues behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn monitors_ref(&self) -> &Monitors {
        &self.monitors
    }

    /// Wakes senders waiting for room, if any (with the lock held by the caller).
    fn wake_senders_locked(&self, mut st: MutexGuard<'_, State<B>>) {
        let wake = st.take_wakeup(Waiter::Send);
        drop(st);
        if let Some(w) = wake {
            w.fire(&self.send_ready);
        }
    }

    /// Takes the next message if one is waiting (and a receive is allowed now).
    pub(crate) fn try_recv(&self) -> Option<Message> {
        let mut st = self.lock();
        st.behaviour.recv_allowed().ok()?;
        st.pop()
    }

    /// Waits for at least one message, then takes up to `limit` (at least one), fair-queued,
    /// under one lock, into `out`. Returns how many were taken. Cancel safe: messages are
    /// taken only when the call returns.
    pub(crate) async fn recv_many(
        &self,
        out: &mut Vec<Message>,
        limit: usize,
    ) -> Result<usize, Error> {
        let limit = limit.max(1);
        self.recv_with(|st| {
            let mut n = 0;
            // Each message may change what the type allows next (a REP takes one request).
            while n < limit && (n == 0 || st.behaviour.recv_allowed().is_ok()) {
                let Some(m) = st.pop() else {
                    break;
                };
                out.push(m);
                n += 1;
            }
            (n > 0).then_some(n)
        })
        .await
    }

    /// The next message if one is waiting (and a receive is allowed now): `Ok(None)` when
    /// [`Core::recv_with`] must wait.
    #[inline(always)]
    pub(crate) fn recv_now(&self) -> Result<Option<Message>, Error> {
        recv_step(&mut self.lock(), &mut State::pop)
    }

    /// Runs `take` under the lock until it returns something, waiting for inbound messages in
    /// between. Cancel safe if `take` only takes what it returns.
    pub(crate) async fn recv_with<T>(
        &self,
        mut take: impl FnMut(&mut State<B>) -> Option<T>,
    ) -> Result<T, Error> {
        self.wait_until(Waiter::Recv, |st| recv_step(st, &mut take))
            .await
    }

    /// [`Core::recv_with`]`(State::pop)` for `poll_*` callers (the socket's `Stream`): a
    /// message, or `Pending` with `cx`'s waker registered (under the lock that saw no message,
    /// so no wake-up is lost). Takes a message only when it returns it.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Message, Error>> {
        self.poll_until(cx, Waiter::Recv, |st| recv_step(st, &mut State::pop))
    }

    /// Queues `msg` now if the socket type's rules allow: `Ok(Err(msg))` hands it back when
    /// [`Core::send_waiting`] must wait for room.
    pub(crate) fn send_now(&self, msg: Message) -> Result<Result<B::Sent, Message>, Error> {
        let mut st = self.lock();
        if st.closed {
            return Err(Error::Closed);
        }
        let State {
            pipes, behaviour, ..
        } = &mut *st;
        match behaviour.send(pipes, msg, SendMode::Wait, &self.options) {
            Attempt::Done(s) => Ok(Ok(s)),
            Attempt::Wait(m) => Ok(Err(m)),
            Attempt::Fail(e) => Err(e),
        }
    }

    /// Queues `msg`, waiting for room as the socket type's rules say. Cancel safe: if dropped,
    /// the message was not queued.
    pub(crate) async fn send_waiting(&self, msg: Message) -> Result<B::Sent, Error> {
        let mut msg = Some(msg);
        let mut sent = None;
        self.send_with(|st| self.attempt(st, &mut msg, &mut sent))
            .await?;
        sent.ok_or(Error::Closed)
    }

    /// One attempt to queue `msg` (taken from the option) as the socket type's rules say:
    /// `Ok(true)` when done (`sent` says how), `Ok(false)` to wait for room (`msg` is put
    /// back). For [`Core::send_with`].
    fn attempt(
        &self,
        st: &mut State<B>,
        msg: &mut Option<Message>,
        sent: &mut Option<B::Sent>,
    ) -> Result<bool, Error> {
        let Some(m) = msg.take() else {
            return Ok(true);
        };
        let State {
            pipes, behaviour, ..
        } = st;
        match behaviour.send(pipes, m, SendMode::Wait, &self.options) {
            Attempt::Done(s) => {
                *sent = Some(s);
                Ok(true)
            }
            Attempt::Wait(m) => {
                *msg = Some(m);
                Ok(false)
            }
            Attempt::Fail(e) => Err(e),
        }
    }

    /// Queues `msg` without waiting: no room is [`Error::Full`] with the message handed back.
    pub(crate) fn try_send(&self, msg: Message) -> Result<(), Error> {
        if msg.is_empty() {
            return Err(Error::EmptyMessage);
        }
        let mut st = self.lock();
        if st.closed {
            return Err(Error::Closed);
        }
        let State {
            pipes, behaviour, ..
        } = &mut *st;
        match behaviour.send(pipes, msg, SendMode::Try, &self.options) {
            Attempt::Done(_) => Ok(()),
            Attempt::Wait(m) => Err(Error::Full(m)),
            Attempt::Fail(e) => Err(e),
        }
    }

    /// Sends every message of `msgs` in order, taking the lock once per run of messages that
    /// fit; removes them from the front of `msgs` as they are queued.
    pub(crate) async fn send_many(&self, msgs: &mut Vec<Message>) -> Result<(), Error> {
        if msgs.iter().any(Message::is_empty) {
            return Err(Error::EmptyMessage);
        }
        self.send_with(|st| {
            let State {
                pipes, behaviour, ..
            } = st;
            let mut sent = 0;
            let mut result = Ok(());
            while sent < msgs.len() {
                let m = std::mem::take(&mut msgs[sent]);
                match behaviour.send(pipes, m, SendMode::Wait, &self.options) {
                    Attempt::Done(_) => sent += 1,
                    Attempt::Wait(m) => {
                        msgs[sent] = m;
                        break;
                    }
                    Attempt::Fail(e) => {
                        // The failed message is not sent; it is dropped from the batch.
                        sent += 1;
                        result = Err(e);
                        break;
                    }
                }
            }
            msgs.drain(..sent);
            result.map(|()| msgs.is_empty())
        })
        .await
    }

    /// Runs `attempt` under the lock until it succeeds or fails for good, waiting for pipe room
    /// in between. Cancel safe in that nothing is queued unless `attempt` queued it.
    async fn send_with<F>(&self, mut attempt: F) -> Result<(), Error>
    where
        F: FnMut(&mut State<B>) -> Result<bool, Error>,
    {
        self.wait_until(Waiter::Send, |st| send_step(st, &mut attempt))
            .await
    }

    /// [`Core::send_waiting`] for `poll_*` callers (the socket's `Sink`): queues `msg` (taken
    /// from the option) if there is room, else `Pending` with the message put back and `cx`'s
    /// waker registered for room. On an error the message is dropped (left `None`) unless the
    /// socket was closed (left as it was).
    pub(crate) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        msg: &mut Option<Message>,
    ) -> Poll<Result<(), Error>> {
        let mut sent = None;
        self.poll_until(cx, Waiter::Send, |st| {
            send_step(st, &mut |st| self.attempt(st, msg, &mut sent))
        })
    }

    /// One `step` under the lock, as [`Core::wait_until`] takes it; if it has no result yet,
    /// `cx`'s waker is registered for the `waiter`'s wake-up under the same lock.
    fn poll_until<T>(
        &self,
        cx: &mut Context<'_>,
        waiter: Waiter,
        step: impl FnOnce(&mut State<B>) -> Result<Option<T>, Error>,
    ) -> Poll<Result<T, Error>> {
        let mut st = self.lock();
        match step(&mut st) {
            Ok(Some(t)) => Poll::Ready(Ok(t)),
            Err(e) => Poll::Ready(Err(e)),
            Ok(None) => {
                st.register(waiter, cx.waker());
                Poll::Pending
            }
        }
    }

    /// Runs `step` under the lock until it gives a result or an error, waiting for the
    /// `waiter`'s wake-up in between (registered under the same lock, so none is missed).
    async fn wait_until<T>(
        &self,
        waiter: Waiter,
        mut step: impl FnMut(&mut State<B>) -> Result<Option<T>, Error>,
    ) -> Result<T, Error> {
        // Fast path: no wake-up to register.
        if let Some(t) = step(&mut self.lock())? {
            return Ok(t);
        }
        let notify = match waiter {
            Waiter::Recv => &self.recv_ready,
            Waiter::Send => &self.send_ready,
        };
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            {
                let mut st = self.lock();
                if let Some(t) = step(&mut st)? {
                    return Ok(t);
                }
                notified.as_mut().enable();
                *st.waiters(waiter) += 1;
            }
            let _guard = WaiterGuard { core: self, waiter };
            notified.await;
        }
    }

    pub(crate) fn bound(&self) -> Vec<Endpoint> {
        let st = self.lock();
        st.endpoints
            .iter()
            .filter(|e| e.bound)
            .map(|e| e.actual.clone())
            .collect()
    }

    /// Records an endpoint bound (`bound`) or connected, with the token that undoes it.
    pub(crate) fn add_endpoint(
        &self,
        requested: Endpoint,
        actual: Endpoint,
        bound: bool,
        stop: CancellationToken,
    ) {
        self.lock().endpoints.push(EndpointEntry {
            requested,
            actual,
            bound,
            stop,
        });
    }

    /// Unbinds (`bound`) or disconnects `ep` (as written, or as bound): its listener or dialer
    /// stops, its connections flush within LINGER and end. False if there is no such endpoint.
    pub(crate) fn remove_endpoint(&self, ep: &Endpoint, bound: bool) -> bool {
        let (entry, notifies) = {
            let mut st = self.lock();
            let Some(i) = st
                .endpoints
                .iter()
                .position(|e| e.bound == bound && (e.requested == *ep || e.actual == *ep))
            else {
                return false;
            };
            let entry = st.endpoints.remove(i);
            (entry, st.pipes.notifies())
        };
        entry.stop.cancel();
        // Its connections look at the token when woken (the others wake for nothing).
        wake_all(notifies);
        true
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Starts closing: no more sends or receives; connection tasks flush within LINGER and end.
    pub(crate) fn close(&self) {
        let (notifies, recv, send) = {
            let mut st = self.lock();
            st.closed = true;
            let recv = st.take_wakeup(Waiter::Recv);
            let send = st.take_wakeup(Waiter::Send);
            (st.pipes.notifies(), recv, send)
        };
        self.shutdown.cancel();
        wake_all(notifies);
        self.recv_ready.notify_waiters();
        self.send_ready.notify_waiters();
        // `poll_*` callers (the `Notify`s above were woken whether or not anyone waited).
        recv.into_iter().for_each(|w| w.wake_tasks());
        send.into_iter().for_each(|w| w.wake_tasks());
    }

    /// Closes and waits until every task has ended.
    pub(crate) async fn close_and_wait(&self) {
        self.close();
        let tasks = std::mem::take(&mut self.lock().tasks);
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Runs `f` on the behaviour and pipes under the lock; wakes senders afterwards if `f`
    /// says so (a peer became unroutable: senders waiting for its room must fail).
    pub(crate) fn with_behaviour<T>(&self, f: impl FnOnce(&mut B, &mut Pipes) -> (T, bool)) -> T {
        let mut st = self.lock();
        let State {
            pipes, behaviour, ..
        } = &mut *st;
        let (r, wake) = f(behaviour, pipes);
        if wake {
            self.wake_senders_locked(st);
        }
        r
    }
}

/// Wakes every connection task of `notifies` (taken under the lock, woken after it).
fn wake_all(notifies: Vec<Arc<Notify>>) {
    for n in notifies {
        n.notify_one();
    }
}

/// One receive attempt, for [`Core::wait_until`] and [`Core::poll_until`]: what `take` took,
/// `None` to wait for messages, or why a receive cannot be done. Inlined: as a call it made
/// `recv` cost about 40 more instructions per message (callgrind, `thr` example, 16 B).
#[inline(always)]
fn recv_step<B: Behaviour, T>(
    st: &mut State<B>,
    take: &mut impl FnMut(&mut State<B>) -> Option<T>,
) -> Result<Option<T>, Error> {
    st.behaviour.recv_allowed()?;
    match take(st) {
        Some(t) => Ok(Some(t)),
        None if st.closed => Err(Error::Closed),
        None => Ok(None),
    }
}

/// One send attempt, for [`Core::wait_until`] and [`Core::poll_until`]: `Some` when `attempt`
/// is done, `None` to wait for room.
#[inline(always)]
fn send_step<B>(
    st: &mut State<B>,
    attempt: &mut impl FnMut(&mut State<B>) -> Result<bool, Error>,
) -> Result<Option<()>, Error> {
    if st.closed {
        return Err(Error::Closed);
    }
    Ok(attempt(st)?.then_some(()))
}

/// Who waits: a receiver for messages, or a sender for room.
#[derive(Debug, Clone, Copy)]
enum Waiter {
    Recv,
    Send,
}

impl<B> State<B> {
    fn waiters(&mut self, w: Waiter) -> &mut usize {
        match w {
            Waiter::Recv => &mut self.recv_waiters,
            Waiter::Send => &mut self.send_waiters,
        }
    }

    fn wakers(&mut self, w: Waiter) -> &mut Vec<Waker> {
        match w {
            Waiter::Recv => &mut self.recv_wakers,
            Waiter::Send => &mut self.send_wakers,
        }
    }

    /// Registers a `poll_*` caller's task for the next wake-up of `w`, once per task (a task
    /// that polls again while waiting is not added twice). Counted in `waiters(w)`, so the
    /// wake sites need no check of their own.
    fn register(&mut self, w: Waiter, waker: &Waker) {
        let wakers = self.wakers(w);
        if wakers.iter().any(|k| k.will_wake(waker)) {
            return;
        }
        wakers.push(waker.clone());
        *self.waiters(w) += 1;
    }

    /// What must be woken for `w`, taken under the lock (and fired after it is released):
    /// `None`, the common case, when nobody waits.
    #[inline]
    fn take_wakeup(&mut self, w: Waiter) -> Option<Wakeup> {
        if *self.waiters(w) == 0 {
            return None;
        }
        let tasks = std::mem::take(self.wakers(w));
        *self.waiters(w) -= tasks.len();
        Some(Wakeup {
            notify: *self.waiters(w) > 0,
            tasks,
        })
    }
}

/// The waiters of one kind to wake, taken under the lock.
struct Wakeup {
    /// `async` callers wait on the `Notify`.
    notify: bool,
    /// `poll_*` callers' tasks, each woken once (they register again if they still wait).
    tasks: Vec<Waker>,
}

impl Wakeup {
    fn fire(self, notify: &Notify) {
        if self.notify {
            notify.notify_waiters();
        }
        self.wake_tasks();
    }

    fn wake_tasks(self) {
        for t in self.tasks {
            t.wake();
        }
    }
}

/// Unregisters a waiter when its wait ends, however it ends (cancellation included).
struct WaiterGuard<'a, B: Behaviour> {
    core: &'a Core<B>,
    waiter: Waiter,
}

impl<B: Behaviour> Drop for WaiterGuard<'_, B> {
    fn drop(&mut self) {
        *self.core.lock().waiters(self.waiter) -= 1;
    }
}

impl<B: Behaviour> SocketLink for Core<B> {
    fn options(&self) -> &SocketOptions {
        &self.options
    }

    fn socket_type(&self) -> SocketType {
        B::TYPE
    }

    fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    fn recv_bufs(&self) -> &RecvBufs {
        &self.recv_bufs
    }

    fn monitors(&self) -> &Monitors {
        &self.monitors
    }

    fn add_task(&self, h: tokio::task::JoinHandle<()>) {
        let mut st = self.lock();
        st.tasks.retain(|t| !t.is_finished());
        st.tasks.push(h);
    }

    fn new_pipe(&self, persistent: bool) -> (PipeId, Arc<Notify>) {
        let notify = Arc::new(Notify::new());
        let mut st = self.lock();
        let id = st
            .pipes
            .create(notify.clone(), persistent, self.options.rcvhwm);
        if st.behaviour.pipe_created(id, persistent, &self.options) {
            self.wake_senders_locked(st);
        }
        (id, notify)
    }

    fn attach(&self, id: PipeId, peer: &PeerInfo, addr: &PeerAddr, inline: bool) -> Attached {
        let mut st = self.lock();
        let State {
            pipes, behaviour, ..
        } = &mut *st;
        let attached = behaviour.attach(pipes, id, peer, addr, &self.options);
        if let Some(p) = st.pipes.get_mut(id) {
            p.connected = true;
            p.ignored = attached.ignored;
            p.inline = inline;
        }
        self.wake_senders_locked(st);
        attached
    }

    /// A persistent (connecting) pipe keeps its queues for the next connection; any other pipe
    /// is removed, its outbound queue discarded, its inbound messages still delivered.
    ///
    /// Senders waiting for room are woken: one waiting for this pipe (ROUTER_MANDATORY) must
    /// now fail with `HostUnreachable` instead of waiting for room that will not come.
    fn detach(&self, id: PipeId, keep: bool) {
        let mut st = self.lock();
        let Some(p) = st.pipes.get_mut(id) else {
            return;
        };
        p.connected = false;
        p.kick = false;
        p.inline = false;
        let removed = !(keep && p.persistent);
        let State {
            pipes,
            behaviour,
            fq,
            ..
        } = &mut *st;
        let routing_id = pipes.get(id).and_then(|p| p.routing_id.as_ref());
        behaviour.detach(id, routing_id, removed, &self.options);
        // What the type hands the application about the peer's departure, queued as the
        // peer's last messages (the pipe then lives until they are read).
        let farewell = if removed {
            behaviour.farewell(id)
        } else {
            Vec::new()
        };
        let wake_recv = !farewell.is_empty() && B::CAN_RECV;
        if wake_recv {
            if let Some(p) = pipes.get_mut(id) {
                if p.inbound.is_empty() {
                    fq.ready(id);
                }
                p.inbound.extend(farewell);
            }
        }
        if removed {
            if let Some(p) = pipes.get_mut(id) {
                p.outbound.clear();
                if p.inbound.is_empty() {
                    pipes.remove(id);
                } else {
                    // Delivered later; removed when drained.
                    p.dead = true;
                }
            }
        }
        let wake_recv = if wake_recv {
            st.take_wakeup(Waiter::Recv)
        } else {
            None
        };
        self.wake_senders_locked(st);
        if let Some(w) = wake_recv {
            w.fire(&self.recv_ready);
        }
    }

    fn deliver(&self, id: PipeId, msgs: &mut Vec<Message>) -> bool {
        if msgs.is_empty() {
            return false;
        }
        let mut st = self.lock();
        let hwm = self.options.rcvhwm;
        let conflate = st.pipes.conflates();
        if st.pipes.get(id).is_some_and(|p| !p.ignored) {
            let State {
                pipes, behaviour, ..
            } = &mut *st;
            behaviour.on_deliver(pipes, id, msgs);
        }
        let Some(p) = st.pipes.get_mut(id) else {
            msgs.clear();
            return false;
        };
        if p.ignored || !B::CAN_RECV || msgs.is_empty() {
            msgs.clear();
            return false;
        }
        let was_empty = p.inbound.is_empty();
        if conflate {
            // Only the last message counts.
            p.inbound.clear();
            p.inbound.extend(msgs.pop());
            msgs.clear();
        } else if p.inbound.is_empty() {
            // Nothing waits: the batch becomes the queue as it is, with no message moved, and
            // the queue's empty buffer the caller's next batch (both conversions reuse the
            // allocation: an empty `VecDeque` becomes a `Vec` without moving anything).
            let batch = VecDeque::from(std::mem::take(msgs));
            *msgs = Vec::from(std::mem::replace(&mut p.inbound, batch));
        } else {
            p.inbound.extend(msgs.drain(..));
        }
        let full = hwm != 0 && p.inbound.len() >= hwm;
        p.reader_paused = full;
        if was_empty {
            st.fq.ready(id);
        }
        let wake = st.take_wakeup(Waiter::Recv);
        drop(st);
        if let Some(w) = wake {
            w.fire(&self.recv_ready);
        }
        full
    }

    fn routing_id(&self, id: PipeId) -> Option<crate::routing::RoutingId> {
        // An ignored connection (a ROUTER's routing id clash) is routed by no id.
        self.lock()
            .pipes
            .get(id)
            .filter(|p| !p.ignored)
            .and_then(|p| p.routing_id.clone())
    }

    fn inbound_paused(&self, id: PipeId) -> bool {
        self.lock().pipes.get(id).is_some_and(|p| p.reader_paused)
    }

    /// Messages are taken out under the lock and encoded after it is released, so a sender is
    /// never held up by the encoding.
    fn fill(
        &self,
        id: PipeId,
        session: &mut Session,
        max_bytes: usize,
        batch: &mut VecDeque<Outgoing>,
    ) -> bool {
        let budget = max_bytes.saturating_sub(session.pending_out());
        let gone = self.take_with(id, |queue| queue.take_entries(budget, batch));
        if gone {
            return true;
        }
        for msg in batch.drain(..) {
            // The socket API refuses empty messages, so this cannot fail once ready.
            let _ = msg.send(session);
        }
        false
    }

    fn take_outbound(
        &self,
        id: PipeId,
        max: usize,
        max_bytes: usize,
        batch: &mut Vec<Message>,
    ) -> bool {
        self.take_with(id, |queue| queue.take_messages(max, max_bytes, batch))
    }

    fn has_outbound(&self, id: PipeId) -> bool {
        self.lock()
            .pipes
            .get(id)
            .is_some_and(|p| !p.outbound.is_empty())
    }
}

impl<B: Behaviour> Core<B> {
    /// Takes queued outbound messages of pipe `id` out of its queue with `take`, under the
    /// lock, and wakes waiting senders if that made room. Returns true if the pipe is gone or
    /// kicked (nothing taken).
    #[inline(always)]
    fn take_with(&self, id: PipeId, take: impl FnOnce(&mut OutQueue)) -> bool {
        let mut st = self.lock();
        let Some(p) = st.pipes.get_mut(id) else {
            return true;
        };
        if p.kick {
            return true;
        }
        let before = p.outbound.len();
        take(&mut p.outbound);
        // Senders waiting for room are woken once the pipe is down to half its SNDHWM
        // (libzmq's low-water mark), not after every batch: waking them for every few
        // messages costs a futex round trip per batch.
        let hwm = self.options.sndhwm;
        let low = hwm == 0 || p.outbound.len() <= hwm / 2;
        let wake = if p.outbound.len() < before && low {
            st.take_wakeup(Waiter::Send)
        } else {
            None
        };
        drop(st);
        if let Some(w) = wake {
            w.fire(&self.send_ready);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::PeerAddr;
    use crate::socket::dealer::DealerBehaviour;
    use crate::transport::driver;

    /// Every idle connection holds one of these futures (inside its task): its size is most of
    /// the memory an idle connection costs (bench cell `mem`). 1216 bytes before readiness was
    /// polled directly instead of through a stored `ready()` future, 1072 before the session's
    /// configuration was boxed, 1016 after.
    #[tokio::test]
    async fn connection_future_stays_small() {
        let core: Arc<dyn SocketLink> = Core::<DealerBehaviour>::new(SocketOptions::default());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let notify = Notify::new();
        let endpoint: Endpoint = "tcp://127.0.0.1:1".parse().unwrap();
        let peer = PeerAddr::Tcp(addr);
        let stop = core.shutdown().child_token();
        let conn = driver::Conn {
            link: &core,
            pipe: PipeId(0),
            notify: &notify,
            endpoint: &endpoint,
            peer: &peer,
            stop: &stop,
        };
        let f = driver::run(&conn, s, false);
        let size = std::mem::size_of_val(&f);
        assert!(size <= 1072, "driver future grew to {size} bytes");
    }

    /// `fill` moves what fits of the pipe's queue into the session, in order: the whole queue
    /// at once when it fits the budget (the queue and the batch swap buffers), else entry by
    /// entry up to the budget; what stays is taken by the next `fill`.
    #[test]
    fn fill_takes_the_queue_in_order_whole_or_up_to_the_budget() {
        use crate::outgoing::tests::ready;
        let core = Core::<DealerBehaviour>::new(SocketOptions::default());
        let (pipe, _) = core.new_pipe(false);
        let msg = |i: u8| Message::from(bytes::Bytes::from(vec![i; 16]));
        let mut expected = ready(SocketType::Dealer, SocketType::Router);
        let mut session = ready(SocketType::Dealer, SocketType::Router);
        let mut batch = VecDeque::new();
        let mut wire = Vec::new();
        let drain = |s: &mut Session, wire: &mut Vec<u8>| {
            wire.extend(s.out().to_vec());
            let n = s.pending_out();
            s.out().advance(n);
        };
        for inline in [false, true] {
            if let Some(p) = core.lock().pipes.get_mut(pipe) {
                p.inline = inline;
            }
            for i in 0..5 {
                core.lock().pipes.push_outbound(pipe, msg(i));
                assert!(expected.send(&msg(i)).is_ok());
            }
            // Each message is 18 bytes on the wire: a budget of 30 takes two of them.
            assert!(!core.fill(pipe, &mut session, 30, &mut batch));
            assert_eq!(session.pending_out(), 36, "inline {inline}");
            assert!(batch.is_empty());
            drain(&mut session, &mut wire);
            assert!(!core.fill(pipe, &mut session, 1 << 20, &mut batch));
            assert_eq!(session.pending_out(), 54, "inline {inline}");
            assert!(batch.is_empty());
            assert!(!core.has_outbound(pipe));
            drain(&mut session, &mut wire);
        }
        let mut want = Vec::new();
        drain(&mut expected, &mut want);
        assert_eq!(wire, want);
    }

    /// A batch delivered to an empty inbound queue becomes the queue (no message moved) and
    /// the caller gets an empty batch back; one delivered behind waiting messages is appended.
    /// Either way the messages come out in order, and the reader pauses at RCVHWM.
    #[test]
    fn deliveries_keep_order_into_an_empty_queue_or_behind_one() {
        let core = Core::<DealerBehaviour>::new(SocketOptions {
            rcvhwm: 4,
            ..SocketOptions::default()
        });
        let (pipe, _) = core.new_pipe(false);
        let msg = |i: u8| Message::from(bytes::Bytes::from(vec![i]));
        let take_all = || -> Vec<u8> {
            std::iter::from_fn(|| core.try_recv())
                .map(|m| m.get(0).map_or(255, |f| f[0]))
                .collect()
        };

        let mut batch: Vec<Message> = (0..3).map(msg).collect();
        assert!(!core.deliver(pipe, &mut batch), "3 of 4: not full");
        assert!(batch.is_empty());
        batch.extend((3..6).map(msg));
        assert!(core.deliver(pipe, &mut batch), "6 of 4: full");
        assert!(batch.is_empty());
        assert!(core.inbound_paused(pipe));
        assert_eq!(take_all(), [0, 1, 2, 3, 4, 5]);
        assert!(!core.inbound_paused(pipe));

        // Into the queue those receives emptied, with the buffer the first swap handed back.
        batch.extend((6..8).map(msg));
        assert!(!core.deliver(pipe, &mut batch));
        assert!(batch.is_empty());
        batch.push(msg(8));
        assert!(!core.deliver(pipe, &mut batch));
        assert_eq!(take_all(), [6, 7, 8]);
    }
}
