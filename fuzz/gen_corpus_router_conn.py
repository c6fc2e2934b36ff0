#!/usr/bin/env python3
"""Writes the hand-made seeds of the router_conn target into fuzz/corpus/router_conn/seed-*.

The input layout is documented in fuzz/src/router_conn.rs. Run from anywhere:
    python3 fuzz/gen_corpus_router_conn.py
Seeds are deterministic; re-running rewrites the same files.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# flags
GREETING_FLAG, READY_FLAG, ID_FLAG, ABORT_FLAG, DRAIN_FLAG, SLOW_FLAG, HANDOVER_FLAG, TWIN_FLAG = 1, 2, 4, 8, 16, 32, 64, 128
HS = GREETING_FLAG | READY_FLAG
HSD = HS | DRAIN_FLAG


def greeting(major=3, minor=1, mech=b"NULL"):
    return b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([major, minor]) + mech.ljust(20, b"\x00") + b"\x00" * 32


def frame(body, more=False, command=False, long=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if long or len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def prop(name, value):
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


def ready(socket_type=b"DEALER", identity=b""):
    return frame(b"\x05READY" + prop(b"Socket-Type", socket_type) + prop(b"Identity", identity), command=True)


def ping(ttl=0, context=b""):
    return frame(b"\x04PING" + struct.pack(">H", ttl) + context, command=True)


def lit(data):
    """Ops writing `data`: one u16-length literal per 65535 bytes."""
    out = b""
    for i in range(0, len(data), 0xFFFF):
        c = data[i : i + 0xFFFF]
        out += b"\x40" + struct.pack(">H", len(c)) + c
    return out


def small(data):
    """Ops writing `data` in writes of at most 64 bytes."""
    out = b""
    for i in range(0, len(data), 64):
        c = data[i : i + 64]
        out += bytes([len(c) - 1]) + c
    return out


def fill(n4k, value):
    """One write of n4k * 4096 copies of value (1 <= n4k <= 64)."""
    return bytes([0x80 | (n4k - 1), value])


def sleep(ms):
    """ms milliseconds with SLOW_FLAG (else 10 * ms microseconds)."""
    return bytes([0xC0 | ms])


MSGS = frame(b"", more=True) + frame(b"hello") + frame(b"world") + frame(b"x" * 300)


def seeds():
    yield "traffic", bytes([HS]) + lit(MSGS)
    yield "traffic-drain", bytes([HSD]) + lit(MSGS)
    yield "traffic-drain-abort", bytes([HSD | ABORT_FLAG]) + lit(MSGS * 4)
    yield "traffic-id", bytes([HS | ID_FLAG]) + lit(MSGS)
    yield "traffic-abort", bytes([HS | ABORT_FLAG]) + lit(MSGS * 4)
    yield "raw-handshake-bytewise", b"\x00" + b"".join(b"\x00" + bytes([c]) for c in greeting() + ready()) + small(MSGS)
    yield "raw-handshake-chunks", bytes([DRAIN_FLAG]) + small(greeting() + ready(identity=b"peer") + MSGS)
    yield "ping-context", bytes([HSD]) + lit(ping(0, b"0123456789abcdef") + ping(10) + MSGS)
    yield "pings-many", bytes([HSD]) + lit(ping(1, b"ctx") * 2000)
    yield "pong-unknown-subscribe", bytes([HS]) + lit(frame(b"\x04PONGab", command=True) + frame(b"\x04FOOOxyz", command=True) + frame(b"\x09SUBSCRIBEt", command=True) + ready() + MSGS)
    yield "error-command", bytes([HS]) + lit(frame(b"\x05ERROR\x03bye", command=True))
    # Declared 2^62 bytes, then 1 MiB in fills: the router must close before buffering it.
    yield "huge-declared", bytes([HS]) + lit(b"\x02\x40" + b"\x00" * 7) + fill(64, 0x61) * 4
    # A frame of MAXMSGSIZE + 1, and one of exactly MAXMSGSIZE (echoed).
    yield "frame-over-limit", bytes([HS]) + lit(b"\x02" + struct.pack(">Q", (1 << 20) + 1)) + fill(64, 0x62) * 4 + lit(b"z")
    yield "frame-at-limit", bytes([HSD]) + lit(b"\x02" + struct.pack(">Q", 1 << 20)) + fill(64, 0x63) * 4 + lit(frame(b"after"))
    # A message over the limit in 256 KiB frames.
    yield "message-over-limit", bytes([HS]) + (lit(b"\x03" + struct.pack(">Q", 1 << 18)) + fill(64, 0x64)) * 5
    # 16385 empty MORE frames: one over max(1 MiB / 64, 1024).
    yield "too-many-frames", bytes([HS]) + lit(b"\x01\x00" * 16385 + b"\x00\x00")
    yield "truncated-ready", bytes([GREETING_FLAG]) + lit(ready()[:20])
    yield "truncated-greeting", b"\x00" + lit(greeting()[:40])
    yield "greeting-then-wait", bytes([GREETING_FLAG | SLOW_FLAG]) + sleep(63) * 3 + lit(ready() + MSGS)
    yield "ready-then-wait", bytes([HSD | SLOW_FLAG]) + lit(MSGS) + sleep(63) * 3 + lit(MSGS)
    yield "ready-slow-frames", bytes([HS | SLOW_FLAG]) + (small(MSGS[:3]) + sleep(20) + small(MSGS[3:])) * 3
    yield "ready-paused-frames", bytes([HSD]) + (small(MSGS[:3]) + sleep(63) + small(MSGS[3:])) * 3
    yield "zmtp30", bytes([DRAIN_FLAG]) + lit(greeting(3, 0) + ready() + MSGS)
    yield "zmtp20", b"\x00" + lit(b"\xff" + b"\x00" * 8 + b"\x7f\x01\x05")
    yield "zmtp10", b"\x00" + lit(b"\x05\x00hello")
    yield "plain-mechanism", b"\x00" + lit(greeting(mech=b"PLAIN") + frame(b"\x05HELLO\x01u\x01p", command=True))
    yield "bad-mechanism", b"\x00" + lit(greeting(mech=b"nu!l"))
    yield "ready-pub", bytes([GREETING_FLAG]) + lit(ready(b"PUB"))
    yield "ready-garbage-metadata", bytes([GREETING_FLAG]) + lit(frame(b"\x05READY\x0bSocket-Type\xff\xff\xff\xff", command=True))
    yield "message-before-ready", bytes([GREETING_FLAG]) + lit(MSGS)
    yield "long-id", bytes([GREETING_FLAG]) + lit(ready(identity=b"i" * 255) + MSGS)
    yield "garbage", b"\x00" + lit(bytes(range(256)) * 4)
    yield "garbage-after-ready", bytes([HS]) + fill(8, 0xff)
    yield "empty", b""
    yield "handover-traffic", bytes([HSD | HANDOVER_FLAG]) + lit(MSGS)
    yield "twin", bytes([HSD | TWIN_FLAG]) + lit(MSGS)
    yield "twin-clash", bytes([HSD | ID_FLAG | TWIN_FLAG]) + lit(MSGS)
    yield "twin-handover", bytes([HSD | ID_FLAG | TWIN_FLAG | HANDOVER_FLAG]) + lit(MSGS)
    yield "twin-handover-abort", bytes([HS | ID_FLAG | TWIN_FLAG | HANDOVER_FLAG | ABORT_FLAG]) + lit(MSGS * 3)
    yield "twin-garbage", bytes([TWIN_FLAG | DRAIN_FLAG]) + lit(bytes(range(256)))


def main():
    d = os.path.join(HERE, "corpus", "router_conn")
    os.makedirs(d, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
