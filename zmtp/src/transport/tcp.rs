//! TCP: binding (a listener task per endpoint) and connecting (a dial-and-reconnect task per
//! endpoint).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::driver::{self, End};
use crate::endpoint::{Endpoint, Host};
use crate::socket::{Core, Error};

/// Binds `ep` now (so errors such as "port in use" come back to the caller) and spawns the
/// accept loop.
pub(crate) fn bind(core: &Arc<Core>, ep: &Endpoint) -> Result<Endpoint, Error> {
    let Endpoint::Tcp { host, port } = ep;
    let bind_err = |source| Error::Bind {
        endpoint: ep.to_string(),
        source,
    };
    if core.is_closed() {
        return Err(Error::Closed);
    }
    let addrs: Vec<SocketAddr> = match host {
        Host::Any => vec![SocketAddr::from(([0, 0, 0, 0], *port))],
        Host::Ip(ip) => vec![SocketAddr::new(*ip, *port)],
        Host::Name(n) => (n.as_str(), *port)
            .to_socket_addrs()
            .map_err(bind_err)?
            .collect(),
    };
    let std_listener = std::net::TcpListener::bind(&addrs[..]).map_err(bind_err)?;
    std_listener.set_nonblocking(true).map_err(bind_err)?;
    let local = std_listener.local_addr().map_err(bind_err)?;
    let listener = TcpListener::from_std(std_listener).map_err(bind_err)?;
    let bound = Endpoint::Tcp {
        host: match host {
            Host::Any => Host::Any,
            _ => Host::Ip(local.ip()),
        },
        port: local.port(),
    };
    core.add_bound(bound.clone());
    let task = tokio::spawn(accept_loop(core.clone(), listener));
    core.add_task(task);
    Ok(bound)
}

async fn accept_loop(core: Arc<Core>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            _ = core.shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, addr)) => {
                let core2 = core.clone();
                let task = tokio::spawn(async move {
                    let (pipe, notify) = core2.new_pipe(false);
                    let end = driver::run(&core2, stream, addr, pipe, &notify).await;
                    log_end(&end, addr, "accepted");
                    core2.detach(pipe, false);
                });
                core.add_task(task);
            }
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS and friends: log, back off, and keep accepting once
                // descriptors free up, instead of spinning.
                tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
                tokio::select! {
                    _ = core.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
}

/// Creates the connecting side's pipe now and spawns the task that dials and re-dials.
pub(crate) fn connect(core: &Arc<Core>, ep: Endpoint) {
    let (pipe, notify) = core.new_pipe(true);
    let core2 = core.clone();
    let task = tokio::spawn(async move {
        let mut backoff = core2.options.reconnect_ivl;
        let mut rng = crate::socket::random_u32() | 1;
        loop {
            let dialled = tokio::select! {
                _ = give_up_dial(&core2, pipe) => break,
                r = dial(&ep) => r,
            };
            let retry = match dialled {
                Ok((stream, addr)) => {
                    let end = driver::run(&core2, stream, addr, pipe, &notify).await;
                    log_end(&end, addr, "connected");
                    let retry = end.may_reconnect();
                    core2.detach(pipe, retry);
                    if retry {
                        backoff = core2.options.reconnect_ivl;
                    }
                    retry
                }
                Err(e) => {
                    tracing::debug!(endpoint = %ep, error = %e, "connect failed");
                    true
                }
            };
            if !retry || core2.is_closed() {
                break;
            }
            let Some(ivl) = backoff else { break };
            // libzmq: without RECONNECT_IVL_MAX, wait ivl + rand() % ivl; with it, double up to
            // the maximum.
            let max = core2.options.reconnect_ivl_max;
            let delay = if max.is_zero() {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                let ms = ivl.as_millis().max(1) as u64;
                ivl + Duration::from_millis(u64::from(rng) % ms)
            } else {
                backoff = Some((ivl * 2).min(max));
                ivl
            };
            tokio::select! {
                _ = core2.shutdown.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        core2.detach(pipe, false);
    });
    core.add_task(task);
}

/// Completes when a dial in progress should be abandoned: at close, at once if nothing is
/// queued for the peer (or LINGER is zero), else after LINGER (30 s when LINGER is infinite),
/// so messages sent just before close still go out once the connection is up.
async fn give_up_dial(core: &Core, pipe: crate::socket::pipe::PipeId) {
    core.shutdown.cancelled().await;
    if !core.has_outbound(pipe) {
        return;
    }
    let linger = core.options.linger.unwrap_or(Duration::from_secs(30));
    tokio::time::sleep(linger).await;
}

async fn dial(ep: &Endpoint) -> std::io::Result<(TcpStream, SocketAddr)> {
    let Endpoint::Tcp { host, port } = ep;
    let stream = match host {
        Host::Ip(ip) => TcpStream::connect(SocketAddr::new(*ip, *port)).await?,
        Host::Name(n) => TcpStream::connect((n.as_str(), *port)).await?,
        Host::Any => TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], *port))).await?,
    };
    let addr = stream.peer_addr()?;
    Ok((stream, addr))
}

/// TCP_NODELAY, no SIGPIPE (Apple platforms), and the keepalive options when set.
pub(crate) fn configure(core: &Core, stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    // No SIGPIPE on a reset peer (elsewhere the sends pass MSG_NOSIGNAL).
    #[cfg(target_vendor = "apple")]
    let _ = socket2::SockRef::from(stream).set_nosigpipe(true);
    let o = &core.options;
    if o.tcp_keepalive.is_none() {
        return;
    }
    let sock = socket2::SockRef::from(stream);
    if o.tcp_keepalive == Some(false) {
        let _ = sock.set_keepalive(false);
        return;
    }
    let mut ka = socket2::TcpKeepalive::new();
    if let Some(t) = o.tcp_keepalive_idle {
        ka = ka.with_time(t);
    }
    if let Some(t) = o.tcp_keepalive_intvl {
        ka = ka.with_interval(t);
    }
    if let Some(n) = o.tcp_keepalive_cnt {
        ka = ka.with_retries(n);
    }
    if let Err(e) = sock.set_tcp_keepalive(&ka) {
        tracing::debug!(error = %e, "cannot set TCP keepalive");
    }
}

fn log_end(end: &End, addr: SocketAddr, side: &str) {
    match end {
        End::Protocol(e) => {
            tracing::warn!(peer = %addr, side, error = %e, "connection closed: protocol error")
        }
        End::Io(e) => {
            tracing::debug!(peer = %addr, side, error = %e, "connection closed: I/O error")
        }
        End::Eof => tracing::debug!(peer = %addr, side, "connection closed by peer"),
        End::Closed => tracing::trace!(peer = %addr, side, "connection closed by socket"),
        End::Kicked => tracing::debug!(peer = %addr, side, "connection closed on request"),
    }
}
