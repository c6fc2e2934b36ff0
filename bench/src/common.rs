//! Helpers shared by every role: the child protocol (READY / RESULT lines on stdout), CPU time,
//! percentiles, RLIMIT_NOFILE, the REQ/REP cell's request checks, and the PUB/SUB cell's
//! publisher and subscriber bookkeeping.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The bind endpoint every server role uses: loopback, OS-chosen port.
pub const BIND_ANY: &str = "tcp://127.0.0.1:0";

/// The endpoint of the inproc cell's one-process runs (`inproc-thr`): the receiver binds it,
/// the sender, in the same process, connects to it. One run per process, so one fixed name.
pub const INPROC_EP: &str = "inproc://zbench-thr";

/// The environment variable through which the parent picks the transport of a throughput
/// receiver (`thr-recv`) or echo server (`echo`): the ipc cell sets it to a fresh
/// `ipc:///tmp/zbench-PID-N.sock` per run. The sender and the latency client connect to the
/// endpoint the server printed, whatever its transport.
pub const BIND_ENV: &str = "ZBENCH_BIND";

/// The endpoint a `thr-recv` or `echo` role binds: [`BIND_ENV`] if set, else [`BIND_ANY`].
pub fn bind_ep() -> String {
    std::env::var(BIND_ENV).unwrap_or_else(|_| BIND_ANY.to_string())
}

/// The environment variable through which the parent turns CURVE on for the roles of the
/// curve cell: `SERVER_SECRET:SERVER_PUBLIC:CLIENT_SECRET:CLIENT_PUBLIC`, each 32 bytes in hex.
/// The binding role (ROUTER) is then the CURVE server, the connecting one (DEALER) its client.
pub const CURVE_ENV: &str = "ZBENCH_CURVE";

/// The key pairs of the curve cell.
pub struct CurveKeys {
    pub server_secret: [u8; 32],
    pub server_public: [u8; 32],
    pub client_secret: [u8; 32],
    pub client_public: [u8; 32],
}

/// The keys in [`CURVE_ENV`], if the parent set it.
pub fn curve_keys() -> Option<CurveKeys> {
    let v = std::env::var(CURVE_ENV).ok()?;
    let keys: Vec<[u8; 32]> = v
        .split(':')
        .map(|h| {
            let b: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
                .collect();
            b.try_into().expect("32-byte key")
        })
        .collect();
    assert_eq!(keys.len(), 4, "{CURVE_ENV}: four keys");
    Some(CurveKeys {
        server_secret: keys[0],
        server_public: keys[1],
        client_secret: keys[2],
        client_public: keys[3],
    })
}

/// Tells the parent we are listening (or connected) and where.
pub fn ready(parts: &[&str]) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {}", parts.join(" ")).unwrap();
    out.flush().unwrap();
}

/// Reports `key=value` pairs to the parent.
pub fn result(kv: &[(&str, f64)]) {
    let mut s = String::from("RESULT");
    for (k, v) in kv {
        s.push_str(&format!(" {k}={v}"));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}").unwrap();
    out.flush().unwrap();
}

/// A plain progress line (the parent waits for it where it matters).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// Blocks until the parent closes our stdin (or writes a line).
pub fn wait_parent() {
    let mut s = String::new();
    let _ = std::io::stdin().lock().read_line(&mut s);
}

/// User + system CPU seconds of this process so far.
pub fn cpu_seconds() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Raises the open-file limit (the memory cell holds thousands of connections).
pub fn raise_nofile() {
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscalls on structs we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return;
        }
        let want: libc::rlim_t = 65536;
        if rl.rlim_max < want {
            let r2 = libc::rlimit {
                rlim_cur: want,
                rlim_max: want,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r2) == 0 {
                return;
            }
        }
        rl.rlim_cur = rl.rlim_max.min(want.max(rl.rlim_cur));
        libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
    }
}

/// The payload senders copy from: deterministic, non-zero bytes.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8 + 1).collect()
}

/// Latency summary (nanoseconds) of round-trip samples.
pub fn lat_summary(mut samples: Vec<u64>) -> Vec<(&'static str, f64)> {
    samples.sort_unstable();
    let n = samples.len();
    let at = |q: f64| samples[((n as f64 * q) as usize).min(n - 1)] as f64;
    let mean = samples.iter().sum::<u64>() as f64 / n as f64;
    vec![
        ("p50_ns", at(0.50)),
        ("p99_ns", at(0.99)),
        ("p999_ns", at(0.999)),
        ("mean_ns", mean),
        ("n", n as f64),
    ]
}

/// Nanoseconds since `t0` as u64.
pub fn ns_since(t0: Instant) -> u64 {
    t0.elapsed().as_nanos() as u64
}

