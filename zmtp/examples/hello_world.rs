//! Hello World, the zguide's first example (chapter 1, `hwserver` and `hwclient`): a client
//! sends "Hello", a server answers "World", ten times.
//!
//! ```text
//! cargo run -p zmtp --example hello_world                        # both, in one process
//! cargo run -p zmtp --example hello_world server tcp://127.0.0.1:5555 [requests]
//! cargo run -p zmtp --example hello_world client tcp://127.0.0.1:5555 [requests]
//! ```
//!
//! REQ and REP take turns: a REQ must receive the reply before it sends again, a REP must reply
//! before it receives again (calling them out of turn is `Error::State`, libzmq's EFSM). The
//! sockets add and remove the envelope (an empty delimiter frame) themselves, so the
//! application sees one-frame messages. Either side may start first: `connect` returns at
//! once, and the client's request waits in its queue until the server is up.

mod zhelpers;

use std::process::ExitCode;
use std::time::Duration;

use zhelpers::{Args, Result, ANY_PORT, IDLE};
use zmtp::{Rep, Req};

/// Requests in a run (the zguide's client sends ten).
const REQUESTS: usize = 10;

/// The server's "work" per request (the zguide sleeps a second; we keep the demo quick).
const WORK: Duration = Duration::from_millis(10);

#[tokio::main]
async fn main() -> ExitCode {
    zhelpers::exit(run(Args::from_env()).await)
}

async fn run(args: Args) -> Result {
    match args.role() {
        None => {
            // Both roles in this process, over TCP on a port the OS picks.
            let rep = Rep::new();
            let endpoint = rep.bind(ANY_PORT)?.to_string();
            tokio::try_join!(server(rep, Some(REQUESTS)), client(&endpoint, REQUESTS))?;
            Ok(())
        }
        Some("server") => {
            let rep = Rep::new();
            let endpoint = rep.bind(args.get(1, "endpoint to bind")?)?;
            println!("I: listening on {endpoint}");
            server(rep, args.opt(2, "requests")?).await
        }
        Some("client") => {
            let requests = args.num(2, "requests", REQUESTS)?;
            client(args.get(1, "endpoint to connect")?, requests).await
        }
        Some(other) => Err(format!("unknown role {other:?}: server or client").into()),
    }
}

/// hwserver: answers "World" to each request, `requests` times (forever with `None`).
async fn server(rep: Rep, requests: Option<usize>) -> Result {
    let mut served = 0;
    while requests != Some(served) {
        // Wait for the next request from a client (bounded: see IDLE).
        let request = zhelpers::recv_within(&rep, IDLE).await?;
        println!("Received {}", zhelpers::one_frame(&request)?);
        // Do some "work".
        tokio::time::sleep(WORK).await;
        // Send the reply back: the REP remembers which client asked.
        rep.send("World").await?;
        served += 1;
    }
    // Send what is still queued (the last reply) before the socket goes.
    zhelpers::close(rep).await
}

/// hwclient: sends "Hello" `requests` times, each time waiting for the "World" reply.
async fn client(endpoint: &str, requests: usize) -> Result {
    println!("Connecting to hello world server...");
    let req = Req::new();
    req.connect(endpoint)?;
    for n in 0..requests {
        println!("Sending Hello {n}...");
        req.send("Hello").await?;
        let reply = zhelpers::one_frame(&zhelpers::recv(&req).await?)?;
        if reply != "World" {
            return Err(format!("expected World, got {reply:?}").into());
        }
        println!("Received World {n}");
    }
    Ok(())
}
