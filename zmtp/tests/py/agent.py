#!/usr/bin/env python3
"""A scriptable pyzmq (libzmq) peer for zmtp/tests/interop_sockets.rs.

Usage: agent.py LABEL
Prints "READY" once pyzmq is loaded, then reads one command per line on stdin and answers each
with exactly one line on stdout ("ERR why" on failure). Exits on "quit", on stdin EOF, or after
a global alarm, so an orphaned agent never outlives its test.

Frame tokens (commands that send):
  -            an empty frame
  HEX          the bytes, hex encoded
  @LEN:SEED    LEN pseudo-random bytes from random.Random(SEED)
  *N:TOKEN     N copies of TOKEN's frame
Frame descriptors (what receive commands print, and SENT echoes): "-" for an empty frame, hex
for up to 64 bytes, "#LEN:CRC32" (8 hex digits, zlib's CRC-32) for longer ones.

Commands:
  sock NAME TYPE [OPT=VAL...]  new socket; OPT is a zmq option name (routing_id, username,
                               password and the curve_*key options take hex, the rest
                               integers). LINGER=0, RCVTIMEO/SNDTIMEO=10 s unless set.
  bind NAME PORT               bind tcp://127.0.0.1:PORT (0: ephemeral) -> "PORT n"
  connect NAME PORT            -> "OK"
  auth_plain USER:PASS...       start a ZAP handler (zmq.auth) accepting these PLAIN users -> "OK"
  auth_curve HEXKEY...         start a ZAP handler (a REP on inproc://zeromq.zap.01) accepting
                               CURVE clients with these public keys, user id "u-" + the key's
                               first 4 hex digits -> "OK"
  bind_ep NAME EP              bind any endpoint (ipc://..., tcp://[::1]:0) -> "BOUND last_endpoint"
  connect_ep NAME EP           connect to any endpoint -> "OK"
  subscribe NAME [HEX]         SUB: subscribe to the prefix (hex; none: everything) -> "OK"
  unsubscribe NAME [HEX]       SUB: remove one subscription to the prefix -> "OK"
  monitor NAME                 start collecting socket events -> "OK"
  events NAME                  -> "EVENTS E1 E2 ..." (all events so far, zmq names minus EVENT_)
  send NAME TOKEN...           send one message; a ROUTER_MANDATORY socket retries
                               EHOSTUNREACH for up to 10 s -> "SENT DESC..."
  recv NAME [TIMEOUT_MS]       -> "MSG DESC..." or "TIMEOUT"
  echo NAME COUNT              receive COUNT messages and send each back unchanged -> "ECHOED n"
  seq NAME COUNT [TOKEN...]    send COUNT messages [TOKEN..., b"<i>"] -> "SENT COUNT"
  burst COUNT NAME...          send [b"<i>"] COUNT times on each socket in turn (all of the
                               first socket's, then the next's...) -> "SENT total"
  count TOTAL TIMEOUT_MS NAME...
                               receive from the sockets until TOTAL messages in all or the
                               timeout; the last frame of each is a decimal sequence number
                               -> "COUNT NAME=s1,s2,... NAME=..." (per socket, in arrival order)
  sleep MS                     -> "OK"
  close NAME                   -> "OK"
  quit
"""

import random
import signal
import sys
import time
import zlib

import zmq
from zmq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 10_000

ctx = zmq.Context()
authenticators = []
socks = {}
monitors = {}
events = {}
EVENT_NAMES = {
    getattr(zmq, n): n[len("EVENT_"):]
    for n in dir(zmq)
    if n.startswith("EVENT_") and n not in ("EVENT_ALL", "EVENT_ALL_V1", "EVENT_ALL_V2")
}


def frame_from(tok):
    if tok == "-":
        return b""
    if tok.startswith("*"):
        n, inner = tok[1:].split(":", 1)
        return [frame_from(inner)] * int(n)
    if tok.startswith("@"):
        n, seed = tok[1:].split(":")
        return random.Random(int(seed)).randbytes(int(n))
    return bytes.fromhex(tok)


def frames_from(toks):
    out = []
    for t in toks:
        f = frame_from(t)
        if isinstance(f, list):
            out.extend(f)
        else:
            out.append(f)
    return out


def desc(frames):
    parts = []
    for f in frames:
        if not f:
            parts.append("-")
        elif len(f) <= 64:
            parts.append(f.hex())
        else:
            parts.append(f"#{len(f)}:{zlib.crc32(f):08x}")
    return " ".join(parts)


def send(s, frames):
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        try:
            s.send_multipart(frames)
            return
        except zmq.ZMQError as e:
            if e.errno != zmq.EHOSTUNREACH or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def drain_events(name):
    mon = monitors[name]
    while mon.poll(0):
        ev = recv_monitor_message(mon)
        events[name].append(EVENT_NAMES.get(ev["event"], str(ev["event"])))