/// A tokio multi-thread runtime with the default worker count (one per core).
pub fn mt_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Throughput receiver bookkeeping, shared by all implementations: the clock starts at the first
/// message (as libzmq's local_thr does) and stops at the last.
pub struct ThrClock {
    t0: Option<Instant>,
}

impl ThrClock {
    pub fn new() -> Self {
        ThrClock { t0: None }
    }
    #[inline]
    pub fn tick(&mut self) {
        if self.t0.is_none() {
            self.t0 = Some(Instant::now());
        }
    }
    pub fn finish(self, count: usize, size: usize) {
        let el = self.t0.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
        result(&[
            ("elapsed_s", el),
            ("msgs_per_s", count as f64 / el),
            ("mb_per_s", count as f64 * size as f64 / el / 1e6),
            ("cpu_s", cpu_seconds()),
        ]);
    }
}

/// The sender's tail: tell the parent we are done queueing, keep the process (and its I/O
/// threads) alive until the parent says the receiver has everything, then report our CPU.
pub fn sender_done() {
    say("SENT");
    wait_parent();
    result(&[("cpu_s", cpu_seconds())]);
}

#[inline]
pub fn check_size(got: usize, want: usize) {
    if got != want {
        eprintln!("bad message size {got}, want {want}");
        std::process::exit(3);
    }
}

// ---------------------------------------------------------------- REQ/REP cell

/// The request of round trip `i` in the reqrep cell: `buf` (the payload) with `i` in its first
/// 8 bytes (little-endian), so that a reply to an earlier request cannot pass for this one's.
#[inline]
pub fn req_body(buf: &mut [u8], i: u64) {
    buf[..8].copy_from_slice(&i.to_le_bytes());
}

/// The REQ role of the reqrep cell, written once for the async implementations: `warm` +
/// `count` round trips of one `size`-byte request each (its sequence number in front, see
/// [`req_body`]). `round_trip` sends the request and returns the reply: only it is timed.
/// `check` then checks the reply against the request (untimed; it exits on a bad one). Prints
/// the latency summary of the `count` timed round trips.
pub async fn req_rounds<R>(
    size: usize,
    warm: usize,
    count: usize,
    mut round_trip: impl std::ops::AsyncFnMut(&[u8]) -> R,
    check: impl Fn(&R, &[u8]),
) {
    let mut p = payload(size);
    let mut samples = Vec::with_capacity(count);
    for i in 0..warm + count {
        req_body(&mut p, i as u64);
        let t0 = Instant::now();
        let reply = round_trip(&p).await;
        let dt = ns_since(t0);
        check(&reply, &p);
        if i >= warm {
            samples.push(dt);
        }
    }
    result(&lat_summary(samples));
}

/// A REQ reply must be one frame, the request: exits with status 3 otherwise.
pub fn check_one_frame_reply(frames: usize, first: &[u8], request: &[u8]) {
    if frames != 1 {
        eprintln!("reply of {frames} frames");
        std::process::exit(3);
    }
    check_reply(first, request);
}

/// Checks that the reply is the request, byte for byte (the REP echoes it); exits with status
/// 3 otherwise.
#[inline]
pub fn check_reply(reply: &[u8], request: &[u8]) {
    if reply != request {
        let seq = |b: &[u8]| {
            b.get(..8)
                .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
        };
        eprintln!(
            "bad reply: {} bytes, seq {:?}; want {} bytes, seq {:?}",
            reply.len(),
            seq(reply),
            request.len(),
            seq(request)
        );
        std::process::exit(3);
    }
}

// ---------------------------------------------------------------- PUB/SUB cell

/// The warm-up message a publisher sends until the parent says go, when its subscribers take
/// everything: 1 byte, so that a subscriber tells it from the timed messages by its size.
pub const WARM: &[u8] = b"w";

/// Topic `k` of the pubsub cell's topics case: `topic0`, `topic1`, ... (all the same length,
/// so that none is a prefix of another's messages).
pub fn topic(k: usize) -> Vec<u8> {
    format!("topic{k}").into_bytes()
}

/// A subscriber's topic argument: `all` (the empty prefix: everything) or a topic number.
pub fn sub_topic(arg: &str) -> Vec<u8> {
    if arg == "all" {
        Vec::new()
    } else {
        topic(arg.parse().unwrap_or_else(|_| panic!("bad topic {arg:?}")))
    }
}

/// The warm-up message of a subscriber of `topic`: the topic alone, or [`WARM`] for everything.
pub fn warm_of(topic: &[u8]) -> &[u8] {
    if topic.is_empty() {
        WARM
    } else {
        topic
    }
}

