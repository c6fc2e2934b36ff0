'use strict';
// The demo's client on zeromq.js (v5 API): a DEALER with an identity that sends requests to
// the broker's frontend and checks every reply.
//
//   node client.js client1 [--connect EP] [--requests N] [--window W] [--frames F]
//                          [--timeout-ms T] [--settle-ms S] [--quiet] [--max-seconds M]
//
// Request k is F frames: `request #k`, then (F > 2) alternately an empty frame and the bytes
// 00 ff k%256, and last (F > 1) `end of request #k`. At most W requests are in flight. A reply
// must equal its request frame for frame; a reply to a request already answered (or never
// sent), or a different one, fails at once. After the N-th reply, S ms more are waited for
// extra replies. Prints `ID received: request #k` per reply (unless --quiet), then `ok N` and
// exits 0, or `FAIL reason` and exits 1 (also when T ms pass before every reply is in).

const zmq = require('zeromq/v5-compat');
const { parseArgs, usage, lifetime } = require('./common');

const { opts, positional } = parseArgs('client.js', {
  id: '',
  connect: 'tcp://127.0.0.1:5570',
  requests: 10,
  window: 1,
  frames: 1,
  'timeout-ms': 10000,
  'settle-ms': 300,
  quiet: false,
});
const id = opts.id || positional[0] || `client#${process.pid}`;
const total = opts.requests;
const window = opts.window;
if (window < 1) usage('client.js', '--window must be at least 1');
if (opts.frames < 1) usage('client.js', '--frames must be at least 1');

function request(k) {
  const frames = [Buffer.from(`request #${k}`)];
  for (let i = 1; i < opts.frames - 1; i++) {
    frames.push(i % 2 === 1 ? Buffer.alloc(0) : Buffer.from([0x00, 0xff, k % 256]));
  }
  if (opts.frames > 1) frames.push(Buffer.from(`end of request #${k}`));
  return frames;
}

function show(frames) {
  return '[' + frames.map((f) => JSON.stringify(f.toString('latin1'))).join(', ') + ']';
}

function fail(reason) {
  console.log(`FAIL ${id}: ${reason}`);
  process.exit(1);
}

const sock = zmq.socket('dealer');
sock.identity = id;
sock.linger = 0;
sock.connect(opts.connect);

let next = 1; // the next request to send
let answered = 0;
const pending = new Map(); // k -> the frames sent

function fill() {
  while (next <= total && pending.size < window) {
    const frames = request(next);
    pending.set(next, frames);
    sock.send(frames);
    next++;
  }
}

sock.on('message', (...frames) => {
  const m = /^request #(\d+)$/.exec(frames[0].toString('latin1'));
  if (!m) fail(`a reply that is no request of ours: ${show(frames)}`);
  const k = Number(m[1]);
  const sent = pending.get(k);
  if (!sent) {
    fail(k < next ? `a second reply to request #${k}` : `a reply to request #${k}, never sent`);
  }
  const same = sent.length === frames.length && sent.every((f, i) => f.equals(frames[i]));
  if (!same) fail(`the reply to request #${k} is ${show(frames)}, the request was ${show(sent)}`);
  pending.delete(k);
  answered++;
  if (!opts.quiet) console.log(`${id} received: request #${k}`);
  if (answered === total) {
    clearTimeout(deadline);
    setTimeout(() => {
      console.log(`ok ${total}`);
      process.exit(0);
    }, opts['settle-ms']);
  } else {
    fill();
  }
});
sock.on('error', (err) => fail(`socket error: ${err.message}`));

const deadline = setTimeout(() => {
  const missing = [...pending.keys()].slice(0, 5).map((k) => `#${k}`);
  fail(
    `${total - answered} of ${total} replies missing after ${opts['timeout-ms']} ms ` +
      `(${next - 1} sent; waiting for ${missing.join(' ')}${pending.size > 5 ? ' ...' : ''})`,
  );
}, opts['timeout-ms']);

lifetime('client.js', opts['max-seconds'], (reason) => fail(`stopped (${reason})`));

if (total === 0) {
  console.log('ok 0');
  process.exit(0);
}
fill();
