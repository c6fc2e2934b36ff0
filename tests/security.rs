//! The security flags of `broker`, `worker` and `client` (cli.md, "Security flags"), end to
//! end: the broker's CURVE frontend and backend with its spawned workers, pyzmq (libzmq 4.3.5)
//! CURVE clients (`tests/py/peers.py` with `PEER_CURVE_*` in its environment) and our own
//! client and worker binaries; the allow-lists of each side; the spawned workers' private key
//! file; PLAIN on the broker; argument errors.
//!
//! Every process is killed by PID when its guard drops, every wait is bounded, every endpoint
//! is on an ephemeral port. zmtp-cat's CURVE flags are tested in tests/cat.rs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use zmtp::curve::KeyPair;

/// Key pairs whose secret and public keys both begin with "--" (found by search; derived
/// again below): given as two arguments, `--curve-server-key --G&...` must parse.
const HYPHEN_SERVER: (&str, &str) = (
    "--G&{7px{n%3NB$G01UEs>?*tRy?.bdaWOymNm$q",
    "--ygrK$)Uyi$z$lL2KUwU0Q]D]F^iu0+/mcP{7T}",
);
const HYPHEN_WORKER: (&str, &str) = (
    "--q]4Hrpb0R>00iOooQ^euClpM*-P^k5EVhCOtxY",
    "--%TnKaTP!n^gO$-ZvL<[1E9#lzLTjac1Ojnz%dn",
);

fn hyphen_pair((public, secret): (&str, &str)) -> KeyPair {
    let pair = KeyPair::from_secret_z85(secret).unwrap();
    assert_eq!(pair.public_z85(), public, "the test's key pair derives");
    pair
}

/// A peers.py mode as a CURVE client of `server_key` (own pair `secret`, else a fresh one),
/// or as a NULL client when `server_key` is `None`.
fn py_curve(name: &str, args: &[&str], server_key: Option<&str>, secret: Option<&str>) -> Proc {
    let mut env = Vec::new();
    if let Some(k) = server_key {
        env.push(("PEER_CURVE_SERVER_KEY", k));
    }
    if let Some(k) = secret {
        env.push(("PEER_CURVE_SECRET_KEY", k));
    }
    py_env(name, args, &env)
}