/// What a publisher sends: with `topics` = 0, [`WARM`] and the payload; with `topics` = n, one
/// warm-up per topic (the topic alone) and one message per topic (the payload with the topic
/// written over its first bytes), the topics taken in turn, 0, 1, .., n-1, 0, ... Each timed
/// message carries its topic's sequence number (u64 little-endian, right after the topic:
/// 0, 1, 2, ...), which lets a subscriber tell a dropped message from a duplicate. It counts
/// what was sent per topic ([`PubPlan::sent`]), for the `SENT` line.
pub struct PubPlan {
    warm: Vec<Vec<u8>>,
    msgs: Vec<Vec<u8>>,
    /// Where the sequence number starts in every message (the topics' length).
    seq_at: usize,
    next: usize,
    sent: Vec<u64>,
}

impl PubPlan {
    pub fn new(size: usize, topics: usize) -> Self {
        let p = payload(size);
        let (warm, msgs) = if topics == 0 {
            (vec![WARM.to_vec()], vec![p])
        } else {
            (0..topics)
                .map(|k| {
                    let t = topic(k);
                    assert!(size > t.len(), "messages must be longer than their topic");
                    let mut m = p.clone();
                    m[..t.len()].copy_from_slice(&t);
                    (t, m)
                })
                .unzip()
        };
        let n = msgs.len();
        let seq_at = if topics == 0 { 0 } else { topic(0).len() };
        assert!(
            size >= seq_at + 8,
            "messages too short for topic and sequence number"
        );
        PubPlan {
            warm,
            msgs,
            seq_at,
            next: 0,
            sent: vec![0; n],
        }
    }

    /// The `i`-th warm-up message (topics in turn).
    pub fn warm(&self, i: usize) -> &[u8] {
        &self.warm[i % self.warm.len()]
    }

    /// The next timed message, with its sequence number, counted as sent.
    #[inline]
    pub fn next_msg(&mut self) -> &[u8] {
        let k = self.next;
        self.next = if k + 1 == self.msgs.len() { 0 } else { k + 1 };
        let m = &mut self.msgs[k];
        m[self.seq_at..self.seq_at + 8].copy_from_slice(&self.sent[k].to_le_bytes());
        self.sent[k] += 1;
        m
    }

    /// Messages handed to `send`, per topic (one entry without topics).
    pub fn sent(&self) -> &[u64] {
        &self.sent
    }
}

/// A subscriber that saw no message for this long after its first timed one stops counting
/// (its publisher dropped the rest).
pub const SUB_IDLE: Duration = Duration::from_secs(2);

/// Lines from the parent on our stdin, read by a thread: each line, and the end of input, is
/// one `()`. The publisher's first signal is "go", the second "you may exit".
pub fn parent_signals() -> Receiver<()> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut s = String::new();
        loop {
            s.clear();
            let n = stdin.lock().read_line(&mut s).unwrap_or(0);
            if tx.send(()).is_err() || n == 0 {
                break;
            }
        }
    });
    rx
}

/// Has the parent signalled (a line, or the end of our stdin)? Never blocks.
pub fn signalled(rx: &Receiver<()>) -> bool {
    !matches!(rx.try_recv(), Err(TryRecvError::Empty))
}

/// The publisher's tail, after its last send: report how long the sends took and how many
/// messages went to `send` in all and per topic (`sent=N t0=.. t1=..`), then (the caller may
/// flush in between) wait for the parent's second signal and report our CPU.
pub fn publisher_sent(t0: Instant, plan: &PubPlan) {
    let el = t0.elapsed().as_secs_f64();
    let per: Vec<String> = plan
        .sent()
        .iter()
        .enumerate()
        .map(|(k, n)| format!("t{k}={n}"))
        .collect();
    let total: u64 = plan.sent().iter().sum();
    say(&format!("SENT send_s={el} sent={total} {}", per.join(" ")));
}

pub fn publisher_done(go: &Receiver<()>) {
    let _ = go.recv();
    result(&[("cpu_s", cpu_seconds())]);
}

struct SubShared {
    base: Instant,
    /// Nanoseconds from `base` to the first timed message, plus 1 (0: none yet).
    first_ns: AtomicU64,
    got: AtomicU64,
    /// Sequence numbers skipped so far (messages the publisher dropped before this one).
    gaps: AtomicU64,
    /// The next sequence number expected: the last one received, plus 1.
    seen: AtomicU64,
    reported: AtomicBool,
}

impl SubShared {
    fn report(&self, got: u64, end: Instant, idle_end: bool) {
        if self.reported.swap(true, Ordering::SeqCst) {
            return;
        }
        let first = self.base + Duration::from_nanos(self.first_ns.load(Ordering::SeqCst) - 1);
        let el = end.saturating_duration_since(first).as_secs_f64();
        result(&[
            ("got", got as f64),
            ("gaps", self.gaps.load(Ordering::SeqCst) as f64),
            ("seen", self.seen.load(Ordering::SeqCst) as f64),
            ("elapsed_s", el),
            ("msgs_per_s", got as f64 / el),
            ("cpu_s", cpu_seconds()),
            ("idle_end", if idle_end { 1.0 } else { 0.0 }),
        ]);
    }
}

