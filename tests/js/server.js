'use strict';
// The demo's broker on zeromq.js (v5 API): a ROUTER frontend for clients and a DEALER backend
// for workers, every message forwarded unchanged both ways (what zmq_proxy(ROUTER, DEALER)
// does: workers get [client identity, data...], and their replies find the client again).
//
//   node server.js [N] [--frontend EP] [--backend EP] [--max-seconds M]
//
// Both endpoints are bound (port 0 picks a free one); once they are, prints
// `server: frontend EP backend EP` with the real endpoints. Starts N worker.js processes
// (ids worker#1..worker#N, default 0) on the backend; their lines go to this output, and they
// stop with this process (their stdin closes). Stops on end of stdin, SIGINT or SIGTERM.

const path = require('path');
const { spawn } = require('child_process');
const zmq = require('zeromq/v5-compat');
const { parseArgs, usage, lifetime } = require('./common');

const { opts, positional } = parseArgs('server.js', {
  frontend: 'tcp://127.0.0.1:5570',
  backend: 'tcp://127.0.0.1:5580',
});
const workers = positional.length ? Number(positional[0]) : 0;
if (!Number.isInteger(workers) || workers < 0) usage('server.js', `not a worker count: ${positional[0]}`);

const frontend = zmq.socket('router');
const backend = zmq.socket('dealer');
for (const [sock, ep] of [
  [frontend, opts.frontend],
  [backend, opts.backend],
]) {
  sock.linger = 0;
  try {
    sock.bindSync(ep);
  } catch (err) {
    usage('server.js', `cannot bind ${ep}: ${err.message}`);
  }
}
const front = frontend.last_endpoint;
const back = backend.last_endpoint;

frontend.on('message', (...frames) => backend.send(frames));
backend.on('message', (...frames) => frontend.send(frames));
for (const sock of [frontend, backend]) {
  sock.on('error', (err) => {
    console.error(`server.js: socket error: ${err.message}`);
    process.exit(1);
  });
}
console.log(`server: frontend ${front} backend ${back}`);

const children = [];
for (let i = 1; i <= workers; i++) {
  const script = path.join(__dirname, 'worker.js');
  const args = [script, '--connect', back, '--id', `worker#${i}`];
  args.push('--max-seconds', String(opts['max-seconds']));
  children.push(spawn(process.execPath, args, { stdio: ['pipe', 'inherit', 'inherit'] }));
}

lifetime('server.js', opts['max-seconds'], () => {
  for (const child of children) child.stdin.end();
  frontend.close();
  backend.close();
  process.exit(0);
});
