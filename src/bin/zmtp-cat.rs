//! `zmtp-cat`: a ZeroMQ socket on the command line, as `nc` is for TCP.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader, Stdin};
use zmtp::socket::SocketKind;
use zmtp::{Error, Message, Socket, SocketOptions, SocketType};
use zmtp_demo::cat::{format_message, parse_frame, parse_line};
use zmtp_demo::security::{security, ClientArgs, KeyArgs, ServerArgs};
use zmtp_demo::{endpoint_arg, init_logging, parse_args};

const BIN: &str = "zmtp-cat";

/// A ZeroMQ socket on the command line: send stdin lines as messages, print received messages
/// as lines.
///
/// Each stdin line is one message, its frames separated by --separator (a TAB by default); a
/// frame written as 0x followed by an even number of hex digits is sent as those bytes. Each
/// message received is printed as one line the same way: a frame that is not UTF-8 text, or
/// holds a control character or the separator, is printed as 0x + hex.
///
/// Who sends what: pub, push, xsub, xpub, dealer, router and pair send every stdin line as it
/// is read (router: the first frame is the routing id of the peer to send to); those that also
/// receive print what arrives meanwhile. req sends a line, prints the reply, then reads the next
/// line. rep prints each request and answers it with the next stdin line. sub and pull only
/// receive. --echo (rep, dealer, router, pair) sends every message received straight back
/// (router: to its sender) and reads no stdin.
///
/// Without --count, sending types exit 0 at the end of stdin once what was read has left
/// (waiting at most --linger-ms); the others run until SIGINT or SIGTERM.
///
/// `zmtp-cat keygen` prints a new CURVE key pair: `public <Z85>` and `secret <Z85>`.
///
/// Security (see the Security flags below): --curve-secret-key (or --curve-secret-key-file)
/// alone makes a CURVE server, --curve-clients restricting who may come in; --curve-server-key
/// makes a CURVE client of that server; --plain-server, or --plain-user with --plain-password,
/// for PLAIN. A peer that fails the handshake is closed and logged, and never sees a message.
///
/// Examples:
///
///   zmtp-cat rep --bind tcp://127.0.0.1:5555 --echo
///   echo hello | zmtp-cat req --connect tcp://127.0.0.1:5555
///
///   zmtp-cat sub --connect tcp://127.0.0.1:5556 --subscribe weather. --count 3
///   printf 'weather.paris\t12C\nsport.x\t1-0\n' | zmtp-cat pub --bind tcp://127.0.0.1:5556 --send-delay-ms 500
///
///   zmtp-cat pull --connect tcp://127.0.0.1:5557 &   (several of them)
///   seq 100 | zmtp-cat push --bind tcp://127.0.0.1:5557 --send-delay-ms 500
///
///   zmtp-cat keygen > server.key   (two lines: public, secret)
///   zmtp-cat rep --bind tcp://127.0.0.1:5558 --echo --curve-secret-key-file server.key
///   echo hi | zmtp-cat req --connect tcp://127.0.0.1:5558 --curve-server-key "$(sed -n 's/^public //p' server.key)"
#[derive(Parser, Debug)]
#[command(name = "zmtp-cat", version, verbatim_doc_comment)]
struct Args {
    /// Socket type: req, rep, dealer, router, pub, sub, xpub, xsub, push, pull, pair (any case).
    #[arg(value_name = "TYPE", value_parser = socket_type_arg)]
    kind: SocketType,
    /// Bind to EP (repeatable). With port 0 or *, or ipc://*, prints `bound EP` (the real one)
    /// on stderr.
    #[arg(long, value_name = "EP", value_parser = endpoint_arg)]
    bind: Vec<String>,
    /// Connect to EP (repeatable).
    #[arg(long, value_name = "EP", value_parser = endpoint_arg)]
    connect: Vec<String>,
    /// Routing id announced to peers (1 to 255 bytes; 0x + hex for bytes).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// sub: subscribe to PREFIX (repeatable; none: everything). xsub: send the subscription
    /// upstream. 0x + hex for bytes.
    #[arg(long, value_name = "PREFIX")]
    subscribe: Vec<String>,
    /// rep, dealer, router, pair: send every received message straight back.
    #[arg(long)]
    echo: bool,
    /// Exit 0 once N messages have been received and printed.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// With --count: if N messages have not arrived within T ms, exit 1.
    #[arg(long, value_name = "T")]
    timeout_ms: Option<u64>,
    /// Frame separator in input and output lines.
    #[arg(
        long,
        value_name = "S",
        default_value = "\t",
        hide_default_value = true
    )]
    separator: String,
    /// Wait D ms after binding and connecting before the first send (slow joiners).
    #[arg(long, value_name = "D", default_value_t = 0)]
    send_delay_ms: u64,
    /// At the end, wait at most L ms for what was sent to leave.
    #[arg(long, value_name = "L", default_value_t = 5000)]
    linger_ms: u64,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    client: ClientArgs,
    #[command(flatten)]
    server: ServerArgs,
}

