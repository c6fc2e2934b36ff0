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


# CURVE targets: the input only says what to do with the honest sessions' frames, so seeds need
# no cryptography. Socket types index SOCKET_TYPES (REQ 0, REP 1, DEALER 2, ROUTER 3, PUB 4,
# SUB 5, XPUB 6, XSUB 7, PUSH 8, PULL 9, PAIR 10); the peer's indexes the types compatible with
# ours, in that order.


def cmsg(*frames):
    """A message op's operand: frame count, then each frame (bytes, or ('fill', n512, byte))."""
    out = bytes([len(frames) - 1])
    for f in frames:
        if isinstance(f, tuple):
            out += bytes([0xF0 + f[1], f[2]])
        else:
            assert len(f) <= 0xF0
            out += bytes([len(f)]) + f
    return out


def curve_handshake():
    # Ops: 0 next unit, 1 flip (u16 pos, mask), 2 truncate (u16), 3 twice, 4 replay (index),
    # 5 own frame (flags, len, body), 6 raw bytes (len, bytes), 7 time (x 100 ms),
    # 8 the peer sends, 9 we send.
    CLIENT, SERVER, AUTH, ACCEPT, HB, OURS_ID, PEER_ID, MAX = 0, 1, 2, 4, 8, 16, 32, 64
    REQ, REP, DEALER, ROUTER, PUB, SUB = 0, 1, 2, 3, 4, 5
    nxt = b"\x00"
    hs3 = nxt * 3  # greeting, WELCOME, READY (we are the client) / greeting, HELLO, INITIATE
    w = lambda name, head, ops: write("curve_handshake", name, head + ops)
    # DEALER client of a ROUTER: ready, a message each way.
    w("client-dealer-router", bytes([CLIENT | OURS_ID | PEER_ID, DEALER, 2]),
      hs3 + b"\x09" + cmsg(b"", b"hello") + b"\x08" + cmsg(b"reply") + nxt)
    # ROUTER server of a DEALER: a 3-frame message in, one out.
    w("server-router-dealer", bytes([SERVER | OURS_ID | PEER_ID, ROUTER, 1]),
      hs3 + b"\x08" + cmsg(b"a", b"", b"c" * 40) + nxt * 3 + b"\x09" + cmsg(b"id", b"ok"))
    # Authenticating REP server: accepted (user id), then traffic; and denied (ERROR 400).
    w("server-auth-accept", bytes([SERVER | AUTH | ACCEPT | PEER_ID, REP, 0]),
      hs3 + b"\x08" + cmsg(b"", b"question") + nxt * 2 + b"\x09" + cmsg(b"", b"answer"))
    w("server-auth-deny", bytes([SERVER | AUTH | PEER_ID, ROUTER, 1]), hs3 + nxt)
    # Our client against an authenticating server.
    w("client-of-auth-server", bytes([CLIENT | AUTH, REQ, 0]),
      hs3 + b"\x09" + cmsg(b"req") + b"\x08" + cmsg(b"rep") + nxt)
    # SUB client: SUBSCRIBE and CANCEL sealed as commands, then a publication.
    w("client-sub-pub", bytes([CLIENT, SUB, 0]),
      hs3 + b"\x09" + cmsg(b"\x01news") + b"\x09" + cmsg(b"\x00old") + b"\x08" + cmsg(b"news: hi") + nxt)
    # Heartbeats: a sealed PING at 1 s, the PONG back, then silence past the timeout.
    w("heartbeat", bytes([CLIENT | HB, DEALER, 2]), hs3 + b"\x07\x0b" + nxt + b"\x07\x0b" + b"\x07\x28")
    # Tampering after READY: the peer's MESSAGE with a tag byte flipped; replayed; truncated.
    traffic = b"\x08" + cmsg(b"one") + b"\x08" + cmsg(b"two")
    w("flip-message-tag", bytes([CLIENT, DEALER, 2]), hs3 + traffic + b"\x01\x00\x16\x01")
    w("flip-message-ciphertext", bytes([CLIENT, DEALER, 2]), hs3 + traffic + b"\x01\x00\x25\x80")
    w("flip-message-flags", bytes([CLIENT, DEALER, 2]), hs3 + traffic + b"\x01\x00\x00\x05" + nxt)
    w("replay-message", bytes([CLIENT, DEALER, 2]), hs3 + traffic + nxt + b"\x04\x03")
    w("message-twice", bytes([CLIENT, DEALER, 2]), hs3 + traffic + b"\x03")
    w("truncated-message", bytes([CLIENT, DEALER, 2]), hs3 + traffic + b"\x02\x00\x10" + nxt)
    # Tampering in the handshake: WELCOME's box, READY's nonce, INITIATE's cookie; HELLO's
    # padding (harmless, as in libzmq); the greeting's mechanism; a frame before READY.
    w("flip-welcome", bytes([CLIENT, DEALER, 2]), nxt + b"\x01\x00\x40\x01" + nxt)
    w("flip-ready-nonce", bytes([CLIENT, DEALER, 2]), nxt * 2 + b"\x01\x00\x0a\x02")
    w("flip-initiate-cookie", bytes([SERVER, ROUTER, 1]), nxt * 2 + b"\x01\x00\x20\x01")
    w("flip-hello-padding", bytes([SERVER, ROUTER, 1]), nxt + b"\x01\x00\x14\xff" + nxt + b"\x08" + cmsg(b"x") + nxt)
    w("flip-greeting-mechanism", bytes([SERVER, ROUTER, 1]), b"\x01\x00\x0c\x01")
    w("flip-greeting-padding", bytes([CLIENT, DEALER, 2]), b"\x01\x00\x03\x10" + nxt * 2)
    w("hello-twice", bytes([SERVER, ROUTER, 1]), nxt + b"\x03")
    w("truncated-greeting", bytes([CLIENT, DEALER, 2]), b"\x02\x00\x27" + nxt)
    w("truncated-welcome", bytes([CLIENT, DEALER, 2]), nxt + b"\x02\x00\x50" + nxt)
    # The greeting cut to 63 bytes, then WELCOME cut to its first byte, which completes the
    # greeting (byte 63 is filler): the receiver has not seen WELCOME, so its "replay" is its
    # first delivery and must be taken (found by the fuzzer in the harness's first model).
    w("greeting-absorbs-welcome-byte", bytes([CLIENT, DEALER, 2]),
      b"\x02\x00\x3e" + b"\x02\x00\x00" + b"\x04\x01" + nxt + b"\x09" + cmsg(b"hi"))
    w("own-frame-before-ready", bytes([CLIENT, DEALER, 2]), nxt * 2 + b"\x05\x04\x06\x05READY")
    w("own-message-after-ready", bytes([CLIENT, DEALER, 2]),
      hs3 + b"\x05\x00\x30" + b"\x07MESSAGE" + bytes(7) + b"\x09" + bytes(32))
    w("raw-bytes-after-greeting", bytes([SERVER, ROUTER, 1]), nxt + b"\x06\x04\x04\x05\x05HE" + nxt)
    # Handshake timeout (HANDSHAKE_IVL 30 s) before READY.
    w("handshake-timeout", bytes([CLIENT, DEALER, 2]), nxt * 2 + b"\x07\xff\x07\xff")
    # MAXMSGSIZE 10: a 10-byte message passes, an 11-byte one does not.
    w("maxmsgsize", bytes([CLIENT | MAX, 0, 10, DEALER, 2]),
      hs3 + b"\x08" + cmsg(b"0123456789") + nxt + b"\x08" + cmsg(b"0123456789a") + nxt)
    # A 4 KiB frame each way (long frame headers).
    w("long-frames", bytes([SERVER, ROUTER, 2]),
      hs3 + b"\x08" + cmsg(("fill", 8, 0x61)) + nxt + b"\x09" + cmsg(b"id", ("fill", 8, 0x62)))


