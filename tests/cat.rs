//! `zmtp-cat` against real libzmq 4.3.5 (pyzmq agents in child processes), one test per socket
//! type (and both sides of REQ/REP): what a stdin line becomes on the wire, what a received
//! message prints as, when it exits and with which status, argument errors, a closed stdout.
//!
//! Every wait is bounded; the agents and zmtp-cat processes are killed by PID when dropped.

#[path = "../zmtp/tests/common/agent.rs"]
mod agent;
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use agent::{hex, Agent};
use common::{Proc, TempFile, STEP};
use zmtp::curve::KeyPair;

const CAT: &str = env!("CARGO_BIN_EXE_zmtp-cat");

fn cat(args: &[&str]) -> Proc {
    Proc::spawn(
        format!("zmtp-cat {}", args.join(" ")),
        Command::new(CAT).args(args),
    )
}

/// The port of the `bound tcp://127.0.0.1:PORT` line zmtp-cat prints for a bind to port 0.
fn bound_port(p: &Proc) -> u16 {
    let deadline = Instant::now() + STEP;
    loop {
        let err = p.stderr();
        // Whole lines only: eprintln! may reach the pipe in several writes.
        if let Some(line) = complete_lines(&err).find(|l| l.starts_with("bound ")) {
            return line
                .rsplit(':')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad line {line:?}"));
        }
        assert!(Instant::now() < deadline, "no bound line; stderr: {err}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// The lines of `text` that have their newline (a line still being written is not one yet).
fn complete_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
}

fn ep(port: u16) -> String {
    format!("tcp://127.0.0.1:{port}")
}

/// Waits for zmtp-cat to exit; asserts the status and that stderr has no panic text.
fn exits(p: &mut Proc, code: i32) {
    let status = p.wait(STEP);
    let err = p.stderr();
    assert_eq!(status.code(), Some(code), "{}: stderr: {err}", p.name);
    assert!(!err.contains("panicked"), "{}: {err}", p.name);
}

/// Time for connections and subscriptions to settle before sending (slow joiners).
fn settle() {
    thread::sleep(Duration::from_millis(500));
}

#[test]
fn cat_req_with_a_pyzmq_rep() {
    let mut rep = Agent::spawn("rep");
    rep.ok("sock r REP");
    let port = rep.bind("r", 0);
    rep.start("echo r 2");
    let mut c = cat(&["req", "--connect", &ep(port)]);
    // Two frames (TAB), then binary bytes written as 0x + hex.
    c.write("hello\tworld\n0x00ff\n");
    c.end_stdin();
    exits(&mut c, 0);
    assert_eq!(rep.reply(STEP), "ECHOED 2");
    assert_eq!(c.remaining_lines(STEP), vec!["hello\tworld", "0x00ff"]);
}

#[test]
fn cat_rep_with_a_pyzmq_req() {
    // Replies from stdin.
    let mut c = cat(&["REP", "--bind", "tcp://127.0.0.1:0", "--count", "1"]);
    let port = bound_port(&c);
    let mut req = Agent::spawn("req");
    req.ok("sock q REQ");
    req.ok(&format!("connect q {port}"));
    req.expect(&format!("send q {} -", hex(b"hi")), "SENT");
    // The request as a line (its empty second frame printed as nothing), then our reply.
    assert_eq!(c.line("", STEP), "hi\t");
    c.write("yo\t0x00\n");
    assert_eq!(req.recv("q"), format!("{} 00", hex(b"yo")));
    exits(&mut c, 0);

    // --echo: each request back unchanged, stdin not read.
    let mut c = cat(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "2",
    ]);
    let port = bound_port(&c);
    req.ok("sock q2 REQ");
    req.ok(&format!("connect q2 {port}"));
    for body in [&b"one"[..], b"\x01\x02"] {
        req.expect(&format!("send q2 {}", hex(body)), "SENT");
        assert_eq!(req.recv("q2"), hex(body));
    }
    exits(&mut c, 0);
    assert_eq!(c.remaining_lines(STEP), vec!["one", "0x0102"]);
}

#[test]
fn cat_dealer_with_a_pyzmq_router() {
    let mut router = Agent::spawn("router");
    router.ok("sock r ROUTER");
    let port = router.bind("r", 0);
    let mut c = cat(&[
        "dealer",
        "--connect",
        &ep(port),
        "--id",
        "d1",
        "--count",
        "1",
    ]);
    c.write("ask\tmore\n");
    // The ROUTER sees our --id in front of the frames.
    assert_eq!(
        router.recv("r"),
        format!("{} {} {}", hex(b"d1"), hex(b"ask"), hex(b"more"))
    );
    router.expect(&format!("send r {} {}", hex(b"d1"), hex(b"answer")), "SENT");
    assert_eq!(c.line("", STEP), "answer");
    exits(&mut c, 0);
}

#[test]
fn cat_router_with_pyzmq_dealers() {
    let mut c = cat(&["router", "--bind", "tcp://127.0.0.1:0"]);
    let port = bound_port(&c);
    let mut d = Agent::spawn("dealer");
    d.ok(&format!("sock w DEALER routing_id={}", hex(b"w1")));
    d.ok(&format!("connect w {port}"));
    d.expect(&format!("send w {}", hex(b"hi")), "SENT");
    // Received: the sender's routing id first.
    assert_eq!(c.line("", STEP), "w1\thi");
    // The first frame of a line names the peer; an unknown one is reported, not fatal.
    c.write("nobody\tlost\nw1\tback\n");
    assert_eq!(d.recv("w"), hex(b"back"));
    c.end_stdin();
    exits(&mut c, 0);
    assert!(
        c.stderr().contains("no peer with routing id"),
        "{}",
        c.stderr()
    );

    // --echo: back to the peer it came from.
    let mut c = cat(&[
        "router",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "2",
    ]);
    let port = bound_port(&c);
    d.ok(&format!("sock e1 DEALER routing_id={}", hex(b"e1")));
    d.ok(&format!("sock e2 DEALER routing_id={}", hex(b"e2")));
    d.ok(&format!("connect e1 {port}"));
    d.ok(&format!("connect e2 {port}"));
    d.expect(&format!("send e1 {}", hex(b"x")), "SENT");
    d.expect(&format!("send e2 {}", hex(b"y")), "SENT");
    assert_eq!(d.recv("e1"), hex(b"x"));
    assert_eq!(d.recv("e2"), hex(b"y"));
    exits(&mut c, 0);
}

#[test]
fn cat_pub_with_pyzmq_subs_filtering() {
    let mut c = cat(&["pub", "--bind", "tcp://127.0.0.1:0"]);
    let port = bound_port(&c);
    let mut subs: Vec<Agent> = [("sub-a", "a"), ("sub-b", "b")]
        .into_iter()
        .map(|(label, topic)| {
            let mut s = Agent::spawn(label);
            s.ok("sock s SUB");
            s.ok(&format!("subscribe s {}", hex(topic.as_bytes())));
            s.ok(&format!("connect s {port}"));
            s
        })
        .collect();
    settle();
    c.write("a1\nb1\na2\tpart\n");
    c.end_stdin();
    exits(&mut c, 0);
    assert_eq!(subs[0].recv("s"), hex(b"a1"));
    assert_eq!(
        subs[0].recv("s"),
        format!("{} {}", hex(b"a2"), hex(b"part"))
    );
    assert_eq!(subs[1].recv("s"), hex(b"b1"));
    subs[1].expect("recv s 300", "TIMEOUT");
}

#[test]
fn cat_sub_with_a_pyzmq_pub() {
    let mut publ = Agent::spawn("pub");
    publ.ok("sock p PUB");
    let port = publ.bind("p", 0);
    let mut c = cat(&[
        "sub",
        "--connect",
        &ep(port),
        "--subscribe",
        "a",
        "--count",
        "3",
    ]);
    // Publish until three have arrived (the subscription takes a moment to reach the PUB).
    for round in 0..100 {
        if !c.running() {
            break;
        }
        publ.expect(&format!("send p {}", hex(b"b")), "SENT");
        publ.expect(
            &format!("send p {}", hex(format!("a{round}").as_bytes())),
            "SENT",
        );
        thread::sleep(Duration::from_millis(50));
    }
    exits(&mut c, 0);
    let lines = c.remaining_lines(STEP);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| l.starts_with('a')), "{lines:?}");
}