fn socket_type_arg(s: &str) -> Result<SocketType, String> {
    SocketType::from_name(s).ok_or_else(|| format!("unknown socket type {s:?}"))
}

/// Prints `zmtp-cat: what` and exits 2 (an argument error).
fn usage(what: impl std::fmt::Display) -> ! {
    eprintln!("{BIN}: {what} (try --help)");
    std::process::exit(2)
}

/// How the socket type uses stdin and stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Sends stdin lines as they come; prints what arrives if it receives.
    Stream { receives: bool },
    /// A line, then its reply.
    Req,
    /// A request, then the next line as its reply.
    Rep,
    /// Prints what arrives.
    ReceiveOnly,
}

/// What the loops need of the arguments.
struct Config {
    echo: bool,
    count: Option<u64>,
    separator: String,
    send_delay: Duration,
    /// Messages received and printed so far.
    received: AtomicU64,
}

#[tokio::main]
async fn main() {
    // `zmtp-cat keygen`: a new CURVE key pair, as two lines.
    if std::env::args().nth(1).as_deref() == Some("keygen") {
        if std::env::args().len() > 2 {
            usage("keygen takes no arguments");
        }
        let pair = zmtp::curve::KeyPair::generate();
        zmtp_demo::outln!("public {}", pair.public_z85());
        zmtp_demo::outln!("secret {}", pair.secret_z85());
        std::process::exit(0);
    }
    let args: Args = parse_args();
    init_logging();
    if args.bind.is_empty() && args.connect.is_empty() {
        usage("give at least one --bind or --connect endpoint");
    }
    if args.separator.is_empty() {
        usage("--separator must not be empty");
    }
    use SocketType as T;
    let role = match args.kind {
        T::Req => Role::Req,
        T::Rep => Role::Rep,
        T::Sub | T::Pull => Role::ReceiveOnly,
        T::Pub | T::Push => Role::Stream { receives: false },
        T::Dealer | T::Router | T::Pair | T::XPub | T::XSub => Role::Stream { receives: true },
        other => usage(format!("{other} is not offered by zmtp-cat")),
    };
    if args.echo && !matches!(args.kind, T::Rep | T::Dealer | T::Router | T::Pair) {
        usage("--echo works with rep, dealer, router and pair");
    }
    if !args.subscribe.is_empty() && !matches!(args.kind, T::Sub | T::XSub) {
        usage("--subscribe works with sub and xsub");
    }
    if args.timeout_ms.is_some() && args.count.is_none() {
        usage("--timeout-ms needs --count");
    }

    let mut opts = SocketOptions::default();
    if let Some(id) = &args.id {
        let id = parse_frame(id.as_bytes());
        if id.is_empty() || id.len() > 255 {
            usage("--id must be 1 to 255 bytes");
        }
        opts.routing_id = Some(id);
    }
    opts.linger = Some(Duration::from_millis(args.linger_ms));
    // A message to an unknown peer is reported rather than silently dropped.
    opts.router_mandatory = true;
    security(&args.key, Some(&args.client), Some(&args.server))
        .unwrap_or_else(|e| usage(e))
        .apply(&mut opts);
    let prefixes: Vec<Bytes> = args
        .subscribe
        .iter()
        .map(|p| parse_frame(p.as_bytes()))
        .collect();
    let cfg = Config {
        echo: args.echo,
        count: args.count,
        separator: args.separator.clone(),
        send_delay: Duration::from_millis(args.send_delay_ms),
        received: AtomicU64::new(0),
    };
    match args.kind {
        T::Req => run(socket::<zmtp::Req>(opts), &args, &cfg, role, vec![]).await,
        T::Rep => run(socket::<zmtp::Rep>(opts), &args, &cfg, role, vec![]).await,
        T::Dealer => run(socket::<zmtp::Dealer>(opts), &args, &cfg, role, vec![]).await,
        T::Router => run(socket::<zmtp::Router>(opts), &args, &cfg, role, vec![]).await,
        T::Pub => run(socket::<zmtp::Pub>(opts), &args, &cfg, role, vec![]).await,
        T::XPub => run(socket::<zmtp::XPub>(opts), &args, &cfg, role, vec![]).await,
        T::Push => run(socket::<zmtp::Push>(opts), &args, &cfg, role, vec![]).await,
        T::Pull => run(socket::<zmtp::Pull>(opts), &args, &cfg, role, vec![]).await,
        T::Pair => run(socket::<zmtp::Pair>(opts), &args, &cfg, role, vec![]).await,
        T::Sub => {
            let sub: zmtp::Sub = socket(opts);
            if prefixes.is_empty() {
                sub.subscribe(Bytes::new());
            }
            for p in prefixes {
                sub.subscribe(p);
            }
            run(sub, &args, &cfg, role, vec![]).await
        }
        T::XSub => {
            // Sent upstream first; an XSUB keeps them and sends them again on reconnect.
            let subs = prefixes
                .iter()
                .map(|p| Message::from(zmtp::routing::subs::encode(true, p)))
                .collect();
            run(socket::<zmtp::XSub>(opts), &args, &cfg, role, subs).await
        }
        other => usage(format!("{other} is not offered by zmtp-cat")),
    }
}

