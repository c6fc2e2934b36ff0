//! `worker`: a DEALER that echoes every request back through the broker.
// The doc comments of the arguments are clap's --help text, shown verbatim (`<pid>` is not HTML).
#![allow(rustdoc::invalid_html_tags)]

use std::time::Duration;

use clap::Parser;
use tokio::io::AsyncReadExt;
use zmtp::{Dealer, SocketOptions};
use zmtp_demo::security::{security, ClientArgs, KeyArgs, CLIENT_SECRET_KEY_HELP};
use zmtp_demo::{die, endpoint_arg, init_logging, parse_args, payload_text, usage};

/// Echo worker for the DEALER/ROUTER broker demo.
///
/// Connects a DEALER with routing id NAME to the broker's backend and, for every request,
/// prints `NAME received <payload> from <client>` and sends the same frames back (frame 0 is
/// the client's routing id that the broker's ROUTER put in front). Reconnects by itself when
/// the broker goes away and comes back. --connect may repeat: one DEALER per broker, each
/// reply sent back to the broker its request came from; requests are served one at a time, in
/// the order they arrive.
///
/// With --curve-server-key (the broker's public key), a CURVE client of a broker started with
/// --curve-secret-key; with --plain-user, a PLAIN client.
#[derive(Parser, Debug)]
#[command(name = "worker", version, mut_arg("curve_secret_key", |a| a.help(CLIENT_SECRET_KEY_HELP)))]
struct Args {
    /// Broker backend endpoint to connect to; repeat to serve several brokers.
    #[arg(long, value_name = "EP", default_value = "tcp://127.0.0.1:5580", value_parser = endpoint_arg)]
    connect: Vec<String>,
    /// Routing id of this worker (default worker#<pid>).
    #[arg(long, value_name = "NAME")]
    id: Option<String>,
    /// Simulated work time per request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    work_ms: u64,
    /// Exit when stdin reaches end of file (set by a broker that spawns its workers, so they
    /// never outlive it, even when it is killed with SIGKILL).
    #[arg(long)]
    parent_watch: bool,
    /// Do not print a line per request.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    security: ClientArgs,
}

#[tokio::main]
async fn main() {
    let args: Args = parse_args();
    let security =
        security(&args.key, Some(&args.security), None).unwrap_or_else(|e| usage("worker", e));
    init_logging();
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("worker#{}", std::process::id()));
    if id.is_empty() || id.len() > 255 {
        die("worker", "--id must be 1 to 255 bytes");
    }
    let mut opts = SocketOptions::default();
    security.apply(&mut opts);
    opts.routing_id = Some(id.clone().into_bytes().into());
    opts.linger = Some(Duration::from_secs(1));
    // Answers the broker's PINGs (always) and notices a dead broker.
    opts.heartbeat_ivl = Some(Duration::from_secs(1));
    opts.heartbeat_timeout = Some(Duration::from_secs(3));
    // One DEALER per broker (one connected to all would round-robin its replies over them),
    // each feeding the one loop below.
    let mut dealers = Vec::with_capacity(args.connect.len());
    for ep in &args.connect {
        let dealer = Dealer::with_options(opts.clone()).unwrap_or_else(|e| die("worker", e));
        dealer.connect(ep).unwrap_or_else(|e| die("worker", e));
        dealers.push(dealer);
    }
    let endpoints = args.connect.join(" ");
    tracing::info!(id = %id, endpoint = %endpoints, security = security.name(), "worker started");
    let (tx, mut requests) = tokio::sync::mpsc::channel::<(usize, zmtp::Message)>(1);
    for (i, dealer) in dealers.iter().enumerate() {
        let (dealer, tx) = (dealer.clone(), tx.clone());
        tokio::spawn(async move {
            while let Ok(m) = dealer.recv().await {
                if tx.send((i, m)).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    if args.parent_watch {
        tokio::spawn(async {
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 64];
            while let Ok(n) = stdin.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
            tracing::info!("parent gone (stdin closed); exiting");
            std::process::exit(0);
        });
    }

    let mut term = signal(tokio::signal::unix::SignalKind::terminate());
    let mut count: u64 = 0;
    loop {
        let next = tokio::select! {
            m = requests.recv() => m,
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        };
        let Some((from, msg)) = next else { break };
        count += 1;
        if !args.quiet {
            let client = msg.first().map(|c| payload_text(c)).unwrap_or_default();
            let body = msg
                .frames()
                .last()
                .map(|b| payload_text(b))
                .unwrap_or_default();
            zmtp_demo::outln!("{id} received {body} from {client}");
        }
        if args.work_ms > 0 {
            tokio::time::sleep(Duration::from_millis(args.work_ms)).await;
        }
        if dealers[from].send(msg).await.is_err() {
            break;
        }
    }
    tracing::info!(id = %id, requests = count, "worker stopping");
    for dealer in dealers {
        dealer.close().await;
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> tokio::signal::unix::Signal {
    tokio::signal::unix::signal(kind).unwrap_or_else(|e| die("worker", e))
}
