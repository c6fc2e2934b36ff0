#!/usr/bin/env python3
"""Writes the hand-made seed inputs into fuzz/corpus/<target>/seed-*.

The input layouts are documented in fuzz/src/checks.rs. Run from anywhere:
    python3 fuzz/gen_corpus.py
Seeds are deterministic; re-running rewrites the same files.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# The greeting libzmq 4.3.x sends (NULL, ZMTP 3.1, padding = routing-id length + 1).
GREETING = b"\xff" + b"\x00" * 7 + b"\x01\x7f\x03\x01" + b"NULL" + b"\x00" * 16 + b"\x00" * 32
assert len(GREETING) == 64
READY_DEALER_BODY = b"\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"
READY_DEALER = b"\x04\x29" + READY_DEALER_BODY
assert len(READY_DEALER_BODY) == 0x29
PING_BODY = b"\x04PING\x00\x14"
PING = b"\x04" + bytes([len(PING_BODY)]) + PING_BODY
PING_CTX_BODY = b"\x04PING\x00\x0a" + b"0123456789abcdef"
PING_CTX = b"\x04" + bytes([len(PING_CTX_BODY)]) + PING_CTX_BODY
PONG = b"\x04\x05\x04PONG"


def frame(body, more=False, command=False, long=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if long or len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


SUBSCRIBE = frame(b"\x09SUBSCRIBEtopic", command=True)
CANCEL = frame(b"\x06CANCELtopic", command=True)
ERROR = frame(b"\x05ERROR\x13Invalid socket type", command=True)
UNKNOWN = frame(b"\x04FOOOxyz", command=True)
# DEALER -> ROUTER traffic: a two-part message (empty delimiter, "hello"), a one-part
# message, and a long-form 300-byte frame.
MESSAGES = frame(b"", more=True) + frame(b"hello") + frame(b"world") + frame(b"x" * 300)
SHORT_AS_LONG = frame(b"tiny", long=True)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def literal_chunks(data, size=255):
    """The decoder/handshake step encoding of `data` as literal chunks of `size` bytes."""
    out = b""
    for i in range(0, len(data), size):
        c = data[i : i + size]
        out += b"\x00" + bytes([len(c)]) + c
    return out


def fill(count, value):
    """(count + 1) * 1024 copies of value."""
    return b"\x01" + bytes([count, value])


def frame_decoder():
    stream = READY_DEALER + MESSAGES + PING + PING_CTX + PONG + SUBSCRIBE + UNKNOWN
    for size in (1, 7, 64, 255):
        write("frame_decoder", f"stream-chunk{size}", b"\x00" + literal_chunks(stream, size))
    write("frame_decoder", "stream-limit300", b"\x02\x01\x2c" + literal_chunks(stream))
    write("frame_decoder", "stream-limit299", b"\x02\x01\x2b" + literal_chunks(stream))
    write("frame_decoder", "short-as-long", b"\x00" + literal_chunks(SHORT_AS_LONG))
    # MESSAGES cut inside the long frame's header (16 + 1..9) and body.
    for cut in (1, 5, 9, 12, 100):
        write("frame_decoder", f"truncated-long-{cut}", b"\x00" + literal_chunks(MESSAGES[: 16 + cut]))
    # A 192 KiB frame, sent as 64 KiB fills, no limit.
    write("frame_decoder", "big-frame", b"\x00" + literal_chunks(b"\x02" + struct.pack(">Q", 3 << 16)) + fill(63, 0x61) * 3 + literal_chunks(frame(b"after")))
    # Declared 2^62 bytes, no limit: only what is sent is buffered.
    write("frame_decoder", "huge-declared", b"\x00" + literal_chunks(b"\x02\x40" + b"\x00" * 7) + fill(255, 0x62) * 2)
    # Same with a u64 limit.
    write("frame_decoder", "huge-declared-limit", b"\x03" + struct.pack(">Q", 1 << 20) + literal_chunks(b"\x02\x40" + b"\x00" * 7))
    # A command over 64 KiB.
    write("frame_decoder", "command-too-large", b"\x00" + literal_chunks(b"\x06" + struct.pack(">Q", 65537)))
    write("frame_decoder", "limit-10", b"\x01\x0a" + literal_chunks(frame(b"0123456789") + frame(b"0123456789a")))


def greeting():
    write("greeting", "libzmq", GREETING)
    write("greeting", "libzmq-ready", GREETING + READY_DEALER)
    for n in (1, 9, 10, 11, 12, 32, 33, 63):
        write("greeting", f"truncated-{n}", GREETING[:n])
    v30 = bytearray(GREETING)
    v30[11] = 0
    write("greeting", "v30", bytes(v30))
    v2 = bytearray(GREETING)
    v2[10] = 1
    write("greeting", "zmtp20", bytes(v2))
    v1 = bytearray(GREETING)
    v1[9] = 0
    write("greeting", "zmtp10", bytes(v1))
    plain = bytearray(GREETING)
    plain[12:17] = b"PLAIN"
    plain[32] = 1
    write("greeting", "plain-server", bytes(plain))
    write("greeting", "http", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def command():
    write("command", "ready-dealer", READY_DEALER_BODY)
    write("command", "ready-router-id", b"\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x03abc\x05X-Foo\x00\x00\x00\x01z")
    write("command", "ready-empty", b"\x05READY")
    write("command", "metadata-dealer", READY_DEALER_BODY[6:])
    write("command", "ping", PING_BODY)
    write("command", "ping-ctx", PING_CTX_BODY)
    write("command", "ping-long-ctx", b"\x04PING\x00\x01" + b"c" * 40)
    write("command", "pong", b"\x04PONG0123")
    write("command", "error", b"\x05ERROR\x13Invalid socket type")
    write("command", "subscribe", b"\x09SUBSCRIBEtopic")
    write("command", "cancel", b"\x06CANCELtopic")
    write("command", "unknown", b"\x04FOOOxyz")
    for n in (1, 6, 10, 20, 30, 40):
        write("command", f"ready-truncated-{n}", READY_DEALER_BODY[:n])


def handshake():
    ROUTER, DEALER, PUB = 3, 2, 4
    peer = GREETING + READY_DEALER
    traffic = MESSAGES + PING + PING_CTX + SUBSCRIBE + CANCEL + UNKNOWN + PONG
    hs = lambda ours, flags=b"\x00": bytes([ours]) + flags
    t = lambda ticks: b"\x02" + bytes([ticks])  # time += ticks * 10 ms, timers run
    send = lambda data: b"\x03" + bytes([len(data)]) + data
    # A libzmq DEALER talking to our ROUTER, in one piece and byte by byte.
    write("handshake", "router-libzmq-dealer", hs(ROUTER) + literal_chunks(peer + traffic) + send(b"reply") + t(10))
    write("handshake", "router-bytewise", hs(ROUTER) + literal_chunks(peer + MESSAGES[:20], 1))
    write("handshake", "dealer-libzmq-dealer", hs(DEALER) + literal_chunks(peer) + send(b"hi") + literal_chunks(traffic, 7))
    # Heartbeats: IVL 100 ms, TIMEOUT 300 ms, TTL 1 s; the peer PINGs then goes silent.
    write("handshake", "heartbeat-timeout", hs(ROUTER, b"\x04\x09\x1e\x0a") + literal_chunks(peer + PING) + t(10) + t(10) + t(10) + t(10) + t(10))
    write("handshake", "heartbeat-ttl", hs(ROUTER) + literal_chunks(peer + PING) + t(200) + t(200))
    # MAXMSGSIZE 100: the 300-byte frame is too large.
    write("handshake", "maxmsgsize", hs(ROUTER, b"\x01\x00\x64") + literal_chunks(peer + MESSAGES))
    # A 192 KiB message sent as fills, no limit.
    write("handshake", "big-message", hs(ROUTER) + literal_chunks(peer + b"\x02" + struct.pack(">Q", 3 << 16)) + fill(63, 0x61) * 3)
    # Our routing id, handshake timeout of 50 ms hit before the READY.
    write("handshake", "handshake-timeout", hs(DEALER, b"\x0a\x05\x03abc") + literal_chunks(GREETING) + t(3) + t(3))
    write("handshake", "no-handshake-ivl", hs(DEALER, b"\x02\xff") + literal_chunks(GREETING) + t(255))
    # Failures: wrong type, mechanism, message before READY, ERROR from the peer, not ZMTP 3.
    write("handshake", "pub-vs-dealer", hs(PUB) + literal_chunks(peer))
    plain = bytearray(GREETING)
    plain[12:17] = b"PLAIN"
    write("handshake", "plain", hs(ROUTER) + literal_chunks(bytes(plain)))
    write("handshake", "message-before-ready", hs(ROUTER) + literal_chunks(GREETING + frame(b"hi")))
    write("handshake", "peer-error", hs(ROUTER) + literal_chunks(GREETING + ERROR))
    write("handshake", "http", hs(ROUTER) + literal_chunks(b"GET / HTTP/1.1\r\n\r\n"))
    write("handshake", "send-before-ready", hs(ROUTER) + send(b"early") + literal_chunks(GREETING))
    for n in (30, 64, 70, 100, 107):
        write("handshake", f"truncated-{n}", hs(ROUTER) + literal_chunks(peer[:n]))


if __name__ == "__main__":
    frame_decoder()
    greeting()
    command()
    handshake()
