#!/usr/bin/env python3
"""The libzmq side of zmtp/tests/interop_core.rs (pyzmq, real libzmq).

Usage: peer.py MODE [PORT]
  dealer-connect PORT      DEALER (routing id "py-dealer") connects to PORT, sends MESSAGES,
                           expects each back as [b"reply", *message].
  router-bind              ROUTER binds an ephemeral port (printed as "PORT n"), expects
                           MESSAGES from "rust-dealer", replies [id, b"reply", *message], then
                           waits for [b"done"].
  router-heartbeat         ROUTER with HEARTBEAT_IVL=100 ms, HEARTBEAT_TIMEOUT=300 ms; expects
                           [b"still-alive"] no sooner than 1.4 s after the handshake with no
                           disconnect in between, replies [b"ok"], waits for [b"done"].
  router-heartbeat-silent  Same ROUTER; expects the (silent) peer to be dropped by the
                           heartbeat timeout.

Exits 0 when every check passed; otherwise prints why on stderr and exits non-zero. Every wait
is bounded (RCVTIMEO/SNDTIMEO, poll timeouts, and a global alarm).
"""

import signal
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 10_000

# Must match messages() in interop_core.rs.
MESSAGES = [
    [b"hello"],
    [b"multi", b"part", b"message"],
    [b""],
    [b"a", b"", b"c"],
    [bytes(i % 256 for i in range(300))],
    [b"x" * 255, b"y" * 256],
    [bytes((i * 7) % 251 for i in range(100_000))],
    [b"f%d" % i for i in range(50)],
]


def fail(why):
    print(f"peer.py: FAIL: {why}", file=sys.stderr, flush=True)
    sys.exit(1)


def show(frames):
    return [f if len(f) <= 32 else f"<{len(f)} bytes>" for f in frames]


def check_eq(what, got, want):
    if got != want:
        fail(f"{what}: got {show(got)}, want {show(want)}")


def new_socket(ctx, kind):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    s.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    return s


def bind(s):
    s.bind("tcp://127.0.0.1:0")
    port = s.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1]
    print(f"PORT {port}", flush=True)


def recv(s, what):
    try:
        return s.recv_multipart()
    except zmq.Again:
        fail(f"timed out waiting for {what}")


def dealer_connect(ctx, port):
    s = new_socket(ctx, zmq.DEALER)
    s.setsockopt(zmq.ROUTING_ID, b"py-dealer")
    s.connect(f"tcp://127.0.0.1:{port}")
    for m in MESSAGES:
        s.send_multipart(m)
    for i, m in enumerate(MESSAGES):
        check_eq(f"reply {i}", recv(s, f"reply {i}"), [b"reply"] + m)


def router_bind(ctx):
    s = new_socket(ctx, zmq.ROUTER)
    bind(s)
    for i, m in enumerate(MESSAGES):
        got = recv(s, f"message {i}")
        check_eq(f"message {i}", got, [b"rust-dealer"] + m)
        s.send_multipart([got[0], b"reply"] + m)
    check_eq("last message", recv(s, "done"), [b"rust-dealer", b"done"])


class Monitor:
    """Collects the ROUTER's socket events without blocking."""

    def __init__(self, s):
        self.mon = s.get_monitor_socket()
        self.events = []  # (monotonic time, event)

    def drain(self, timeout_ms=0):
        while self.mon.poll(timeout_ms):
            ev = recv_monitor_message(self.mon)
            self.events.append((time.monotonic(), ev["event"]))
            timeout_ms = 0

    def first(self, event):
        return next((t for t, e in self.events if e == event), None)

    def count(self, event):
        return sum(1 for _, e in self.events if e == event)


def heartbeat_router(ctx):
    s = new_socket(ctx, zmq.ROUTER)
    s.setsockopt(zmq.HEARTBEAT_IVL, 100)
    s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 300)
    return s, Monitor(s)


def router_heartbeat(ctx):
    s, mon = heartbeat_router(ctx)
    bind(s)
    # Drain the monitor while waiting, so event times are when they happened.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not s.poll(0):
        if time.monotonic() > deadline:
            fail(f"timed out waiting for still-alive: events {mon.events}")
        mon.drain(10)
    got = recv(s, "still-alive")
    arrived = time.monotonic()
    check_eq("message", got[1:], [b"still-alive"])
    mon.drain(100)
    up = mon.first(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    if up is None:
        fail(f"no handshake event: {mon.events}")
    if mon.count(zmq.EVENT_HANDSHAKE_SUCCEEDED) != 1 or mon.count(zmq.EVENT_DISCONNECTED) != 0:
        fail(f"connection did not stay up: events {mon.events}")
    if arrived - up < 1.4:
        fail(f"message came {arrived - up:.2f} s after the handshake, expected >= 1.4 s")
    s.send_multipart([got[0], b"ok"])
    check_eq("last message", recv(s, "done")[1:], [b"done"])
    mon.drain(0)
    if mon.count(zmq.EVENT_DISCONNECTED) != 0:
        fail(f"disconnected: events {mon.events}")
    print(f"up for {time.monotonic() - up:.2f} s without a heartbeat timeout", file=sys.stderr)


def router_heartbeat_silent(ctx):
    s, mon = heartbeat_router(ctx)
    bind(s)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while mon.first(zmq.EVENT_DISCONNECTED) is None:
        if time.monotonic() > deadline:
            fail(f"silent peer never dropped: events {mon.events}")
        mon.drain(100)
    up = mon.first(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    if up is None:
        fail(f"no handshake before the disconnect: events {mon.events}")
    down = mon.first(zmq.EVENT_DISCONNECTED)
    print(f"silent peer dropped {down - up:.2f} s after the handshake", file=sys.stderr)


def main():
    signal.alarm(30)  # hard bound, whatever happens
    mode = sys.argv[1]
    ctx = zmq.Context()
    try:
        if mode == "dealer-connect":
            dealer_connect(ctx, int(sys.argv[2]))
        elif mode == "router-bind":
            router_bind(ctx)
        elif mode == "router-heartbeat":
            router_heartbeat(ctx)
        elif mode == "router-heartbeat-silent":
            router_heartbeat_silent(ctx)
        else:
            fail(f"unknown mode {mode}")
    finally:
        ctx.destroy(linger=0)
    print(f"peer.py {mode}: ok", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