/// A socket of the type asked (`S` names it: `zmtp::Req`...).
fn socket<S: Make>(opts: SocketOptions) -> S {
    S::make(opts)
}

/// Sockets made from options (an option value the type refuses is an argument error).
trait Make {
    fn make(opts: SocketOptions) -> Self;
}

impl<K: SocketKind> Make for Socket<K> {
    fn make(opts: SocketOptions) -> Self {
        Socket::with_options(opts).unwrap_or_else(|e| usage(e))
    }
}

/// Binds and connects, then moves lines and messages as the role says, until done; closes the
/// socket (what was sent leaves within the linger) and exits with the job's status.
async fn run<K: SocketKind>(
    sock: Socket<K>,
    args: &Args,
    cfg: &Config,
    role: Role,
    first: Vec<Message>,
) -> ! {
    for ep in &args.bind {
        match sock.bind(ep) {
            Ok(real) => {
                if ep.ends_with(":0") || ep.ends_with(":*") || ep == "ipc://*" {
                    eprintln!("bound {real}");
                }
            }
            Err(e) => fail(2, e),
        }
    }
    for ep in &args.connect {
        if let Err(e) = sock.connect(ep) {
            fail(2, e);
        }
    }
    for m in first {
        if let Err(e) = sock.send(m).await {
            fail(1, e);
        }
    }
    let code = tokio::select! {
        c = work(&sock, cfg, role) => c,
        c = deadline(cfg, args.timeout_ms) => c,
        () = signals() => 0,
    };
    sock.close().await;
    std::process::exit(code)
}

/// Prints `zmtp-cat: what` and exits with `code`.
fn fail(code: i32, what: impl std::fmt::Display) -> ! {
    eprintln!("{BIN}: {what}");
    std::process::exit(code)
}

/// With --count and --timeout-ms: 1 once the time is up (with a line saying so).
async fn deadline(cfg: &Config, timeout_ms: Option<u64>) -> i32 {
    let (Some(n), Some(t)) = (cfg.count, timeout_ms) else {
        return std::future::pending().await;
    };
    tokio::time::sleep(Duration::from_millis(t)).await;
    let got = cfg.received.load(Ordering::Relaxed);
    eprintln!("{BIN}: timed out after {t} ms with {got} of {n} messages");
    1
}

