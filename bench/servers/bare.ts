// The baseline: the least a Node HTTP server can do. Every Gatehouse figure is divided by
// this server's requests per second, measured in the same run on the same machine.
// PORT (required) and HOST (default 127.0.0.1) say where to listen.

import { createServer } from 'node:http';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('bare: set PORT\n');
  process.exit(2);
}

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
server.listen(port, process.env.HOST ?? '127.0.0.1');

const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

// Exit if the benchmark that started us is gone (killed before it could stop us).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
