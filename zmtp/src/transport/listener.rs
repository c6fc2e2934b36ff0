//! Binding and the accept loop, for every transport: one task per bound endpoint, one
//! connection task per accepted peer.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{driver, SocketLink, Transport};
use crate::endpoint::Endpoint;
use crate::monitor::SocketEvent;

/// How long the accept loop waits after an accept error (EMFILE and friends) before trying
/// again, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Binds `ep` now and spawns the accept loop; returns the endpoint actually bound, and the
/// token that unbinds it.
pub(crate) fn bind<T: Transport>(
    link: &Arc<dyn SocketLink>,
    ep: &Endpoint,
) -> io::Result<(Endpoint, CancellationToken)> {
    let (listener, bound) = match T::bind(ep, link.options()) {
        Ok(b) => b,
        Err(e) => {
            link.monitors().emit(|| SocketEvent::BindFailed {
                endpoint: ep.clone(),
                error: Arc::new(io::Error::new(e.kind(), e.to_string())),
            });
            return Err(e);
        }
    };
    link.monitors().emit(|| SocketEvent::Listening {
        endpoint: bound.clone(),
    });
    let stop = link.shutdown().child_token();
    let task = tokio::spawn(accept_loop::<T>(
        link.clone(),
        listener,
        Arc::new(bound.clone()),
        stop.clone(),
    ));
    link.add_task(task);
    Ok((bound, stop))
}

/// `endpoint` is shared with every connection it accepts (not copied into each one's task), and
/// so is `stop` (the socket closing, or this endpoint unbound).
async fn accept_loop<T: Transport>(
    link: Arc<dyn SocketLink>,
    listener: T::Listener,
    endpoint: Arc<Endpoint>,
    stop: CancellationToken,
) {
    let stop = Arc::new(stop);
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            r = T::accept(&listener) => r,
        };
        match accepted {
            Ok((stream, peer)) => {
                link.monitors().emit(|| SocketEvent::Accepted {
                    endpoint: (*endpoint).clone(),
                    peer: peer.clone(),
                });
                let link2 = link.clone();
                let endpoint = endpoint.clone();
                let stop = stop.clone();
                let task = tokio::spawn(async move {
                    T::configure(&stream, link2.options());
                    let (pipe, notify) = link2.new_pipe(false);
                    let conn = driver::Conn {
                        link: &link2,
                        pipe,
                        notify: &notify,
                        endpoint: &endpoint,
                        peer: &peer,
                        stop: &stop,
                    };
                    driver::run(&conn, stream, false).await;
                });
                link.add_task(task);
            }
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS and friends: log, back off, and keep accepting once
                // descriptors free up.
                tracing::warn!(
                    target: super::loglimit::LISTENER,
                    endpoint = %endpoint,
                    socket_type = %link.socket_type(),
                    error = %e,
                    "accept failed; retrying in 100 ms"
                );
                let e = Arc::new(e);
                link.monitors().emit(|| SocketEvent::AcceptFailed {
                    endpoint: (*endpoint).clone(),
                    error: e,
                });
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
    drop(listener);
    link.monitors().emit(|| SocketEvent::Closed {
        endpoint: (*endpoint).clone(),
    });
}
