//! `broker`: ROUTER frontend for clients, ROUTER backend for workers (DEALER with --proxy),
//! forwarding both ways; by default no request is lost when a worker dies or hangs.

use std::process::Stdio;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use zmtp::curve::KeyPair;
use zmtp::{Dealer, Router, SocketOptions};
use zmtp_demo::dispatch::{Dispatcher, Totals};
use zmtp_demo::relay::{deliver_reply, Delivery, Relay};
use zmtp_demo::security::{read_curve_keys, security, KeyArgs, SecretDir, Security, ServerArgs};
use zmtp_demo::{endpoint_arg, init_logging, parse_args, usage};

/// DEALER/ROUTER broker: clients connect to the frontend (ROUTER), workers to the backend.
/// Every request is forwarded unchanged, prefixed with the client's routing id (workers see
/// `[client-id, body...]`, as behind zmq_proxy, and reply with the same envelope); every reply
/// goes back to the client its first frame names.
///
/// No request is lost (the default): the backend is a ROUTER that knows what each worker
/// holds. The requests of a worker whose connection ends, or that holds one past
/// --request-timeout-ms, go to another worker; the first one's late reply is dropped, so each
/// client gets exactly one reply per request. A request sent --max-redeliveries + 1 times
/// without a reply is dropped (WARN). A worker gets new requests while it holds fewer than
/// --worker-credit; among those, the one holding the fewest. Workers are plain DEALERs that
/// answer in order (any echo worker); nothing is added to the frames. --proxy gives the old
/// behaviour: a DEALER backend, round-robin, no redelivery.
///
/// Slow clients: replies wait in a per-client queue of at most --client-hwm messages. A client
/// with fewer requests in flight than that never loses a reply; a client that stops reading
/// while more replies arrive is disconnected (logged), and everyone else keeps being served.
/// A client with more requests in flight than --client-hwm may be disconnected even while it
/// reads, if more of its replies than that arrive before its connection has written them.
///
/// Security: --curve-secret-key (or --curve-secret-key-file) makes both sockets CURVE servers
/// with that key; clients and workers connect with --curve-server-key and the broker's public
/// key (logged at start). --curve-clients and --curve-workers restrict who may connect on each
/// side. The workers it spawns are given its public key and, with --curve-workers, a key pair
/// of their own, allowed, whose secret they read from a private file (removed at exit), never
/// from the command line. A peer that fails the handshake or is not allowed is closed and
/// logged (WARN, with its address) and never sees a message. --plain-server likewise secures
/// both sides with PLAIN.
#[derive(Parser, Debug)]
#[command(
    name = "broker",
    version,
    mut_arg("curve_secret_key", |a| a.help(
        "Secure the frontend and the backend with CURVE: this is the broker's secret key (Z85, \
         40 characters; the public key, which clients and workers need, is derived and logged). \
         A key may begin with '-': `--curve-secret-key -abc...` works"
    )),
    mut_arg("plain_server", |a| a.help(
        "Secure the frontend and the backend with PLAIN: clients and workers must give a user \
         name and password (any, unless --plain-users is given). PLAIN sends passwords in \
         clear text"
    )),
    mut_arg("curve_clients", |a| a.help(
        "With --curve-secret-key: the clients allowed on the frontend, one Z85 public key a line \
         (`#` comments); others are refused (WARN with their address). Default: anyone who holds \
         the broker's public key"
    )),
)]
struct Args {
    /// Number of worker processes to start (same as --workers).
    #[arg(value_name = "N")]
    n: Option<u32>,
    /// Number of worker processes to start (the `worker` binary next to this one), with ids
    /// worker#1..worker#N; 0 starts none. Default 1.
    #[arg(long, value_name = "N", conflicts_with = "n")]
    workers: Option<u32>,
    /// Endpoint clients connect to (ROUTER, bound).
    #[arg(long, value_name = "EP", default_value = "tcp://127.0.0.1:5570", value_parser = endpoint_arg)]
    frontend: String,
    /// Endpoint workers connect to (DEALER, bound).
    #[arg(long, value_name = "EP", default_value = "tcp://127.0.0.1:5580", value_parser = endpoint_arg)]
    backend: String,
    /// Largest message (and frame) accepted from a client, in bytes; larger closes that
    /// client's connection, as does a message of more than max(BYTES / 64, 1024) frames.
    /// 0 = no limit.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    max_msg_size: u64,
    /// Replies queued per client before the client counts as a slow consumer and is
    /// disconnected.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    client_hwm: usize,
    /// A client connection must finish its ZMTP handshake (greeting and READY) within this
    /// long, or it is closed. 0 = no limit.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    handshake_ivl_ms: u64,
    /// On SIGINT/SIGTERM, wait at most this long for replies in flight.
    #[arg(long, value_name = "MS", default_value_t = 2_000)]
    linger_ms: u64,
    /// Passed to spawned workers: simulated work time per request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    work_ms: u64,
    /// Passed to spawned workers: no line per request.
    #[arg(long)]
    quiet_workers: bool,
    /// A request a worker has held this long goes to another worker; the first worker's late
    /// reply, if it comes, is dropped. 0 = never.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// A request sent N+1 times without a reply is dropped (WARN with its client and size): a
    /// request that kills every worker it reaches must not kill them all.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_redeliveries: u32,
    /// A worker gets new requests while it holds fewer than N; among those, the one holding
    /// the fewest.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    worker_credit: u64,
    /// The old behaviour: a DEALER backend spreading requests round-robin, libzmq's zmq_proxy
    /// semantics, no redelivery (a worker that dies takes its requests with it).
    #[arg(long)]
    proxy: bool,
    /// One INFO line every MS: requests/s, replies/s, in flight, queued, redelivered,
    /// dropped, clients, workers. 0 = off.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    stats_ms: u64,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9100; port 0 picks
    /// one, logged at start): the counters and gauges of --stats-ms, and a histogram of the
    /// time requests spend in the broker. Default mode only (not with --proxy).
    #[arg(long, value_name = "ADDR", conflicts_with = "proxy")]
    metrics: Option<std::net::SocketAddr>,
    /// Threads moving messages (libzmq's ZMQ_IO_THREADS, default 1). With 1, every
    /// connection and both forwarding loops share one thread: no cross-thread wake-up per
    /// batch, the least CPU per request. More threads help only when one core cannot keep up
    /// and cores are free.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    io_threads: u16,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    security: ServerArgs,
    /// With --curve-secret-key: the workers allowed on the backend, one Z85 public key a line
    /// (`#` comments); others are refused (WARN with their address) and never get a request.
    /// The workers the broker spawns are allowed too (with a key pair made for them). Default:
    /// any worker that holds the broker's public key.
    #[arg(long, value_name = "FILE", help_heading = "Security")]
    curve_workers: Option<std::path::PathBuf>,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    replies: AtomicU64,
    unroutable: AtomicU64,
    slow_disconnects: AtomicU64,
    in_flight: AtomicI64,
}

