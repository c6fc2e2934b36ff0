//! A peer that resets its connection while we write must not kill the process with SIGPIPE,
//! even where SIGPIPE has its default action: Rust binaries ignore it, but a C program
//! embedding us, or a host that restored the default, does not.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use zmtp::{Message, Router};

#[path = "common/raw.rs"]
mod raw;
use raw::{raw_greeting, raw_ready};

const CHILD_ENV: &str = "ZMTP_SIGPIPE_CHILD";
const NAME: &str = "peer_reset_during_writes_does_not_raise_sigpipe";

#[test]
fn peer_reset_during_writes_does_not_raise_sigpipe() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    // The scenario runs in a child process of this test binary, with SIGPIPE at its default.
    let mut c = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = c.kill();
            panic!("child still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = c.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        None,
        "the child was killed by signal {:?} (13 = SIGPIPE); stderr:\n{stderr}",
        out.status.signal()
    );
    assert!(out.status.success(), "child failed: {stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("closed after the reset"),
        "child did not run the scenario"
    );
}

fn child() {
    // SAFETY: `signal` only sets this process's disposition for SIGPIPE back to the default
    // (terminate). It is called before any socket exists, and nothing else in this process
    // installs a SIGPIPE handler that could race with it.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
    // The socket's tasks run on the worker thread while this thread does blocking raw I/O.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let router = Router::new();
        let ep = router.bind("tcp://127.0.0.1:0").unwrap();
        let addr = ep.to_string().trim_start_matches("tcp://").to_string();
        let mut raw = TcpStream::connect(&addr).unwrap();
        raw.write_all(&[raw_greeting(1), raw_ready(b"peer")].concat())
            .unwrap();
        let mut greeting = [0u8; 64];
        raw.read_exact(&mut greeting).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !router.has_peer(&zmtp::RoutingId(bytes::Bytes::from_static(b"peer"))) {
            assert!(Instant::now() < deadline, "no handshake");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Replies pile up unread (the kernel buffers fill), then the socket closes: its
        // connection lingers to flush them and no longer reads. The peer half-closes (we
        // enter CLOSE_WAIT), then closes with unread data, which sends a reset: the kernel
        // reports EPIPE to our next write, with SIGPIPE unless the send says MSG_NOSIGNAL.
        let body = bytes::Bytes::from(vec![7u8; 64 * 1024]);
        for _ in 0..100 {
            let _ = router.try_send(Message::from_frames([
                bytes::Bytes::from_static(b"peer"),
                body.clone(),
            ]));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let closing = tokio::spawn(router.close());
        tokio::time::sleep(Duration::from_millis(100)).await;
        raw.shutdown(std::net::Shutdown::Write).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(raw);
        tokio::time::timeout(Duration::from_secs(20), closing)
            .await
            .expect("close did not finish after the reset")
            .unwrap();
        println!("closed after the reset");
    });
}
