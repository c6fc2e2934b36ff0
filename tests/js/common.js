'use strict';
// Shared by client.js, worker.js and server.js: a small argument parser and the lifetime rules
// every one of them follows (tests/zeromqjs.rs relies on them):
// - exit when stdin reaches end of file (the test, or the server that started a worker, is gone)
//   and on SIGINT / SIGTERM;
// - exit after --max-seconds (default 60) whatever happens, so an orphan never lingers.

// `spec` maps option names to defaults (a boolean default makes a flag without a value).
// Returns { opts, positional }; an unknown option or a missing value exits 2 with one line.
function parseArgs(name, spec, argv = process.argv.slice(2)) {
  const opts = Object.assign({ 'max-seconds': 60 }, spec);
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const key = arg.slice(2);
    if (!(key in opts)) usage(name, `unknown option ${arg}`);
    if (typeof opts[key] === 'boolean') {
      opts[key] = true;
    } else {
      if (i + 1 >= argv.length) usage(name, `${arg} needs a value`);
      const value = argv[++i];
      if (typeof opts[key] === 'number') {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) usage(name, `${arg}: not a count: ${value}`);
        opts[key] = n;
      } else {
        opts[key] = value;
      }
    }
  }
  return { opts, positional };
}

function usage(name, message) {
  console.error(`${name}: ${message}`);
  process.exit(2);
}

// Calls `stop(reason)` on end of stdin, SIGINT or SIGTERM; exits 3 after `maxSeconds`.
function lifetime(name, maxSeconds, stop) {
  let stopping = false;
  const once = (reason) => {
    if (!stopping) {
      stopping = true;
      stop(reason);
    }
  };
  process.stdin.on('end', () => once('stdin closed'));
  process.stdin.on('error', () => once('stdin closed'));
  process.stdin.resume();
  process.on('SIGINT', () => once('SIGINT'));
  process.on('SIGTERM', () => once('SIGTERM'));
  const timer = setTimeout(() => {
    console.error(`${name}: still running after ${maxSeconds} s (safety timeout); exiting`);
    process.exit(3);
  }, maxSeconds * 1000);
  timer.unref();
}

module.exports = { parseArgs, usage, lifetime };
