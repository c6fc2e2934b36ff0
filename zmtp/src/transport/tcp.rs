//! TCP: binding, accepting, dialling, socket options, and sends without SIGPIPE.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::Transport;
use crate::endpoint::{Endpoint, Host};
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;

/// The TCP transport (`tcp://host:port`).
#[derive(Debug)]
pub(crate) struct Tcp;

impl Transport for Tcp {
    type Stream = TcpStream;
    type Listener = TcpListener;

    fn bind(ep: &Endpoint, o: &SocketOptions) -> io::Result<(TcpListener, Endpoint)> {
        let Endpoint::Tcp { host, port, .. } = ep else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a tcp endpoint",
            ));
        };
        let addrs: Vec<SocketAddr> = match host {
            // ZMQ_IPV6: `*` is every IPv6 and IPv4 interface (a dual-stack socket).
            Host::Any if o.ipv6 => vec![SocketAddr::from((Ipv6Addr::UNSPECIFIED, *port))],
            Host::Any => vec![SocketAddr::from((Ipv4Addr::UNSPECIFIED, *port))],
            Host::Ip(ip) => vec![SocketAddr::new(*ip, *port)],
            Host::Name(n) => usable(n, (n.as_str(), *port).to_socket_addrs()?, o.ipv6)?,
        };
        let mut last = None;
        for a in addrs {
            match listen(a) {
                Ok(std_listener) => {
                    let local = std_listener.local_addr()?;
                    let listener = TcpListener::from_std(std_listener)?;
                    let bound = Endpoint::Tcp {
                        host: match host {
                            Host::Any => Host::Any,
                            _ => Host::Ip(local.ip()),
                        },
                        port: local.port(),
                        source: None,
                    };
                    return Ok((listener, bound));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to bind")))
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, PeerAddr)> {
        let (stream, addr) = listener.accept().await?;
        Ok((stream, PeerAddr::Tcp(addr)))
    }

    /// Resolves a host name at each dial (so at each reconnect), and tries its addresses in
    /// turn; from `source` if given.
    async fn dial(ep: &Endpoint, o: &SocketOptions) -> io::Result<(TcpStream, PeerAddr)> {
        let Endpoint::Tcp { host, port, source } = ep else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a tcp endpoint",
            ));
        };
        let addrs: Vec<SocketAddr> = match host {
            Host::Ip(ip) => vec![SocketAddr::new(*ip, *port)],
            Host::Name(n) => usable(
                n,
                tokio::net::lookup_host((n.as_str(), *port)).await?,
                o.ipv6,
            )?,
            Host::Any => vec![SocketAddr::from((Ipv4Addr::LOCALHOST, *port))],
        };
        let mut last = None;
        for a in addrs {
            match connect_from(a, *source).await {
                Ok(stream) => return Ok((stream, PeerAddr::Tcp(a))),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
    }

    /// TCP_NODELAY, no SIGPIPE (Apple platforms), and the keepalive options when set.
    fn configure(stream: &TcpStream, o: &SocketOptions) {
        let _ = stream.set_nodelay(true);
        // No SIGPIPE on a reset peer (elsewhere the sends pass MSG_NOSIGNAL).
        #[cfg(target_vendor = "apple")]
        let _ = socket2::SockRef::from(stream).set_nosigpipe(true);
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
            // The peer's address, asked only on this path.
            let peer = stream.peer_addr().ok().map(PeerAddr::Tcp);
            tracing::debug!(
                target: super::loglimit::CONNECTION,
                peer = peer.as_ref().map(tracing::field::display),
                error = %e,
                "cannot set TCP keepalive"
            );
        }
    }
}

/// The addresses of `name` we may use: IPv4 ones only, unless ZMQ_IPV6 (as libzmq resolves).
fn usable(
    name: &str,
    addrs: impl Iterator<Item = SocketAddr>,
    ipv6: bool,
) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addrs.filter(|a| ipv6 || a.is_ipv4()).collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("{name} has no IPv4 address (set the ipv6 option for its IPv6 ones)"),
        ));
    }
    Ok(addrs)
}

/// A listening socket on `a`: IPv6 ones take IPv4 peers too (IPV6_V6ONLY off, as libzmq sets
/// it with ZMQ_IPV6).
fn listen(a: SocketAddr) -> io::Result<std::net::TcpListener> {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(a),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if a.is_ipv6() {
        sock.set_only_v6(false)?;
    }
    #[cfg(unix)]
    sock.set_reuse_address(true)?;
    sock.bind(&a.into())?;
    sock.listen(1024)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

/// Connects to `a`, from `source` if given.
async fn connect_from(a: SocketAddr, source: Option<SocketAddr>) -> io::Result<TcpStream> {
    let sock = if a.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(src) = source {
        sock.bind(src)?;
    }
    sock.connect(a).await
}

super::stream::byte_stream_with_nosignal!(TcpStream, {
    fn set_recv_lowat(&self, bytes: usize) -> std::io::Result<()> {
        super::sockopt::set_recv_lowat(self, bytes)
    }
});
