// Runs a Python example service (flask_app.py, aiohttp_app.py) as a child process with Debian's
// /usr/bin/python3, so the example contract (../example-contract.ts) tests it like the
// TypeScript examples. Two pieces of glue stand in for what a TypeScript example does in-process:
//
// - The contract hands `start` a `fetch` that can cut off the issuer's JWKS endpoint. The
//   Python client reaches Gatehouse through a small forwarding HTTP proxy served here
//   (GATEHOUSE_HTTP_PROXY), which makes every call with that `fetch`, streaming the answers
//   (the event stream included).
// - The contract calls `app.gatehouse.connect()` to wait for the service's event stream; here
//   that asks the service's test-only route `/_test/events` (EXAMPLE_TEST_HOOKS=1).

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { GatehouseClient } from 'gatehouse-client';
import type { ExampleOptions, RunningExample } from '../shared/example.ts';

export const PYTHON = '/usr/bin/python3';

const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
  'host',
  'content-length',
  'content-encoding',
]);

/** A forwarding proxy (absolute-form requests) that makes each call with `fetchImpl`. */
async function forwardingProxy(fetchImpl: typeof fetch): Promise<Server> {
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers.set(name, value);
      }
      const upstream = await fetchImpl(req.url!, {
        method: req.method,
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
        redirect: 'manual',
        signal: abort.signal,
      });
      const out: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) out[name] = value;
      });
      res.writeHead(upstream.status, out);
      res.flushHeaders();
      if (!upstream.body) return void res.end();
      Readable.fromWeb(upstream.body as never)
        .on('error', () => res.destroy())
        .pipe(res);
    } catch {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** A `start` for the example contract that runs `examples/python/<script>`. */
export function pythonExample(script: string) {
  return async function start(options: ExampleOptions): Promise<RunningExample> {
    const proxy = await forwardingProxy(options.fetch ?? fetch);
    const child: ChildProcess = spawn(PYTHON, [new URL(script, import.meta.url).pathname], {
      env: {
        PATH: process.env.PATH,
        GATEHOUSE_ISSUER: options.issuer,
        CLIENT_ID: options.clientId,
        CLIENT_SECRET: options.clientSecret,
        PORT: String(options.port),
        GATEHOUSE_RESOURCE: options.resource ?? '',
        SESSION_SECRET: options.sessionSecret ?? '',
        GATEHOUSE_HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        EXAMPLE_TEST_HOOKS: '1',
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 60_000);
      lines.on('line', (line) => {
        const match = /listening on (http:\/\/\S+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
    const gatehouse = {
      async connect() {
        const res = await fetch(`${url}/_test/events`);
        if (res.status !== 204) throw new Error(`${script}: event stream not connected`);
      },
    } as unknown as GatehouseClient;
    return {
      url,
      gatehouse,
      async close() {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        proxy.closeAllConnections();
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
      },
    };
  };
}
