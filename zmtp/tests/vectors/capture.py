#!/usr/bin/env python3
"""Captures what real libzmq sends on the wire, as known-answer vectors for zmtp/tests/vectors.rs.

A raw TCP listener on 127.0.0.1 (ephemeral port) plays a minimal ZMTP 3.1 peer: it sends our
greeting (ff, 8 zero bytes, 7f 03 01 'NULL' padded to 20, 32 zero bytes) and a READY of a
compatible socket type, then records every byte the pyzmq socket sends, frame by frame, up to
and including the last frame we asked it to send. Every socket operation has a bounded timeout.

Run from anywhere:  .venv/bin/python zmtp/tests/vectors/capture.py
It rewrites the *.bin files and README.md next to this script.
"""

import datetime
import hashlib
import os
import signal
import socket
import struct
import sys
import time

import zmq

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
IO_TIMEOUT = 5.0  # seconds, for every accept/recv on the raw socket
SILENCE = 0.3  # seconds of expected silence after the last frame

OUR_GREETING = (
    b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32
)
assert len(OUR_GREETING) == 64


def frame(body, more=False, command=False):
    flags = (0x01 if more else 0) | (0x04 if command else 0)
    if len(body) > 255:
        return bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def ready(socket_type, identity=None):
    def prop(name, value):
        return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value

    body = b"\x05READY" + prop(b"Socket-Type", socket_type)
    if identity is not None:
        body += prop(b"Identity", identity)
    return frame(body, command=True)


