//! The zguide examples (`zmtp/examples/`) run as programs: each one with all its roles in one
//! process, some roles in separate processes, and roles paired with pyzmq (libzmq)
//! counterparts (`tests/py/zguide.py`). Each test checks the exit status and what the program
//! printed (counts, contents), not just that it ended.
//!
//! The example binaries are taken from next to this test's binary
//! (`target/<profile>/examples/`), where `cargo test -p zmtp` and `cargo test --workspace` build
//! them; `cargo test -p zmtp --test examples` alone does not (build them first with
//! `cargo build -p zmtp --examples`, same profile). A missing binary, or one older than its
//! source, fails the test with that advice. The interop tests need Python with pyzmq
//! (`ZMTP_PYTHON`, see `tests/common`): without it they fail, they never skip.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bound on a whole program's run (they take well under a few seconds).
const RUN: Duration = Duration::from_secs(60);

/// Bound on waiting for one line of output (a peer's port).
const LINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Running programs.

/// The binary of example `name`, checked to exist and to be newer than its sources.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps")
        .join("examples");
    let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let advice = "build the examples first: `cargo build -p zmtp --examples` (with --release \
                  for a release test run), or run `cargo test -p zmtp`, which builds them";
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("example {name}: {}: {e}; {advice}", bin.display()));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for source in [src.join(format!("{name}.rs")), src.join("zhelpers/mod.rs")] {
        let changed = std::fs::metadata(&source)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            changed <= built,
            "example {name}: {} is older than {}; {advice}",
            bin.display(),
            source.display()
        );
    }
    bin
}

/// A running program: its output read line by line as it comes; killed (by PID) and reaped when
/// dropped, whatever happened.
struct Program {
    label: String,
    child: Child,
    lines: Receiver<String>,
    out: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

/// A program that has exited.
struct Finished {
    label: String,
    status: ExitStatus,
    out: Vec<String>,
    err: String,
}

impl Program {
    /// Example `name` with these arguments.
    fn example(name: &str, args: &[&str]) -> Program {
        let mut cmd = Command::new(example_binary(name));
        cmd.args(args);
        Program::spawn(format!("{name} {}", args.join(" ")), cmd)
    }

    /// `tests/py/zguide.py MODE ARGS`, the pyzmq side.
    fn python(mode: &str, args: &[&str]) -> Program {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/zguide.py");
        let mut cmd = Command::new(common::python());
        cmd.arg(script).arg(mode).args(args);
        Program::spawn(format!("zguide.py {mode} {}", args.join(" ")), cmd)
    }

    fn spawn(label: String, mut cmd: Command) -> Program {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = Some(thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        }));
        Program {
            label,
            child,
            lines,
            out: Vec::new(),
            stderr,
        }
    }

    /// Waits for the first line starting with `prefix` and returns the rest of it, trimmed.
    fn line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + LINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.out.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_string();
                    }
                }
                Err(e) => self.fail(&format!("no line {prefix:?} ({e:?})")),
            }
        }
    }

    /// The port at the end of the line that starts with `prefix` (`PORT 1234`, or `I: listening
    /// on tcp://127.0.0.1:1234`).
    fn port(&mut self, prefix: &str) -> String {
        let rest = self.line(prefix);
        match rest.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()) {
            Some(port) => port.to_string(),
            None => self.fail(&format!("no port in {rest:?}")),
        }
    }

    /// Waits (at most [`RUN`]) until the program exits, with everything it printed.
    fn finish(mut self) -> Finished {
        let deadline = Instant::now() + RUN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.out.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => self.fail("still running"),
            }
        }
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => self.fail("closed its stdout but did not exit"),
                Err(e) => self.fail(&format!("wait: {e}")),
            }
        };
        let err = self.take_stderr();
        Finished {
            label: std::mem::take(&mut self.label),
            status,
            out: std::mem::take(&mut self.out),
            err,
        }
    }

    /// Stops a program that runs until it is killed (a broker), with what it printed so far.
    fn stop(mut self) -> Vec<String> {
        self.kill();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.out.push(line);
        }
        std::mem::take(&mut self.out)
    }

    fn kill(&mut self) {
        // Child::kill signals exactly this child's PID; a no-op once it was reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }

    fn fail(&mut self, why: &str) -> ! {
        self.kill();
        let err = self.take_stderr();
        panic!(
            "{}: {why}\n--- stdout:\n{}\n--- stderr:\n{err}",
            self.label,
            self.out.join("\n")
        )
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Finished {
    /// Checks exit status 0; returns the output lines.
    fn ok(self) -> Vec<String> {
        assert!(self.status.success(), "{}: {}", self.label, self.describe());
        self.out
    }

    /// Checks a failing exit status; returns stderr.
    fn failed(self) -> String {
        assert!(
            !self.status.success(),
            "{}: should have failed: {}",
            self.label,
            self.describe()
        );
        self.err
    }

    fn describe(&self) -> String {
        format!(
            "{}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.status,
            self.out.join("\n"),
            self.err
        )
    }
}

/// Lines that start with `prefix`.
fn starting<'a>(out: &'a [String], prefix: &str) -> Vec<&'a str> {
    out.iter()
        .filter(|l| l.starts_with(prefix))
        .map(String::as_str)
        .collect()
}

