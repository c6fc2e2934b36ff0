//! The load-balancing broker, the zguide's chapter 3 example (`lbbroker`): 10 REQ clients, 3
//! REQ workers, and a broker with a ROUTER on each side that hands each request to a worker
//! that said it is free.
//!
//! ```text
//! cargo run -p zmtp --example lbbroker                         # all of it, in one process
//! cargo run -p zmtp --example lbbroker broker tcp://127.0.0.1:5672 tcp://127.0.0.1:5673 [requests]
//! cargo run -p zmtp --example lbbroker worker tcp://127.0.0.1:5673 [requests]
//! cargo run -p zmtp --example lbbroker client tcp://127.0.0.1:5672
//! ```
//!
//! Unlike `rrbroker`'s DEALER, which deals requests round-robin whether a worker is busy or
//! not, this broker routes each request to the worker that has been waiting longest. The
//! workers are REQ sockets: a worker's first message is "READY", and each reply it sends also
//! means "ready for the next one". The broker keeps a queue of free workers' routing ids, and
//! reads requests from clients only while that queue is not empty: the other requests wait in
//! their sockets' queues meanwhile.
//!
//! The envelopes, frame by frame (`""` is the empty delimiter a REQ adds and a REP removes):
//!
//! ```text
//! client REQ sends        "HELLO"
//! frontend ROUTER gets    client-id, "", "HELLO"
//! backend ROUTER sends    worker-id, "", client-id, "", "HELLO"
//! worker REQ gets         client-id, "", "HELLO"         (its REQ took off worker-id and "")
//! worker REQ sends        client-id, "", "OK"
//! backend ROUTER gets     worker-id, "", client-id, "", "OK"
//! frontend ROUTER sends   client-id, "", "OK"
//! client REQ gets         "OK"
//! ```
//!
//! Clients and workers set printable routing ids (`XXXX-XXXX`, as the zguide's `s_set_id`) so
//! that the output shows who served whom; without them a ROUTER makes up a 5-byte id.

mod zhelpers;

use std::collections::VecDeque;
use std::process::ExitCode;

use bytes::Bytes;
use zhelpers::{Args, Result, ANY_PORT, IDLE};
use zmtp::{Message, Req, Routed, Router, SocketOptions};

/// Clients in the all-in-one run; each sends one request.
const CLIENTS: usize = 10;

/// Workers in the all-in-one run.
const WORKERS: usize = 3;

/// What a worker says when it starts.
const READY: &[u8] = b"READY";

#[tokio::main]
async fn main() -> ExitCode {
    zhelpers::exit(run(Args::from_env()).await)
}

async fn run(args: Args) -> Result {
    match args.role() {
        None => {
            let frontend = Router::new();
            let backend = Router::new();
            let front = frontend.bind(ANY_PORT)?.to_string();
            let back = backend.bind(ANY_PORT)?.to_string();
            // The workers loop until the runtime ends with `main`.
            for _ in 0..WORKERS {
                let back = back.clone();
                tokio::spawn(async move { worker(&back, None).await });
            }
            let mut clients = tokio::task::JoinSet::new();
            for _ in 0..CLIENTS {
                let front = front.clone();
                clients.spawn(async move { client(&front).await });
            }
            broker(frontend, backend, Some(CLIENTS)).await?;
            // Every client has its reply on the way: wait until each has printed it.
            while let Some(done) = clients.join_next().await {
                done??;
            }
            Ok(())
        }
        Some("broker") => {
            let frontend = Router::new();
            let backend = Router::new();
            println!("I: clients to {}", frontend.bind(args.get(1, "frontend")?)?);
            println!("I: workers to {}", backend.bind(args.get(2, "backend")?)?);
            broker(frontend, backend, args.opt(3, "requests")?).await
        }
        Some("worker") => worker(args.get(1, "backend")?, args.opt(2, "requests")?).await,
        Some("client") => client(args.get(1, "frontend")?).await,
        Some(other) => Err(format!("unknown role {other:?}: broker, worker or client").into()),
    }
}

/// A REQ with a printable routing id.
fn req_with_id() -> Result<(Req, String)> {
    let id = zhelpers::random_id();
    let mut options = SocketOptions::default();
    options.routing_id = Some(id.clone());
    Ok((Req::with_options(options)?, zhelpers::text(&id)))
}

