//! `client`: sends numbered requests through the broker and checks every reply.
// The doc comments of the arguments are clap's --help text, shown verbatim (`<pid>` is not HTML).
#![allow(rustdoc::invalid_html_tags)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use zmtp::{Dealer, Message, SocketOptions};
use zmtp_demo::security::{security, ClientArgs, KeyArgs, CLIENT_SECRET_KEY_HELP};
use zmtp_demo::{die, endpoint_arg, init_logging, parse_args, usage};

/// Request client for the DEALER/ROUTER broker demo.
///
/// Connects a DEALER with routing id ID to the broker's frontend, sends N requests
/// (`request #1` ... `request #N`) with at most W in flight, prints `ID received: request #k`
/// for each reply, then a summary line. Exits 0 if and only if every reply came back, equal to
/// its request, within the timeout; otherwise prints one line on stderr saying what is missing
/// and exits 1.
///
/// Several brokers: --connect may repeat; requests are spread round-robin over the brokers
/// connected. With --retry-ms, a request without a reply after MS is sent again (to whichever
/// broker is next), and a second reply to a request is ignored.
///
/// With --curve-server-key (the broker's public key), a CURVE client of a broker started with
/// --curve-secret-key; with --plain-user, a PLAIN client.
#[derive(Parser, Debug)]
#[command(name = "client", version, mut_arg("curve_secret_key", |a| a.help(CLIENT_SECRET_KEY_HELP)))]
struct Args {
    /// Routing id of this client (same as --id).
    #[arg(value_name = "ID")]
    id_pos: Option<String>,
    /// Routing id of this client (default client#<pid>).
    #[arg(long, value_name = "ID", conflicts_with = "id_pos")]
    id: Option<String>,
    /// Broker frontend endpoint to connect to; repeat to spread the requests over several
    /// brokers.
    #[arg(long, value_name = "EP", default_value = "tcp://127.0.0.1:5570", value_parser = endpoint_arg)]
    connect: Vec<String>,
    /// Send a request again when it has had no reply for MS milliseconds (to any broker); a
    /// later second reply to it is ignored. Default: never.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    retry_ms: Option<u64>,
    /// Number of requests.
    #[arg(long, value_name = "N", default_value_t = 10)]
    requests: u64,
    /// Most requests in flight at once.
    #[arg(long, value_name = "W", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    window: u64,
    /// Pad each request payload to S bytes (with spaces).
    #[arg(long, value_name = "S", default_value_t = 0)]
    size: usize,
    /// Wait I milliseconds between sends.
    #[arg(long, value_name = "I")]
    interval_ms: Option<u64>,
    /// Give up if the replies are not all in after T milliseconds.
    #[arg(long, value_name = "T", default_value_t = 10_000)]
    timeout_ms: u64,
    /// Print only the summary (and, when stderr is a terminal, a progress line: replies so
    /// far, rate, time left).
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
        security(&args.key, Some(&args.security), None).unwrap_or_else(|e| usage("client", e));
    init_logging();
    let id = args
        .id
        .clone()
        .or(args.id_pos.clone())
        .unwrap_or_else(|| format!("client#{}", std::process::id()));
    if id.is_empty() || id.len() > 255 {
        die("client", "the id must be 1 to 255 bytes");
    }
    let mut opts = SocketOptions::default();
    security.apply(&mut opts);
    opts.routing_id = Some(id.clone().into_bytes().into());
    opts.linger = Some(Duration::ZERO);
    opts.sndhwm = 0;
    opts.rcvhwm = 0;
    // Several brokers: requests go only to those connected (ZMQ_IMMEDIATE), not into the
    // queue of one that is down.
    opts.immediate = args.connect.len() > 1;
    let dealer = Dealer::with_options(opts).unwrap_or_else(|e| die("client", e));
    for ep in &args.connect {
        dealer.connect(ep).unwrap_or_else(|e| die("client", e));
    }
    let retry = args.retry_ms.map(Duration::from_millis);

    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(args.timeout_ms);
    // Request number -> when it was first sent (for the latency).
    let mut in_flight: HashMap<u64, Instant> = HashMap::new();
    // With --retry-ms: (when to send again, request number), in send order.
    let mut resend: VecDeque<(tokio::time::Instant, u64)> = VecDeque::new();
    // With --retry-ms: the requests answered, so that a second reply is told from a bad one.
    let mut answered: HashSet<u64> = HashSet::new();
    let mut latencies: Vec<Duration> = Vec::with_capacity(args.requests as usize);
    let mut next: u64 = 1;
    let mut bad: u64 = 0;
    let (mut retries, mut duplicates) = (0u64, 0u64);
    let mut next_send_at = tokio::time::Instant::now();
    // --quiet on a terminal: a progress line, redrawn at most 5 times a second (never into a
    // pipe or a file).
    let mut progress =
        (args.quiet && std::io::stderr().is_terminal()).then(|| Progress::new(&id, args.requests));

