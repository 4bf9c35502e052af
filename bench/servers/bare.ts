// The baseline: the least a Node HTTP server can do. Every Gatehouse figure is divided by
// this server's requests per second, measured in the same run on the same machine.
// PORT (required) and HOST (default 127.0.0.1) say where to listen.

import { createServer } from 'node:http';
import { listenAddress, stopWith } from './child.ts';

const { port, host } = listenAddress('bare');

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
server.listen(port, host);

stopWith(() => new Promise<void>((resolve) => server.close(() => resolve())));
