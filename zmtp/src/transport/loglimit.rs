//! The crate's log lines: their targets, and rate limits for the lines about misbehaving
//! peers.
//!
//! Every `tracing` event of the crate names one of the targets below (`target:`), never its
//! module path, so that users can filter on them (`RUST_LOG=zmtp::connection=debug`) whatever
//! the code's layout; the crate docs list each event with its level and fields (section
//! "Logging"). Fields have stable names: `peer`, `endpoint`, `socket_type`, `routing_id`,
//! `error`, `left_out`.
//!
//! Rate limits: a flood of bad connections must not fill a disk. Each kind of line is written
//! at most [`BURST`] times a second; the first one written after some were left out says how
//! many (`left_out`). Monitor events are not limited: they carry every failure, for counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use crate::protocol::error::ProtocolError;

/// Connections: handshakes done, connections closed (and why), dials that failed.
pub(crate) const CONNECTION: &str = "zmtp::connection";
/// Listeners: accepts that failed, stale ipc socket files removed.
pub(crate) const LISTENER: &str = "zmtp::listener";
/// Peers refused by the socket's authenticator.
pub(crate) const SECURITY: &str = "zmtp::security";
/// Which peer a socket keeps: a ROUTER's duplicate or handed-over routing ids, a PAIR's second
/// peer.
pub(crate) const ROUTING: &str = "zmtp::routing";
/// The proxy's control socket.
pub(crate) const PROXY: &str = "zmtp::proxy";

/// The period, in milliseconds.
const PERIOD_MS: u64 = 1000;
/// Lines of one kind written per period at most.
pub(crate) const BURST: u64 = 10;

/// One kind of line.
pub(crate) struct LogLimit {
    /// When the current period began (ms on [`clock_ms`]; 0: never).
    start: AtomicU64,
    /// Lines counted in the current period, written or not.
    count: AtomicU64,
    /// Lines left out and not yet reported.
    left_out: AtomicU64,
}

/// Milliseconds since the first call, plus one period, so that a kind's first line is written.
fn clock_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(ms).unwrap_or(u64::MAX - PERIOD_MS) + PERIOD_MS
}

impl LogLimit {
    pub(crate) const fn new() -> Self {
        LogLimit {
            start: AtomicU64::new(0),
            count: AtomicU64::new(0),
            left_out: AtomicU64::new(0),
        }
    }

    /// `Some(left_out)` if a line may be written now (`left_out`: lines left out before it
    /// and not yet reported), `None` if it is to be left out. Races between threads may let a
    /// line or two more through in a period; never fewer.
    pub(crate) fn check(&self) -> Option<u64> {
        let now = clock_ms();
        let start = self.start.load(Ordering::Relaxed);
        if now >= start.saturating_add(PERIOD_MS)
            && self
                .start
                .compare_exchange(start, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.count.store(0, Ordering::Relaxed);
        }
        if self.count.fetch_add(1, Ordering::Relaxed) < BURST {
            return Some(self.left_out.swap(0, Ordering::Relaxed));
        }
        self.left_out.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Peers refused by the authenticator.
pub(crate) static AUTH_REFUSED: LogLimit = LogLimit::new();
/// A ROUTER's duplicate routing ids, a PAIR's second peers.
pub(crate) static DUPLICATE_PEER: LogLimit = LogLimit::new();

/// Connections closed on a protocol error, one limit per kind of error.
pub(crate) fn protocol_error(e: &ProtocolError) -> &'static LogLimit {
    static KINDS: [LogLimit; 10] = [const { LogLimit::new() }; 10];
    let i = match e {
        ProtocolError::Decode(_) => 0,
        ProtocolError::MechanismMismatch { .. } => 1,
        ProtocolError::IncompatibleSocketType { .. } => 2,
        ProtocolError::UnexpectedCommand { .. } => 3,
        ProtocolError::MessageBeforeHandshake => 4,
        ProtocolError::HandshakeTimeout => 5,
        ProtocolError::HeartbeatTimeout => 6,
        ProtocolError::AuthenticationFailed { .. } => 7,
        ProtocolError::Crypto(_) => 8,
        _ => 9,
    };
    &KINDS[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_a_second_and_the_count_of_the_rest() {
        let l = LogLimit::new();
        for _ in 0..BURST {
            assert_eq!(l.check(), Some(0));
        }
        for _ in 0..1000 {
            assert_eq!(l.check(), None);
        }
        // A period later, the next line says how many were left out.
        l.start.fetch_sub(PERIOD_MS, Ordering::Relaxed);
        assert_eq!(l.check(), Some(1000));
        assert_eq!(l.check(), Some(0));
    }
}
