//! Helpers shared by the end-to-end tests (`tests/e2e.rs`, `tests/abuse.rs`): child processes
//! killed by PID when their guard drops, bounded waits, the pyzmq peers of `tests/py/peers.py`,
//! and brokers on ephemeral ports.
//!
//! The interpreter is `$ZMTP_PYTHON`, else `<workspace>/.venv/bin/python` (made by
//! `scripts/test.sh`); without it the tests fail, they never skip.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const BROKER: &str = env!("CARGO_BIN_EXE_broker");
pub const WORKER: &str = env!("CARGO_BIN_EXE_worker");
pub const CLIENT: &str = env!("CARGO_BIN_EXE_client");

/// Upper bound for any single step (a line to appear, a process to finish).
pub const STEP: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Processes.

pub fn python() -> PathBuf {
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
pub struct Proc {
    pub name: String,
    pub child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_done: Receiver<()>,
    status: Option<ExitStatus>,
}

impl Proc {
    pub fn spawn(name: impl Into<String>, cmd: &mut Command) -> Proc {
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything written on stderr so far (all of it once the process has exited and no
    /// other process holds the pipe).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The next stdout line that starts with `prefix`, skipping others; panics on a `FAIL`
    /// line (from peers.py), on end of output or after `timeout`.
    pub fn line(&self, prefix: &str, timeout: Duration) -> String {
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
    pub fn lines_so_far(&self) -> Vec<String> {
        self.stdout.try_iter().collect()
    }

    /// Stdout lines not yet taken, up to the end of the output; panics if the output has not
    /// ended (every process holding the pipe gone) within `timeout`.
    pub fn remaining_lines(&self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(l) => lines.push(l),
                Err(RecvTimeoutError::Disconnected) => return lines,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: output did not end within {timeout:?}", self.name)
                }
            }
        }
    }

    /// True while the process has not exited (it is not reaped here if it has).
    pub fn running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait().expect("try_wait") {
            Some(s) => {
                self.status = Some(s);
                false
            }
            None => true,
        }
    }
}

/// Counts stdout lines matching `pred` per process, waiting (bounded) until they add up to
/// `want` (our workers print a line before they reply, but the reader thread may lag).
pub fn count_lines(procs: &[Proc], pred: impl Fn(&str) -> bool, want: usize) -> Vec<usize> {
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
    pub fn close_stdin(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(b"stop\n");
        }
    }

    /// Writes `text` to stdin as it is.
    pub fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("{}: cannot write stdin: {e}", self.name));
    }

    /// Closes stdin (end of file for the process), writing nothing.
    pub fn end_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits (bounded) for the process to exit; panics after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
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
    pub fn signal(&self, sig: &str) {
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

pub fn send_signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -{sig} {pid} failed");
}

/// PIDs that this test did not start directly (a broker's workers): killed on drop if they are
/// still the same process (same command line).
pub struct PidGuard(pub Vec<(u32, String)>);

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

pub fn proc_cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

/// `(state, ppid)` from /proc/PID/stat.
pub fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    matches!(proc_stat(pid), Some((s, _)) if s != 'Z' && s != 'X')
}

pub fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Live processes whose command line contains every one of `needles`.
pub fn live_procs_with(needles: &[&str]) -> Vec<(u32, String)> {
    all_pids()
        .into_iter()
        .filter(|&p| alive(p))
        .filter_map(|p| Some((p, proc_cmdline(p)?)))
        .filter(|(_, c)| needles.iter().all(|n| c.contains(n)))
        .collect()
}

/// Waits (bounded) until the broker has `n` live worker children; returns them, guarded.
pub fn broker_workers(broker: &Proc, n: usize) -> PidGuard {
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

pub fn wait_gone(pids: &PidGuard, timeout: Duration) -> Result<(), Vec<u32>> {
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

pub fn py(name: impl Into<String>, args: &[&str]) -> Proc {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/peers.py");
    Proc::spawn(
        name,
        Command::new(python()).arg("-u").arg(script).args(args),
    )
}

/// `py`, with `env` added to the environment (peers.py's `PEER_*` security settings).
pub fn py_env(name: impl Into<String>, args: &[&str], env: &[(&str, &str)]) -> Proc {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/peers.py");
    let mut cmd = Command::new(python());
    cmd.arg("-u").arg(script).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc::spawn(name, &mut cmd)
}

/// A broker; returns it with its frontend and backend endpoints (as printed).
pub fn broker(args: &[&str]) -> (Proc, String, String) {
    let b = Proc::spawn("broker", Command::new(BROKER).args(args));
    let line = b.line("broker: frontend ", STEP);
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "unexpected broker line {line:?}");
    assert_eq!(parts[3], "backend", "unexpected broker line {line:?}");
    (b, parts[2].to_string(), parts[4].to_string())
}

pub fn ephemeral_broker(workers: u32, extra: &[&str]) -> (Proc, String, String) {
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

pub fn our_worker(id: &str, ep: &str) -> Proc {
    Proc::spawn(
        format!("worker {id}"),
        Command::new(WORKER).args(["--connect", ep, "--id", id]),
    )
}

pub fn our_client(id: &str, ep: &str, extra: &[&str]) -> Proc {
    Proc::spawn(
        format!("client {id}"),
        Command::new(CLIENT)
            .args(["--id", id, "--connect", ep])
            .args(extra),
    )
}

/// Asserts that a client exited 0 (bounded wait) with nothing on stderr.
pub fn assert_client_ok(c: &mut Proc) {
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
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn port_of(ep: &str) -> &str {
    ep.rsplit(':').next().unwrap()
}

/// A file in the temp dir holding `text` (its name made unique by the process id and `name`),
/// removed when dropped.
pub struct TempFile(PathBuf);

impl TempFile {
    pub fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("zmtp-test-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
