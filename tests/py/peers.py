"""pyzmq (libzmq) peers for the end-to-end tests in tests/e2e.rs.

Every socket has linger=0. Every wait is bounded. Each mode prints `ready ...` on stdout once
set up; long-running modes stop when their stdin closes (or on "stop\\n") and then print one
summary line. Failures print `FAIL <reason>` and exit 1.

Modes:
  dealer-client EP ID N [W] DEALER with routing id ID sends N 3-frame requests (text, binary
                            with NUL/0xff bytes, empty frame), at most W in flight (default
                            all), checks every reply comes back exactly once, byte for byte;
                            prints `ok N`.
  retry-client EP ID N W RETRY_MS [IVL_MS]
                            DEALER with routing id ID: N requests, at most W in flight, one
                            every IVL_MS if given; a request unanswered after RETRY_MS is sent
                            again (replies are deduplicated). Prints `ready`, then `progress K`
                            every 100 replies, then `ok N retries R dups D`. For fault tests,
                            where requests in flight may be lost.
  churn EP N                N DEALERs one after another (ids churn-0..), each connects, sends
                            one request, checks its reply and closes; prints `ok N`.
  req-client EP N           REQ client, N lock-step requests; prints `ok N`.
  echo-worker EP [DELAY_MS [ID [POISON]]]
                            DEALER that connects to EP and echoes, after DELAY_MS per request,
                            with routing id ID (none if absent or "-"); exits at once with
                            status 3 when a request's last frame is POISON (a worker that dies
                            on one request); prints `served K` at stop.
  poison-client EP ID N W   as dealer-client, after sending one request `poison` first, which
                            must never be answered.
  proxy W                   zmq.proxy(ROUTER, DEALER), both bound on port 0; prints
                            `ready FRONT BACK`, then `workers W` once W peers have connected
                            to BACK, then proxies until killed.
  router-echo [DROP_EVERY]  ROUTER bound on port 0 that echoes (dropping every DROP_EVERY-th
                            request if given); at stop prints `ids COUNT ID_HEX...` (the
                            distinct routing ids seen, and how many requests).
  shut-out EP ID WAIT_MS [req]
                            DEALER (REQ with `req`) with routing id ID that connects (EP may name a source
                            address: tcp://127.0.0.1:SRC;127.0.0.1:PORT), prints `ready`, sends
                            one request and expects NO reply within WAIT_MS: prints `nothing
                            sent=0|1 EVENT...` (whether libzmq took the request, and its monitor
                            events, zmq names minus EVENT_), or FAIL. libzmq drops a connecting
                            socket's pipe for a moment after a failed handshake (a send then
                            blocks), so the send does not block: it is retried for 1 s.

Security, from the environment, for dealer-client and shut-out: with PEER_CURVE_SERVER_KEY
(Z85), a CURVE client of that server, with the key pair of PEER_CURVE_SECRET_KEY (Z85) or a
fresh one; with PEER_PLAIN_USER, a PLAIN client (password PEER_PLAIN_PASSWORD).
"""

import os
import sys
import time

import zmq
import zmq.utils.monitor

TIMEOUT_S = 10.0


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(reason):
    out("FAIL " + reason)
    sys.exit(1)


def connect_and_wait(sock, ep):
    """Connects sock to ep and blocks (bounded) until the ZMTP handshake is done, so the peer
    that binds has attached us before we go on."""
    mon = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    sock.connect(ep)
    wait_handshakes(sock, mon, 1)