def run(cmd, args):
    if cmd == "sock":
        name, kind = args[0], getattr(zmq, args[1])
        s = ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
        s.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
        for kv in args[2:]:
            k, v = kv.split("=", 1)
            opt = getattr(zmq, k.upper())
            hexed = k.endswith(("routing_id", "username", "password", "key"))
            s.setsockopt(opt, bytes.fromhex(v) if hexed else int(v))
        socks[name] = s
        return "OK"
    if cmd == "bind":
        s = socks[args[0]]
        s.bind(f"tcp://127.0.0.1:{args[1]}")
        return "PORT " + s.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1]
    if cmd == "connect":
        socks[args[0]].connect(f"tcp://127.0.0.1:{args[1]}")
        return "OK"
    if cmd == "auth_plain":
        from zmq.auth.thread import ThreadAuthenticator

        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_plain(domain="*", passwords=dict(a.split(":", 1) for a in args))
        authenticators.append(auth)
        return "OK"
    if cmd == "auth_curve":
        import threading

        allowed = {bytes.fromhex(a) for a in args}
        zap = ctx.socket(zmq.REP)
        zap.setsockopt(zmq.LINGER, 0)
        zap.bind("inproc://zeromq.zap.01")

        def serve():
            while True:
                try:
                    f = zap.recv_multipart()
                except zmq.ZMQError:
                    return
                version, request_id, mechanism, creds = f[0], f[1], f[5], f[6:]
                key = creds[0] if creds else b""
                ok = mechanism == b"CURVE" and key in allowed
                user = ("u-" + key.hex()[:4]).encode() if ok else b""
                zap.send_multipart(
                    [version, request_id, b"200" if ok else b"400", b"OK" if ok else b"denied", user, b""]
                )

        threading.Thread(target=serve, daemon=True).start()
        return "OK"
    if cmd == "bind_ep":
        socks[args[0]].bind(args[1])
        return "BOUND " + socks[args[0]].getsockopt(zmq.LAST_ENDPOINT).decode()
    if cmd == "connect_ep":
        socks[args[0]].connect(args[1])
        return "OK"
    if cmd == "subscribe":
        socks[args[0]].setsockopt(zmq.SUBSCRIBE, bytes.fromhex(args[1]) if len(args) > 1 else b"")
        return "OK"
    if cmd == "unsubscribe":
        socks[args[0]].setsockopt(zmq.UNSUBSCRIBE, bytes.fromhex(args[1]) if len(args) > 1 else b"")
        return "OK"
    if cmd == "monitor":
        monitors[args[0]] = socks[args[0]].get_monitor_socket()
        events[args[0]] = []
        return "OK"
    if cmd == "events":
        drain_events(args[0])
        return "EVENTS " + " ".join(events[args[0]])
    if cmd == "send":
        frames = frames_from(args[1:])
        send(socks[args[0]], frames)
        return "SENT " + desc(frames)
    if cmd == "recv":
        s = socks[args[0]]
        if not s.poll(int(args[1]) if len(args) > 1 else TIMEOUT_MS):
            return "TIMEOUT"
        return "MSG " + desc(s.recv_multipart())
    if cmd == "echo":
        s = socks[args[0]]
        for _ in range(int(args[1])):
            send(s, s.recv_multipart())
        return f"ECHOED {args[1]}"
    if cmd == "seq":
        s, n, prefix = socks[args[0]], int(args[1]), frames_from(args[2:])
        for i in range(n):
            send(s, prefix + [b"%d" % i])
        return f"SENT {n}"
    if cmd == "burst":
        n = int(args[0])
        for name in args[1:]:
            for i in range(n):
                socks[name].send(b"%d" % i)
        return f"SENT {n * (len(args) - 1)}"
    if cmd == "count":
        total, timeout, names = int(args[0]), int(args[1]), args[2:]
        poller = zmq.Poller()
        by_sock = {}
        for name in names:
            poller.register(socks[name], zmq.POLLIN)
            by_sock[socks[name]] = name
        seqs = {name: [] for name in names}
        got = 0
        deadline = time.monotonic() + timeout / 1000
        while got < total:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for s, _ in poller.poll(left * 1000):
                while got < total:
                    try:
                        m = s.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    seqs[by_sock[s]].append(m[-1].decode())
                    got += 1
        return "COUNT " + " ".join(f"{n}={','.join(v)}" for n, v in seqs.items())
    if cmd == "sleep":
        time.sleep(int(args[0]) / 1000)
        return "OK"
    if cmd == "close":
        socks.pop(args[0]).close(linger=0)
        return "OK"
    raise ValueError(f"unknown command {cmd!r}")


def main():
    signal.alarm(120)  # hard bound, whatever happens
    label = sys.argv[1] if len(sys.argv) > 1 else "agent"
    print("READY", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        try:
            reply = run(parts[0], parts[1:])
        except Exception as e:  # reported to the test, which fails with it
            reply = f"ERR {type(e).__name__}: {e}"
            print(f"agent.py {label}: {line.strip()[:200]}: {reply}", file=sys.stderr, flush=True)
        print(reply, flush=True)
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
