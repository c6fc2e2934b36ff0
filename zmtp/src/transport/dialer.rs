//! Connecting, for every transport: a task per connected endpoint that dials, runs the
//! connection, and dials again after RECONNECT_IVL (with libzmq's jitter or back-off) until the
//! socket closes or the peer breaks the protocol.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{driver, SocketLink, Transport};
use crate::endpoint::Endpoint;
use crate::monitor::SocketEvent;
use crate::routing::PipeId;

/// When LINGER is infinite, how long a dial still in progress at close may go on for messages
/// queued before it.
const CLOSE_DIAL_GRACE: Duration = Duration::from_secs(30);

/// Creates the connecting side's pipe now (messages queue on it before the connection is up,
/// unless IMMEDIATE) and spawns the task that dials and re-dials; returns the token that
/// disconnects it.
pub(crate) fn connect<T: Transport>(link: &Arc<dyn SocketLink>, ep: Endpoint) -> CancellationToken {
    let (pipe, notify) = link.new_pipe(true);
    let link2 = link.clone();
    let stop = link.shutdown().child_token();
    let stop2 = stop.clone();
    let task = tokio::spawn(async move {
        let stop = stop2;
        let link = link2;
        let mut backoff = Backoff::new(
            link.options().reconnect_ivl,
            link.options().reconnect_ivl_max,
        );
        loop {
            link.monitors().emit(|| SocketEvent::ConnectDelayed {
                endpoint: ep.clone(),
            });
            let dialled = tokio::select! {
                _ = give_up_dial(&*link, &stop, pipe) => break,
                r = T::dial(&ep, link.options()) => r,
            };
            let retry = match dialled {
                Ok((stream, peer)) => {
                    link.monitors().emit(|| SocketEvent::Connected {
                        endpoint: ep.clone(),
                        peer: peer.clone(),
                    });
                    T::configure(&stream, link.options());
                    let conn = driver::Conn {
                        link: &link,
                        pipe,
                        notify: &notify,
                        endpoint: &ep,
                        peer: &peer,
                        stop: &stop,
                    };
                    let end = driver::run(&conn, stream, true).await;
                    let retry = end.may_reconnect();
                    if retry {
                        backoff.reset();
                    }
                    retry
                }
                Err(e) => {
                    tracing::debug!(
                        target: super::loglimit::CONNECTION,
                        endpoint = %ep,
                        socket_type = %link.socket_type(),
                        error = %e,
                        "connect failed"
                    );
                    true
                }
            };
            if !retry || stop.is_cancelled() {
                break;
            }
            let Some(delay) = backoff.next_delay() else {
                break;
            };
            link.monitors().emit(|| SocketEvent::ConnectRetried {
                endpoint: ep.clone(),
                delay,
            });
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        link.detach(pipe, false);
    });
    link.add_task(task);
    stop
}

/// Completes when a dial in progress should be abandoned: at close (or disconnect), at once if
/// nothing is queued for the peer (or LINGER is zero), else after LINGER (30 s when LINGER is
/// infinite), so messages sent just before close still go out once the connection is up.
async fn give_up_dial(link: &dyn SocketLink, stop: &CancellationToken, pipe: PipeId) {
    stop.cancelled().await;
    if !link.has_outbound(pipe) {
        return;
    }
    let linger = link.options().linger.unwrap_or(CLOSE_DIAL_GRACE);
    tokio::time::sleep(linger).await;
}

/// libzmq's reconnect delays: without RECONNECT_IVL_MAX, `ivl + rand() % ivl` each time; with
/// it, `ivl` doubling after each failure up to the maximum. Saturating: any option value works.
#[derive(Debug)]
struct Backoff {
    ivl: Option<Duration>,
    max: Duration,
    current: Option<Duration>,
    rng: u32,
}

impl Backoff {
    fn new(ivl: Option<Duration>, max: Duration) -> Backoff {
        Backoff {
            ivl,
            max,
            current: ivl,
            rng: super::random_u32() | 1,
        }
    }

    fn reset(&mut self) {
        self.current = self.ivl;
    }

    /// The next delay; `None` if reconnecting is off.
    fn next_delay(&mut self) -> Option<Duration> {
        let ivl = self.current?;
        if !self.max.is_zero() {
            self.current = Some(ivl.saturating_mul(2).min(self.max));
            return Some(ivl);
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        let ms = u64::try_from(ivl.as_millis()).unwrap_or(u64::MAX).max(1);
        Some(ivl.saturating_add(Duration::from_millis(u64::from(self.rng) % ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_twice_the_interval() {
        let ivl = Duration::from_millis(100);
        let mut b = Backoff::new(Some(ivl), Duration::ZERO);
        for _ in 0..1000 {
            let d = b.next_delay().unwrap();
            assert!(d >= ivl && d < 2 * ivl, "{d:?}");
        }
        assert_eq!(Backoff::new(None, Duration::ZERO).next_delay(), None);
    }

    #[test]
    fn doubling_up_to_the_maximum_and_reset() {
        let mut b = Backoff::new(Some(Duration::from_millis(100)), Duration::from_millis(350));
        let ds: Vec<_> = (0..5)
            .map(|_| b.next_delay().unwrap().as_millis())
            .collect();
        assert_eq!(ds, [100, 200, 350, 350, 350]);
        b.reset();
        assert_eq!(b.next_delay(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn huge_intervals_saturate_instead_of_panicking() {
        // Regression: `ivl * 2` and `ivl + jitter` overflowed (a panic from an option value).
        let mut b = Backoff::new(Some(Duration::MAX), Duration::MAX);
        assert_eq!(b.next_delay(), Some(Duration::MAX));
        assert_eq!(b.next_delay(), Some(Duration::MAX));
        let mut b = Backoff::new(Some(Duration::MAX), Duration::ZERO);
        assert_eq!(b.next_delay(), Some(Duration::MAX));
        // A maximum below the interval: the first delay is the interval, then the maximum.
        let mut b = Backoff::new(Some(Duration::from_secs(10)), Duration::from_secs(1));
        assert_eq!(b.next_delay(), Some(Duration::from_secs(10)));
        assert_eq!(b.next_delay(), Some(Duration::from_secs(1)));
    }
}