/// The one line that starts with `prefix`, without it.
fn the_line<'a>(out: &'a [String], prefix: &str) -> &'a str {
    match starting(out, prefix)[..] {
        [line] => &line[prefix.len()..],
        ref lines => panic!("{} lines start with {prefix:?}: {lines:?}", lines.len()),
    }
}

/// `tcp://127.0.0.1:PORT`.
fn tcp(port: &str) -> String {
    format!("tcp://127.0.0.1:{port}")
}

// ---------------------------------------------------------------------------------------------
// Each example with all its roles in one process.

#[test]
fn hello_world_runs() {
    let out = Program::example("hello_world", &[]).finish().ok();
    assert_eq!(starting(&out, "Received Hello").len(), 10, "{out:#?}");
    let worlds: Vec<_> = (0..10).map(|n| format!("Received World {n}")).collect();
    assert_eq!(starting(&out, "Received World"), worlds, "{out:#?}");
}

#[test]
fn weather_runs() {
    let out = Program::example("weather", &[]).finish().ok();
    let avg = the_line(&out, "Average temperature for zipcode '10001' was ");
    let degrees: i64 = avg
        .strip_suffix('F')
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("not a temperature: {avg:?}"));
    // The server's temperatures are -80..=134.
    assert!((-80..=134).contains(&degrees), "{degrees}");
}

#[test]
fn pipeline_runs() {
    let out = Program::example("pipeline", &[]).finish().ok();
    let given = the_line(&out, "Total expected cost: ");
    let done = the_line(&out, "Total work done: ");
    assert_eq!(done, given.replace("msec", "msec in 100 tasks"), "{out:#?}");
    // The sink's progress line: one mark per result.
    let marks = the_line(&out, ":");
    assert_eq!(marks.len() + 1, 100, "{marks:?}");
    the_line(&out, "Total elapsed time: ");
    let per_worker: usize = starting(&out, "Worker ")
        .iter()
        .map(|l| {
            l.split(' ')
                .nth(2)
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("{l:?}"))
        })
        .sum();
    assert_eq!(per_worker, 100, "{out:#?}");
}

#[test]
fn rrbroker_runs() {
    let out = Program::example("rrbroker", &[]).finish().ok();
    let replies: Vec<_> = (1..=10)
        .map(|n| format!("Received reply {n} [World]"))
        .collect();
    assert_eq!(starting(&out, "Received reply"), replies, "{out:#?}");
    let requests = out
        .iter()
        .filter(|l| l.starts_with("Worker ") && l.ends_with("received request: [Hello]"));
    assert_eq!(requests.count(), 10, "{out:#?}");
}

#[test]
fn lbbroker_runs() {
    let out = Program::example("lbbroker", &[]).finish().ok();
    // Ten clients, each with its own id, each answered once.
    let clients: BTreeSet<&str> = starting(&out, "Client ")
        .iter()
        .map(|l| {
            l.strip_prefix("Client ")
                .and_then(|l| l.strip_suffix(": OK"))
                .unwrap_or_else(|| panic!("{l:?}"))
        })
        .collect();
    assert_eq!(clients.len(), 10, "{out:#?}");
    // Ten requests served by the workers, from exactly those clients.
    let served: Vec<&str> = starting(&out, "Worker ")
        .iter()
        .map(|l| {
            l.split(" HELLO from ")
                .nth(1)
                .unwrap_or_else(|| panic!("{l:?}"))
        })
        .collect();
    assert_eq!(served.len(), 10, "{out:#?}");
    assert_eq!(served.into_iter().collect::<BTreeSet<_>>(), clients);
    assert_eq!(the_line(&out, "Broker: "), "10 requests served");
}