fn main() {
    let args: Args = parse_args();
    let security = BrokerSecurity::new(&args).unwrap_or_else(|e| usage("broker", e));
    init_logging();
    let runtime = if args.io_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(args.io_threads))
            .enable_all()
            .build()
    };
    let runtime = runtime.unwrap_or_else(|e| die(format!("runtime: {e}")));
    runtime.block_on(run(args, security));
}

/// Where the secrets of spawned workers live while the broker runs; removed by [`die`] too.
static SECRET_DIR: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

/// Prints `broker: what`, removes the spawned workers' secrets, exits 1.
fn die(what: impl std::fmt::Display) -> ! {
    if let Some(dir) = SECRET_DIR.lock().ok().and_then(|mut d| d.take()) {
        let _ = std::fs::remove_dir_all(dir);
    }
    zmtp_demo::die("broker", what)
}

/// The security of both sockets and of the workers the broker spawns.
struct BrokerSecurity {
    frontend: Security,
    backend: Security,
    /// What spawned workers are given: their credentials, the secret part written to a file.
    workers: WorkerCredentials,
}

/// The credentials of spawned workers.
enum WorkerCredentials {
    Null,
    /// `--curve-server-key` the broker's public key; with an allow-list, a key pair of their own
    /// (allowed on the backend).
    Curve {
        server_key: String,
        keys: Option<KeyPair>,
    },
    /// `--plain-user`; with a users file, a user of their own (allowed on the backend).
    Plain {
        user: String,
        password: String,
    },
}