#[test]
fn cat_push_splits_evenly_over_three_pyzmq_pulls() {
    let mut c = cat(&["push", "--bind", "tcp://127.0.0.1:0"]);
    let port = bound_port(&c);
    let mut pulls: Vec<Agent> = ["pull1", "pull2", "pull3"]
        .into_iter()
        .map(|label| {
            let mut a = Agent::spawn(label);
            a.ok("sock s PULL");
            a.ok(&format!("connect s {port}"));
            a
        })
        .collect();
    settle();
    let input: String = (0..30).map(|i| format!("{i}\n")).collect();
    c.write(&input);
    c.end_stdin();
    exits(&mut c, 0);
    let mut all = Vec::new();
    for p in &mut pulls {
        let got = p.count(10, 5000, &["s"]);
        assert_eq!(got["s"].len(), 10, "{got:?}");
        all.extend(got["s"].iter().copied());
    }
    all.sort_unstable();
    assert_eq!(all, (0..30).collect::<Vec<u64>>());
}

#[test]
fn cat_pull_from_two_pyzmq_pushes() {
    let mut c = cat(&["pull", "--bind", "tcp://127.0.0.1:0", "--count", "20"]);
    let port = bound_port(&c);
    let mut pushes: Vec<Agent> = ["push1", "push2"]
        .into_iter()
        .map(|label| {
            let mut a = Agent::spawn(label);
            a.ok("sock p PUSH");
            a.ok(&format!("connect p {port}"));
            a
        })
        .collect();
    for p in &mut pushes {
        assert_eq!(p.cmd("seq p 10"), "SENT 10");
    }
    exits(&mut c, 0);
    let mut lines = c.remaining_lines(STEP);
    lines.sort();
    let mut want: Vec<String> = (0..10).chain(0..10).map(|i| i.to_string()).collect();
    want.sort();
    assert_eq!(lines, want);
}