#[test]
fn lazy_pirate_runs() {
    let out = Program::example("lazy_pirate", &[]).finish().ok();
    the_line(&out, "I: simulating a crash");
    the_line(&out, "I: simulating CPU overload");
    the_line(&out, "I: restarting the server");
    // At least one retry for each.
    assert!(
        starting(&out, "W: no response from server").len() >= 2,
        "{out:#?}"
    );
    let oks: Vec<_> = (1..=10)
        .map(|n| format!("I: server replied OK ({n})"))
        .collect();
    assert_eq!(starting(&out, "I: server replied OK"), oks, "{out:#?}");
}

#[test]
fn identity_runs() {
    let out = Program::example("identity", &[]).finish().ok();
    let frames: Vec<&str> = starting(&out, "[");
    assert_eq!(frames.len(), 6, "{out:#?}");
    // A generated id: 5 bytes, a zero first, shown in hex.
    let generated = frames[0].strip_prefix("[005] 00").unwrap_or("");
    assert!(
        generated.len() == 8 && generated.chars().all(|c| c.is_ascii_hexdigit()),
        "{out:#?}"
    );
    assert_eq!(frames[1].trim_end(), "[000]");
    assert_eq!(frames[2], "[039] ROUTER uses a generated 5 byte identity");
    assert_eq!(frames[3], "[005] PEER2");
    assert_eq!(frames[4].trim_end(), "[000]");
    assert_eq!(frames[5], "[032] ROUTER uses the REQ's routing id");
}

// ---------------------------------------------------------------------------------------------
// Roles in separate processes, and failures.

/// rrbroker's roles as four processes: the broker, two workers, a client.
#[test]
fn rrbroker_roles_in_processes() {
    let mut broker = Program::example(
        "rrbroker",
        &["broker", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0"],
    );
    let front = tcp(&broker.port("I: clients to "));
    let back = tcp(&broker.port("I: workers to "));
    let workers = [
        Program::example("rrbroker", &["worker", &back]),
        Program::example("rrbroker", &["worker", &back]),
    ];
    let out = Program::example("rrbroker", &["client", &front, "6"])
        .finish()
        .ok();
    let replies: Vec<_> = (1..=6)
        .map(|n| format!("Received reply {n} [World]"))
        .collect();
    assert_eq!(starting(&out, "Received reply"), replies, "{out:#?}");
    // Six requests, each served by one of the workers (how many each depends on when it
    // connected: the broker's DEALER deals round-robin over the workers connected then).
    let served: usize = workers
        .into_iter()
        .map(|w| {
            let out = w.stop();
            starting(&out, "Worker 1: received request: [Hello]").len()
        })
        .sum();
    assert_eq!(served, 6);
    broker.stop();
}

/// pipeline's roles as processes: a sink, a ventilator waiting for two workers, two workers.
#[test]
fn pipeline_roles_in_processes() {
    let mut sink = Program::example("pipeline", &["sink", "tcp://127.0.0.1:0", "20"]);
    let sink_ep = tcp(&sink.port("I: collecting on "));
    let mut vent = Program::example(
        "pipeline",
        &["ventilator", "tcp://127.0.0.1:0", &sink_ep, "20", "2"],
    );
    let vent_ep = tcp(&vent.port("I: ventilating on "));
    let workers = [
        Program::example("pipeline", &["worker", &vent_ep, &sink_ep]),
        Program::example("pipeline", &["worker", &vent_ep, &sink_ep]),
    ];
    let given = the_line(&vent.finish().ok(), "Total expected cost: ").to_string();
    let out = sink.finish().ok();
    assert_eq!(
        the_line(&out, "Total work done: "),
        given.replace("msec", "msec in 20 tasks")
    );
    // Each task done once, by one of the workers (a dot each).
    let dots: usize = workers
        .into_iter()
        .map(|w| w.stop().concat().matches('.').count())
        .sum();
    assert_eq!(dots, 20);
}

/// lbbroker's roles as processes: the broker, two workers, four clients.
#[test]
fn lbbroker_roles_in_processes() {
    let mut broker = Program::example(
        "lbbroker",
        &["broker", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0", "4"],
    );
    let front = tcp(&broker.port("I: clients to "));
    let back = tcp(&broker.port("I: workers to "));
    let workers = [
        Program::example("lbbroker", &["worker", &back]),
        Program::example("lbbroker", &["worker", &back]),
    ];
    let clients: Vec<_> = (0..4)
        .map(|_| Program::example("lbbroker", &["client", &front]))
        .collect();
    for c in clients {
        let out = c.finish().ok();
        assert_eq!(starting(&out, "Client ").len(), 1, "{out:#?}");
        assert!(out[0].ends_with(": OK"), "{out:#?}");
    }
    assert_eq!(
        the_line(&broker.finish().ok(), "Broker: "),
        "4 requests served"
    );
    let served: usize = workers
        .into_iter()
        .map(|w| starting(&w.stop(), "Worker ").len())
        .sum();
    assert_eq!(served, 4);
}

/// weather's server role with its client role.
#[test]
fn weather_roles_in_processes() {
    let mut server = Program::example("weather", &["server", "tcp://127.0.0.1:0", "30"]);
    let ep = tcp(&server.port("I: publishing on "));
    let out = Program::example("weather", &["client", &ep, "10002 ", "20"])
        .finish()
        .ok();
    the_line(&out, "Average temperature for zipcode '10002' was ");
    server.stop();
}

/// identity's router role with two of its req roles, one with a routing id.
#[test]
fn identity_roles_in_processes() {
    let mut router = Program::example("identity", &["router", "tcp://127.0.0.1:0", "2"]);
    let ep = tcp(&router.port("I: listening on "));
    Program::example("identity", &["req", &ep]).finish().ok();
    Program::example("identity", &["req", &ep, "PEER7"])
        .finish()
        .ok();
    let out = router.finish().ok();
    let ids: BTreeSet<&str> = starting(&out, "[005] ")
        .into_iter()
        .map(|l| {
            if l.starts_with("[005] 00") {
                "generated"
            } else {
                l
            }
        })
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["generated", "[005] PEER7"]),
        "{out:#?}"
    );
    assert_eq!(
        starting(&out, "[016] Hello from a REQ").len(),
        2,
        "{out:#?}"
    );
}