def curve_message():
    # Ops: bit 7 the direction (0: A to B); (op & 0x7F) % 10: 0 next, 1 flip (u16 pos, mask),
    # 2 a later one first (index), 3 replay (index), 4 truncate (u16), 5 forged MESSAGE
    # (outer, selector[, u64][, len, bytes]), 6 own frame (flags, len, body), 7 send,
    # 8 time (x 100 ms), 9 all pending.
    A_SERVER, AUTH, HB_A, HB_B, MAX_A, MAX_B, IDS = 1, 2, 4, 8, 16, 32, 64
    DEALER, REQ, SUB, PAIR = 2, 0, 5, 10
    B = 0x80
    w = lambda name, head, ops: write("curve_message", name, head + ops)
    send = lambda *f: b"\x07" + cmsg(*f)
    bsend = lambda *f: bytes([B | 7]) + cmsg(*f)
    w("dealer-router-both-ways", bytes([IDS, DEALER, 2]),
      send(b"", b"hello") + b"\x00\x00" + bsend(b"", b"world") + bytes([B | 9]))
    w("server-auth-both-ways", bytes([A_SERVER | AUTH | IDS, DEALER, 2]),
      send(b"a") + send(b"b", b"c") + b"\x09" + bsend(b"d") + bytes([B]))
    # Reordering: the second frame of a 3-frame message first (accepted after a skipped nonce,
    # as in libzmq), then the skipped one fails.
    w("reorder-multipart", bytes([0, DEALER, 2]), send(b"f1", b"f2", b"f3") + b"\x02\x00" + b"\x09")
    # The last frame first: B reports a 1-frame message A never sent (libzmq accepts this too).
    w("reorder-last-frame-first", bytes([0, DEALER, 2]), send(b"f1", b"f2", b"f3") + b"\x02\x01" + b"\x09")
    w("reorder-messages", bytes([0, PAIR, 0]), send(b"m1") + send(b"m2") + b"\x02\x00" + b"\x09")
    # Delivered units so far: greeting, HELLO, INITIATE, then the MESSAGEs (index 3).
    w("replay", bytes([0, PAIR, 0]), send(b"m1") + send(b"m2") + b"\x00\x03\x03" + b"\x09")
    w("replay-greeting", bytes([0, PAIR, 0]), send(b"m1") + b"\x00\x03\x00")
    # Flips: frame header (flags: harmless; size), name, nonce, tag, box.
    for name, pos, mask in (("flags-command", 0, 4), ("flags-more", 0, 1), ("flags-long", 0, 2),
                            ("size", 1, 1), ("name", 4, 0x20), ("nonce-low", 17, 1),
                            ("nonce-high", 10, 0x80), ("tag", 20, 1), ("box-flags", 34, 2),
                            ("box-body", 36, 0x40)):
        w("flip-" + name, bytes([0, DEALER, 2]),
          send(b"hello!") + b"\x01" + bytes([0, pos, mask]) + b"\x09")
    # Forged MESSAGEs: the next pending one's nonce with its own tag and box (outer COMMAND
    # flag: accepted, flags are ignored); last nonce; next nonce with junk.
    w("forged-copy", bytes([0, DEALER, 2]), send(b"hi") + b"\x05\x01\x06" + b"\x09")
    w("forged-last-nonce", bytes([0, DEALER, 2]), send(b"hi") + b"\x05\x00\x00\x20" + bytes(32) + b"\x09")
    w("forged-next-nonce", bytes([0, DEALER, 2]), send(b"hi") + b"\x05\x01\x01\x20" + bytes(32) + b"\x09")
    w("forged-short", bytes([0, DEALER, 2]), b"\x05\x00\x01\x04abcd")
    w("own-frame", bytes([0, DEALER, 2]), b"\x06\x04\x05\x04PING")
    w("truncated", bytes([0, DEALER, 2]), send(b"hello") + send(b"again") + b"\x04\x00\x10" + b"\x09")
    # Heartbeats both ways: sealed PINGs and PONGs, then a timeout.
    w("heartbeats", bytes([HB_A | HB_B, DEALER, 2]),
      b"\x08\x0b\x09" + bytes([B | 9]) + b"\x09" + b"\x08\x0b\x08\x28")
    # SUB client to a PUB: SUBSCRIBE / CANCEL as sealed commands, then a publication.
    w("sub-pub", bytes([0, SUB, 0]),
      send(b"\x01news") + send(b"\x00old") + b"\x09" + bsend(b"news: hi") + bytes([B | 9]))
    # MAXMSGSIZE 16 on B: 16 bytes pass, 17 do not; 1 KiB limit with 4 KiB frames.
    w("maxmsgsize", bytes([MAX_B, 0, 16, DEALER, 2]),
      send(b"0123456789abcdef") + b"\x00" + send(b"0123456789abcdefg") + b"\x00")
    w("maxmsgsize-multipart", bytes([MAX_B, 0, 16, DEALER, 2]),
      send(b"01234567", b"89abcdef") + b"\x09" + send(b"01234567", b"89abcdefg") + b"\x09")
    w("long-frames", bytes([MAX_A, 0x40, 0x00, REQ, 0]),
      send(("fill", 8, 0x61)) + b"\x09" + bsend(("fill", 8, 0x62), b"x") + bytes([B | 9]))


if __name__ == "__main__":
    frame_decoder()
    greeting()
    command()
    handshake()
    curve_handshake()
    curve_message()
