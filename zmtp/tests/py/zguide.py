#!/usr/bin/env python3
"""The pyzmq (libzmq) side of zmtp/tests/examples.rs: zguide roles paired with our examples.

Usage: zguide.py MODE ARGS...
  hwserver N                 REP (hwserver): binds, prints "PORT p", answers N requests, each of
                             which must be "Hello", with "World"; prints "SERVED N".
  hwclient PORT N            REQ (hwclient): N x "Hello", each reply must be "World"; "DONE N".
  wuserver SECONDS           PUB (wuserver): binds, prints "PORT p", publishes for SECONDS:
                             zip 10001 always at 42 degrees, other zips (10002, 00001, 1000)
                             at other temperatures, so a client that averages anything but
                             10001's updates does not get 42.
  taskventsink N             PUSH ventilator and PULL sink: binds both, prints "PORTS v s",
                             sends N tasks (workloads 1..5 ms), expects each workload back
                             exactly once, and nothing more; prints "OK N total".
  lpserver N DROPS BADS      ROUTER standing in for lpserver: binds, prints "PORT p", echoes
                             each request, except the first copy of each sequence number in
                             DROPS (comma-separated; unanswered) and in BADS (answered "999");
                             ends once N is answered; prints "RECEIVED s1 s2 ..." (every
                             request, in arrival order).
  idclients PORT             two REQs: one anonymous, one with routing id "PEER2", each sends
                             one message; prints "SENT 2".
  lbpeers FRONT BACK C W     W REQ workers (ids W0.., READY first, reply "OK " + request) on
                             port BACK and C REQ clients (ids C0..) on port FRONT, each sending
                             "request of C<i>" and expecting "OK request of C<i>"; prints
                             "CLIENTS C" and "WORKERS W0=n W1=n ...".

Exits 0 when every check passed; otherwise prints why on stderr and exits non-zero. Every wait
is bounded (RCVTIMEO/SNDTIMEO, and a global alarm).
"""

import signal
import sys
import threading
import time

import zmq

TIMEOUT_MS = 10_000

ctx = zmq.Context()


def fail(why):
    print(f"zguide.py: FAIL: {why}", file=sys.stderr, flush=True)
    sys.exit(1)


def new_socket(kind, routing_id=None):
    s = ctx.socket(kind)
    # Long enough for the last message to leave at close, bounded.
    s.setsockopt(zmq.LINGER, 2000)
    s.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    s.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    if routing_id is not None:
        s.setsockopt(zmq.ROUTING_ID, routing_id)
    return s


def bind(s):
    s.bind("tcp://127.0.0.1:0")
    return s.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1]


def connect(s, port):
    s.connect(f"tcp://127.0.0.1:{port}")


def recv(s, what):
    try:
        return s.recv_multipart()
    except zmq.Again:
        fail(f"timed out waiting for {what}")


def hwserver(n):
    rep = new_socket(zmq.REP)
    print(f"PORT {bind(rep)}", flush=True)
    for i in range(n):
        request = recv(rep, f"request {i}")
        if request != [b"Hello"]:
            fail(f"request {i}: {request!r}, want [b'Hello']")
        rep.send(b"World")
    print(f"SERVED {n}", flush=True)
    rep.close()


def hwclient(port, n):
    req = new_socket(zmq.REQ)
    connect(req, port)
    for i in range(n):
        req.send(b"Hello")
        reply = recv(req, f"reply {i}")
        if reply != [b"World"]:
            fail(f"reply {i}: {reply!r}, want [b'World']")
    print(f"DONE {n}", flush=True)
    req.close()


def wuserver(seconds):
    pub = new_socket(zmq.PUB)
    print(f"PORT {bind(pub)}", flush=True)
    updates = [b"10001 42 50", b"10002 90 20", b"00001 -80 10", b"1000 -50 30"]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for u in updates:
            pub.send(u)
        time.sleep(0.0005)
    pub.close()


