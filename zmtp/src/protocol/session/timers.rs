//! A session's timers: the handshake deadline and the heartbeats (RFC 37 PING/PONG with TTL,
//! libzmq's HEARTBEAT_IVL, HEARTBEAT_TIMEOUT and HEARTBEAT_TTL).
//!
//! Deadlines are computed with [`deadline`], which never overflows: an interval too large for
//! the clock means "never" (a user may set any `Duration`).

use std::time::{Duration, Instant};

/// `now + d`, or `None` (never) when that is beyond what an `Instant` can hold.
pub fn deadline(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

/// A configured interval, with zero meaning "off" as it does for libzmq's HANDSHAKE_IVL,
/// HEARTBEAT_IVL and HEARTBEAT_TIMEOUT (a zero timer would fire at once, forever).
pub(super) fn nonzero(d: Option<Duration>) -> Option<Duration> {
    d.filter(|d| !d.is_zero())
}

/// The heartbeat settings (HEARTBEAT_IVL, HEARTBEAT_TIMEOUT, HEARTBEAT_TTL), kept by a session.
#[derive(Debug, Clone, Copy)]
pub(super) struct Heartbeat {
    /// PING every this often (`None` or zero = off).
    pub(super) ivl: Option<Duration>,
    /// Drop a peer silent this long after a PING (`None` = the interval, zero = never).
    pub(super) timeout: Option<Duration>,
    /// The TTL announced in our PINGs, in deciseconds.
    pub(super) ttl_ds: u16,
}

impl Heartbeat {
    pub(super) fn new(config: &super::SessionConfig) -> Heartbeat {
        Heartbeat {
            ivl: config.heartbeat_ivl,
            timeout: config.heartbeat_timeout,
            ttl_ds: (config.heartbeat_ttl.as_millis() / 100).min(u128::from(u16::MAX)) as u16,
        }
    }
}

/// What a timer check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    /// Nothing to do.
    Nothing,
    /// Send a PING now (the next one is already scheduled).
    Ping,
    /// The handshake took too long.
    HandshakeTimeout,
    /// The peer is silent past a heartbeat deadline.
    HeartbeatTimeout,
}

/// The deadlines of one session.
#[derive(Debug, Default)]
pub(super) struct Timers {
    handshake: Option<Instant>,
    next_ping: Option<Instant>,
    ping_deadline: Option<Instant>,
    ttl_deadline: Option<Instant>,
}

impl Timers {
    /// Timers of a session starting at `now` with this HANDSHAKE_IVL.
    pub(super) fn new(now: Instant, handshake_ivl: Option<Duration>) -> Timers {
        Timers {
            handshake: nonzero(handshake_ivl).and_then(|d| deadline(now, d)),
            ..Timers::default()
        }
    }

    /// The handshake is done: stop its deadline, start PINGs every `heartbeat_ivl` if any.
    pub(super) fn handshake_done(&mut self, now: Instant, heartbeat_ivl: Option<Duration>) {
        self.handshake = None;
        self.next_ping = nonzero(heartbeat_ivl).and_then(|ivl| deadline(now, ivl));
    }

    /// Any frame from the peer is proof of life.
    #[inline]
    pub(super) fn peer_alive(&mut self) {
        self.ping_deadline = None;
        self.ttl_deadline = None;
    }

    /// The peer's PING announced a TTL of `ttl` deciseconds (0 = none): it expects us to drop
    /// it after that much silence.
    pub(super) fn peer_ttl(&mut self, now: Instant, ttl: u16) {
        if ttl > 0 && self.ttl_deadline.is_none() {
            self.ttl_deadline = deadline(now, Duration::from_millis(u64::from(ttl) * 100));
        }
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        [
            self.handshake,
            self.next_ping,
            self.ping_deadline,
            self.ttl_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Checks the deadlines at `now`. A due PING is scheduled again at once, unconditionally as
    /// libzmq does (PINGs flow even under load), and arms the PONG deadline (`timeout`; `None`
    /// = the interval, zero = never).
    pub(super) fn check(
        &mut self,
        now: Instant,
        heartbeat_ivl: Option<Duration>,
        timeout: Option<Duration>,
    ) -> Due {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.handshake) {
            return Due::HandshakeTimeout;
        }
        if due(self.ping_deadline) || due(self.ttl_deadline) {
            return Due::HeartbeatTimeout;
        }
        let (Some(t), Some(ivl)) = (self.next_ping, nonzero(heartbeat_ivl)) else {
            return Due::Nothing;
        };
        if t > now {
            return Due::Nothing;
        }
        self.next_ping = deadline(now, ivl);
        let timeout = timeout.unwrap_or(ivl);
        if self.ping_deadline.is_none() && !timeout.is_zero() {
            self.ping_deadline = deadline(now, timeout);
        }
        Due::Ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_intervals_mean_never_instead_of_overflowing() {
        // Regression: `now + Duration::MAX` panicked, reachable from any option value.
        let now = Instant::now();
        let mut t = Timers::new(now, Some(Duration::MAX));
        assert_eq!(t.next(), None);
        t.handshake_done(now, Some(Duration::MAX));
        assert_eq!(t.next(), None);
        assert_eq!(
            t.check(
                now + Duration::from_secs(1 << 30),
                Some(Duration::MAX),
                None
            ),
            Due::Nothing
        );
        let mut t = Timers::new(now, None);
        t.handshake_done(now, Some(Duration::from_millis(10)));
        let at = now + Duration::from_millis(10);
        assert_eq!(
            t.check(at, Some(Duration::from_millis(10)), Some(Duration::MAX)),
            Due::Ping
        );
        assert_eq!(t.next(), Some(at + Duration::from_millis(10)));
    }
}
