//! TCP: binding, accepting, dialling, socket options, and sends without SIGPIPE.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use tokio::net::{TcpListener, TcpStream};

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

    fn bind(ep: &Endpoint) -> io::Result<(TcpListener, Endpoint)> {
        let Endpoint::Tcp { host, port } = ep else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a tcp endpoint",
            ));
        };
        let addrs: Vec<SocketAddr> = match host {
            Host::Any => vec![SocketAddr::from(([0, 0, 0, 0], *port))],
            Host::Ip(ip) => vec![SocketAddr::new(*ip, *port)],
            Host::Name(n) => (n.as_str(), *port).to_socket_addrs()?.collect(),
        };
        let std_listener = std::net::TcpListener::bind(&addrs[..])?;
        std_listener.set_nonblocking(true)?;
        let local = std_listener.local_addr()?;
        let listener = TcpListener::from_std(std_listener)?;
        let bound = Endpoint::Tcp {
            host: match host {
                Host::Any => Host::Any,
                _ => Host::Ip(local.ip()),
            },
            port: local.port(),
        };
        Ok((listener, bound))
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, PeerAddr)> {
        let (stream, addr) = listener.accept().await?;
        Ok((stream, PeerAddr::Tcp(addr)))
    }

    async fn dial(ep: &Endpoint) -> io::Result<(TcpStream, PeerAddr)> {
        let Endpoint::Tcp { host, port } = ep else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a tcp endpoint",
            ));
        };
        let stream = match host {
            Host::Ip(ip) => TcpStream::connect(SocketAddr::new(*ip, *port)).await?,
            Host::Name(n) => TcpStream::connect((n.as_str(), *port)).await?,
            Host::Any => TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], *port))).await?,
        };
        let addr = stream.peer_addr()?;
        Ok((stream, PeerAddr::Tcp(addr)))
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
            tracing::debug!(error = %e, "cannot set TCP keepalive");
        }
    }
}

super::stream::byte_stream_with_nosignal!(TcpStream);