impl BrokerSecurity {
    fn new(args: &Args) -> Result<BrokerSecurity, String> {
        let frontend = security(&args.key, None, Some(&args.security))?;
        let spawns = args.workers.or(args.n).unwrap_or(1) > 0;
        let mut backend = frontend.clone();
        let workers = match &mut backend {
            Security::CurveServer { keys, allowed } => {
                *allowed = match &args.curve_workers {
                    Some(path) => Some(read_curve_keys("--curve-workers", path)?),
                    None => None,
                };
                let own = match allowed {
                    Some(list) if spawns => {
                        let pair = KeyPair::generate();
                        list.insert(pair.public);
                        Some(pair)
                    }
                    _ => None,
                };
                WorkerCredentials::Curve {
                    server_key: keys.public_z85(),
                    keys: own,
                }
            }
            Security::PlainServer { users } => {
                // A name of their own: a listed user keeps its password.
                let tag = KeyPair::generate().public;
                let user = format!(
                    "spawned-worker-{:02x}{:02x}{:02x}{:02x}",
                    tag[0], tag[1], tag[2], tag[3]
                );
                let password = match users {
                    Some(list) => {
                        let password = KeyPair::generate().secret_z85();
                        list.insert(user.clone(), password.clone());
                        password
                    }
                    None => String::new(),
                };
                WorkerCredentials::Plain { user, password }
            }
            _ => WorkerCredentials::Null,
        };
        if args.curve_workers.is_some() && !matches!(frontend, Security::CurveServer { .. }) {
            return Err(
                "--curve-workers needs --curve-secret-key or --curve-secret-key-file".into(),
            );
        }
        Ok(BrokerSecurity {
            frontend,
            backend,
            workers,
        })
    }

    /// The arguments that give a spawned worker its credentials; a secret goes into a file in
    /// `dir` (made on first need).
    fn worker_args(&self, dir: &mut Option<SecretDir>) -> std::io::Result<Vec<String>> {
        let mut secret_file = |name: &str, text: &str| -> std::io::Result<String> {
            if dir.is_none() {
                let d = SecretDir::create("zmtp-broker")?;
                if let Ok(mut slot) = SECRET_DIR.lock() {
                    *slot = Some(d.path().to_path_buf());
                }
                *dir = Some(d);
            }
            let d = dir.as_ref().expect("created above");
            Ok(d.write(name, text)?.to_string_lossy().into_owned())
        };
        Ok(match &self.workers {
            WorkerCredentials::Null => vec![],
            WorkerCredentials::Curve { server_key, keys } => {
                // `=`: a key may begin with '-'.
                let mut a = vec![format!("--curve-server-key={server_key}")];
                if let Some(pair) = keys {
                    a.push("--curve-secret-key-file".into());
                    a.push(secret_file("worker.key", &pair.secret_z85())?);
                }
                a
            }
            WorkerCredentials::Plain { user, password } => {
                let mut a = vec!["--plain-user".into(), user.clone()];
                if !password.is_empty() {
                    a.push("--plain-password-file".into());
                    a.push(secret_file("worker.password", password)?);
                }
                a
            }
        })
    }
}