#[test]
fn cat_pair_with_a_pyzmq_pair() {
    let mut pair = Agent::spawn("pair");
    pair.ok("sock p PAIR");
    let port = pair.bind("p", 0);
    let mut c = cat(&["pair", "--connect", &ep(port), "--count", "1"]);
    c.write("ping\n");
    assert_eq!(pair.recv("p"), hex(b"ping"));
    pair.expect(&format!("send p {}", hex(b"pong")), "SENT");
    assert_eq!(c.line("", STEP), "pong");
    exits(&mut c, 0);
}

#[test]
fn cat_xpub_with_a_pyzmq_sub() {
    let mut c = cat(&["xpub", "--bind", "tcp://127.0.0.1:0"]);
    let port = bound_port(&c);
    let mut sub = Agent::spawn("sub");
    sub.ok("sock s SUB");
    sub.ok(&format!("subscribe s {}", hex(b"t")));
    sub.ok(&format!("connect s {port}"));
    // The subscription, 0x01 + "t", printed as hex (0x01 is a control character).
    assert_eq!(c.line("", STEP), "0x0174");
    c.write("t1\nu1\n");
    c.end_stdin();
    exits(&mut c, 0);
    assert_eq!(sub.recv("s"), hex(b"t1"));
    sub.expect("recv s 300", "TIMEOUT");
}

#[test]
fn cat_xsub_with_a_pyzmq_xpub() {
    let mut xpub = Agent::spawn("xpub");
    xpub.ok("sock x XPUB");
    let port = xpub.bind("x", 0);
    let mut c = cat(&[
        "xsub",
        "--connect",
        &ep(port),
        "--subscribe",
        "t",
        "--count",
        "1",
    ]);
    // --subscribe goes upstream as a subscription message.
    assert_eq!(xpub.recv("x"), hex(b"\x01t"));
    xpub.expect(&format!("send x {}", hex(b"u1")), "SENT");
    xpub.expect(&format!("send x {}", hex(b"t1")), "SENT");
    assert_eq!(c.line("", STEP), "t1");
    exits(&mut c, 0);
}

