//! IPC: Unix domain sockets (`ipc://path`, `ipc://@name` on Linux, `ipc://*` to bind a fresh
//! path), with libzmq's rules (`src/ipc_listener.cpp`, `src/ipc_address.cpp`) where they are
//! safe and one departure where they are not:
//! - a socket file left behind by a process that died is removed on bind, but a live one (a
//!   listener answers) is "address in use" (libzmq removes the file whatever is behind it, and
//!   takes the address from a live process);
//! - a file that is not a socket is never removed;
//! - the file is removed when the listener closes, unless another listener has replaced it
//!   since (checked by device and inode);
//! - abstract names (`@name`, Linux) have no file.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::{UnixListener, UnixStream};

use super::Transport;
use crate::endpoint::{Endpoint, MAX_IPC_PATH};
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;

/// The IPC transport.
#[derive(Debug)]
pub(crate) struct Ipc;

/// A bound IPC listener; removes its socket file when dropped.
#[derive(Debug)]
pub(crate) struct IpcListener {
    listener: UnixListener,
    /// The endpoint's path as written (peers' address in monitor events).
    path: String,
    /// The socket file and its (device, inode), if there is one.
    file: Option<(PathBuf, u64, u64)>,
}

impl Drop for IpcListener {
    fn drop(&mut self) {
        let Some((path, dev, ino)) = &self.file else {
            return;
        };
        // Only the file this listener created: another process may have bound the path since.
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if m.dev() == *dev && m.ino() == *ino {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

impl Transport for Ipc {
    type Stream = UnixStream;
    type Listener = IpcListener;

    fn bind(ep: &Endpoint, _: &SocketOptions) -> io::Result<(IpcListener, Endpoint)> {
        let Endpoint::Ipc { path } = ep else {
            return Err(invalid("not an ipc endpoint"));
        };
        if let Some(name) = path.strip_prefix('@') {
            let listener = bind_abstract(name)?;
            let ep = Endpoint::Ipc { path: path.clone() };
            return Ok((
                IpcListener {
                    listener,
                    path: path.clone(),
                    file: None,
                },
                ep,
            ));
        }
        let path = if path == "*" {
            fresh_path()?
        } else {
            path.clone()
        };
        let std_listener = bind_file(Path::new(&path))?;
        std_listener.set_nonblocking(true)?;
        let listener = UnixListener::from_std(std_listener)?;
        let m = std::fs::symlink_metadata(&path)?;
        let file = Some((PathBuf::from(&path), m.dev(), m.ino()));
        let bound = Endpoint::Ipc { path: path.clone() };
        Ok((
            IpcListener {
                listener,
                path,
                file,
            },
            bound,
        ))
    }

    async fn accept(listener: &IpcListener) -> io::Result<(UnixStream, PeerAddr)> {
        let (stream, _) = listener.listener.accept().await?;
        Ok((stream, PeerAddr::Ipc(listener.path.clone())))
    }

    async fn dial(ep: &Endpoint, _: &SocketOptions) -> io::Result<(UnixStream, PeerAddr)> {
        let Endpoint::Ipc { path } = ep else {
            return Err(invalid("not an ipc endpoint"));
        };
        let stream = match path.strip_prefix('@') {
            Some(name) => connect_abstract(name)?,
            None if path == "*" => return Err(invalid("ipc://* can only be bound")),
            None => UnixStream::connect(path).await?,
        };
        Ok((stream, PeerAddr::Ipc(path.clone())))
    }

    fn configure(stream: &UnixStream, _: &SocketOptions) {
        // No SIGPIPE on a gone peer (elsewhere the sends pass MSG_NOSIGNAL).
        #[cfg(target_vendor = "apple")]
        let _ = socket2::SockRef::from(stream).set_nosigpipe(true);
        let _ = stream;
    }
}

super::stream::byte_stream_with_nosignal!(UnixStream);

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

/// Binds a socket file; a stale one (no listener behind it) is removed first.
fn bind_file(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    match std::os::unix::net::UnixListener::bind(path) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse && is_stale_socket(path) => {
            tracing::info!(
                target: super::loglimit::LISTENER,
                endpoint = %format_args!("ipc://{}", path.display()),
                "removing a stale ipc socket file"
            );
            std::fs::remove_file(path)?;
            std::os::unix::net::UnixListener::bind(path)
        }
        r => r,
    }
}

/// True if `path` is a socket file nobody listens on (its process died). A live listener
/// (the connection is taken or pending), or a file that is not a socket, is not stale.
fn is_stale_socket(path: &Path) -> bool {
    let Ok(m) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !m.file_type().is_socket() {
        return false;
    }
    let probe = || -> io::Result<()> {
        let s = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
        // Non-blocking: a live listener with a full backlog must not hang the bind.
        s.set_nonblocking(true)?;
        s.connect(&socket2::SockAddr::unix(path)?)
    };
    matches!(probe(), Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
}

/// `ipc://*`: a path in the temporary directory that no one uses.
fn fresh_path() -> io::Result<String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        "zmtp-{}-{n}-{:08x}.sock",
        std::process::id(),
        super::random_u32()
    );
    let path = std::env::temp_dir().join(name);
    let path = path
        .into_os_string()
        .into_string()
        .map_err(|_| invalid("the temporary directory's path is not UTF-8"))?;
    if path.len() > MAX_IPC_PATH {
        return Err(invalid(
            "the temporary directory's path is too long for an ipc socket",
        ));
    }
    Ok(path)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn bind_abstract(name: &str) -> io::Result<UnixListener> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    let l = std::os::unix::net::UnixListener::bind_addr(&addr)?;
    l.set_nonblocking(true)?;
    UnixListener::from_std(l)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn connect_abstract(name: &str) -> io::Result<UnixStream> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    // A local connect completes at once (or fails: nobody listens, backlog full).
    let s = std::os::unix::net::UnixStream::connect_addr(&addr)?;
    s.set_nonblocking(true)?;
    UnixStream::from_std(s)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn bind_abstract(_: &str) -> io::Result<UnixListener> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract ipc names are Linux only",
    ))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn connect_abstract(_: &str) -> io::Result<UnixStream> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract ipc names are Linux only",
    ))
}