/// The client gives up after its tries when nothing answers, and says so.
#[test]
fn lazy_pirate_client_gives_up() {
    // A port where nothing listens: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let started = Instant::now();
    let client = Program::example("lazy_pirate", &["client", &tcp(&port), "1", "200", "3"]);
    let finished = client.finish();
    let out = finished.out.clone();
    let err = finished.failed();
    assert_eq!(err.trim(), "E: server seems to be offline, abandoning");
    assert_eq!(
        starting(&out, "W: no response from server").len(),
        3,
        "{out:#?}"
    );
    assert_eq!(starting(&out, "I: reconnecting").len(), 2, "{out:#?}");
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[test]
fn unknown_role_fails() {
    let err = Program::example("hello_world", &["bogus"])
        .finish()
        .failed();
    assert_eq!(err.trim(), "E: unknown role \"bogus\": server or client");
}

// ---------------------------------------------------------------------------------------------
// Interop: our roles with pyzmq's (libzmq).

#[test]
fn interop_hello_world_client_with_pyzmq_server() {
    let mut server = Program::python("hwserver", &["5"]);
    let port = server.port("PORT ");
    let out = Program::example("hello_world", &["client", &tcp(&port), "5"])
        .finish()
        .ok();
    assert_eq!(starting(&out, "Received World").len(), 5, "{out:#?}");
    assert_eq!(the_line(&server.finish().ok(), "SERVED "), "5");
}

#[test]
fn interop_hello_world_server_with_pyzmq_client() {
    let mut server = Program::example("hello_world", &["server", "tcp://127.0.0.1:0", "5"]);
    let port = server.port("I: listening on ");
    let client = Program::python("hwclient", &[&port, "5"]);
    assert_eq!(the_line(&client.finish().ok(), "DONE "), "5");
    let out = server.finish().ok();
    assert_eq!(starting(&out, "Received Hello").len(), 5, "{out:#?}");
}

/// The publisher sends zip 10001 at 42 degrees and other zip codes at other temperatures: the
/// average is 42 only if the client got 10001's updates and nothing else.
#[test]
fn interop_weather_client_with_pyzmq_publisher() {
    let mut server = Program::python("wuserver", &["30"]);
    let port = server.port("PORT ");
    let out = Program::example("weather", &["client", &tcp(&port)])
        .finish()
        .ok();
    assert_eq!(
        the_line(&out, "Average temperature for zipcode '10001' was "),
        "42F"
    );
    server.stop();
}

/// Our worker between a pyzmq ventilator and sink: the sink checks that each task's workload
/// came back exactly once, and nothing more.
#[test]
fn interop_pipeline_worker_between_pyzmq_ventilator_and_sink() {
    let mut vent_sink = Program::python("taskventsink", &["20"]);
    let ports = vent_sink.line("PORTS ");
    let Some((vent, sink)) = ports.split_once(' ') else {
        panic!("PORTS {ports}")
    };
    let worker = Program::example("pipeline", &["worker", &tcp(vent), &tcp(sink), "20"]);
    // Workloads 1..=5, four times each.
    assert_eq!(the_line(&vent_sink.finish().ok(), "OK "), "20 60");
    let out = worker.finish().ok();
    assert_eq!(out.concat().matches('.').count(), 20, "{out:#?}");
}

/// The pyzmq server drops the first copies of requests 3 and 6 and answers the first copy of
/// request 8 with a wrong sequence number: the client sends each of them again, on a new
/// socket, and gets every request answered, in order.
#[test]
fn interop_lazy_pirate_client_with_pyzmq_server() {
    let mut server = Program::python("lpserver", &["10", "3,6", "8"]);
    let port = server.port("PORT ");
    let out = Program::example("lazy_pirate", &["client", &tcp(&port), "10", "1000", "3"])
        .finish()
        .ok();
    let oks: Vec<_> = (1..=10)
        .map(|n| format!("I: server replied OK ({n})"))
        .collect();
    assert_eq!(starting(&out, "I: server replied OK"), oks, "{out:#?}");
    assert_eq!(
        starting(&out, "W: no response from server").len(),
        2,
        "{out:#?}"
    );
    assert_eq!(the_line(&out, "E: malformed reply from server: "), "999");
    assert_eq!(starting(&out, "I: reconnecting").len(), 3, "{out:#?}");
    assert_eq!(
        the_line(&server.finish().ok(), "RECEIVED "),
        "1 2 3 3 4 5 6 6 7 8 8 9 10"
    );
}

/// Our ROUTER shows libzmq REQs' envelopes: a generated id for the anonymous one, PEER2 for
/// the other, then the delimiter and the body.
#[test]
fn interop_identity_router_with_pyzmq_reqs() {
    let mut router = Program::example("identity", &["router", "tcp://127.0.0.1:0", "2"]);
    let port = router.port("I: listening on ");
    let clients = Program::python("idclients", &[&port]);
    assert_eq!(the_line(&clients.finish().ok(), "SENT "), "2");
    let out = router.finish().ok();
    let frames = starting(&out, "[");
    assert_eq!(frames.len(), 6, "{out:#?}");
    // Arrival order between the two connections is not fixed: take the messages as a set.
    let messages: BTreeSet<(String, &str)> = frames
        .chunks(3)
        .map(|m| {
            assert_eq!(m[1].trim_end(), "[000]", "{out:#?}");
            let id = match m[0].strip_prefix("[005] 00") {
                Some(hex) if hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()) => {
                    "generated".to_string()
                }
                _ => m[0].to_string(),
            };
            (id, m[2])
        })
        .collect();
    let want = BTreeSet::from([
        (
            "generated".to_string(),
            "[034] Hello from an anonymous libzmq REQ",
        ),
        ("[005] PEER2".to_string(), "[016] Hello from PEER2"),
    ]);
    assert_eq!(messages, want, "{out:#?}");
}

/// Our load-balancing broker between 8 pyzmq clients and 3 pyzmq workers: each client gets the
/// reply to its own request, and the work is shared.
#[test]
fn interop_lbbroker_between_pyzmq_clients_and_workers() {
    let mut broker = Program::example(
        "lbbroker",
        &["broker", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0", "8"],
    );
    let front = broker.port("I: clients to ");
    let back = broker.port("I: workers to ");
    let peers = Program::python("lbpeers", &[&front, &back, "8", "3"])
        .finish()
        .ok();
    assert_eq!(the_line(&peers, "CLIENTS "), "8");
    let served: usize = the_line(&peers, "WORKERS ")
        .split(' ')
        .map(|kv| {
            kv.split_once('=')
                .and_then(|(_, n)| n.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("{kv:?}"))
        })
        .sum();
    assert_eq!(served, 8, "{peers:#?}");
    assert_eq!(
        the_line(&broker.finish().ok(), "Broker: "),
        "8 requests served"
    );
}