async fn signals() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => fail(1, e),
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The job: the exit status once it is done.
async fn work<K: SocketKind>(sock: &Socket<K>, cfg: &Config, role: Role) -> i32 {
    if cfg.count == Some(0) {
        return 0;
    }
    let mut lines = Lines::new(cfg);
    match role {
        Role::ReceiveOnly => receive(sock, cfg).await,
        Role::Stream { receives } => {
            let incoming = async {
                if receives {
                    receive(sock, cfg).await
                } else {
                    std::future::pending().await
                }
            };
            let outgoing = async {
                if cfg.echo {
                    return std::future::pending().await;
                }
                tokio::time::sleep(cfg.send_delay).await;
                while let Some(m) = lines.next().await {
                    if let Some(code) = send(sock, m).await {
                        return code;
                    }
                }
                if cfg.count.is_some() {
                    return std::future::pending().await;
                }
                0
            };
            tokio::select! {
                c = incoming => c,
                c = outgoing => c,
            }
        }
        Role::Req => {
            tokio::time::sleep(cfg.send_delay).await;
            while let Some(m) = lines.next().await {
                if let Some(code) = send(sock, m).await {
                    return code;
                }
                match sock.recv().await {
                    Ok(reply) => {
                        if let Some(code) = print(cfg, &reply) {
                            return code;
                        }
                    }
                    Err(e) => return broken(e),
                }
            }
            if cfg.count.is_some() {
                return std::future::pending().await;
            }
            0
        }
        Role::Rep => loop {
            let request = match sock.recv().await {
                Ok(m) => m,
                Err(e) => return broken(e),
            };
            let done = print(cfg, &request);
            let reply = if cfg.echo {
                request
            } else {
                match lines.next().await {
                    Some(m) => m,
                    // No reply to give: the job is over.
                    None => return done.unwrap_or(0),
                }
            };
            if let Some(code) = send(sock, reply).await {
                return code;
            }
            if let Some(code) = done {
                return code;
            }
        },
    }
}

/// Prints what arrives (sending each back with --echo) until --count is reached.
async fn receive<K: SocketKind>(sock: &Socket<K>, cfg: &Config) -> i32 {
    loop {
        let msg = match sock.recv().await {
            Ok(m) => m,
            Err(e) => return broken(e),
        };
        let done = print(cfg, &msg);
        if cfg.echo {
            if let Some(code) = send(sock, msg).await {
                return code;
            }
        }
        if let Some(code) = done {
            return code;
        }
    }
}

/// Prints a received message; `Some(status)` when the job is over (--count reached, or stdout
/// gone: a reader such as `head` has all it wanted).
fn print(cfg: &Config, msg: &Message) -> Option<i32> {
    zmtp_demo::outln!("{}", format_message(msg, &cfg.separator));
    if zmtp_demo::stdout_gone() {
        return Some(0);
    }
    let n = cfg.received.fetch_add(1, Ordering::Relaxed) + 1;
    (cfg.count == Some(n)).then_some(0)
}

/// Sends `msg`; `Some(status)` if the job cannot go on. A message for an unknown ROUTER peer
/// is reported and skipped.
async fn send<K: SocketKind>(sock: &Socket<K>, msg: Message) -> Option<i32> {
    match sock.send(msg).await {
        Ok(_) => None,
        Err(Error::HostUnreachable(id)) => {
            eprintln!("{BIN}: no peer with routing id {id}; message dropped");
            None
        }
        Err(Error::EmptyMessage) => {
            eprintln!("{BIN}: a router message needs a routing id frame and a body; line skipped");
            None
        }
        Err(e) => Some(broken(e)),
    }
}

/// A socket call failed for good: the status, after a line saying why (none for a close).
fn broken(e: Error) -> i32 {
    if matches!(e, Error::Closed) {
        return 0;
    }
    eprintln!("{BIN}: {e}");
    1
}

/// Stdin, a message per line.
struct Lines<'a> {
    reader: BufReader<Stdin>,
    sep: &'a [u8],
    buf: Vec<u8>,
}

impl<'a> Lines<'a> {
    fn new(cfg: &'a Config) -> Self {
        Lines {
            reader: BufReader::new(tokio::io::stdin()),
            sep: cfg.separator.as_bytes(),
            buf: Vec::new(),
        }
    }

    /// The next line as a message; `None` at the end of stdin (or if it cannot be read).
    async fn next(&mut self) -> Option<Message> {
        self.buf.clear();
        match self.reader.read_until(b'\n', &mut self.buf).await {
            Ok(0) => None,
            Ok(_) => {
                if self.buf.last() == Some(&b'\n') {
                    self.buf.pop();
                }
                Some(parse_line(&self.buf, self.sep))
            }
            Err(e) => {
                eprintln!("{BIN}: reading stdin: {e}");
                None
            }
        }
    }
}