/// A client: one request, one reply.
async fn client(frontend: &str) -> Result {
    let (req, id) = req_with_id()?;
    req.connect(frontend)?;
    req.send("HELLO").await?;
    let reply = zhelpers::one_frame(&zhelpers::recv(&req).await?)?;
    println!("Client {id}: {reply}");
    Ok(())
}

/// A worker: says READY, then answers "OK" to each request, `requests` times (forever with
/// `None`).
async fn worker(backend: &str, requests: Option<usize>) -> Result {
    let (req, id) = req_with_id()?;
    req.connect(backend)?;
    // Tell the broker we are ready for work.
    req.send(READY).await?;
    let mut served = 0;
    while requests != Some(served) {
        // The request, and the client's address in front of it.
        let msg = zhelpers::recv_within(&req, IDLE).await?;
        let [client, empty, request] = msg.frames() else {
            return Err(format!("worker {id}: malformed request {msg:?}").into());
        };
        if !empty.is_empty() {
            return Err(format!("worker {id}: no delimiter after the client's id").into());
        }
        println!(
            "Worker {id}: {} from {}",
            zhelpers::text(request),
            zhelpers::text(client)
        );
        // The reply goes back under the same address.
        let reply = [client.clone(), Bytes::new(), Bytes::from_static(b"OK")];
        req.send(Message::from_frames(reply)).await?;
        served += 1;
    }
    zhelpers::close(req).await
}

/// The broker: routes each client's request to the free worker that has waited longest, and
/// each reply back to its client. Stops after `requests` replies (never with `None`).
async fn broker(frontend: Router, backend: Router, requests: Option<usize>) -> Result {
    // Routing ids of the workers that are free, longest-waiting first.
    let mut free: VecDeque<Bytes> = VecDeque::new();
    let mut replies = 0;
    while requests != Some(replies) {
        // Both receives are cancel safe: the branch that loses the race takes nothing.
        let event = tokio::time::timeout(IDLE, async {
            tokio::select! {
                // The backend always: READY from a new worker, or a reply.
                msg = backend.recv() => msg.map(Event::FromWorker),
                // The frontend only while a worker is free.
                msg = frontend.recv(), if !free.is_empty() => msg.map(Event::FromClient),
            }
        })
        .await
        .map_err(|_| format!("nothing happened for {IDLE:?}"))?;

        match event? {
            Event::FromWorker(msg) => match msg.frames() {
                // A worker's first message.
                [worker, empty, ready] if empty.is_empty() && ready == READY => {
                    free.push_back(worker.clone());
                }
                // A reply: the worker is free again, and the client gets its answer.
                [worker, empty, client, empty2, reply] if empty.is_empty() && empty2.is_empty() => {
                    free.push_back(worker.clone());
                    let to_client = [client.clone(), Bytes::new(), reply.clone()];
                    // A client that went away meanwhile does not get it: say so.
                    let routed = frontend.send(Message::from_frames(to_client)).await?;
                    if routed != Routed::Queued {
                        eprintln!(
                            "W: broker: reply to {} dropped ({routed:?})",
                            zhelpers::text(client)
                        );
                    }
                    replies += 1;
                }
                _ => eprintln!("W: broker: malformed message from a worker: {msg:?}"),
            },
            Event::FromClient(msg) => match msg.frames() {
                [client, empty, request] if empty.is_empty() => {
                    let Some(worker) = free.pop_front() else {
                        continue; // Not reached: the frontend is read only with a free worker.
                    };
                    let to_worker = [
                        worker,
                        Bytes::new(),
                        client.clone(),
                        Bytes::new(),
                        request.clone(),
                    ];
                    // A worker that went away stays in the queue, and the ROUTER drops what is
                    // sent to an id it does not know (the zguide's reliable brokers, in chapter
                    // 4, deal with that). We at least say so.
                    let routed = backend.send(Message::from_frames(to_worker)).await?;
                    if routed != Routed::Queued {
                        eprintln!(
                            "W: broker: request of {} dropped ({routed:?})",
                            zhelpers::text(client)
                        );
                    }
                }
                _ => eprintln!("W: broker: malformed request from a client: {msg:?}"),
            },
        }
    }
    println!("Broker: {replies} requests served");
    zhelpers::close(frontend).await
}

/// What the broker received, and from which side.
enum Event {
    FromWorker(Message),
    FromClient(Message),
}