def taskventsink(n):
    vent = new_socket(zmq.PUSH)
    sink = new_socket(zmq.PULL)
    print(f"PORTS {bind(vent)} {bind(sink)}", flush=True)
    tasks = [str(1 + i % 5).encode() for i in range(n)]
    for t in tasks:
        vent.send(t)
    results = []
    for i in range(n):
        results.append(recv(sink, f"result {i} of {n}"))
    if sorted(results) != sorted([t] for t in tasks):
        fail(f"results {results!r} are not the tasks {tasks!r}")
    if sink.poll(300):
        fail(f"a result more than the {n} tasks: {sink.recv_multipart()!r}")
    print(f"OK {n} {sum(int(t) for t in tasks)}", flush=True)
    vent.close()
    sink.close()


def lpserver(n, drops, bads):
    router = new_socket(zmq.ROUTER)
    print(f"PORT {bind(router)}", flush=True)
    drops = {int(s) for s in drops.split(",") if s}
    bads = {int(s) for s in bads.split(",") if s}
    received = []
    while True:
        msg = recv(router, f"a request after {received}")
        if len(msg) != 3 or msg[1] != b"":
            fail(f"not a REQ envelope: {msg!r}")
        ident, _, body = msg
        received.append(body.decode())
        seq = int(body)
        if seq in drops:
            drops.discard(seq)
            continue
        if seq in bads:
            bads.discard(seq)
            router.send_multipart([ident, b"", b"999"])
            continue
        router.send_multipart([ident, b"", body])
        if seq == n:
            break
    print("RECEIVED " + " ".join(received), flush=True)
    router.close()


def idclients(port):
    anonymous = new_socket(zmq.REQ)
    connect(anonymous, port)
    anonymous.send(b"Hello from an anonymous libzmq REQ")
    named = new_socket(zmq.REQ, b"PEER2")
    connect(named, port)
    named.send(b"Hello from PEER2")
    anonymous.close()
    named.close()
    print("SENT 2", flush=True)


def lbpeers(front, back, clients, workers):
    stop = threading.Event()
    served = {}
    errors = []

    def worker(i):
        wid = f"W{i}"
        req = new_socket(zmq.REQ, wid.encode())
        req.setsockopt(zmq.RCVTIMEO, 100)
        connect(req, back)
        req.send(b"READY")
        served[wid] = 0
        while not stop.is_set():
            try:
                msg = req.recv_multipart()
            except zmq.Again:
                continue
            if len(msg) != 3 or msg[1] != b"":
                errors.append(f"{wid}: not [client, '', request]: {msg!r}")
                return
            client, _, request = msg
            served[wid] += 1
            req.send_multipart([client, b"", b"OK " + request])
        req.close()

    def client(i):
        cid = f"C{i}"
        req = new_socket(zmq.REQ, cid.encode())
        connect(req, front)
        request = f"request of {cid}".encode()
        req.send(request)
        try:
            reply = req.recv_multipart()
        except zmq.Again:
            errors.append(f"{cid}: no reply")
            return
        if reply != [b"OK " + request]:
            errors.append(f"{cid}: reply {reply!r}, want {[b'OK ' + request]!r}")
        req.close()

    ws = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    cs = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in ws + cs:
        t.start()
    for t in cs:
        t.join()
    stop.set()
    for t in ws:
        t.join()
    if errors:
        fail("; ".join(errors))
    print(f"CLIENTS {clients}", flush=True)
    print("WORKERS " + " ".join(f"{k}={v}" for k, v in sorted(served.items())), flush=True)


def main():
    signal.alarm(60)  # hard bound, whatever happens
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "hwserver":
        hwserver(int(args[0]))
    elif mode == "hwclient":
        hwclient(int(args[0]), int(args[1]))
    elif mode == "wuserver":
        wuserver(float(args[0]))
    elif mode == "taskventsink":
        taskventsink(int(args[0]))
    elif mode == "lpserver":
        lpserver(int(args[0]), args[1], args[2])
    elif mode == "idclients":
        idclients(int(args[0]))
    elif mode == "lbpeers":
        lbpeers(int(args[0]), int(args[1]), int(args[2]), int(args[3]))
    else:
        fail(f"unknown mode {mode}")
    ctx.term()


if __name__ == "__main__":
    main()