/// Waits (bounded) for a stderr line of `p` holding every one of `needles`; returns it.
fn stderr_line(p: &Proc, needles: &[&str]) -> String {
    let deadline = Instant::now() + STEP;
    loop {
        let err = p.stderr();
        // Whole lines only: a log line may reach the pipe in several writes.
        let mut whole = err
            .split_inclusive('\n')
            .filter_map(|l| l.strip_suffix('\n'));
        if let Some(l) = whole.find(|l| needles.iter().all(|n| l.contains(n))) {
            return l.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "{}: no stderr line with {needles:?}:\n{err}",
            p.name
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Stdout lines of `p`, taken until `want` of them contain `needle` (bounded), then 300 ms
/// more (a stray line would show).
fn lines_until(p: &Proc, needle: &str, want: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let deadline = Instant::now() + STEP;
    while lines
        .iter()
        .filter(|l: &&String| l.contains(needle))
        .count()
        < want
        && Instant::now() < deadline
    {
        lines.extend(p.lines_so_far());
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(300));
    lines.extend(p.lines_so_far());
    lines
}

/// Stdout lines of `p` so far that contain `needle`.
fn lines_with(p: &Proc, needle: &str) -> Vec<String> {
    p.lines_so_far()
        .into_iter()
        .filter(|l| l.contains(needle))
        .collect()
}

/// The value after `flag` in a command line (as `proc_cmdline` gives it: space-separated).
fn flag_value<'a>(cmdline: &'a str, flag: &str) -> Option<&'a str> {
    let mut words = cmdline.split(' ');
    words.find(|w| *w == flag)?;
    words.next()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn broker_curve_serves_pyzmq_and_our_clients_through_spawned_workers() {
    // The original demo, encrypted: a CURVE broker, 2 spawned workers, pyzmq CURVE DEALER
    // clients (3-frame requests, fresh key pairs) and our client.
    let server = KeyPair::generate();
    let (mut broker, front, _back) =
        ephemeral_broker(2, &["--curve-secret-key", &server.secret_z85()]);
    let kids = broker_workers(&broker, 2);
    for (_, cmdline) in &kids.0 {
        assert!(
            cmdline.contains(&format!("--curve-server-key={}", server.public_z85())),
            "spawned with the broker's public key: {cmdline}"
        );
        assert!(!cmdline.contains(&server.secret_z85()), "{cmdline}");
    }
    let pk = server.public_z85();
    let clients: Vec<Proc> = ["alpha", "bravo"]
        .iter()
        .map(|id| {
            py_curve(
                &format!("py CURVE client {id}"),
                &["dealer-client", &front, id, "100", "10"],
                Some(&pk),
                None,
            )
        })
        .collect();
    for c in &clients {
        assert_eq!(c.line("ok", STEP), "ok 100");
    }
    let mut ours = our_client(
        "ours",
        &front,
        &[
            "--requests",
            "20",
            "--window",
            "5",
            "--curve-server-key",
            &pk,
        ],
    );
    assert_client_ok(&mut ours);
    let got = ours.remaining_lines(STEP);
    assert_eq!(
        got.iter()
            .filter(|l| l.starts_with("ours received: request #"))
            .count(),
        20
    );

    // A NULL client, one holding another server key, and our client without the flag: nothing.
    let null = py_curve("py NULL", &["shut-out", &front, "null", "1000"], None, None);
    let other = KeyPair::generate().public_z85();
    let wrong = py_curve(
        "py wrong key",
        &["shut-out", &front, "wrong", "1000"],
        Some(&other),
        None,
    );
    for p in [&null, &wrong] {
        // Whether libzmq took the request (sent=1) or not in the moment its pipe was down
        // after the failed handshake (sent=0, under load), nothing came back.
        let line = p.line("nothing", STEP);
        assert!(line.starts_with("nothing sent="), "{line}");
    }
    let mut plain = our_client(
        "plain",
        &front,
        &["--requests", "1", "--timeout-ms", "1000"],
    );
    assert_eq!(plain.wait(STEP).code(), Some(1));
    stderr_line(&broker, &["WARN", "tcp://127.0.0.1:"]);

    // Every request the workers saw came from a CURVE client that belongs.
    let lines = lines_until(&broker, " received ", 220);
    let served: Vec<&String> = lines.iter().filter(|l| l.contains(" received ")).collect();
    assert_eq!(served.len(), 220);
    let strays: Vec<&&String> = served
        .iter()
        .filter(|l| {
            [" from null", " from wrong", " from plain"]
                .iter()
                .any(|s| l.ends_with(s))
        })
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
    broker.signal("TERM");
    assert!(broker.wait(STEP).success());
}

#[test]
fn broker_curve_clients_allow_list_shuts_out_the_unlisted_with_a_warn_line() {
    let server = KeyPair::generate();
    let listed = KeyPair::generate();
    let clients = TempFile::new(
        "clients",
        &format!(
            "# who may come in\n{}  listed client\n",
            listed.public_z85()
        ),
    );
    let (broker, front, _back) = ephemeral_broker(
        1,
        &[
            "--curve-secret-key",
            &server.secret_z85(),
            "--curve-clients",
            clients.path(),
        ],
    );
    let _kids = broker_workers(&broker, 1);
    let pk = server.public_z85();
    let ok = py_curve(
        "py listed",
        &["dealer-client", &front, "listed", "50", "5"],
        Some(&pk),
        Some(&listed.secret_z85()),
    );
    assert_eq!(ok.line("ok", STEP), "ok 50");

    // Not on the list: libzmq is told "400" (an authentication failure), gets no reply, and the
    // broker logs a WARN line with its address (its source port chosen here).
    let src = free_port();
    let via = format!("tcp://127.0.0.1:{src};127.0.0.1:{}", port_of(&front));
    let out = py_curve(
        "py unlisted",
        &["shut-out", &via, "unlisted", "1000"],
        Some(&pk),
        None,
    );
    let nothing = out.line("nothing", STEP);
    assert!(nothing.starts_with("nothing sent="), "{nothing}");
    assert!(nothing.contains("HANDSHAKE_FAILED_AUTH"), "{nothing}");
    let warn = stderr_line(&broker, &["WARN", &format!("tcp://127.0.0.1:{src}")]);
    assert!(warn.contains("refused"), "{warn}");

    // Our client: with the listed pair (from a keygen-style file) served, with a fresh one not.
    let key_file = TempFile::new(
        "listed.key",
        &format!(
            "public {}\nsecret {}\n",
            listed.public_z85(),
            listed.secret_z85()
        ),
    );
    let mut c = our_client(
        "ours",
        &front,
        &[
            "--requests",
            "10",
            "--quiet",
            "--curve-server-key",
            &pk,
            "--curve-secret-key-file",
            key_file.path(),
        ],
    );
    assert_client_ok(&mut c);
    let mut c = our_client(
        "fresh",
        &front,
        &[
            "--requests",
            "1",
            "--timeout-ms",
            "1000",
            "--curve-server-key",
            &pk,
        ],
    );
    assert_eq!(c.wait(STEP).code(), Some(1));
    let lines = lines_until(&broker, " received ", 60);
    let served: Vec<&String> = lines.iter().filter(|l| l.contains(" received ")).collect();
    assert_eq!(served.len(), 60, "{served:?}");
    assert!(
        served
            .iter()
            .all(|l| l.ends_with(" from listed") || l.ends_with(" from ours")),
        "{served:?}"
    );
}

#[test]
fn broker_curve_workers_allow_list_gives_an_unlisted_worker_nothing() {
    // Our worker and client binaries with keys beginning with "--", as two arguments each.
    let server = hyphen_pair(HYPHEN_SERVER);
    let trusted = hyphen_pair(HYPHEN_WORKER);
    let key_file = TempFile::new("server.key", &format!("{}\n", server.secret_z85()));
    let workers = TempFile::new("workers", &format!("{}\n", trusted.public_z85()));
    let (broker, front, back) = ephemeral_broker(
        0,
        &[
            "--curve-secret-key-file",
            key_file.path(),
            "--curve-workers",
            workers.path(),
        ],
    );
    let intruder = Proc::spawn(
        "worker intruder",
        Command::new(WORKER).args([
            "--connect",
            &back,
            "--id",
            "intruder",
            "--curve-server-key",
            HYPHEN_SERVER.0,
        ]),
    );
    let warn = stderr_line(&broker, &["WARN", "refused"]);
    assert!(warn.contains("tcp://127.0.0.1:"), "{warn}");
    let trusted_worker = Proc::spawn(
        "worker trusted",
        Command::new(WORKER).args([
            "--connect",
            &back,
            "--id",
            "trusted",
            "--curve-server-key",
            HYPHEN_SERVER.0,
            "--curve-secret-key",
            HYPHEN_WORKER.1,
        ]),
    );
    let mut c = our_client(
        "c1",
        &front,
        &["--requests", "20", "--curve-server-key", HYPHEN_SERVER.0],
    );
    assert_client_ok(&mut c);
    let lines = lines_until(&trusted_worker, "trusted received ", 20);
    assert_eq!(
        lines.iter().filter(|l| l.contains(" received ")).count(),
        20
    );
    assert_eq!(lines_with(&intruder, "received"), Vec::<String>::new());
}

#[test]
fn broker_spawned_workers_read_their_key_from_a_private_file_removed_at_exit() {
    let server = KeyPair::generate();
    // The list names someone else: the spawned workers get in with a pair made for them.
    let workers = TempFile::new(
        "workers-other",
        &format!("{}\n", KeyPair::generate().public_z85()),
    );
    let (mut broker, front, _back) = ephemeral_broker(
        2,
        &[
            "--curve-secret-key",
            &server.secret_z85(),
            "--curve-workers",
            workers.path(),
        ],
    );
    let kids = broker_workers(&broker, 2);
    let mut files = Vec::new();
    for (_, cmdline) in &kids.0 {
        let file = PathBuf::from(
            flag_value(cmdline, "--curve-secret-key-file")
                .unwrap_or_else(|| panic!("no key file: {cmdline}")),
        );
        let secret = std::fs::read_to_string(&file).unwrap();
        assert_eq!(secret.trim().len(), 40);
        assert!(
            !cmdline.contains(secret.trim()),
            "secret on the command line"
        );
        assert!(!cmdline.contains("--curve-secret-key "), "{cmdline}");
        assert_eq!(mode(&file), 0o600, "{}", file.display());
        assert_eq!(mode(file.parent().unwrap()), 0o700);
        files.push(file);
    }
    let c = py_curve(
        "py client",
        &["dealer-client", &front, "c1", "50", "5"],
        Some(&server.public_z85()),
        None,
    );
    assert_eq!(c.line("ok", STEP), "ok 50");
    let lines = lines_until(&broker, " received ", 50);
    assert_eq!(
        lines.iter().filter(|l| l.contains(" received ")).count(),
        50
    );

    broker.signal("TERM");
    assert!(broker.wait(STEP).success());
    assert!(wait_gone(&kids, STEP).is_ok());
    for f in &files {
        assert!(!f.parent().unwrap().exists(), "{} left behind", f.display());
    }
}

#[test]
fn broker_plain_server_with_a_users_file() {
    let users = TempFile::new("users", "# users\nalice:pw1\n");
    let (mut broker, front, _back) =
        ephemeral_broker(1, &["--plain-server", "--plain-users", users.path()]);
    let kids = broker_workers(&broker, 1);
    let cmdline = &kids.0[0].1;
    assert!(flag_value(cmdline, "--plain-user").is_some(), "{cmdline}");
    let password_file = PathBuf::from(
        flag_value(cmdline, "--plain-password-file")
            .unwrap_or_else(|| panic!("no password file: {cmdline}")),
    );
    let mut ok = our_client(
        "alice",
        &front,
        &[
            "--requests",
            "5",
            "--plain-user",
            "alice",
            "--plain-password",
            "pw1",
        ],
    );
    assert_client_ok(&mut ok);
    for extra in [
        &["--plain-user", "alice", "--plain-password", "nope"][..],
        &[],
    ] {
        let mut args = vec!["--requests", "1", "--timeout-ms", "1000"];
        args.extend_from_slice(extra);
        let mut c = our_client("mallory", &front, &args);
        assert_eq!(c.wait(STEP).code(), Some(1));
    }
    let lines = lines_until(&broker, " received ", 5);
    let served: Vec<&String> = lines.iter().filter(|l| l.contains(" received ")).collect();
    assert_eq!(served.len(), 5, "only alice's: {served:?}");
    assert!(
        served.iter().all(|l| l.ends_with(" from alice")),
        "{served:?}"
    );

    // Stopped as a user stops it, the broker removes the workers' password file and its
    // directory (a test that killed it left them in the temp directory).
    broker.signal("TERM");
    assert!(broker.wait(STEP).success());
    assert!(wait_gone(&kids, STEP).is_ok());
    let dir = password_file.parent().unwrap();
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn security_argument_errors_are_one_line_and_exit_2() {
    let pair = KeyPair::generate();
    let (public, secret) = (pair.public_z85(), pair.secret_z85());
    let bad_keys = TempFile::new("bad-keys", "# keys\nnot-a-key\n");
    let bad_char = format!("{}\"", &public[..39]);
    let eps = [
        "--frontend",
        "tcp://127.0.0.1:0",
        "--backend",
        "tcp://127.0.0.1:0",
        "--workers",
        "0",
    ];
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            BROKER,
            vec!["--curve-secret-key", &public[..30]],
            "--curve-secret-key",
        ),
        (
            BROKER,
            vec!["--curve-secret-key-file", bad_keys.path()],
            "--curve-secret-key-file",
        ),
        (
            BROKER,
            vec![
                "--curve-secret-key",
                &secret,
                "--curve-clients",
                bad_keys.path(),
            ],
            "--curve-clients",
        ),
        (
            BROKER,
            vec![
                "--curve-secret-key",
                &secret,
                "--curve-workers",
                bad_keys.path(),
            ],
            "--curve-workers",
        ),
        (
            BROKER,
            vec!["--curve-workers", bad_keys.path()],
            "--curve-workers",
        ),
        (
            BROKER,
            vec!["--curve-secret-key", &secret, "--plain-server"],
            "--plain-server",
        ),
        (
            BROKER,
            vec!["--curve-server-key", &public],
            "--curve-server-key",
        ),
        (
            WORKER,
            vec!["--curve-server-key", "short"],
            "--curve-server-key",
        ),
        (
            WORKER,
            vec!["--curve-secret-key", &secret],
            "--curve-server-key",
        ),
        (
            WORKER,
            vec!["--curve-server-key", &public, "--plain-user", "u"],
            "--plain-user",
        ),
        (
            CLIENT,
            vec!["--curve-server-key", &bad_char],
            "--curve-server-key",
        ),
        (
            CLIENT,
            vec!["--curve-server-key", &public, "--curve-secret-key", "x"],
            "--curve-secret-key",
        ),
        (CLIENT, vec!["--plain-password", "pw"], "--plain-user"),
    ];
    for (bin, flags, names) in cases {
        let mut cmd = Command::new(bin);
        if bin == BROKER {
            cmd.args(eps);
        } else {
            cmd.args(["--connect", "tcp://127.0.0.1:1"]);
        }
        cmd.args(&flags);
        let mut p = Proc::spawn(format!("{bin} {}", flags.join(" ")), &mut cmd);
        let st = p.wait(STEP);
        let err = p.stderr();
        assert_eq!(st.code(), Some(2), "{}: {err}", p.name);
        assert_eq!(err.lines().count(), 1, "{}: {err}", p.name);
        assert!(err.contains(names), "{}: {err}", p.name);
        assert!(!err.contains("panicked"), "{}: {err}", p.name);
        assert!(!err.contains(&secret[..39]), "never the secret: {err}");
    }
}