class Recorder:
    """Reads from the raw connection, keeping every byte, and splits it into ZMTP frames."""

    def __init__(self, conn):
        self.conn = conn
        self.data = bytearray()
        self.pos = 0

    def _fill(self, n, deadline):
        while len(self.data) - self.pos < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"wanted {n} bytes at offset {self.pos}, have {len(self.data)}")
            self.conn.settimeout(left)
            chunk = self.conn.recv(65536)
            if not chunk:
                raise ConnectionError(f"peer closed at offset {len(self.data)}")
            self.data += chunk

    def take(self, n, deadline):
        self._fill(n, deadline)
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def greeting(self, deadline):
        g = self.take(64, deadline)
        assert g[0] == 0xFF and g[9] == 0x7F and g[10] == 3, g.hex()
        return g

    def frame(self, deadline):
        flags = self.take(1, deadline)[0]
        if flags & 0x02:
            (size,) = struct.unpack(">Q", self.take(8, deadline))
        else:
            size = self.take(1, deadline)[0]
        assert size < 1 << 20, size
        return flags, self.take(size, deadline)

    def expect_silence(self, seconds):
        """Fails if libzmq sends anything beyond what was expected within `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.conn.settimeout(left)
            try:
                chunk = self.conn.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.data += chunk
        if len(self.data) != self.pos:
            raise AssertionError(f"unexpected extra bytes: {bytes(self.data[self.pos:]).hex()}")

    def recorded(self):
        return bytes(self.data[: self.pos])


def capture(ctx, listener, name, sock_type, sockopts, our_type, our_identity, act, n_data_frames,
            n_commands_after_ready=0, silence=True):
    """Connects a pyzmq socket to `listener`, completes the handshake and records its bytes."""
    port = listener.getsockname()[1]
    s = ctx.socket(sock_type)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SNDTIMEO, int(IO_TIMEOUT * 1000))
    for opt, value in sockopts:
        s.setsockopt(opt, value)
    s.connect(f"tcp://127.0.0.1:{port}")
    try:
        listener.settimeout(IO_TIMEOUT)
        conn, _ = listener.accept()
        with conn:
            conn.sendall(OUR_GREETING + ready(our_type, our_identity))
            rec = Recorder(conn)
            deadline = time.monotonic() + IO_TIMEOUT
            rec.greeting(deadline)
            flags, body = rec.frame(deadline)
            assert flags == 0x04 and body.startswith(b"\x05READY"), (flags, body)
            act(s)
            deadline = time.monotonic() + IO_TIMEOUT
            data = cmds = 0
            while data < n_data_frames or cmds < n_commands_after_ready:
                flags, body = rec.frame(deadline)
                if flags & 0x04:
                    cmds += 1
                else:
                    data += 1
            assert (data, cmds) == (n_data_frames, n_commands_after_ready), (data, cmds)
            if silence:
                rec.expect_silence(SILENCE)
            out = rec.recorded()
    finally:
        s.close(linger=0)
    path = os.path.join(OUT_DIR, name + ".bin")
    with open(path, "wb") as f:
        f.write(out)
    print(f"{name}.bin: {len(out)} bytes", file=sys.stderr)
    return out


def send_all(messages):
    def act(s):
        for m in messages:
            s.send_multipart(m)

    return act


def router_send_all(peer_id, messages):
    """A ROUTER may drop messages to a peer whose handshake it has not finished: with
    ROUTER_MANDATORY it says so (EHOSTUNREACH) and we retry, within a bounded time."""

    def act(s):
        deadline = time.monotonic() + IO_TIMEOUT
        for m in messages:
            while True:
                try:
                    s.send_multipart([peer_id] + m)
                    break
                except zmq.ZMQError as e:
                    if e.errno != zmq.EHOSTUNREACH or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)

    return act


BYTES300 = bytes(i % 256 for i in range(300))

DEALER_MESSAGES = [
    [b"hello"],
    [b"multi", b"part", b"message"],
    [b""],
    [b"a", b"", b"c"],
    [BYTES300],
    [b"x" * 255, b"y" * 256],
]
DEALER_ABC_MESSAGES = [[b"hello from abc"], [b"", b"empty first"]]
ROUTER_MESSAGES = [[b"hello"], [b"multi", b"part"], [b""], [BYTES300]]


def nframes(messages):
    return sum(len(m) for m in messages)


def main():
    signal.alarm(60)  # hard bound on the whole run
    ctx = zmq.Context()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    results = {}
    try:
        results["dealer"] = capture(
            ctx, listener, "dealer", zmq.DEALER, [], b"ROUTER", b"",
            send_all(DEALER_MESSAGES), nframes(DEALER_MESSAGES))
        results["dealer_id_abc"] = capture(
            ctx, listener, "dealer_id_abc", zmq.DEALER, [(zmq.ROUTING_ID, b"abc")], b"ROUTER", b"",
            send_all(DEALER_ABC_MESSAGES), nframes(DEALER_ABC_MESSAGES))
        # Our side plays a DEALER named "peer" so the ROUTER can address it.
        results["router"] = capture(
            ctx, listener, "router", zmq.ROUTER, [(zmq.ROUTER_MANDATORY, 1)], b"DEALER", b"peer",
            router_send_all(b"peer", ROUTER_MESSAGES), nframes(ROUTER_MESSAGES))
        # REQ adds the empty delimiter frame in front of the request.
        results["req"] = capture(
            ctx, listener, "req", zmq.REQ, [], b"ROUTER", b"",
            send_all([[b"request"]]), 2)
        # Heartbeats: IVL 100 ms, TTL 2000 ms (sent as 20 deciseconds), a long timeout so the
        # connection survives our silence; recorded up to the first PING.
        results["dealer_heartbeat"] = capture(
            ctx, listener, "dealer_heartbeat", zmq.DEALER,
            [(zmq.HEARTBEAT_IVL, 100), (zmq.HEARTBEAT_TTL, 2000), (zmq.HEARTBEAT_TIMEOUT, 5000)],
            b"ROUTER", b"", lambda s: None, 0, n_commands_after_ready=1, silence=False)
    finally:
        listener.close()
        ctx.term()
    write_readme(results)


def write_readme(results):
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    lines = [
        "# Known-answer vectors captured from libzmq",
        "",
        "Every `*.bin` file is the exact byte stream a real libzmq socket sent to a raw TCP peer,",
        "from its first greeting byte up to and including the last frame we asked it to send",
        "(nothing after it was accepted within %.1f s, except for `dealer_heartbeat.bin`," % SILENCE,
        "which stops after the first PING). They are read by `zmtp/tests/vectors.rs`.",
        "",
        "Produced by `capture.py` in this directory (`.venv/bin/python zmtp/tests/vectors/capture.py`",
        "from the workspace root), which rewrites the `.bin` files and this README:",
        "",
        f"- date: {today}",
        f"- pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}, Python {sys.version.split()[0]}",
        "- transport: TCP over 127.0.0.1, the pyzmq socket connects to a raw listener on an",
        "  ephemeral port",
        "- the raw peer sends, in one write, the greeting",
        "  `ff 00*8 7f 03 01 'NULL' 00*16 00*32` (64 bytes) and a READY with `Socket-Type` of a",
        "  compatible type and an `Identity`",
        "",
        "| file | pyzmq socket | our READY | what libzmq was asked to send |",
        "|---|---|---|---|",
        "| `dealer.bin` | DEALER, no routing id | ROUTER, Identity \"\" | `[hello]` `[multi,part,message]` `[\"\"]` `[a,\"\",c]` `[300 bytes i%256]` `['x'*255,'y'*256]` |",
        "| `dealer_id_abc.bin` | DEALER, ROUTING_ID=`abc` | ROUTER, Identity \"\" | `[hello from abc]` `[\"\",empty first]` |",
        "| `router.bin` | ROUTER, ROUTER_MANDATORY | DEALER, Identity `peer` | to `peer`: `[hello]` `[multi,part]` `[\"\"]` `[300 bytes i%256]` |",
        "| `req.bin` | REQ | ROUTER, Identity \"\" | `[request]` (wire: empty delimiter + `request`) |",
        "| `dealer_heartbeat.bin` | DEALER, HEARTBEAT_IVL=100, HEARTBEAT_TTL=2000, HEARTBEAT_TIMEOUT=5000 | ROUTER, Identity \"\" | nothing: greeting, READY, first PING |",
        "",
        "| file | bytes | sha256 |",
        "|---|---|---|",
    ]
    for name, data in results.items():
        lines.append(f"| `{name}.bin` | {len(data)} | `{hashlib.sha256(data).hexdigest()}` |")
    lines.append("")
    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
