// The `gatehouse` command while `gatehouse serve` runs on the same data directory (embedded:
// through the admin socket) or the same Postgres and Redis: every operator command, its
// errors and --json, changes the running server sees at once, the socket's permissions, hostile
// socket input, and the issuer made from the port. One server for the whole file.

import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { baseEnv, run, start } from './harness.ts';

const embedded = storageMode() !== 'postgres+redis';
const PASSWORD = 'correct horse battery';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A socket file nobody answers on, as a server killed with SIGKILL leaves behind. */
function staleSocket(path: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    child.on('close', () => resolve());
  });
}

/** One raw exchange on the admin socket: what the server answers before it closes. */
function rawExchange(path: string, payload: Buffer | string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(path);
    let answer = '';
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => {}); // the server may cut an oversized request short
    socket.on('close', () => resolve(answer));
    socket.on('connect', () => socket.write(payload));
  });
}

let port: number;
let base: string;
let issuer: string;
let server: ReturnType<typeof start>;
let serverOut = '';
let sock: string;

beforeAll(async () => {
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  issuer = `http://localhost:${port}`;
  sock = join(baseEnv.GATEHOUSE_DATA_DIR!, 'admin.sock');
  if (embedded) await staleSocket(sock);
  server = start(['serve'], { GATEHOUSE_PORT: String(port) });
  server.stdout!.on('data', (d) => (serverOut += d));
  server.stderr!.on('data', (d) => (serverOut += d));
  // Ready when it answers over HTTP and (embedded) its admin socket is there.
  for (const until = Date.now() + 150_000; ; ) {
    const status = await fetch(`${base}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200 && (!embedded || existsSync(sock))) break;
    if (Date.now() > until || server.exitCode !== null)
      throw new Error(`gatehouse serve did not start:\n${serverOut}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 180_000);

afterAll(async () => {
  if (!server) return;
  const closed = new Promise((resolve) => server.on('close', resolve));
  server.kill('SIGTERM');
  await closed;
  if (embedded) expect(existsSync(sock)).toBe(false);
});

/** The CLI as the operator runs it, with the server's port (for the issuer when it runs alone). */
const gh = (args: string[], stdin?: string) =>
  run(args, { env: { GATEHOUSE_PORT: String(port) }, stdin });

async function signIn(username: string): Promise<string> {
  const page = await fetch(`${base}/login`);
  const csrfCookie = page.headers
    .getSetCookie()
    .find((c) => c.includes('gatehouse_csrf='))!
    .split(';')[0]!;
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: csrfCookie,
      origin: issuer,
    },
    body: new URLSearchParams({
      username,
      password: PASSWORD,
      _csrf: csrfCookie.split('=')[1]!,
    }).toString(),
  });
  const session = res.headers.getSetCookie().find((c) => c.includes('gatehouse_session='));
  expect(session, `sign-in answered ${res.status}`).toBeDefined();
  return session!.split(';')[0]!;
}

/**
 * A command handed straight to the server's admin socket, as the CLI hands it (embedded mode);
 * in Postgres + Redis mode the CLI itself. Saves a process start per call.
 */
async function ghDirect(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!embedded) return gh(argv) as Promise<{ code: number; stdout: string; stderr: string }>;
  const lines = (await rawExchange(sock, `${JSON.stringify({ argv, stdin: null })}\n`))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { out?: string; err?: string; exit?: number });
  const text = (k: 'out' | 'err') =>
    lines
      .filter((l) => typeof l[k] === 'string')
      .map((l) => `${l[k]}\n`)
      .join('');
  return { code: lines.at(-1)?.exit ?? -1, stdout: text('out'), stderr: text('err') };
}

const me = (headers: Record<string, string>) =>
  fetch(`${base}/api/v1/me`, { headers }).then((r) => r.status);

