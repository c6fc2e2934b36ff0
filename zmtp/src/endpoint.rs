//! Endpoints, parsed once and rejected with a clear error when malformed.
//!
//! Accepted forms:
//! - `tcp://127.0.0.1:5570`, `tcp://*:5570` (see below), `tcp://[::1]:5570`,
//!   `tcp://localhost:5570` (a name, resolved when dialling or binding), and port `0` or `*`
//!   when binding (the OS picks; read the bound endpoint back from the socket);
//! - `inproc://name` (sockets of this process: messages handed over as they are);
//! - `ipc:///tmp/feed.sock` (a Unix domain socket; Unix only), `ipc://@feed` (Linux's abstract
//!   namespace: no file), `ipc://*` (bind only: a fresh path in the temporary directory). A
//!   path longer than a Unix socket address holds is an error, not a truncation. Parsing
//!   accepts them in every build; binding or connecting one needs the `ipc` feature (on by
//!   default): without it, `Socket::bind` and `Socket::connect` refuse it with an
//!   [`EndpointError`] that says so.
//!
//! `tcp://*:PORT` binds every interface (every IPv4 one; IPv6 too with the `ipv6` option).
//! Binding it returns `tcp://*:PORT`, with the port bound, where libzmq's `ZMQ_LAST_ENDPOINT`
//! says `tcp://0.0.0.0:PORT` (`tcp://[::]:PORT` with `ipv6`). That endpoint can be connected
//! to as it is, by a socket of this crate: a connect to `*` dials 127.0.0.1, this machine.
//! libzmq refuses to connect to `*` (and dials `0.0.0.0` as this machine too, on Linux); a
//! peer on another machine needs one of this machine's addresses instead.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// TCP.
    Tcp {
        /// The host part.
        host: Host,
        /// The port; `0` means "any" (bind only).
        port: u16,
        /// `tcp://SOURCE;HOST:PORT` (connect only): the local address, and port (`0`: any),
        /// the connection is made from. libzmq also takes an interface name there; we do not.
        source: Option<SocketAddr>,
    },
    /// inproc: between sockets of this process, messages handed over without encoding.
    Inproc {
        /// The name, unique in the process while bound.
        name: String,
    },
    /// IPC: a Unix domain socket.
    Ipc {
        /// The path; `@name` is an abstract name (Linux); `*` means "a fresh path" (bind only).
        path: String,
    },
}

/// The longest IPC path a Unix socket address holds (`sun_path` less its final NUL byte).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const MAX_IPC_PATH: usize = 107;
/// The longest IPC path a Unix socket address holds (`sun_path` less its final NUL byte).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const MAX_IPC_PATH: usize = 103;

/// The host part of a TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Host {
    /// `*`: every interface when binding (`0.0.0.0`, or `[::]` with the `ipv6` option); when
    /// connecting, this machine (127.0.0.1).
    Any,
    /// A literal address.
    Ip(IpAddr),
    /// A name to resolve.
    Name(String),
}

/// Why an endpoint string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid endpoint {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for EndpointError {}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| EndpointError {
            input: s.to_string(),
            reason,
        };
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(err(
                "expected transport://address, e.g. tcp://127.0.0.1:5570",
            ));
        };
        match scheme {
            "tcp" => {}
            "ipc" => return parse_ipc(rest).map_err(err),
            "inproc" if rest.is_empty() => return Err(err("inproc needs a name")),
            "inproc" => {
                return Ok(Endpoint::Inproc {
                    name: rest.to_string(),
                })
            }
            _ => {
                return Err(err(
                    "unsupported transport (tcp, ipc and inproc are implemented)",
                ))
            }
        }
        let (source, rest) = match rest.split_once(';') {
            Some((src, dst)) => (Some(parse_source(src).map_err(err)?), dst),
            None => (None, rest),
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let Some((addr, port)) = v6.split_once("]:") else {
                return Err(err("IPv6 address must be written [addr]:port"));
            };
            let ip = addr
                .parse::<IpAddr>()
                .map_err(|_| err("invalid IPv6 address"))?;
            (Host::Ip(ip), port)
        } else {
            let Some((host, port)) = rest.rsplit_once(':') else {
                return Err(err("missing :port"));
            };
            let host = if host == "*" {
                Host::Any
            } else if let Ok(ip) = host.parse::<IpAddr>() {
                Host::Ip(ip)
            } else if !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
            {
                Host::Name(host.to_string())
            } else {
                return Err(err("invalid host"));
            };
            (host, port)
        };
        let port = if port == "*" {
            0
        } else {
            port.parse::<u16>()
                .map_err(|_| err("port must be a number from 0 to 65535, or *"))?
        };
        Ok(Endpoint::Tcp { host, port, source })
    }
}

/// The source part of `tcp://SOURCE;HOST:PORT`: an IP address (`*` for any), with an optional
/// port.
fn parse_source(src: &str) -> Result<SocketAddr, &'static str> {
    if let Ok(a) = src.parse::<SocketAddr>() {
        return Ok(a);
    }
    let ip = match src {
        "*" => IpAddr::from([0, 0, 0, 0]),
        _ => src
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| {
                "the source of tcp://SOURCE;HOST:PORT must be an IP address (with an optional \
                 :port); interface names are not supported"
            })?,
    };
    Ok(SocketAddr::new(ip, 0))
}

