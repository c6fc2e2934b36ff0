'use strict';
// The demo's worker on zeromq.js (v5 API): a DEALER connected to the broker's backend that
// receives [client identity, data...] and sends the same frames back.
//
//   node worker.js [--connect EP] [--id NAME] [--quiet] [--max-seconds M]
//
// Prints `connected EP` when its connection is up (again after a reconnect), one line per
// request like the demo (`NAME received request #3 from client1`: the last frame, then the
// first), and `served N` when it stops (end of stdin, SIGINT, SIGTERM). Without --id the
// routing id is left to libzmq and NAME is worker#<pid>.

const zmq = require('zeromq/v5-compat');
const { parseArgs, lifetime } = require('./common');

const { opts } = parseArgs('worker.js', {
  connect: 'tcp://127.0.0.1:5580',
  id: '',
  quiet: false,
});
const name = opts.id || `worker#${process.pid}`;

const sock = zmq.socket('dealer');
if (opts.id) sock.identity = opts.id;
sock.linger = 0;
sock.monitor();
sock.on('connect', () => console.log(`connected ${opts.connect}`));
sock.on('error', (err) => {
  console.error(`worker.js ${name}: socket error: ${err.message}`);
  process.exit(1);
});
sock.connect(opts.connect);

let served = 0;
sock.on('message', (...frames) => {
  served++;
  if (!opts.quiet) {
    const client = frames[0].toString();
    const body = frames[frames.length - 1].toString();
    console.log(`${name} received ${body} from ${client}`);
  }
  sock.send(frames);
});

lifetime('worker.js', opts['max-seconds'], () => {
  console.log(`served ${served}`);
  sock.unmonitor();
  sock.close();
  process.exit(0);
});