#[test]
fn cat_timeout_and_argument_errors() {
    // --count not reached within --timeout-ms: one line, exit 1.
    let mut c = cat(&[
        "pull",
        "--bind",
        "tcp://127.0.0.1:0",
        "--count",
        "1",
        "--timeout-ms",
        "200",
    ]);
    exits(&mut c, 1);
    assert!(c.stderr().contains("timed out"), "{}", c.stderr());

    for args in [
        &["bogus", "--bind", "tcp://127.0.0.1:0"][..],
        &["pub"],
        &["pub", "--bind", "tcp://nope"],
        &["pub", "--connect", "udp://127.0.0.1:1"],
        &["pub", "--bind", "tcp://127.0.0.1:0", "--echo"],
        &["pull", "--bind", "tcp://127.0.0.1:0", "--subscribe", "x"],
        &["dealer", "--connect", "tcp://127.0.0.1:1", "--id", ""],
    ] {
        let mut c = cat(args);
        exits(&mut c, 2);
        let err = c.stderr();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn cat_with_a_closed_stdout_ends_quietly() {
    // `zmtp-cat sub ... | head -3`: once the reader is gone, zmtp-cat ends, quietly.
    let mut publ = Agent::spawn("pub");
    publ.ok("sock p PUB");
    let port = publ.bind("p", 0);
    let mut child = Command::new(CAT)
        .args(["sub", "--connect", &ep(port)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zmtp-cat");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let reader = thread::spawn(move || {
        let mut lines = Vec::new();
        for _ in 0..3 {
            let mut l = String::new();
            if out.read_line(&mut l).unwrap_or(0) == 0 {
                break;
            }
            lines.push(l);
        }
        lines // `out` is dropped here: the pipe closes, as when head exits.
    });
    let deadline = Instant::now() + STEP;
    let mut status = None;
    while Instant::now() < deadline {
        publ.expect(&format!("send p {}", hex(b"m")), "SENT");
        if let Some(s) = child.try_wait().expect("try_wait") {
            status = Some(s);
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("zmtp-cat kept running with its stdout closed");
    };
    let lines = reader.join().expect("reader");
    assert_eq!(lines.len(), 3);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

#[test]
fn cat_plain_server_and_client_with_pyzmq() {
    // zmtp-cat as a PLAIN server with a users file: the right password is served, the wrong
    // one never reaches it.
    let users = std::env::temp_dir().join(format!("zmtp-cat-users-{}", std::process::id()));
    std::fs::write(&users, "# who may come in\nalice:pw1\n").unwrap();
    let mut c = cat(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "1",
        "--plain-server",
        "--plain-users",
        users.to_str().unwrap(),
    ]);
    let port = bound_port(&c);
    // The wrong password (peers.py's shut-out: libzmq's REQ may block a send after a failed
    // handshake, so an agent's blocking send would hang there).
    let bad = common::py_env(
        "py bad password",
        &["shut-out", &ep(port), "bad", "500", "req"],
        &[
            ("PEER_PLAIN_USER", "alice"),
            ("PEER_PLAIN_PASSWORD", "nope"),
        ],
    );
    let line = bad.line("nothing", STEP);
    assert!(line.starts_with("nothing sent="), "{line}");
    let mut a = Agent::spawn("plain-reqs");
    a.ok(&format!(
        "sock good REQ plain_username={} plain_password={}",
        hex(b"alice"),
        hex(b"pw1")
    ));
    a.ok(&format!("connect good {port}"));
    a.expect(&format!("send good {}", hex(b"hi")), "SENT");
    assert_eq!(a.recv("good"), hex(b"hi"));
    exits(&mut c, 0);
    assert_eq!(c.remaining_lines(STEP), vec!["hi"], "only the good request");
    let _ = std::fs::remove_file(&users);

    // zmtp-cat as a PLAIN client of a pyzmq server checked by zmq.auth.
    a.ok("auth_plain admin:secret");
    a.ok("sock r REP plain_server=1");
    let port = a.bind("r", 0);
    a.start("echo r 1");
    let mut c = cat(&[
        "req",
        "--connect",
        &ep(port),
        "--plain-user",
        "admin",
        "--plain-password",
        "secret",
    ]);
    c.write("ping\n");
    c.end_stdin();
    exits(&mut c, 0);
    assert_eq!(a.reply(STEP), "ECHOED 1");
    assert_eq!(c.remaining_lines(STEP), vec!["ping"]);
    // Flags that do not go together: one line, exit 2.
    let mut c = cat(&["req", "--connect", &ep(port), "--plain-password", "x"]);
    exits(&mut c, 2);
}

#[test]
fn cat_keygen_prints_a_curve_pair_libzmq_agrees_with() {
    let mut c = cat(&["keygen"]);
    exits(&mut c, 0);
    let lines = c.remaining_lines(STEP);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let public = lines[0].strip_prefix("public ").expect("public line");
    let secret = lines[1].strip_prefix("secret ").expect("secret line");
    assert_eq!((public.len(), secret.len()), (40, 40));
    // libzmq derives the same public key from the secret one.
    let out = Command::new(common::python())
        .args([
            "-c",
            "import sys, zmq; print(zmq.curve_public(sys.argv[1].encode()).decode())",
            secret,
        ])
        .output()
        .expect("python");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), public);
    // Two runs give two pairs.
    let mut c2 = cat(&["keygen"]);
    exits(&mut c2, 0);
    assert_ne!(c2.remaining_lines(STEP)[1], lines[1]);
}

// ---------------------------------------------------------------------------------------------
// CURVE (cli.md, "Security flags").

/// Key pairs whose secret and public keys both begin with "--" (found by search; the test
/// derives the public keys again): `--curve-secret-key --...` must parse as flag and value.
const HYPHEN_SERVER: (&str, &str) = (
    "--G&{7px{n%3NB$G01UEs>?*tRy?.bdaWOymNm$q",
    "--ygrK$)Uyi$z$lL2KUwU0Q]D]F^iu0+/mcP{7T}",
);
const HYPHEN_CLIENT: (&str, &str) = (
    "--ouxDPTUOIkT?t4aO^]KzUJ/h0$POkP%T&9/pta",
    "--hpca{AMI4?$lrgMGYazCSUVkFWMR:%M8jZ9k2?",
);

fn hyphen_pair((public, secret): (&str, &str)) -> KeyPair {
    let pair = KeyPair::from_secret_z85(secret).unwrap();
    assert_eq!(pair.public_z85(), public, "the test's key pair derives");
    pair
}

/// pyzmq socket options for a CURVE client of `server` with the pair `me`.
fn py_curve_client(server: &KeyPair, me: &KeyPair) -> String {
    format!(
        "curve_serverkey={} curve_secretkey={} curve_publickey={}",
        hex(&server.public),
        hex(&me.secret),
        hex(&me.public)
    )
}

/// Waits (bounded) for a WARN line on `p`'s stderr; returns it.
fn warn_line(p: &Proc) -> String {
    let deadline = Instant::now() + STEP;
    loop {
        let err = p.stderr();
        if let Some(l) = complete_lines(&err).find(|l| l.contains("WARN")) {
            return l.to_string();
        }
        assert!(Instant::now() < deadline, "{}: no WARN line: {err}", p.name);
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn cat_curve_server_with_pyzmq_clients() {
    // zmtp-cat as a CURVE server (no allow-list): a pyzmq client with its key is served; one
    // holding another server key never reaches it, nor does a NULL one.
    let server = KeyPair::generate();
    let mut c = cat(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "1",
        "--curve-secret-key",
        &server.secret_z85(),
    ]);
    let port = bound_port(&c);
    // (peers.py's shut-out: libzmq's REQ may block a send after a failed handshake.)
    let wrong = KeyPair::generate().public_z85();
    let shut_out = |id: &str, env: &[(&str, &str)]| {
        let p = common::py_env(
            format!("py {id}"),
            &["shut-out", &ep(port), id, "500", "req"],
            env,
        );
        let line = p.line("nothing", STEP);
        assert!(line.starts_with("nothing sent="), "{line}");
    };
    shut_out("wrong", &[("PEER_CURVE_SERVER_KEY", &wrong)]);
    shut_out("null", &[]);
    assert!(
        warn_line(&c).contains("127.0.0.1"),
        "logged with the address"
    );
    let mut a = Agent::spawn("curve-reqs");
    a.ok(&format!(
        "sock good REQ {}",
        py_curve_client(&server, &KeyPair::generate())
    ));
    a.ok(&format!("connect good {port}"));
    a.expect(&format!("send good {}", hex(b"hi")), "SENT");
    assert_eq!(a.recv("good"), hex(b"hi"));
    exits(&mut c, 0);
    assert_eq!(c.remaining_lines(STEP), vec!["hi"], "only the good request");
}

#[test]
fn cat_curve_client_with_a_pyzmq_server_and_zap() {
    // A pyzmq CURVE server whose ZAP handler lets in one client key: zmtp-cat with that key
    // pair (from a key file in keygen's format) is served, so the key given is the key used.
    let server = KeyPair::generate();
    let me = KeyPair::generate();
    let mut a = Agent::spawn("curve-rep");
    a.ok(&format!("auth_curve {}", hex(&me.public)));
    a.ok(&format!(
        "sock r REP curve_server=1 curve_secretkey={} curve_publickey={}",
        hex(&server.secret),
        hex(&server.public)
    ));
    let port = a.bind("r", 0);
    a.start("echo r 1");
    let key_file = TempFile::new(
        "client.key",
        &format!("public {}\nsecret {}\n", me.public_z85(), me.secret_z85()),
    );
    let mut c = cat(&[
        "req",
        "--connect",
        &ep(port),
        "--curve-server-key",
        &server.public_z85(),
        "--curve-secret-key-file",
        key_file.path(),
    ]);
    c.write("ping\n");
    c.end_stdin();
    exits(&mut c, 0);
    assert_eq!(a.reply(STEP), "ECHOED 1");
    assert_eq!(c.remaining_lines(STEP), vec!["ping"]);

    // Without a key pair of its own, zmtp-cat makes a fresh one: not on the list, no reply.
    let mut c = cat(&[
        "req",
        "--connect",
        &ep(port),
        "--curve-server-key",
        &server.public_z85(),
        "--count",
        "1",
        "--timeout-ms",
        "1000",
    ]);
    c.write("sneak\n");
    exits(&mut c, 1);
    assert_eq!(c.remaining_lines(STEP), Vec::<String>::new());
    a.expect("recv r 200", "TIMEOUT");
}

#[test]
fn cat_curve_server_and_client_keys_beginning_with_hyphens() {
    let server = hyphen_pair(HYPHEN_SERVER);
    let client = hyphen_pair(HYPHEN_CLIENT);
    // The server reads its key from a file (whitespace around it); only `client` may come in.
    let key_file = TempFile::new("server.key", &format!("\n  {}  \n", server.secret_z85()));
    let allowed = TempFile::new(
        "clients",
        &format!("# the one client\n{}\n", client.public_z85()),
    );
    let mut srv = cat(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "1",
        "--curve-secret-key-file",
        key_file.path(),
        "--curve-clients",
        allowed.path(),
    ]);
    let port = bound_port(&srv);

    // A client holding another server key gets nothing; the server shows nothing.
    let mut wrong = cat(&[
        "req",
        "--connect",
        &ep(port),
        "--curve-server-key",
        &KeyPair::generate().public_z85(),
        "--count",
        "1",
        "--timeout-ms",
        "1000",
    ]);
    wrong.write("sneak\n");
    exits(&mut wrong, 1);
    // The right server key but a key pair not on the list: refused too.
    let mut unlisted = cat(&[
        "req",
        "--connect",
        &ep(port),
        "--curve-server-key",
        &server.public_z85(),
        "--count",
        "1",
        "--timeout-ms",
        "1000",
    ]);
    unlisted.write("sneak\n");
    exits(&mut unlisted, 1);
    assert!(
        warn_line(&srv).contains("127.0.0.1"),
        "logged with the address"
    );

    // Keys beginning with "--", each given as two arguments.
    let mut good = cat(&[
        "req",
        "--connect",
        &ep(port),
        "--curve-server-key",
        HYPHEN_SERVER.0,
        "--curve-secret-key",
        HYPHEN_CLIENT.1,
    ]);
    good.write("hello\tworld\n");
    good.end_stdin();
    exits(&mut good, 0);
    assert_eq!(good.remaining_lines(STEP), vec!["hello\tworld"]);
    exits(&mut srv, 0);
    assert_eq!(
        srv.remaining_lines(STEP),
        vec!["hello\tworld"],
        "only the good one"
    );

    // And as the server's own key on the command line.
    let mut srv = cat(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "1",
        "--curve-secret-key",
        HYPHEN_SERVER.1,
    ]);
    let port = bound_port(&srv);
    let mut c = cat(&[
        "req",
        "--connect",
        &ep(port),
        "--curve-server-key",
        HYPHEN_SERVER.0,
    ]);
    c.write("again\n");
    c.end_stdin();
    exits(&mut c, 0);
    exits(&mut srv, 0);
    assert_eq!(srv.remaining_lines(STEP), vec!["again"]);
}