/// Why an `ipc://` endpoint cannot be bound or connected in this build.
#[cfg(all(feature = "tokio", not(all(unix, feature = "ipc"))))]
pub(crate) const IPC_UNAVAILABLE: &str =
    "ipc is not in this build: it needs the zmtp crate's `ipc` feature (on by default)";

#[cfg(feature = "tokio")]
impl Endpoint {
    /// Refuses a transport this build does not have (`ipc://` without the `ipc` feature).
    fn check_transport(&self) -> Result<(), EndpointError> {
        #[cfg(not(feature = "ipc"))]
        if let Endpoint::Ipc { .. } = self {
            return Err(EndpointError {
                input: self.to_string(),
                reason: IPC_UNAVAILABLE,
            });
        }
        Ok(())
    }

    /// Refuses what can only be bound: `ipc://*`, a TCP port 0 (libzmq: EINVAL); and a
    /// transport this build does not have.
    pub(crate) fn check_connectable(&self) -> Result<(), EndpointError> {
        self.check_transport()?;
        let reason = match self {
            Endpoint::Ipc { path } if path == "*" => "ipc://* can only be bound",
            Endpoint::Tcp { port: 0, .. } => "port 0 (any) can only be bound",
            _ => return Ok(()),
        };
        Err(EndpointError {
            input: self.to_string(),
            reason,
        })
    }

    /// Refuses what can only be connected: a source address (`tcp://SOURCE;HOST:PORT`); and a
    /// transport this build does not have.
    pub(crate) fn check_bindable(&self) -> Result<(), EndpointError> {
        self.check_transport()?;
        match self {
            Endpoint::Tcp {
                source: Some(_), ..
            } => Err(EndpointError {
                input: self.to_string(),
                reason: "a source address (SOURCE;HOST:PORT) is for connect only",
            }),
            _ => Ok(()),
        }
    }
}

/// The part after `ipc://`.
fn parse_ipc(path: &str) -> Result<Endpoint, &'static str> {
    if !cfg!(unix) {
        return Err("ipc needs Unix domain sockets, which this platform does not have");
    }
    if path.is_empty() {
        return Err("ipc needs a path, e.g. ipc:///tmp/feed.sock");
    }
    if path.contains('\0') {
        return Err("an ipc path cannot contain a NUL byte");
    }
    if path.starts_with('@') && !cfg!(any(target_os = "linux", target_os = "android")) {
        return Err("abstract ipc names (@name) are Linux only");
    }
    if path.len() > MAX_IPC_PATH {
        return Err("ipc path too long for a Unix socket address");
    }
    Ok(Endpoint::Ipc {
        path: path.to_string(),
    })
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port, source } => {
                f.write_str("tcp://")?;
                match source {
                    Some(SocketAddr::V6(a)) if a.port() == 0 => write!(f, "[{}];", a.ip())?,
                    Some(a) if a.port() == 0 => write!(f, "{};", a.ip())?,
                    Some(a) => write!(f, "{a};")?,
                    None => {}
                }
                match host {
                    Host::Any => write!(f, "*:{port}"),
                    Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{port}"),
                    Host::Ip(ip) => write!(f, "{ip}:{port}"),
                    Host::Name(n) => write!(f, "{n}:{port}"),
                }
            }
            Endpoint::Ipc { path } => write!(f, "ipc://{path}"),
            Endpoint::Inproc { name } => write!(f, "inproc://{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        for s in [
            "tcp://127.0.0.1:5570",
            "tcp://*:5570",
            "tcp://[::1]:5570",
            "tcp://localhost:1",
            "tcp://127.0.0.1:0",
            "tcp://127.0.0.1;127.0.0.1:5570",
            "tcp://127.0.0.1:6000;localhost:5570",
            "tcp://[::1];[::1]:5570",
        ] {
            let e: Endpoint = s.parse().unwrap();
            assert_eq!(e.to_string(), s);
        }
        assert_eq!(
            "tcp://*:*".parse::<Endpoint>().unwrap().to_string(),
            "tcp://*:0"
        );
    }

    #[cfg(unix)]
    #[test]
    fn ipc_paths_and_their_limit() {
        for s in [
            "ipc:///tmp/a.sock",
            "ipc://rel/x",
            "ipc://*",
            "inproc://a-b/c",
        ] {
            let e: Endpoint = s.parse().unwrap();
            assert_eq!(e.to_string(), s);
        }
        let longest = format!("ipc:///{}", "x".repeat(MAX_IPC_PATH - 1));
        assert!(longest.parse::<Endpoint>().is_ok());
        let too_long = format!("ipc:///{}", "x".repeat(MAX_IPC_PATH));
        let e = too_long.parse::<Endpoint>().unwrap_err();
        assert!(e.to_string().contains("too long"), "{e}");
        #[cfg(target_os = "linux")]
        assert!("ipc://@abstract".parse::<Endpoint>().is_ok());
    }

    #[test]
    fn rejects_bad_input_with_reason() {
        for s in [
            "",
            "127.0.0.1:5570",
            "udp://1.2.3.4:5",
            "tcp://1.2.3.4",
            "tcp://1.2.3.4:99999",
            "tcp://:5",
            "tcp://[::1:5",
            "tcp://a b:5",
            "tcp://1.2.3.4:-1",
            "ipc://",
            "ipc://a\0b",
            "tcp://eth0;127.0.0.1:5",
            "inproc://",
        ] {
            let e = s.parse::<Endpoint>().unwrap_err();
            assert!(e.to_string().starts_with("invalid endpoint"), "{s}: {e}");
        }
    }
}