def wait_handshakes(sock, mon, n, timeout_s=TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    try:
        for _ in range(n):
            left = deadline - time.monotonic()
            if left <= 0 or not mon.poll(int(left * 1000)):
                fail("no handshake within %.0f s" % timeout_s)
            mon.recv_multipart()
    finally:
        sock.disable_monitor()
        mon.close(linger=0)


def request(cid, k):
    binary = bytes((k * 31 + i * 7) % 256 for i in range(k % 64 + 1)) + b"\x00\xff\x00"
    return [("%s:req-%d" % (cid, k)).encode(), binary, b""]


def stdin_poller(sock):
    p = zmq.Poller()
    p.register(sock, zmq.POLLIN)
    p.register(sys.stdin.fileno(), zmq.POLLIN)
    return p


def stdin_says_stop():
    line = sys.stdin.readline()
    return line == "" or line.strip() == "stop"


def secure(s):
    """A CURVE or PLAIN client as the environment says (see the module doc)."""
    user = os.environ.get("PEER_PLAIN_USER")
    if user:
        s.plain_username = user.encode()
        s.plain_password = os.environ.get("PEER_PLAIN_PASSWORD", "").encode()
    server_key = os.environ.get("PEER_CURVE_SERVER_KEY")
    if not server_key:
        return
    secret = os.environ.get("PEER_CURVE_SECRET_KEY")
    if secret:
        public = zmq.curve_public(secret.encode())
        secret = secret.encode()
    else:
        public, secret = zmq.curve_keypair()
    s.curve_serverkey = server_key.encode()
    s.curve_publickey = public
    s.curve_secretkey = secret


def dealer_client(ctx, ep, cid, n, window=None, first=None):
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    secure(s)
    s.identity = cid.encode()
    connect_and_wait(s, ep)
    out("ready")
    if first is not None:
        s.send_multipart(first)
    window = n if window is None else window
    expected = {}
    sent = 0
    seen = set()
    deadline = time.monotonic() + TIMEOUT_S
    while len(seen) < n:
        while sent < n and sent - len(seen) < window:
            msg = request(cid, sent)
            expected[tuple(msg)] = sent
            s.send_multipart(msg)
            sent += 1
        left = deadline - time.monotonic()
        if left <= 0 or not s.poll(int(left * 1000)):
            fail("%s: %d of %d replies missing" % (cid, n - len(seen), n))
        reply = tuple(s.recv_multipart())
        k = expected.get(reply)
        if k is None:
            fail("%s: unexpected reply %r" % (cid, reply[:2]))
        if k in seen:
            fail("%s: duplicate reply to request %d" % (cid, k))
        seen.add(k)
    # Anything more within a short while is a duplicate or someone else's reply.
    if s.poll(200):
        fail("%s: extra reply %r" % (cid, s.recv_multipart()[:2]))
    out("ok %d" % n)


def retry_client(ctx, ep, cid, n, window, retry_ms, ivl_ms):
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.identity = cid.encode()
    connect_and_wait(s, ep)
    out("ready")
    expected = {}
    outstanding = {}  # k -> (message, last sent at)
    done = set()
    sent = retries = dups = 0
    next_send = time.monotonic()
    deadline = time.monotonic() + 4 * TIMEOUT_S
    while len(done) < n:
        now = time.monotonic()
        if now > deadline:
            fail("%s: %d of %d replies missing" % (cid, n - len(done), n))
        while sent < n and len(outstanding) < window and now >= next_send:
            msg = request(cid, sent)
            expected[tuple(msg)] = sent
            outstanding[sent] = (msg, now)
            s.send_multipart(msg)
            sent += 1
            if ivl_ms:
                next_send = now + ivl_ms / 1000.0
        for k, (msg, at) in list(outstanding.items()):
            if now - at >= retry_ms / 1000.0:
                outstanding[k] = (msg, now)
                s.send_multipart(msg)
                retries += 1
        if not s.poll(10):
            continue
        while True:
            try:
                reply = tuple(s.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                break
            k = expected.get(reply)
            if k is None:
                fail("%s: unexpected reply %r" % (cid, reply[:2]))
            if k in done:
                dups += 1
                continue
            done.add(k)
            outstanding.pop(k, None)
            if len(done) % 100 == 0:
                out("progress %d" % len(done))
    out("ok %d retries %d dups %d" % (n, retries, dups))


def shut_out(ctx, ep, cid, wait_ms, kind):
    s = ctx.socket(zmq.REQ if kind == "req" else zmq.DEALER)
    s.linger = 0
    s.identity = cid.encode()
    secure(s)
    mon = s.get_monitor_socket()
    s.connect(ep)
    out("ready")
    sent = 0
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            s.send_multipart(request(cid, 0), zmq.NOBLOCK)
            sent = 1
            break
        except zmq.Again:
            time.sleep(0.01)
    if s.poll(wait_ms):
        fail("%s: a reply came: %r" % (cid, s.recv_multipart()[:2]))
    names = {
        getattr(zmq, n): n[len("EVENT_"):]
        for n in dir(zmq)
        if n.startswith("EVENT_") and n not in ("EVENT_ALL", "EVENT_ALL_V1", "EVENT_ALL_V2")
    }
    seen = []
    while mon.poll(0):
        ev = zmq.utils.monitor.recv_monitor_message(mon)
        seen.append(names.get(ev["event"], str(ev["event"])))
    out("nothing sent=%d %s" % (sent, " ".join(seen)))


def churn(ctx, ep, n):
    for i in range(n):
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        s.identity = ("churn-%d" % i).encode()
        s.connect(ep)
        msg = request("churn-%d" % i, i)
        s.send_multipart(msg)
        if not s.poll(int(TIMEOUT_S * 1000)):
            fail("churn: no reply on connection %d" % i)
        reply = s.recv_multipart()
        if reply != msg:
            fail("churn: reply %r != request %r" % (reply[:2], msg[:2]))
        s.close(linger=0)
    out("ok %d" % n)


def req_client(ctx, ep, n):
    s = ctx.socket(zmq.REQ)
    s.linger = 0
    s.connect(ep)
    for k in range(n):
        msg = request("req", k)
        s.send_multipart(msg)
        if not s.poll(int(TIMEOUT_S * 1000)):
            fail("req: no reply to request %d" % k)
        reply = s.recv_multipart()
        if reply != msg:
            fail("req: reply %r != request %r" % (reply, msg))
    out("ok %d" % n)


def echo_worker(ctx, ep, delay_ms=0, wid=None, poison=None):
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    if wid:
        s.identity = wid.encode()
    connect_and_wait(s, ep)
    out("ready")
    served = 0
    poller = stdin_poller(s)
    while True:
        events = dict(poller.poll())
        if s in events:
            while True:
                try:
                    msg = s.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if poison is not None and msg[-1] == poison:
                    sys.stdout.flush()
                    os._exit(3)
                if delay_ms:
                    time.sleep(delay_ms / 1000.0)
                s.send_multipart(msg)
                served += 1
        if sys.stdin.fileno() in events and stdin_says_stop():
            break
    out("served %d" % served)


def proxy(ctx, workers):
    front = ctx.socket(zmq.ROUTER)
    back = ctx.socket(zmq.DEALER)
    for s in (front, back):
        s.linger = 0
        s.bind("tcp://127.0.0.1:0")
    mon = back.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    out(
        "ready %s %s"
        % (front.getsockopt_string(zmq.LAST_ENDPOINT), back.getsockopt_string(zmq.LAST_ENDPOINT))
    )
    wait_handshakes(back, mon, workers)
    out("workers %d" % workers)
    zmq.proxy(front, back)  # runs until killed


def router_echo(ctx, drop_every):
    s = ctx.socket(zmq.ROUTER)
    s.linger = 0
    s.bind("tcp://127.0.0.1:0")
    out("ready %s" % s.getsockopt_string(zmq.LAST_ENDPOINT))
    ids = []
    count = 0
    poller = stdin_poller(s)
    while True:
        events = dict(poller.poll())
        if s in events:
            while True:
                try:
                    msg = s.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                count += 1
                if msg[0] not in ids:
                    ids.append(msg[0])
                if drop_every and count % drop_every == 0:
                    continue
                s.send_multipart(msg)
        if sys.stdin.fileno() in events and stdin_says_stop():
            break
    out("ids %d %s" % (count, " ".join(i.hex() for i in ids)))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    ctx = zmq.Context()
    try:
        if mode == "dealer-client":
            window = int(args[3]) if len(args) > 3 else None
            dealer_client(ctx, args[0], args[1], int(args[2]), window)
        elif mode == "retry-client":
            ivl = int(args[5]) if len(args) > 5 else 0
            retry_client(ctx, args[0], args[1], int(args[2]), int(args[3]), int(args[4]), ivl)
        elif mode == "shut-out":
            shut_out(ctx, args[0], args[1], int(args[2]), args[3] if len(args) > 3 else "dealer")
        elif mode == "churn":
            churn(ctx, args[0], int(args[1]))
        elif mode == "req-client":
            req_client(ctx, args[0], int(args[1]))
        elif mode == "echo-worker":
            delay = int(args[1]) if len(args) > 1 else 0
            wid = args[2] if len(args) > 2 and args[2] != "-" else None
            poison = args[3].encode() if len(args) > 3 else None
            echo_worker(ctx, args[0], delay, wid, poison)
        elif mode == "poison-client":
            dealer_client(ctx, args[0], args[1], int(args[2]), int(args[3]), [b"poison"])
        elif mode == "proxy":
            proxy(ctx, int(args[0]))
        elif mode == "router-echo":
            router_echo(ctx, int(args[0]) if args else 0)
        else:
            fail("unknown mode " + mode)
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)