    while latencies.len() < args.requests as usize {
        if let Some(p) = &mut progress {
            p.show(latencies.len() as u64);
        }
        // Send while the window has room.
        while next <= args.requests && (in_flight.len() as u64) < args.window {
            if let Some(ivl) = args.interval_ms {
                if tokio::time::Instant::now() < next_send_at {
                    break;
                }
                next_send_at = tokio::time::Instant::now() + Duration::from_millis(ivl);
            }
            let payload = request_payload(next, args.size);
            in_flight.insert(next, Instant::now());
            let sent = tokio::time::timeout_at(deadline, dealer.send(Message::from(payload))).await;
            if sent.is_err() {
                break;
            }
            if let Some(r) = retry {
                resend.push_back((tokio::time::Instant::now() + r, next));
            }
            next += 1;
        }
        // Send again what has waited too long (answered ones are skipped here).
        while let Some(&(at, k)) = resend.front() {
            if !in_flight.contains_key(&k) {
                resend.pop_front();
                continue;
            }
            if at > tokio::time::Instant::now() {
                break;
            }
            resend.pop_front();
            let payload = request_payload(k, args.size);
            if tokio::time::timeout_at(deadline, dealer.send(Message::from(payload)))
                .await
                .is_err()
            {
                break;
            }
            retries += 1;
            if let Some(r) = retry {
                resend.push_back((tokio::time::Instant::now() + r, k));
            }
        }
        let wake_for_send = args.interval_ms.is_some()
            && next <= args.requests
            && (in_flight.len() as u64) < args.window;
        let resend_at = resend.front().map(|&(at, _)| at);
        let reply = tokio::select! {
            r = dealer.recv() => r.ok(),
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tokio::time::sleep_until(next_send_at), if wake_for_send => continue,
            _ = sleep_until(resend_at), if resend_at.is_some() => continue,
        };
        let Some(reply) = reply else { break };
        match check_reply(&reply, args.size) {
            Some(k) => match in_flight.remove(&k) {
                Some(sent_at) => {
                    if retry.is_some() {
                        answered.insert(k);
                    }
                    latencies.push(sent_at.elapsed());
                    if !args.quiet {
                        zmtp_demo::outln!("{id} received: request #{k}");
                    }
                }
                // A request sent again may be answered twice: the second is ignored.
                None if retry.is_some() && answered.contains(&k) => duplicates += 1,
                None => {
                    bad += 1;
                    tracing::warn!(request = k, "duplicate or unexpected reply");
                }
            },
            None => {
                bad += 1;
                tracing::warn!(reply = ?reply, "reply does not match any request");
            }
        }
    }
    if retry.is_some() {
        tracing::info!(retries, duplicates, "requests sent again, replies ignored");
    }

    if let Some(p) = &mut progress {
        p.clear();
    }
    let elapsed = start.elapsed();
    let got = latencies.len() as u64;
    latencies.sort();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i].as_secs_f64() * 1e3
    };
    zmtp_demo::outln!(
        "{id}: {got}/{} replies in {:.3} s, {:.0} msgs/s, latency p50 {:.3} ms p99 {:.3} ms",
        args.requests,
        elapsed.as_secs_f64(),
        got as f64 / elapsed.as_secs_f64().max(1e-9),
        pct(0.5),
        pct(0.99),
    );
    dealer.close().await;
    if got < args.requests || bad > 0 {
        let mut missing: Vec<u64> = in_flight.keys().copied().collect();
        missing.sort_unstable();
        let first = missing
            .first()
            .map(|k| format!(" (first missing: request #{k})"))
            .unwrap_or_default();
        die(
            "client",
            format!(
                "{id}: {} of {} replies missing after {} ms{first}, {bad} bad replies",
                args.requests - got,
                args.requests,
                args.timeout_ms
            ),
        );
    }
}

/// The progress line of `--quiet` on a terminal.
struct Progress {
    id: String,
    total: u64,
    start: Instant,
    shown: Option<Instant>,
}

impl Progress {
    fn new(id: &str, total: u64) -> Progress {
        Progress {
            id: id.to_string(),
            total,
            start: Instant::now(),
            shown: None,
        }
    }

    /// Redraws the line with `done` replies, if it was not drawn within 200 ms.
    fn show(&mut self, done: u64) {
        if self
            .shown
            .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.shown = Some(Instant::now());
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let rate = done as f64 / secs;
        let left = if rate > 0.0 {
            format!("{:.0} s left", (self.total - done) as f64 / rate)
        } else {
            "time left unknown".to_string()
        };
        // Carriage return, the line, erase to its end: a terminal only.
        let _ = write!(
            std::io::stderr(),
            "\r{}: {done}/{} replies, {rate:.0} msgs/s, {left}\x1b[K",
            self.id,
            self.total
        );
    }

    /// Erases the line (the summary follows on stdout).
    fn clear(&mut self) {
        if self.shown.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn request_payload(k: u64, size: usize) -> Bytes {
    let mut p = format!("request #{k}").into_bytes();
    if p.len() < size {
        p.resize(size, b' ');
    }
    Bytes::from(p)
}

/// The request number a reply answers, if the reply is exactly one of our requests.
fn check_reply(reply: &Message, size: usize) -> Option<u64> {
    if reply.len() != 1 {
        return None;
    }
    let body = reply.first()?;
    let text = std::str::from_utf8(body).ok()?;
    let k: u64 = text
        .trim_end_matches(' ')
        .strip_prefix("request #")?
        .parse()
        .ok()?;
    (body == &request_payload(k, size)).then_some(k)
}