#[test]
fn cat_security_argument_errors_are_one_line_and_exit_2() {
    let pair = KeyPair::generate();
    let (public, secret) = (pair.public_z85(), pair.secret_z85());
    let bad_char = format!("{}~", &secret[..39]);
    let garbage = TempFile::new("garbage.key", "not a key at all\n");
    let users = TempFile::new("users", "alice:pw\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--curve-secret-key", "abc"], "--curve-secret-key"),
        (vec!["--curve-secret-key", &bad_char], "--curve-secret-key"),
        (
            vec!["--curve-server-key", &public[..39]],
            "--curve-server-key",
        ),
        (vec!["--curve-server-key", &bad_char], "--curve-server-key"),
        (
            vec!["--curve-secret-key-file", garbage.path()],
            "--curve-secret-key-file",
        ),
        (
            vec!["--curve-secret-key-file", "/nonexistent/zmtp.key"],
            "--curve-secret-key-file",
        ),
        (
            vec![
                "--curve-secret-key",
                &secret,
                "--curve-secret-key-file",
                garbage.path(),
            ],
            "--curve-secret-key",
        ),
        (
            vec!["--curve-secret-key", &secret, "--plain-server"],
            "--plain-server",
        ),
        (
            vec!["--curve-server-key", &public, "--plain-user", "u"],
            "--plain-user",
        ),
        (
            vec!["--curve-server-key", &public, "--plain-server"],
            "--plain-server",
        ),
        (vec!["--curve-clients", users.path()], "--curve-clients"),
        (
            vec![
                "--curve-secret-key",
                &secret,
                "--curve-clients",
                users.path(),
            ],
            "--curve-clients",
        ),
        (vec!["--plain-users", users.path()], "--plain-users"),
    ];
    for (flags, names) in cases {
        let mut args = vec!["rep", "--bind", "tcp://127.0.0.1:0"];
        args.extend(flags);
        let mut c = cat(&args);
        exits(&mut c, 2);
        let err = c.stderr();
        assert_eq!(err.lines().count(), 1, "{}: {err}", c.name);
        assert!(err.contains(names), "{}: {err}", c.name);
        assert!(!err.contains(&secret[..39]), "never the secret: {err}");
        assert_eq!(c.remaining_lines(STEP), Vec::<String>::new());
    }
}
