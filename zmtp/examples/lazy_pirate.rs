//! The Lazy Pirate pattern, the zguide's first reliable request-reply (chapter 4, `lpclient`
//! and `lpserver`): a REQ client that does not wait forever. It waits a while for each reply;
//! if none comes, it closes its socket, opens a new one and sends the request again, and after
//! a few tries it gives up. The server simulates the trouble: after a few requests it may
//! crash, or be too slow to answer in time.
//!
//! ```text
//! cargo run -p zmtp --example lazy_pirate                      # a client and a crashing server
//! cargo run -p zmtp --example lazy_pirate server tcp://127.0.0.1:5555
//! cargo run -p zmtp --example lazy_pirate client tcp://127.0.0.1:5555 [requests] [timeout_ms] [retries]
//! ```
//!
//! Why a new socket: a REQ that sent a request will not send another until the reply came
//! (`Error::State`), and a lost reply never comes. Closing it (with LINGER 0, which drops the
//! request still queued) and connecting a fresh one is the simplest way out. Each request
//! carries a sequence number, and the server echoes it, so the client knows the reply is to
//! this request and not to an earlier one.
//!
//! In the all-in-one run the server's trouble is not random but scripted, so that every run
//! shows both: its 4th request crashes it (it is restarted, as you would restart `lpserver`),
//! and the 3rd request of its second life overloads it.

mod zhelpers;

use std::process::ExitCode;
use std::time::Duration;

use zhelpers::{randof, Args, Result, ANY_PORT, IDLE};
use zmtp::{Rep, Req, SocketOptions};

/// Requests the client sends (the zguide's client goes on until the server is gone).
const REQUESTS: u64 = 10;

/// How many tries a request gets before the client gives up (the zguide's REQUEST_RETRIES).
const RETRIES: u32 = 3;

/// How long the client waits for a reply (the zguide's REQUEST_TIMEOUT).
const TIMEOUT_MS: u64 = 2500;

/// How the server behaves.
struct Behaviour {
    /// Time spent on a normal request.
    work: Duration,
    /// Time spent on an overloaded one: longer than the client waits.
    overload: Duration,
    /// Whether a request, the `cycle`th of the server's `life`th run, brings trouble.
    trouble: fn(life: u32, cycle: u32) -> Trouble,
}

/// The zguide's `lpserver`: after three requests, a crash one time in three, else an overload
/// one time in three.
const ZGUIDE: Behaviour = Behaviour {
    work: Duration::from_secs(1),
    overload: Duration::from_secs(2),
    trouble: |_, cycle| match (cycle > 3, randof(3), randof(3)) {
        (true, 0, _) => Trouble::Crash,
        (true, _, 0) => Trouble::Overload,
        _ => Trouble::None,
    },
};

/// The all-in-one run's client timeout; its server is ZGUIDE's, scaled down and scripted.
const DEMO_TIMEOUT: Duration = Duration::from_millis(500);
const DEMO: Behaviour = Behaviour {
    work: Duration::from_millis(10),
    // Longer than DEMO_TIMEOUT, and short enough that the request sent again is answered
    // within its own timeout (a third of DEMO_TIMEOUT to spare).
    overload: Duration::from_millis(650),
    trouble: |life, cycle| match (life, cycle) {
        (1, 4) => Trouble::Crash,
        (2, 3) => Trouble::Overload,
        _ => Trouble::None,
    },
};

/// What the server simulates for a request.
enum Trouble {
    None,
    Crash,
    Overload,
}

#[tokio::main]
async fn main() -> ExitCode {
    zhelpers::exit(run(Args::from_env()).await)
}

