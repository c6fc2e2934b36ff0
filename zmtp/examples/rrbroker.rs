//! A request-reply broker, the zguide's chapter 2 example (`rrclient`, `rrworker`, and the
//! broker as `msgqueue`: `zmq_proxy` between a ROUTER and a DEALER). Clients and workers each
//! connect to one fixed endpoint, and neither needs to know how many of the other there are.
//!
//! ```text
//! cargo run -p zmtp --example rrbroker                         # broker, 2 workers, a client
//! cargo run -p zmtp --example rrbroker broker tcp://127.0.0.1:5559 tcp://127.0.0.1:5560
//! cargo run -p zmtp --example rrbroker worker tcp://127.0.0.1:5560 [requests]
//! cargo run -p zmtp --example rrbroker client tcp://127.0.0.1:5559 [requests]
//! ```
//!
//! The client is a REQ and the worker a REP, exactly as in Hello World: they cannot tell there
//! is a broker in between. The broker's frontend is a ROUTER: it prefixes each request with the
//! client's routing id, and the DEALER backend passes the whole envelope on to a worker
//! (round-robin). The worker's REP keeps the envelope and puts it back on the reply, and the
//! ROUTER routes the reply by its first frame to the client who asked.
//!
//! `zmtp::proxy` is that loop: it moves messages both ways until a socket closes.

mod zhelpers;

use std::process::ExitCode;
use std::time::Duration;

use zhelpers::{Args, Result, ANY_PORT, IDLE};
use zmtp::{Dealer, Rep, Req, Router};

/// Requests the client sends.
const REQUESTS: usize = 10;

/// Workers in the all-in-one run.
const WORKERS: usize = 2;

/// A worker's "work" per request (the zguide sleeps a second).
const WORK: Duration = Duration::from_millis(10);

#[tokio::main]
async fn main() -> ExitCode {
    zhelpers::exit(run(Args::from_env()).await)
}

async fn run(args: Args) -> Result {
    match args.role() {
        None => {
            let frontend = Router::new();
            let backend = Dealer::new();
            let front = frontend.bind(ANY_PORT)?.to_string();
            let back = backend.bind(ANY_PORT)?.to_string();
            // Tasks end with the runtime, when `main` returns.
            tokio::spawn(async move { zmtp::proxy(&frontend, &backend).await });
            for n in 1..=WORKERS {
                let back = back.clone();
                tokio::spawn(async move { worker(n, &back, None).await });
            }
            client(&front, REQUESTS).await
        }
        Some("broker") => {
            let frontend = Router::new();
            let backend = Dealer::new();
            println!("I: clients to {}", frontend.bind(args.get(1, "frontend")?)?);
            println!("I: workers to {}", backend.bind(args.get(2, "backend")?)?);
            // Runs until it is killed: a broker has no end of its own.
            zmtp::proxy(&frontend, &backend).await?;
            Ok(())
        }
        Some("worker") => worker(1, args.get(1, "backend")?, args.opt(2, "requests")?).await,
        Some("client") => {
            let requests = args.num(2, "requests", REQUESTS)?;
            client(args.get(1, "frontend")?, requests).await
        }
        Some(other) => Err(format!("unknown role {other:?}: broker, worker or client").into()),
    }
}

/// rrworker: answers "World" to each request, `requests` times (forever with `None`).
async fn worker(n: usize, backend: &str, requests: Option<usize>) -> Result {
    let rep = Rep::new();
    rep.connect(backend)?;
    let mut served = 0;
    while requests != Some(served) {
        let request = zhelpers::one_frame(&zhelpers::recv_within(&rep, IDLE).await?)?;
        println!("Worker {n}: received request: [{request}]");
        tokio::time::sleep(WORK).await;
        rep.send("World").await?;
        served += 1;
    }
    zhelpers::close(rep).await
}

/// rrclient: sends `requests` requests and waits for each reply.
async fn client(frontend: &str, requests: usize) -> Result {
    let req = Req::new();
    req.connect(frontend)?;
    for n in 1..=requests {
        req.send("Hello").await?;
        let reply = zhelpers::one_frame(&zhelpers::recv(&req).await?)?;
        if reply != "World" {
            return Err(format!("expected World, got {reply:?}").into());
        }
        println!("Received reply {n} [{reply}]");
    }
    Ok(())
}
