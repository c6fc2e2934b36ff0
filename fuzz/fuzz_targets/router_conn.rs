//! cargo-fuzz target `router_conn`: the body is [`router_conn::router_conn`], shared with the
//! corpus replay test (zmtp/tests/fuzz_replay_router.rs).
#![no_main]

#[path = "../src/router_conn.rs"]
mod router_conn;

libfuzzer_sys::fuzz_target!(
    init: {
        // libFuzzer's C main runs no Rust runtime setup, so SIGPIPE keeps its default action
        // (kill). The router writes with writev, which has no MSG_NOSIGNAL: a peer that reset
        // the connection would kill the fuzzer. Rust binaries (the broker) ignore SIGPIPE.
        // SAFETY: setting a signal disposition to SIG_IGN, before any other thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        router_conn::harness();
    },
    |data: &[u8]| router_conn::router_conn(data)
);
