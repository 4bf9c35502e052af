// Real Caddy (Debian's /usr/bin/caddy) for the forward-auth tests: started on a free loopback
// port from a generated Caddyfile in a temporary directory, with the site block filled in from
// the operators' guide snippet (docs/operators/proxies/caddy-site.caddyfile), so the documented
// config is the tested one. No admin endpoint, and HOME and the XDG directories in the
// temporary directory, so several can run at once and nothing is left behind.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillSnippet, freePort, request } from './nginx.ts';

export const CADDY_PATH = '/usr/bin/caddy';
export const CADDY_SNIPPET = fileURLToPath(
  new URL('../../../../docs/operators/proxies/caddy-site.caddyfile', import.meta.url),
);

export interface CaddySite {
  /** The host name the site answers for. */
  host: string;
  /** Gatehouse as Caddy reaches it: 127.0.0.1:8000 */
  gatehouse: string;
  /** The protected service: 127.0.0.1:3000 */
  upstream: string;
}

/** Caddy's version line, e.g. "2.6.2". */
export function caddyVersion(): string {
  return execFileSync(CADDY_PATH, ['version'], { encoding: 'utf8' }).trim();
}

/** The snippet with its placeholders filled in. */
export function caddySiteBlock(site: CaddySite, port: number): string {
  return fillSnippet(CADDY_SNIPPET, {
    SITE: `http://${site.host}:${port}`,
    GATEHOUSE: site.gatehouse,
    UPSTREAM: site.upstream,
  });
}

export interface RunningCaddy {
  port: number;
  stop(): Promise<void>;
  log(): string;
}

export async function startCaddy(sites: CaddySite[]): Promise<RunningCaddy> {
  if (!existsSync(CADDY_PATH)) throw new Error('Caddy is not installed: apt-get install caddy');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-caddy-'));
  const port = await freePort();
  const conf = [
    '{',
    '\tadmin off',
    '\tauto_https off',
    '\tdefault_bind 127.0.0.1',
    '}',
    ...sites.map((s) => caddySiteBlock(s, port)),
  ].join('\n');
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, conf);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  };
  const child: ChildProcess = spawn(
    CADDY_PATH,
    ['run', '--config', file, '--adapter', 'caddyfile'],
    { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: dir },
  );
  let output = '';
  const collect = (c: Buffer) => {
    output += c.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`caddy exited:\n${output}`);
    try {
      await request(port, 'unknown.test', '/');
      break;
    } catch {
      if (i > 400) throw new Error(`caddy did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    port,
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
