//! The reliable broker's loop: the frontend ROUTER (clients), the backend ROUTER (workers),
//! the backend's monitor (workers coming and going) and the [`Dispatcher`] that decides. One
//! task; everything it does is in [`Relay::run`].

use std::time::{Duration, Instant};

use zmtp::monitor::Monitor;
use zmtp::{Error, Message, Router, RoutingId, SocketEvent};

use crate::dispatch::{Dispatcher, Event, Reason, Totals};
use crate::metrics::{Levels, Metrics};

/// Messages moved per lock of a socket.
const BATCH: usize = 256;

/// Requests waiting for a worker before the frontend is no longer read (then they wait in
/// the clients' queues, and TCP pushes back): memory stays bounded while no worker has room.
pub const MAX_QUEUED: usize = 10_000;

/// Counts the dispatcher does not see: replies that could not reach their client.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Replies for a client that is gone.
    pub unroutable: u64,
    /// Clients disconnected for not reading their replies.
    pub slow_disconnects: u64,
    /// Connections (clients and workers) closed before their handshake was done: bad bytes,
    /// wrong keys, refused (as the monitors report them: a flood may make them miss some).
    pub handshake_failures: u64,
}

/// The loop's sockets and rules.
pub struct Relay {
    pub frontend: Router,
    pub backend: Router,
    /// The backend's monitor, taken before the bind.
    pub workers: Monitor,
    /// The frontend's monitor, taken before the bind (for the handshake failures).
    pub clients: Monitor,
    pub dispatcher: Dispatcher,
    /// One INFO line per period (`None`: none).
    pub stats_every: Option<Duration>,
    pub delivery: Delivery,
    /// `--metrics`: updated as the loop goes.
    pub metrics: Option<std::sync::Arc<Metrics>>,
}

/// What a stats line reports over its period.
struct Period {
    at: Instant,
    totals: Totals,
}

impl Relay {
    /// Runs until `stop` fires, then stops taking requests and runs until every open request
    /// is answered or `linger` has passed. Returns the dispatcher's totals.
    pub async fn run(
        &mut self,
        stop: impl std::future::Future<Output = ()>,
        linger: Duration,
    ) -> Totals {
        tokio::pin!(stop);
        let mut inbox = Vec::with_capacity(BATCH);
        let mut replies = Vec::with_capacity(BATCH);
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut period = Period {
            at: Instant::now(),
            totals: self.dispatcher.totals(),
        };
        let stats_every = self.stats_every;
        let mut reported = (Totals::default(), Delivery::default());
        let mut tick =
            stats_every.map(|p| tokio::time::interval_at(tokio::time::Instant::now() + p, p));
        loop {
            let now = Instant::now();
            self.dispatch(now);
            self.log_events();
            if let Some(m) = &self.metrics {
                m.update(
                    &self.dispatcher.totals(),
                    &self.delivery,
                    &mut reported,
                    self.levels(),
                );
            }
            if let Some(d) = deadline {
                if self.dispatcher.open() == 0 || tokio::time::Instant::now() >= d {
                    break;
                }
            }
            let expire = self
                .dispatcher
                .next_deadline()
                .map(tokio::time::Instant::from_std);
            let reading = deadline.is_none() && self.dispatcher.queued() < MAX_QUEUED;
            tokio::select! {
                biased;
                ev = self.workers.recv() => match ev {
                    Some(ev) => self.on_event(ev),
                    None => break,
                },
                Some(ev) = self.clients.recv() => {
                    if let SocketEvent::HandshakeFailed { .. } = ev {
                        self.delivery.handshake_failures += 1;
                    }
                }
                r = self.backend.recv_many(&mut replies, BATCH) => {
                    if r.is_err() {
                        break;
                    }
                    let now = Instant::now();
                    for m in replies.drain(..) {
                        if let Some((reply, waited)) = self.dispatcher.reply(now, m) {
                            if let Some(m) = &self.metrics {
                                m.observe(waited);
                            }
                            deliver_reply(&self.frontend, reply, &mut self.delivery);
                        }
                    }
                }
                r = self.frontend.recv_many(&mut inbox, BATCH), if reading => {
                    if r.is_err() {
                        break;
                    }
                    let now = Instant::now();
                    for m in inbox.drain(..) {
                        self.dispatcher.request(now, m);
                    }
                }
                _ = sleep_until(expire), if expire.is_some() => {
                    self.dispatcher.expire(Instant::now());
                }
                _ = next_tick(&mut tick), if tick.is_some() => {
                    self.stats_line(&mut period);
                }
                _ = &mut stop, if deadline.is_none() => {
                    tracing::info!(open = self.dispatcher.open(), "stopping: no new requests; answering those in hand");
                    deadline = Some(tokio::time::Instant::now() + linger);
                }
                _ = sleep_until(deadline), if deadline.is_some() => {}
            }
        }
        self.log_events();
        self.dispatcher.totals()
    }

