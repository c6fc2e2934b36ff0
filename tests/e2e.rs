//! End-to-end tests of the `broker`, `worker` and `client` binaries, with pyzmq (real libzmq
//! 4.3) peers as separate processes (`tests/py/peers.py`).
//!
//! The interpreter is `$ZMTP_PYTHON`, else `<workspace>/.venv/bin/python` (made by
//! `scripts/test.sh`); without it these tests fail, they never skip. Every process started
//! here is killed by PID when its guard drops, every wait is bounded, and every endpoint is
//! on an ephemeral port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const BROKER: &str = env!("CARGO_BIN_EXE_broker");
const WORKER: &str = env!("CARGO_BIN_EXE_worker");
const CLIENT: &str = env!("CARGO_BIN_EXE_client");

/// Upper bound for any single step (a line to appear, a process to finish).
const STEP: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Processes.

fn python() -> PathBuf {
    let path = match std::env::var_os("ZMTP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
    };
    assert!(
        path.exists(),
        "end-to-end tests need Python with pyzmq: {} does not exist. Run scripts/test.sh (it \
         creates .venv with pyzmq) or set ZMTP_PYTHON to an interpreter that has pyzmq.",
        path.display()
    );
    path
}

/// A child process; killed (SIGKILL, by PID) and reaped when dropped, whatever happened.
/// Its stdout arrives line by line on a channel; its stderr is collected.
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_done: Receiver<()>,
    status: Option<ExitStatus>,
}

impl Proc {
    fn spawn(name: impl Into<String>, cmd: &mut Command) -> Proc {
        let name = name.into();
        let mut child = cmd
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdin = child.stdin.take();
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (done_tx, stderr_done) = mpsc::channel();
        let (mut err, buf) = (child.stderr.take().unwrap(), stderr.clone());
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
            let _ = done_tx.send(());
        });
        Proc {
            name,
            child,
            stdin,
            stdout,
            stderr,
            stderr_done,
            status: None,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything written on stderr so far (all of it once the process has exited and no
    /// other process holds the pipe).
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The next stdout line that starts with `prefix`, skipping others; panics on a `FAIL`
    /// line (from peers.py), on end of output or after `timeout`.
    fn line(&self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(l) if l.starts_with("FAIL") => {
                    panic!("{}: {l}\nstderr: {}", self.name, self.stderr())
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no line starting with {prefix:?} within {timeout:?}\nstderr: {}",
                    self.name,
                    self.stderr()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: output ended without a line starting with {prefix:?}\nstderr: {}",
                    self.name,
                    self.stderr()
                ),
            }
        }
    }

    /// Stdout lines received so far (non-blocking).
    fn lines_so_far(&self) -> Vec<String> {
        self.stdout.try_iter().collect()
    }
}