/// A subscriber's bookkeeping, shared by all implementations. Warm-up messages (its topic
/// alone, or [`WARM`] when subscribed to everything: see [`warm_of`]) make it print `JOINED`
/// once; timed messages must be `size` bytes and start with its topic (else it exits with
/// status 3: a SUB given another topic's message filters wrongly) and carry sequence numbers
/// that must go up (a gap is a message the publisher dropped, counted in `gaps`; a number
/// that does not go up, a duplicate or reordered message, is status 3), and are counted, the
/// clock running from the first to the last (as [`ThrClock`]). Its report says `got`, `gaps`
/// and `seen` (the last sequence number plus 1): got + gaps = seen, always. It ends when `count` arrived
/// ([`SubCounter::on_msg`] returns true, then call [`SubCounter::finish`]), or, when the
/// publisher dropped some, from a watchdog thread that samples the count every millisecond
/// and, once it has not moved for [`SUB_IDLE`], reports with the clock stopped when it last
/// moved, and ends the process.
pub struct SubCounter {
    size: usize,
    count: u64,
    got: u64,
    /// The next sequence number expected.
    next_seq: u64,
    gaps: u64,
    joined: bool,
    topic: Vec<u8>,
    sh: Arc<SubShared>,
}

impl SubCounter {
    pub fn new(size: usize, count: usize, topic: &[u8]) -> Self {
        assert!(
            size > warm_of(topic).len(),
            "timed messages must be longer than the warm-up"
        );
        assert!(
            size >= topic.len() + 8,
            "timed messages carry the topic and a sequence number"
        );
        let sh = Arc::new(SubShared {
            base: Instant::now(),
            first_ns: AtomicU64::new(0),
            got: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            reported: AtomicBool::new(false),
        });
        let w = sh.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            let mut moved = Instant::now();
            loop {
                std::thread::sleep(Duration::from_millis(1));
                let g = w.got.load(Ordering::Acquire);
                if g != last {
                    last = g;
                    moved = Instant::now();
                } else if g > 0 && moved.elapsed() >= SUB_IDLE {
                    w.report(g, moved, true);
                    std::process::exit(0);
                }
            }
        });
        SubCounter {
            size,
            count: count as u64,
            got: 0,
            next_seq: 0,
            gaps: 0,
            joined: false,
            topic: topic.to_vec(),
            sh,
        }
    }

    /// One received message (its first frame). True once all `count` arrived.
    #[inline]
    pub fn on_msg(&mut self, frame: &[u8]) -> bool {
        if frame.len() == warm_of(&self.topic).len() {
            if frame != warm_of(&self.topic) {
                eprintln!(
                    "sub {:?}: bad warm-up {:?}",
                    String::from_utf8_lossy(&self.topic),
                    String::from_utf8_lossy(frame)
                );
                std::process::exit(3);
            }
            if !self.joined {
                self.joined = true;
                say("JOINED");
            }
            return false;
        }
        check_size(frame.len(), self.size);
        if !frame.starts_with(&self.topic) {
            eprintln!(
                "sub {:?}: a message of another topic ({:?}...)",
                String::from_utf8_lossy(&self.topic),
                String::from_utf8_lossy(&frame[..self.topic.len()])
            );
            std::process::exit(3);
        }
        let at = self.topic.len();
        let seq = u64::from_le_bytes(frame[at..at + 8].try_into().expect("8 bytes"));
        if seq < self.next_seq {
            eprintln!(
                "sub {:?}: sequence number {seq} after {} (duplicate or reordered)",
                String::from_utf8_lossy(&self.topic),
                self.next_seq - 1
            );
            std::process::exit(3);
        }
        if seq > self.next_seq {
            self.gaps += seq - self.next_seq;
            self.sh.gaps.store(self.gaps, Ordering::Relaxed);
        }
        self.next_seq = seq + 1;
        self.sh.seen.store(self.next_seq, Ordering::Relaxed);
        if self.got == 0 {
            let ns = self.sh.base.elapsed().as_nanos() as u64 + 1;
            self.sh.first_ns.store(ns, Ordering::SeqCst);
        }
        self.got += 1;
        self.sh.got.store(self.got, Ordering::Release);
        self.got >= self.count
    }

    /// Reports after the last of `count` messages.
    pub fn finish(self) {
        self.sh.report(self.got, Instant::now(), false);
    }
}
