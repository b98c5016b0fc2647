// tools/bench/portkey-loopback.cjs: preloaded into the Portkey gateway (`node --require`) so the
// benchmark stays loopback-only and needs no fixed port. Portkey has no bind-address option
// (@hono/node-server listens on all interfaces); this rewrites the first TCP listen() of the
// process to 127.0.0.1 on port $BENCH_PORT (default 0 = any free port) and, once bound, writes
// {"http_port":N} to $BENCH_READY_FILE (temp file + rename, like the P402 binaries' ready files).
'use strict';
const fs = require('fs');
const net = require('net');
const origListen = net.Server.prototype.listen;
let done = false;
net.Server.prototype.listen = function (...args) {
  if (done || (typeof args[0] !== 'number' && typeof args[0] !== 'string') ||
      (typeof args[0] === 'string' && !/^\d+$/.test(args[0]))) {
    return origListen.apply(this, args);  // unix sockets, option objects: untouched
  }
  done = true;
  const cb = args.find((a) => typeof a === 'function');
  const port = Number(process.env.BENCH_PORT || 0);
  this.once('listening', () => {
    const file = process.env.BENCH_READY_FILE;
    if (file) {
      fs.writeFileSync(file + '.tmp', JSON.stringify({ http_port: this.address().port }));
      fs.renameSync(file + '.tmp', file);
    }
  });
  return cb ? origListen.call(this, port, '127.0.0.1', cb) : origListen.call(this, port, '127.0.0.1');
};