async fn run(args: Args, security: BrokerSecurity) {
    let workers = args.workers.or(args.n).unwrap_or(1);
    let linger = Duration::from_millis(args.linger_ms);

    let mut fo = SocketOptions::default();
    fo.sndhwm = args.client_hwm;
    fo.maxmsgsize = (args.max_msg_size > 0).then_some(args.max_msg_size);
    fo.handshake_ivl = Some(Duration::from_millis(args.handshake_ivl_ms));
    fo.linger = Some(linger);
    security.frontend.apply(&mut fo);
    let frontend = Router::with_options(fo).unwrap_or_else(|e| die(e));
    let clients = frontend.monitor();

    let mut bo = SocketOptions::default();
    // Notice a hung worker: it stops answering PINGs.
    bo.heartbeat_ivl = Some(Duration::from_secs(1));
    bo.heartbeat_timeout = Some(Duration::from_secs(3));
    bo.linger = Some(linger);
    security.backend.apply(&mut bo);
    let (backend, back_ep) = if args.proxy {
        let backend = Dealer::with_options(bo).unwrap_or_else(|e| die(e));
        let ep = backend.bind(&args.backend);
        (Backend::Proxy(backend), ep)
    } else {
        // A worker holds at most its credit: its queue never fills. A worker that is gone is
        // reported on send, so its requests go to another.
        bo.router_mandatory = true;
        bo.sndhwm = bo.sndhwm.max(args.worker_credit as usize + 16);
        let backend = Router::with_options(bo).unwrap_or_else(|e| die(e));
        let monitor = backend.monitor();
        let ep = backend.bind(&args.backend);
        (Backend::Reliable(backend, monitor), ep)
    };
    let back_ep = back_ep.unwrap_or_else(|e| die(format!("backend: {e}")));
    let front_ep = frontend
        .bind(&args.frontend)
        .unwrap_or_else(|e| die(format!("frontend: {e}")));
    let mode = if args.proxy { "proxy" } else { "reliable" };
    tracing::info!(frontend = %front_ep, backend = %back_ep, workers, mode, security = security.frontend.name(), "broker started");
    if let Security::CurveServer { keys, .. } = &security.frontend {
        tracing::info!(public_key = %keys.public_z85(), "CURVE: clients and workers connect with --curve-server-key and this key");
    }
    // Printed for scripts and tests that bind port 0.
    zmtp_demo::outln!("broker: frontend {front_ep} backend {back_ep}");

    // Separate from the stop of the forwarding: the workers must keep running while replies in
    // flight drain.
    let (stop_workers_tx, stop_workers_rx) = watch::channel(false);

    // Spawned workers' secrets: created after the binds, removed when `run` ends.
    let mut secret_dir: Option<SecretDir> = None;
    let worker_args = if workers > 0 {
        security
            .worker_args(&mut secret_dir)
            .unwrap_or_else(|e| die(format!("cannot write the workers' credentials: {e}")))
    } else {
        vec![]
    };
    let supervisor = (workers > 0).then(|| {
        let ep = connectable(&back_ep.to_string());
        tokio::spawn(supervise(
            workers,
            ep,
            args.work_ms,
            args.quiet_workers,
            worker_args,
            stop_workers_rx,
        ))
    });

    let (totals, delivery) = match backend {
        Backend::Proxy(backend) => {
            drop(clients);
            let (totals, delivery) = run_proxy(&frontend, &backend, linger).await;
            backend_close(backend.close(), linger).await;
            (totals, delivery)
        }
        Backend::Reliable(backend, monitor) => {
            let cfg = zmtp_demo::dispatch::Config {
                credit: args.worker_credit as usize,
                timeout: (args.request_timeout_ms > 0)
                    .then(|| Duration::from_millis(args.request_timeout_ms)),
                max_redeliveries: args.max_redeliveries,
            };
            let metrics = match args.metrics {
                Some(addr) => {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .unwrap_or_else(|e| die(format!("--metrics {addr}: {e}")));
                    let bound = listener.local_addr().unwrap_or(addr);
                    tracing::info!(url = %format_args!("http://{bound}/metrics"), "metrics endpoint");
                    let m = std::sync::Arc::new(zmtp_demo::metrics::Metrics::new());
                    tokio::spawn(zmtp_demo::metrics::serve(listener, m.clone()));
                    Some(m)
                }
                None => None,
            };
            let mut relay = Relay {
                frontend: frontend.clone(),
                backend: backend.clone(),
                workers: monitor,
                clients,
                dispatcher: Dispatcher::new(cfg),
                stats_every: (args.stats_ms > 0).then(|| Duration::from_millis(args.stats_ms)),
                delivery: Delivery::default(),
                metrics,
            };
            let totals = relay.run(wait_for_signal(), linger).await;
            backend_close(backend.close(), linger).await;
            (totals, relay.delivery)
        }
    };
    let _ = stop_workers_tx.send(true);
    if let Some(s) = supervisor {
        let _ = s.await;
    }
    tracing::info!(
        requests = totals.requests,
        replies = totals.replies,
        redelivered = totals.redelivered,
        dropped = totals.dropped,
        unroutable = delivery.unroutable,
        slow_disconnects = delivery.slow_disconnects,
        handshake_failures = delivery.handshake_failures,
        "broker stopped"
    );
    backend_close(frontend.close(), linger).await;
    if let Ok(mut slot) = SECRET_DIR.lock() {
        slot.take();
    }
    drop(secret_dir);
}

/// The backend, by mode.
enum Backend {
    /// `--proxy`: a DEALER, round-robin, no redelivery.
    Proxy(Dealer),
    /// The default: a ROUTER and its monitor, for the dispatcher.
    Reliable(Router, zmtp::Monitor),
}

/// Waits for a socket's close, at most twice the linger.
async fn backend_close(close: impl std::future::Future<Output = ()>, linger: Duration) {
    let _ = tokio::time::timeout(linger * 2, close).await;
}

