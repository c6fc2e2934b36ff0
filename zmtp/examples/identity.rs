//! Identities and envelopes, the zguide's chapter 3 demo (`identity`): a ROUTER prints, frame
//! by frame, what two REQ sockets send it, one anonymous and one with a routing id it set.
//!
//! ```text
//! cargo run -p zmtp --example identity                         # both, over inproc
//! cargo run -p zmtp --example identity router tcp://127.0.0.1:5570 [messages]
//! cargo run -p zmtp --example identity req tcp://127.0.0.1:5570 [routing id]
//! ```
//!
//! A ROUTER puts the sender's routing id in front of each message it receives, so that the
//! reply can be routed back. The id is the one the peer announced in its handshake
//! (`SocketOptions::routing_id`, libzmq's ZMQ_ROUTING_ID), or, when it announced none, one the
//! ROUTER makes up: 5 bytes, a zero and a 32-bit counter. Then comes the envelope's empty
//! delimiter frame that the REQ added, then the body:
//!
//! ```text
//! ----------------------------------------
//! [005] 006B8B4568                 (a generated id, in hex: it is not printable)
//! [000]
//! [039] ROUTER uses a generated 5 byte identity
//! ----------------------------------------
//! [005] PEER2
//! [000]
//! [032] ROUTER uses the REQ's routing id
//! ```

mod zhelpers;

use std::process::ExitCode;

use zhelpers::{Args, Result, IDLE};
use zmtp::{Req, Router, SocketOptions};

/// The all-in-one run's endpoint: inproc, between sockets of this process, as in the zguide.
const ENDPOINT: &str = "inproc://example";

#[tokio::main]
async fn main() -> ExitCode {
    zhelpers::exit(run(Args::from_env()).await)
}

async fn run(args: Args) -> Result {
    match args.role() {
        None => {
            let sink = Router::new();
            sink.bind(ENDPOINT)?;

            // A REQ that sets no routing id: the ROUTER makes one up.
            let anonymous = Req::new();
            anonymous.connect(ENDPOINT)?;
            anonymous
                .send("ROUTER uses a generated 5 byte identity")
                .await?;
            zhelpers::dump(&zhelpers::recv(&sink).await?);

            // A REQ that sets its own.
            let identified = req_with_id(Some("PEER2"))?;
            identified.connect(ENDPOINT)?;
            identified.send("ROUTER uses the REQ's routing id").await?;
            zhelpers::dump(&zhelpers::recv(&sink).await?);
            Ok(())
        }
        Some("router") => {
            let sink = Router::new();
            println!(
                "I: listening on {}",
                sink.bind(args.get(1, "endpoint to bind")?)?
            );
            for _ in 0..args.num(2, "messages", 2)? {
                zhelpers::dump(&zhelpers::recv_within(&sink, IDLE).await?);
            }
            Ok(())
        }
        Some("req") => {
            let req = req_with_id(args.get(2, "routing id").ok())?;
            req.connect(args.get(1, "endpoint to connect")?)?;
            req.send("Hello from a REQ").await?;
            // The ROUTER of this demo does not answer: close, once the request has left.
            zhelpers::close(req).await
        }
        Some(other) => Err(format!("unknown role {other:?}: router or req").into()),
    }
}

/// A REQ announcing `id` as its routing id (none with `None`).
fn req_with_id(id: Option<&str>) -> Result<Req> {
    let mut options = SocketOptions::default();
    options.routing_id = id.map(|id| id.to_string().into());
    Ok(Req::with_options(options)?)
}