    /// Sends what the dispatcher gives to its workers.
    fn dispatch(&mut self, now: Instant) {
        while let Some(m) = self.dispatcher.dispatch(now) {
            match self.backend.try_send(m) {
                Ok(_) => {}
                // The worker is gone (its Disconnected event may still be on its way): what it
                // was given goes to another.
                Err(Error::HostUnreachable(id)) => self.dispatcher.worker_left(&id.0),
                // Not reached: a worker holds at most its credit, below SNDHWM. Should it
                // happen, treat the worker as gone rather than lose the request.
                Err(Error::Full(m)) => {
                    let id = RoutingId(m.first().cloned().unwrap_or_default());
                    tracing::warn!(worker = %id, "worker queue full: taken as gone");
                    self.backend.disconnect_peer(&id);
                    self.dispatcher.worker_left(&id.0);
                }
                Err(e) => tracing::debug!(error = %e, "request not sent"),
            }
        }
    }

    fn on_event(&mut self, ev: SocketEvent) {
        match ev {
            SocketEvent::HandshakeFailed { .. } => self.delivery.handshake_failures += 1,
            SocketEvent::HandshakeSucceeded {
                routing_id: Some(id),
                ..
            } => {
                tracing::debug!(worker = %id, "worker connected");
                self.dispatcher.worker_joined(id.0);
            }
            // Events come in order: a worker restarted under the same routing id is seen
            // leaving before it is seen again. A connection the ROUTER ignores (its id is taken)
            // is named by no id.
            SocketEvent::Disconnected {
                routing_id: Some(id),
                ..
            } => {
                if self.dispatcher.has_worker(&id.0) {
                    tracing::info!(worker = %id, "worker gone");
                }
                self.dispatcher.worker_left(&id.0);
            }
            SocketEvent::Missed { count } => {
                tracing::warn!(count, "backend events missed: resynchronising the workers");
                self.resync();
            }
            _ => {}
        }
    }

    /// Makes the dispatcher's workers those the backend routes to.
    fn resync(&mut self) {
        let now: Vec<RoutingId> = self.backend.peers();
        for id in self.dispatcher.worker_ids() {
            if !now.iter().any(|p| p.0 == id) {
                self.dispatcher.worker_left(&id);
            }
        }
        for id in now {
            self.dispatcher.worker_joined(id.0);
        }
    }

    fn log_events(&mut self) {
        while let Some(e) = self.dispatcher.poll_event() {
            match e {
                Event::Dropped {
                    client,
                    size,
                    sends,
                } => tracing::warn!(
                    client = %RoutingId(client),
                    size,
                    sends,
                    "request dropped: sent too many times without a reply (--max-redeliveries)"
                ),
                Event::Redelivered { worker, reason } => {
                    let why = match reason {
                        Reason::WorkerGone => "its worker is gone",
                        Reason::Timeout => "held past --request-timeout-ms",
                    };
                    tracing::debug!(worker = %RoutingId(worker), why, "request sent to another worker");
                }
                Event::OutOfOrder { worker } => tracing::info!(
                    worker = %RoutingId(worker),
                    "worker answers out of order: its replies are matched by client id"
                ),
            }
        }
    }

    /// The gauges now.
    fn levels(&self) -> Levels {
        Levels {
            in_flight: self.dispatcher.open() - self.dispatcher.queued(),
            queued: self.dispatcher.queued(),
            clients: self.frontend.peer_count(),
            workers: self.dispatcher.workers(),
        }
    }

    fn stats_line(&mut self, p: &mut Period) {
        let now = Instant::now();
        let secs = now.duration_since(p.at).as_secs_f64().max(1e-9);
        let t = self.dispatcher.totals();
        let rate = |a: u64, b: u64| (a - b) as f64 / secs;
        let l = self.levels();
        tracing::info!(
            requests_per_s = format_args!("{:.0}", rate(t.requests, p.totals.requests)),
            replies_per_s = format_args!("{:.0}", rate(t.replies, p.totals.replies)),
            in_flight = l.in_flight,
            queued = l.queued,
            redelivered = t.redelivered,
            dropped = t.dropped,
            handshake_failures = self.delivery.handshake_failures,
            clients = l.clients,
            workers = l.workers,
            "stats"
        );
        *p = Period { at: now, totals: t };
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn next_tick(tick: &mut Option<tokio::time::Interval>) {
    match tick {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Hands a reply to its client. Never waits on a client: a reply for a client that is gone is
/// dropped and counted; a client whose reply queue is full is disconnected.
pub fn deliver_reply(frontend: &Router, msg: Message, d: &mut Delivery) -> bool {
    match frontend.try_send(msg) {
        Ok(_) => true,
        Err(Error::HostUnreachable(id)) => {
            d.unroutable += 1;
            tracing::debug!(client = %id, "reply for a client that is gone: dropped");
            false
        }
        Err(Error::Full(m)) => {
            let id = RoutingId(m.first().cloned().unwrap_or_default());
            d.slow_disconnects += 1;
            tracing::warn!(client = %id, "client not reading its replies (queue full): disconnected");
            frontend.disconnect_peer(&id);
            false
        }
        Err(e) => {
            tracing::debug!(error = %e, "reply dropped");
            false
        }
    }
}