/// Counts stdout lines matching `pred` per process, waiting (bounded) until they add up to
/// `want` (our workers print a line before they reply, but the reader thread may lag).
fn count_lines(procs: &[Proc], pred: impl Fn(&str) -> bool, want: usize) -> Vec<usize> {
    let mut counts = vec![0; procs.len()];
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        for (p, n) in procs.iter().zip(counts.iter_mut()) {
            *n += p.lines_so_far().iter().filter(|l| pred(l)).count();
        }
        if counts.iter().sum::<usize>() >= want || Instant::now() >= deadline {
            return counts;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

impl Proc {
    /// Closes stdin: the stop signal of peers.py's long-running modes.
    fn close_stdin(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(b"stop\n");
        }
    }

    /// Waits (bounded) for the process to exit; panics after `timeout`.
    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                self.status = Some(s);
                // Let the stderr reader finish (bounded: a grandchild may hold the pipe).
                let _ = self.stderr_done.recv_timeout(Duration::from_millis(500));
                return s;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: still running after {timeout:?}\nstderr: {}",
                    self.name,
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal by PID through `kill(1)`.
    fn signal(&self, sig: &str) {
        send_signal(self.pid(), sig);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn send_signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -{sig} {pid} failed");
}

/// PIDs that this test did not start directly (a broker's workers): killed on drop if they are
/// still the same process (same command line).
struct PidGuard(Vec<(u32, String)>);

impl Drop for PidGuard {
    fn drop(&mut self) {
        for (pid, cmdline) in &self.0 {
            if alive(*pid) && proc_cmdline(*pid).as_deref() == Some(cmdline.as_str()) {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            }
        }
    }
}

fn proc_cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

/// `(state, ppid)` from /proc/PID/stat.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Exists and is not a zombie.
fn alive(pid: u32) -> bool {
    matches!(proc_stat(pid), Some((s, _)) if s != 'Z' && s != 'X')
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Live processes whose command line contains every one of `needles`.
fn live_procs_with(needles: &[&str]) -> Vec<(u32, String)> {
    all_pids()
        .into_iter()
        .filter(|&p| alive(p))
        .filter_map(|p| Some((p, proc_cmdline(p)?)))
        .filter(|(_, c)| needles.iter().all(|n| c.contains(n)))
        .collect()
}

/// Waits (bounded) until the broker has `n` live worker children; returns them, guarded.
fn broker_workers(broker: &Proc, n: usize) -> PidGuard {
    let deadline = Instant::now() + STEP;
    loop {
        let kids: Vec<(u32, String)> = all_pids()
            .into_iter()
            .filter(|&p| matches!(proc_stat(p), Some((s, pp)) if pp == broker.pid() && s != 'Z'))
            .filter_map(|p| Some((p, proc_cmdline(p)?)))
            .filter(|(_, c)| c.contains(WORKER))
            .collect();
        if kids.len() >= n {
            assert_eq!(kids.len(), n, "broker has too many workers: {kids:?}");
            return PidGuard(kids);
        }
        assert!(
            Instant::now() < deadline,
            "broker started {} of {n} workers within {STEP:?}",
            kids.len()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn wait_gone(pids: &PidGuard, timeout: Duration) -> Result<(), Vec<u32>> {
    let deadline = Instant::now() + timeout;
    loop {
        let left: Vec<u32> = pids
            .0
            .iter()
            .filter(|(p, c)| alive(*p) && proc_cmdline(*p).as_deref() == Some(c.as_str()))
            .map(|(p, _)| *p)
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(left);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn py(name: impl Into<String>, args: &[&str]) -> Proc {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/peers.py");
    Proc::spawn(
        name,
        Command::new(python()).arg("-u").arg(script).args(args),
    )
}

/// A broker; returns it with its frontend and backend endpoints (as printed).
fn broker(args: &[&str]) -> (Proc, String, String) {
    let b = Proc::spawn("broker", Command::new(BROKER).args(args));
    let line = b.line("broker: frontend ", STEP);
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "unexpected broker line {line:?}");
    assert_eq!(parts[3], "backend", "unexpected broker line {line:?}");
    (b, parts[2].to_string(), parts[4].to_string())
}

fn ephemeral_broker(workers: u32, extra: &[&str]) -> (Proc, String, String) {
    let w = workers.to_string();
    let mut args = vec![
        "--frontend",
        "tcp://127.0.0.1:0",
        "--backend",
        "tcp://127.0.0.1:0",
        "--workers",
        &w,
    ];
    args.extend_from_slice(extra);
    broker(&args)
}

fn our_worker(id: &str, ep: &str) -> Proc {
    Proc::spawn(
        format!("worker {id}"),
        Command::new(WORKER).args(["--connect", ep, "--id", id]),
    )
}

fn our_client(id: &str, ep: &str, extra: &[&str]) -> Proc {
    Proc::spawn(
        format!("client {id}"),
        Command::new(CLIENT)
            .args(["--id", id, "--connect", ep])
            .args(extra),
    )
}

/// Asserts that a client exited 0 (bounded wait) with nothing on stderr.
fn assert_client_ok(c: &mut Proc) {
    let st = c.wait(STEP);
    assert!(
        st.success(),
        "{} failed: {st}\nstderr: {}",
        c.name,
        c.stderr()
    );
    assert_eq!(c.stderr(), "", "{}: unexpected stderr", c.name);
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn port_of(ep: &str) -> &str {
    ep.rsplit(':').next().unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. Our broker between pyzmq clients and pyzmq workers.

#[test]
fn broker_with_pyzmq_clients_and_workers() {
    let (_broker, front, back) = ephemeral_broker(0, &[]);
    let mut workers: Vec<Proc> = (1..=4)
        .map(|i| py(format!("py worker {i}"), &["echo-worker", &back]))
        .collect();
    for w in &workers {
        w.line("ready", STEP);
    }

    // 3 DEALER clients at once, 400 3-frame requests in all.
    let plan = [("alpha", 134), ("bravo", 133), ("charlie", 133)];
    let clients: Vec<Proc> = plan
        .iter()
        .map(|(id, n)| {
            py(
                format!("py client {id}"),
                &["dealer-client", &front, id, &n.to_string()],
            )
        })
        .collect();
    for (c, (_, n)) in clients.iter().zip(plan) {
        assert_eq!(c.line("ok", STEP), format!("ok {n}"));
    }
    // And a REQ client (empty delimiter frame kept through the broker).
    let req = py("py REQ client", &["req-client", &front, "20"]);
    assert_eq!(req.line("ok", STEP), "ok 20");

    let mut served = Vec::new();
    for w in &mut workers {
        w.close_stdin();
        let line = w.line("served ", STEP);
        served.push(line["served ".len()..].parse::<u64>().unwrap());
    }
    let total: u64 = served.iter().sum();
    assert_eq!(total, 420, "requests served per worker: {served:?}");
    let fair = total as f64 / 4.0;
    for s in &served {
        assert!(
            (*s as f64 - fair).abs() <= fair * 0.1,
            "uneven spread over the workers: {served:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. SIGTERM stops the broker and its workers.

#[test]
fn broker_sigterm_exits_0_and_stops_workers() {
    let (mut broker, front, back) = ephemeral_broker(2, &["--quiet-workers"]);
    let kids = broker_workers(&broker, 2);
    let c = py(
        "py client",
        &["dealer-client", &front, "sigterm-client", "50"],
    );
    assert_eq!(c.line("ok", STEP), "ok 50");

    let t = Instant::now();
    broker.signal("TERM");
    let st = broker.wait(Duration::from_secs(5));
    assert!(
        st.success(),
        "broker exit status {st} after SIGTERM\nstderr: {}",
        broker.stderr()
    );
    eprintln!("broker exited {:?} after SIGTERM", t.elapsed());
    // Gone as soon as the broker is: it waits for them.
    if let Err(left) = wait_gone(&kids, Duration::ZERO) {
        panic!("workers still alive after the broker exited: {left:?}");
    }
    let strays = live_procs_with(&[WORKER, &back]);
    assert!(strays.is_empty(), "stray workers: {strays:?}");
}

/// SIGTERM while workers are busy: the replies in flight are still delivered (within
/// --linger-ms), then the workers are stopped. (Was: the workers were told to exit at the
/// signal, so every reply in flight was lost and the broker sat out the whole linger.)
#[test]
fn broker_sigterm_delivers_replies_in_flight() {
    let (mut broker, front, _) = ephemeral_broker(2, &["--work-ms", "400"]);
    let _kids = broker_workers(&broker, 2);
    let mut c = our_client(
        "inflight",
        &front,
        &["--requests", "2", "--window", "2", "--timeout-ms", "5000"],
    );
    // Both requests are with the workers (each prints a line as it starts on one).
    broker.line("worker#", STEP);
    broker.line("worker#", STEP);
    let t = Instant::now();
    broker.signal("TERM");
    assert_client_ok(&mut c);
    let st = broker.wait(Duration::from_secs(5));
    assert!(
        st.success(),
        "broker exit status {st}\nstderr: {}",
        broker.stderr()
    );
    let took = t.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "broker took {took:?} to stop with 400 ms of work in flight"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Our workers behind a pyzmq zmq.proxy(ROUTER, DEALER).

#[test]
fn our_workers_behind_pyzmq_proxy() {
    let proxy = py("py proxy", &["proxy", "2"]);
    let line = proxy.line("ready ", STEP);
    let eps: Vec<&str> = line.split_whitespace().collect();
    let (front, back) = (eps[1].to_string(), eps[2].to_string());
    let workers = [our_worker("rw1", &back), our_worker("rw2", &back)];
    proxy.line("workers 2", STEP);

    let clients: Vec<Proc> = ["c1", "c2", "c3"]
        .iter()
        .map(|id| {
            py(
                format!("py client {id}"),
                &["dealer-client", &front, id, "100"],
            )
        })
        .collect();
    for c in &clients {
        assert_eq!(c.line("ok", STEP), "ok 100");
    }
    let req = py("py REQ client", &["req-client", &front, "10"]);
    assert_eq!(req.line("ok", STEP), "ok 10");

    // Our worker prints `rwN received <last frame> from <client>` per request.
    let counts = count_lines(&workers, |l| l.contains(" received "), 310);
    assert_eq!(counts.iter().sum::<usize>(), 310, "per worker: {counts:?}");
    assert!(
        counts.iter().all(|&n| n > 0),
        "a worker served nothing: {counts:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Our client against a pyzmq ROUTER echo, then one that drops requests.

#[test]
fn our_client_against_pyzmq_router() {
    let mut router = py("py router", &["router-echo"]);
    let ep = router.line("ready ", STEP)["ready ".len()..].to_string();
    let mut c = our_client("e2e-client", &ep, &["--requests", "30", "--window", "5"]);
    assert_client_ok(&mut c);
    router.close_stdin();
    let ids = router.line("ids ", STEP);
    let want = format!(
        "ids 30 {}",
        b"e2e-client"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    assert_eq!(ids, want, "the ROUTER must see our id on every request");

    // Every 7th request dropped: failure within the timeout, one line on stderr.
    let dropper = py("py dropping router", &["router-echo", "7"]);
    let ep = dropper.line("ready ", STEP)["ready ".len()..].to_string();
    let t = Instant::now();
    let mut c = our_client(
        "e2e-client",
        &ep,
        &[
            "--requests",
            "30",
            "--window",
            "5",
            "--timeout-ms",
            "1500",
            "--quiet",
        ],
    );
    let st = c.wait(Duration::from_secs(6));
    let took = t.elapsed();
    let err = c.stderr();
    assert!(!st.success(), "client must fail when replies are missing");
    assert!(
        took < Duration::from_millis(1500 + 2500),
        "client took {took:?} with --timeout-ms 1500"
    );
    assert_eq!(err.lines().count(), 1, "want one stderr line, got {err:?}");
    assert!(err.contains("missing"), "stderr: {err:?}");
    assert!(!err.contains("panicked"), "stderr: {err:?}");
}

// ---------------------------------------------------------------------------------------------
// 5. All three of ours, several clients at once.

#[test]
fn ours_together_three_clients() {
    let (_broker, front, _back) = ephemeral_broker(3, &["--quiet-workers"]);
    let _kids = broker_workers(&_broker, 3);
    let mut clients: Vec<Proc> = (1..=3)
        .map(|i| {
            our_client(
                &format!("client{i}"),
                &front,
                &["--requests", "200", "--window", "10", "--quiet"],
            )
        })
        .collect();
    for c in &mut clients {
        assert_client_ok(c);
    }
}

// ---------------------------------------------------------------------------------------------
// 6. kill -9 the broker, restart it on the same ports: our workers reconnect.

#[test]
fn broker_sigkill_and_restart_on_same_ports() {
    let (fp, bp) = loop {
        let (f, b) = (free_port(), free_port());
        if f != b {
            break (f, b);
        }
    };
    let front = format!("tcp://127.0.0.1:{fp}");
    let back = format!("tcp://127.0.0.1:{bp}");
    let args = ["--frontend", &front, "--backend", &back];

    let (mut b1, f1, b1_back) = broker(&[&args[..], &["--workers", "2"]].concat());
    assert_eq!(
        (f1.as_str(), b1_back.as_str()),
        (front.as_str(), back.as_str())
    );
    let spawned = broker_workers(&b1, 2);
    let ext = [our_worker("ext1", &back), our_worker("ext2", &back)];
    let mut c = our_client("before", &front, &["--requests", "40", "--window", "4"]);
    assert_client_ok(&mut c);

    let t = Instant::now();
    b1.signal("KILL");
    b1.wait(Duration::from_secs(5));
    if let Err(left) = wait_gone(&spawned, Duration::from_secs(2)) {
        panic!("broker's workers {left:?} still alive 2 s after it was SIGKILLed");
    }
    eprintln!("spawned workers gone {:?} after SIGKILL", t.elapsed());

    let (_b2, _, _) = broker(&[&args[..], &["--workers", "0"]].concat());
    // Reconnect interval is 100 ms: both are back well within this.
    thread::sleep(Duration::from_millis(500));
    let mut c = our_client("after", &front, &["--requests", "40", "--window", "4"]);
    assert_client_ok(&mut c);
    let counts = count_lines(&ext, |l| l.ends_with(" from after"), 40);
    assert_eq!(counts.iter().sum::<usize>(), 40, "per worker: {counts:?}");
    assert!(
        counts.iter().all(|&n| n > 0),
        "a worker did not reconnect: {counts:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. A burst: 10 000 requests all in flight at once.

#[test]
fn burst_10000_in_flight() {
    let (_broker, front, _) = ephemeral_broker(2, &["--quiet-workers"]);
    let _kids = broker_workers(&_broker, 2);
    let mut c = our_client(
        "burst",
        &front,
        &["--requests", "10000", "--window", "10000", "--quiet"],
    );
    assert_client_ok(&mut c);
}

// ---------------------------------------------------------------------------------------------
// 8. Bad arguments: one line on stderr, non-zero exit, no panic.

fn assert_one_line_failure(name: &str, cmd: &mut Command) {
    let mut p = Proc::spawn(name, cmd);
    let st = p.wait(Duration::from_secs(5));
    let err = p.stderr();
    assert!(!st.success(), "{name}: exit status {st}, want failure");
    assert!(st.code().is_some(), "{name}: killed by a signal: {st}");
    assert_eq!(
        err.lines().count(),
        1,
        "{name}: want one stderr line, got {err:?}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{name}: {err:?}"
    );
    assert_eq!(p.lines_so_far(), Vec::<String>::new(), "{name}: stdout");
}

#[test]
fn bad_arguments_one_line() {
    assert_one_line_failure(
        "broker --frontend nonsense",
        Command::new(BROKER).args(["--frontend", "nonsense", "--workers", "0"]),
    );
    assert_one_line_failure(
        "client --connect tcp://1.2.3.4",
        Command::new(CLIENT).args(["--connect", "tcp://1.2.3.4"]),
    );
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", taken.local_addr().unwrap());
    assert_one_line_failure(
        "broker, frontend port in use",
        Command::new(BROKER).args(["--frontend", &ep, "--backend", "tcp://127.0.0.1:0"]),
    );
    assert_one_line_failure(
        "broker, backend port in use",
        Command::new(BROKER).args([
            "--frontend",
            "tcp://127.0.0.1:0",
            "--backend",
            &ep,
            "--workers",
            "0",
        ]),
    );
    // Did not start a worker before failing.
    let strays = live_procs_with(&[WORKER, port_of(&ep)]);
    assert!(strays.is_empty(), "stray workers: {strays:?}");
}

#[test]
fn python_is_available() {
    let mut p = Proc::spawn(
        "python",
        Command::new(python()).args(["-c", "import zmq; assert zmq.zmq_version_info() >= (4, 3)"]),
    );
    let st = p.wait(STEP);
    assert!(
        st.success(),
        "ZMTP_PYTHON has no pyzmq with libzmq >= 4.3: {}",
        p.stderr()
    );
}