describe(`gatehouse while serving (${storageMode()})`, { timeout: 300_000 }, () => {
  it('derives the issuer from the port: the first-admin link names the address served', () => {
    expect(serverOut).toContain(`${issuer}/setup/gth_setup_`);
  });

  it('manages users, grants, groups and sessions; the running server sees each change', async () => {
    const created = await gh(
      ['user', 'create', '--username', 'grace', '--email', 'grace@example.org', '--password-stdin'],
      `${PASSWORD}\n`,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);

    const list = await gh(['user', 'list', '--json']);
    expect(list.code).toBe(0);
    const users = JSON.parse(list.stdout).users;
    const grace = users.find((u: { username: string }) => u.username === 'grace');
    expect(grace).toMatchObject({ email: 'grace@example.org', disabled: false, is_admin: false });
    expect((await ghDirect(['user', 'list'])).stdout).toMatch(/^grace\s+[0-9a-f-]{36}\s+grace@/m);

    // A session and an API token, both accepted by the server.
    const cookie = await signIn('grace');
    expect(await me({ cookie })).toBe(200);
    const token = JSON.parse(
      (await gh(['token', 'create', '--user', 'grace', '--scope', 'account:read', '--json']))
        .stdout,
    ).token;
    expect(await me({ authorization: `Bearer ${token}` })).toBe(200);

    const shown = await gh(['user', 'show', 'grace', '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: grace.id, sessions: 1, groups: [] });
    expect((await ghDirect(['user', 'show', grace.id])).stdout).toContain('status:      active');

    // Disabled: refused at once, by the running server, for the session and the token alike.
    const disabled = await gh(['user', 'disable', 'grace', '--json']);
    expect(disabled.code).toBe(0);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ id: grace.id, disabled: true });
    expect(await me({ cookie })).toBe(401);
    expect(await me({ authorization: `Bearer ${token}` })).toBe(401);
    const enabled = await gh(['user', 'enable', 'grace']);
    expect(enabled.stdout).toContain('Enabled grace');
    expect(await me({ authorization: `Bearer ${token}` })).toBe(200);

    const link = await gh(['user', 'reset-link', 'grace', '--json']);
    expect(link.code).toBe(0);
    expect(JSON.parse(link.stdout).reset_url).toMatch(
      new RegExp(`^${issuer.replaceAll('.', '\\.')}/reset/gth_rst_`),
    );

    // Grants: a token may carry a permission only while its owner holds it.
    const granted = await gh([
      'grant',
      '--user',
      'grace',
      '--permission',
      'upload:write',
      '--json',
    ]);
    expect(JSON.parse(granted.stdout)).toEqual({
      granted: true,
      user_id: grace.id,
      username: 'grace',
      permission: 'upload:write',
    });
    const upload = ['token', 'create', '--user', 'grace', '--scope', 'upload:write'];
    expect((await gh(upload)).code).toBe(0);
    expect((await gh(['revoke', '--user', 'grace', '--permission', 'upload:write'])).stdout).toBe(
      'Took the permission upload:write from grace.\n',
    );
    expect((await gh(upload)).code).toBe(1);
    const noRole = await gh(['grant', '--user', 'grace', '--role', 'nope', '--json']);
    expect(noRole.code).toBe(1);
    expect(JSON.parse(noRole.stdout).error.message).toBe('There is no such role.');

    // Groups.
    const group = await gh(['group', 'create', 'members', '--description', 'Everyone', '--json']);
    expect(JSON.parse(group.stdout)).toMatchObject({ path: 'members', description: 'Everyone' });
    expect((await ghDirect(['group', 'create', 'members'])).code).toBe(1);
    expect((await ghDirect(['group', 'create', 'Not A Path'])).code).toBe(1);
    const added = await gh(['group', 'add-member', 'members', 'grace', '--owner', '--json']);
    expect(JSON.parse(added.stdout)).toMatchObject({ added: true, path: 'members', role: 'owner' });
    const members = JSON.parse((await ghDirect(['group', 'members', 'members', '--json'])).stdout);
    expect(members.members).toEqual([
      expect.objectContaining({ username: 'grace', role: 'owner' }),
    ]);
    const groups = JSON.parse((await gh(['group', 'list', '--json'])).stdout).groups;
    expect(groups).toEqual([expect.objectContaining({ path: 'members', members: 1 })]);
    expect((await ghDirect(['group', 'remove-member', 'members', 'grace'])).code).toBe(0);
    const notMember = await gh(['group', 'remove-member', 'members', 'grace']);
    expect(notMember.code).toBe(1);
    expect(notMember.stderr).toContain('not a member');

    // Sessions: listed, and one revoked is refused at once.
    const sessions = JSON.parse(
      (await gh(['session', 'list', '--user', 'grace', '--json'])).stdout,
    ).sessions;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ current: false });
    const revoked = await gh(['session', 'revoke', sessions[0].id, '--user', 'grace', '--json']);
    expect(JSON.parse(revoked.stdout)).toEqual({
      revoked: true,
      id: sessions[0].id,
      user_id: grace.id,
    });
    expect(await me({ cookie })).toBe(401);
    expect((await ghDirect(['session', 'revoke', sessions[0].id, '--user', 'grace'])).code).toBe(1);
  });

  it('checks arguments first (exit 2), reports failures as one line (exit 1)', async () => {
    // Through the CLI process: checked before anything is opened or sent.
    const local = await gh(['grant', '--user', 'grace', '--permission', 'x', '--role', 'y']);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('give either --permission or --role');
    const usage = await Promise.all(
      [
        ['user', 'show'],
        ['user', 'disable', 'a', 'b'],
        ['grant', '--user', 'grace'],
        ['revoke', '--permission', 'x'],
        ['group', 'add-member', 'members'],
        ['session', 'list'],
        ['session', 'revoke', 'not-an-id', '--user', 'grace'],
        ['user', 'list', '--frobnicate'],
      ].map(ghDirect),
    );
    for (const r of usage) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('Usage: gatehouse');
    }
    const missing = await Promise.all([
      gh(['user', 'show', 'nobody', '--json']),
      ghDirect(['user', 'reset-link', 'nobody']),
      ghDirect(['group', 'members', 'nowhere']),
      ghDirect(['session', 'list', '--user', 'nobody']),
    ]);
    for (const r of missing) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(JSON.parse(missing[0]!.stdout)).toEqual({
      error: { message: 'there is no user "nobody"' },
    });
    const help = (await ghDirect(['--help'])).stdout;
    for (const cmd of ['user list', 'user disable', 'grant', 'group add-member', 'session revoke'])
      expect(help).toContain(`gatehouse ${cmd}`);
    expect((await gh(['session', 'revoke', '--help'])).stdout).toContain('--user U');
  });

  it.runIf(embedded)(
    'refuses migrate and serve while the server holds the data directory',
    async () => {
      const migrate = await gh(['migrate']);
      expect(migrate.code).toBe(1);
      expect(migrate.stderr).toContain('a Gatehouse server is running');
      expect((await gh(['serve'])).code).toBe(1);
    },
  );

  it.runIf(embedded)('opens the admin socket for its owner only', () => {
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(baseEnv.GATEHOUSE_DATA_DIR!).mode & 0o077).toBe(0);
  });

  it.runIf(embedded)('refuses hostile input on the socket and keeps serving', async () => {
    const answers = async (payload: string | Buffer) =>
      (await rawExchange(sock, payload))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    const exitOf = (lines: Array<Record<string, unknown>>) => lines.at(-1)?.exit;

    expect(exitOf(await answers('not json\n'))).toBe(2);
    expect(exitOf(await answers('[1,2]\n'))).toBe(2);
    expect(exitOf(await answers('{"argv":"user list"}\n'))).toBe(2);
    expect(exitOf(await answers('{"argv":[],"stdin":null}\n'))).toBe(2);
    expect(exitOf(await answers('{"argv":["user","list"],"__proto__":{"admin":true}}\n'))).toBe(2);
    expect(exitOf(await answers('{"argv":["user","list"],"stdin":42}\n'))).toBe(2);
    const unknown = await answers('{"argv":["frobnicate"]}\n');
    expect(exitOf(unknown)).toBe(2);
    expect(JSON.stringify(unknown)).toContain('unknown command');
    const serve = await answers('{"argv":["serve"]}\n');
    expect(exitOf(serve)).toBe(2);
    expect(JSON.stringify(serve)).toContain('cannot run inside the server');
    // Longer than any request may be, without a newline: refused, connection closed.
    const huge = await answers(Buffer.alloc(1024 * 1024, 'a'));
    expect(exitOf(huge)).toBe(2);
    expect(JSON.stringify(huge)).toContain('longer than');
    // A connection that never sends a line is dropped after the request timeout.
    expect(await rawExchange(sock, '')).toBe('');

    // Still serving, over HTTP and the socket.
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const ok = await answers('{"argv":["user","list","--json"],"stdin":null}\n');
    expect(exitOf(ok)).toBe(0);
    expect(JSON.parse(ok[0].out).users.length).toBeGreaterThan(0);
  });
});