/// `--proxy`: frontend to backend and back, zmq_proxy's way, until a signal; then no new
/// requests, and the replies in flight delivered for at most `linger`.
async fn run_proxy(frontend: &Router, backend: &Dealer, linger: Duration) -> (Totals, Delivery) {
    let stats = Arc::new(Stats::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let requests = tokio::spawn(forward_requests(
        frontend.clone(),
        backend.clone(),
        stats.clone(),
        stop_rx,
    ));
    let replies = tokio::spawn(forward_replies(
        backend.clone(),
        frontend.clone(),
        stats.clone(),
    ));
    wait_for_signal().await;
    tracing::info!("stopping: no new requests; delivering replies in flight");
    let _ = stop_tx.send(true);
    let linger = tokio::time::Instant::now() + linger;
    // A request being handed to the backend finishes unless no worker takes it in time.
    let abort = requests.abort_handle();
    if tokio::time::timeout_at(linger, requests).await.is_err() {
        abort.abort();
    }
    while stats.in_flight.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < linger {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    replies.abort();
    let totals = Totals {
        requests: stats.requests.load(Ordering::Relaxed),
        replies: stats.replies.load(Ordering::Relaxed),
        ..Totals::default()
    };
    let delivery = Delivery {
        unroutable: stats.unroutable.load(Ordering::Relaxed),
        slow_disconnects: stats.slow_disconnects.load(Ordering::Relaxed),
        ..Delivery::default()
    };
    (totals, delivery)
}

/// Messages moved per lock of a socket by the forwarding tasks.
const BATCH: usize = 256;

/// Frontend to backend. Waits while no worker has room: requests stay queued per client (up to
/// its RCVHWM, then TCP back-pressure), nothing is dropped.
async fn forward_requests(
    frontend: Router,
    backend: Dealer,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let n = tokio::select! {
            n = frontend.recv_many(&mut batch, BATCH) => n,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok(n) = n else { return };
        stats.in_flight.fetch_add(n as i64, Ordering::Relaxed);
        // Messages accepted here are sent even if a stop arrives meanwhile.
        if backend.send_many(&mut batch).await.is_err() {
            return;
        }
        stats.requests.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Backend to frontend. Never waits on a client (see [`deliver_reply`]).
async fn forward_replies(backend: Dealer, frontend: Router, stats: Arc<Stats>) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Ok(n) = backend.recv_many(&mut batch, BATCH).await {
        stats.in_flight.fetch_sub(n as i64, Ordering::Relaxed);
        let mut d = Delivery::default();
        for msg in batch.drain(..) {
            if deliver_reply(&frontend, msg, &mut d) {
                stats.replies.fetch_add(1, Ordering::Relaxed);
            }
        }
        stats.unroutable.fetch_add(d.unroutable, Ordering::Relaxed);
        stats
            .slow_disconnects
            .fetch_add(d.slow_disconnects, Ordering::Relaxed);
    }
}

/// Starts the workers and restarts any that dies, until told to stop; then stops them all.
async fn supervise(
    n: u32,
    backend: String,
    work_ms: u64,
    quiet: bool,
    credentials: Vec<String>,
    mut stop: watch::Receiver<bool>,
) {
    let exe = match std::env::current_exe() {
        Ok(p) => p.with_file_name("worker"),
        Err(e) => die(format!("cannot locate the worker binary: {e}")),
    };
    if !exe.exists() {
        die(format!("worker binary not found at {}", exe.display()));
    }
    let spawn = |i: u32| -> std::io::Result<Child> {
        let mut cmd = Command::new(&exe);
        cmd.arg("--connect")
            .arg(&backend)
            .arg("--id")
            .arg(format!("worker#{i}"))
            .arg("--work-ms")
            .arg(work_ms.to_string())
            .arg("--parent-watch")
            .args(&credentials)
            .stdin(Stdio::piped())
            .kill_on_drop(true);
        if quiet {
            cmd.arg("--quiet");
        }
        cmd.spawn()
    };
    let mut children: Vec<Option<Child>> = Vec::new();
    for i in 1..=n {
        match spawn(i) {
            Ok(c) => children.push(Some(c)),
            Err(e) => die(format!("cannot start worker#{i}: {e}")),
        }
    }
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        for (i, slot) in children.iter_mut().enumerate() {
            let Some(child) = slot else { continue };
            if let Ok(Some(status)) = child.try_wait() {
                let id = i as u32 + 1;
                tracing::warn!(worker = id, %status, "worker exited; restarting");
                *slot = match spawn(id) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::error!(worker = id, error = %e, "cannot restart worker");
                        None
                    }
                };
            }
        }
    }
    for child in children.iter_mut().flatten() {
        // Closing stdin asks the worker to exit; kill it if it does not within a second.
        drop(child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(1), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

/// A bound endpoint as a worker can dial it (`*` becomes 127.0.0.1).
fn connectable(ep: &str) -> String {
    ep.replace("tcp://*:", "tcp://127.0.0.1:")
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).unwrap_or_else(|e| die(e));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
