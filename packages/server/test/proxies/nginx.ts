// Real NGINX (Debian's /usr/sbin/nginx) for the forward-auth tests: started on a loopback port
// from a generated config in a temporary directory, with the server blocks filled in from the
// operators' guide snippet (docs/operators/proxies/nginx-server.conf), so the documented config
// is the tested one. Also an upstream echo server that reports the headers it received.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX_PATH = '/usr/sbin/nginx';
export const NGINX_SNIPPET = fileURLToPath(
  new URL('../../../../docs/operators/proxies/nginx-server.conf', import.meta.url),
);

export interface ProtectedHost {
  serverName: string;
  /** Gatehouse's base URL as NGINX reaches it, e.g. http://127.0.0.1:8000 */
  gatehouse: string;
  upstream: string;
}

/** A guide's snippet file with its {{…}} placeholders filled in; an unknown one is an error. */
export function fillSnippet(file: string, values: Record<string, string>): string {
  return readFileSync(file, 'utf8').replace(/\{\{(\w+)\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${file}: unknown placeholder ${key}`);
    return v;
  });
}

/** The snippet with its placeholders filled in. */
export function nginxServerBlock(host: ProtectedHost, listen: string): string {
  return fillSnippet(NGINX_SNIPPET, {
    LISTEN: listen,
    SERVER_NAME: host.serverName,
    GATEHOUSE: host.gatehouse,
    UPSTREAM: host.upstream,
  });
}

export async function freePort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export interface RunningNginx {
  port: number;
  stop(): Promise<void>;
  errorLog(): string;
}

/**
 * Starts NGINX in the foreground on 127.0.0.1 with the given protected hosts; `extra` is more
 * configuration inside the http block (the benchmark adds a static upstream and a plain proxy).
 */
export async function startNginx(
  hosts: ProtectedHost[],
  options: { extra?: string; workers?: number } = {},
): Promise<RunningNginx> {
  if (!existsSync(NGINX_PATH)) throw new Error('NGINX is not installed: apt-get install nginx');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const conf = [
    'daemon off;',
    `worker_processes ${options.workers ?? 1};`,
    // As root the workers would otherwise switch to nobody, who cannot use the temp directory.
    process.getuid?.() === 0 ? 'user root;' : '',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 512; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}/body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    // Requests for an unknown Host are refused, not sent to the first protected server.
    `  server { listen ${listen} default_server; return 421; }`,
    ...hosts.map((h) => nginxServerBlock(h, listen)),
    options.extra ?? '',
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX_PATH, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const errorLog = () => {
    const file = join(dir, 'error.log');
    return `${stderr}${existsSync(file) ? readFileSync(file, 'utf8') : ''}`;
  };
  // Ready when it answers on the port.
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited:\n${errorLog()}`);
    try {
      await request(port, 'unknown.test', '/');
      break;
    } catch {
      if (i > 200) throw new Error(`nginx did not start:\n${errorLog()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    port,
    errorLog,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGQUIT');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request with any Host header (fetch cannot set Host). */
export function request(
  port: number,
  host: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method, headers: { ...headers, host }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export interface EchoUpstream {
  url: string;
  /** The requests it received: path and headers. */
  seen: Array<{ path: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** The protected service: answers with a page (for browsers) listing the headers it got. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: EchoUpstream['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const body = JSON.stringify({ path: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>echo</title><pre id="echo">${body.replace(/</g, '&lt;')}</pre>`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