async fn run(args: Args) -> Result {
    match args.role() {
        None => {
            // The port is picked once: the restarted server binds the same endpoint again.
            let rep = Rep::new();
            let endpoint = rep.bind(ANY_PORT)?.to_string();
            let server = tokio::spawn(supervise(rep, endpoint.clone()));
            let result = client(&endpoint, REQUESTS, DEMO_TIMEOUT, RETRIES).await;
            server.abort();
            result
        }
        Some("server") => {
            let rep = Rep::new();
            println!(
                "I: listening on {}",
                rep.bind(args.get(1, "endpoint to bind")?)?
            );
            server(rep, 1, &ZGUIDE).await
        }
        Some("client") => {
            let requests = args.num(2, "requests", REQUESTS)?;
            let timeout = Duration::from_millis(args.num(3, "timeout_ms", TIMEOUT_MS)?);
            let retries = args.num(4, "retries", RETRIES)?;
            client(
                args.get(1, "endpoint to connect")?,
                requests,
                timeout,
                retries,
            )
            .await
        }
        Some(other) => Err(format!("unknown role {other:?}: server or client").into()),
    }
}

/// The all-in-one run's server: restarted on the same endpoint after each crash.
async fn supervise(mut rep: Rep, endpoint: String) -> Result {
    for life in 1.. {
        server(rep, life, &DEMO).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        println!("I: restarting the server");
        rep = Rep::new();
        rep.bind(&endpoint)?;
    }
    Ok(())
}

/// lpserver: echoes each request, until it simulates a crash (then returns).
async fn server(rep: Rep, life: u32, behaviour: &Behaviour) -> Result {
    let mut cycles = 0;
    loop {
        let request = zhelpers::one_frame(&zhelpers::recv_within(&rep, IDLE).await?)?;
        cycles += 1;
        match (behaviour.trouble)(life, cycles) {
            Trouble::Crash => {
                println!("I: simulating a crash");
                // Gone, with the request unanswered: the connections are closed, the listener
                // too, and nothing queued is sent (LINGER does not apply to a crash, but our
                // queue is empty anyway).
                return zhelpers::close(rep).await;
            }
            Trouble::Overload => {
                println!("I: simulating CPU overload");
                tokio::time::sleep(behaviour.overload).await;
            }
            Trouble::None => {}
        }
        println!("I: normal request ({request})");
        tokio::time::sleep(behaviour.work).await; // Do some heavy work.
                                                  // After an overload the client has gone: this reply is dropped with its connection.
        rep.send(request).await?;
    }
}

/// A REQ connected to `endpoint` that drops what it still has queued when closed.
fn connect(endpoint: &str) -> Result<Req> {
    let mut options = SocketOptions::default();
    options.linger = Some(Duration::ZERO);
    let req = Req::with_options(options)?;
    req.connect(endpoint)?;
    Ok(req)
}

/// lpclient: sends `requests` numbered requests, each with `retries` tries of `timeout`.
async fn client(endpoint: &str, requests: u64, timeout: Duration, retries: u32) -> Result {
    println!("I: connecting to server...");
    let mut req = connect(endpoint)?;
    for sequence in 1..=requests {
        let request = sequence.to_string();
        req.send(request.clone()).await?;
        let mut retries_left = retries;
        loop {
            // `recv` is cancel safe: when the timeout wins, no reply was taken.
            match tokio::time::timeout(timeout, req.recv()).await {
                Ok(reply) => {
                    let reply = zhelpers::one_frame(&reply?)?;
                    if reply == request {
                        println!("I: server replied OK ({reply})");
                        break;
                    }
                    // The REQ takes one reply per request: this try is over too.
                    println!("E: malformed reply from server: {reply}");
                }
                Err(_) => println!("W: no response from server"),
            }
            retries_left = retries_left.saturating_sub(1);
            if retries_left == 0 {
                return Err("server seems to be offline, abandoning".into());
            }
            // The old socket is stuck waiting for its reply: close it, open a new one.
            zhelpers::close(req).await?;
            println!("I: reconnecting to server, retrying...");
            req = connect(endpoint)?;
            req.send(request.clone()).await?;
        }
    }
    Ok(())
}
