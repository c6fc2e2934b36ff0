//! `zmq_proxy` (libzmq `src/proxy.cpp`): messages moved between two sockets, both ways, until
//! one of them closes. For ROUTER/DEALER (a request-reply broker), XSUB/XPUB (a pub-sub
//! forwarder) and PULL/PUSH (a pipeline stage).
//!
//! Messages move in batches (`recv_many` / `send_many`, up to [`BATCH`] per lock of each
//! socket) and keep their order in each direction. Nothing is dropped for back-pressure: a
//! direction waits while the socket it sends to has no room, as the socket type's `send` does
//! (a ROUTER still drops for unknown peers, a PUB for full subscribers, as in libzmq). A
//! direction in which a socket does not receive, or the other does not send (PULL to PUSH has
//! none back), is not run.

use crate::socket::{Error, Socket, SocketKind};

/// Messages moved per batch in each direction.
pub const BATCH: usize = 256;

/// Moves messages between `frontend` and `backend`, both ways, until either socket is closed
/// (then `Ok`), or a send fails for another reason (that error).
///
/// # Cancel safety
/// Dropping the future stops the proxy; a batch taken from one socket and not yet handed to
/// the other is lost with it (at most [`BATCH`] messages per direction).
pub async fn proxy<F: SocketKind, B: SocketKind>(
    frontend: &Socket<F>,
    backend: &Socket<B>,
) -> Result<(), Error> {
    let r = tokio::select! {
        r = pump(frontend, backend) => r,
        r = pump(backend, frontend) => r,
    };
    match r {
        Err(Error::Closed) => Ok(()),
        other => other,
    }
}

/// One direction; pending forever if `from` does not receive or `to` does not send.
async fn pump<A: SocketKind, B: SocketKind>(from: &Socket<A>, to: &Socket<B>) -> Result<(), Error> {
    if !A::CAN_RECV || !B::CAN_SEND {
        return std::future::pending().await;
    }
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        from.recv_many(&mut batch, BATCH).await?;
        to.send_many(&mut batch).await?;
    }
}
