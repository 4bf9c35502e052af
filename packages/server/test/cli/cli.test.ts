// The `gatehouse` command as an operator runs it: a real process, real exit codes.

import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { run, start } from './harness.ts';

function noStack(text: string) {
  expect(text).not.toMatch(/\n\s+at /);
}

// Each step starts a process that opens the database: generous room on a loaded machine.
describe(`gatehouse command (${storageMode()})`, { timeout: 180_000 }, () => {
  it('prints help and exits 0; bad usage exits 2', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('gatehouse user create');
    expect((await run(['user', 'create', '--help'])).stdout).toContain('--password-stdin');
    expect((await run(['serve', '--help'])).stdout).toContain('GATEHOUSE_DATABASE_URL');
    expect((await run([])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
    const missing = await run(['user', 'create', '--email', 'x@example.org']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--username is required');
    expect(
      (
        await run([
          'user',
          'create',
          '--username',
          'x',
          '--email',
          'x@example.org',
          '--password',
          'argv!',
        ])
      ).code,
    ).toBe(2);
  });

  it('creates a user with the password from stdin, and reports conflicts as failures', async () => {
    const created = await run(
      [
        'user',
        'create',
        '--username',
        'ada',
        '--email',
        'ada@example.org',
        '--name',
        'Ada',
        '--admin',
        '--password-stdin',
        '--json',
      ],
      {
        stdin: 'analytical engine\n',
      },
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const json = JSON.parse(created.stdout);
    expect(json).toMatchObject({ username: 'ada', email: 'ada@example.org', admin: true });
    expect(json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.stdout).not.toContain('analytical engine');

    const again = await run(
      ['user', 'create', '--username', 'ADA', '--email', 'other@example.org', '--password-stdin'],
      { stdin: 'analytical engine' },
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('That username is taken');
    noStack(again.stderr);

    const short = await run(
      ['user', 'create', '--username', 'bob', '--email', 'bob@example.org', '--password-stdin'],
      { stdin: 'short' },
    );
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('at least 10 characters');
  });

  it('prints a one-time set-password link for a user created without a password', async () => {
    const res = await run([
      'user',
      'create',
      '--username',
      'carol',
      '--email',
      'carol@example.org',
      '--json',
    ]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).set_password_url).toMatch(
      /^http:\/\/localhost:8000\/reset\/gth_rst_/,
    );
  });

  it('migrates and says so', async () => {
    const res = await run(['migrate', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ migrated: true });
  });

  it.each([
    [{ GATEHOUSE_PORT: 'eighty' }, 'GATEHOUSE_PORT must be a port number'],
    [{ GATEHOUSE_DATABASE_URL: 'garbage' }, 'GATEHOUSE_DATABASE_URL must start with postgres://'],
    [
      { GATEHOUSE_DATABASE_URL: 'postgres://gh:s3cretpw@127.0.0.1:1/nothing' },
      'cannot reach Postgres at postgres://gh:***@127.0.0.1:1/nothing',
    ],
    [{ GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:1' }, 'cannot reach Redis'],
  ])('refuses to serve with %o: one line, exit 1, no stack, no password', async (env, message) => {
    const res = await run(['serve'], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).not.toContain('s3cretpw');
    noStack(res.stderr);
  });

  it('serves on a unix socket, prints the first-admin link, and finishes in-flight requests on SIGTERM', async () => {
    const fresh: Record<string, string> =
      storageMode() === 'postgres+redis'
        ? {}
        : { GATEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-serve-')) };
    const socketPath = join(mkdtempSync(join(tmpdir(), 'gh-sock-')), 'gatehouse.sock');
    const server = start(['serve'], {
      ...fresh,
      GATEHOUSE_SOCKET: socketPath,
      GATEHOUSE_LOG_LEVEL: 'debug',
    });
    let stdout = '';
    server.stdout!.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => server.on('close', resolve));
    try {
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request({ socketPath, path, agent: false }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          });
          req.on('error', reject);
          req.end();
        });
      await expect
        .poll(
          () =>
            get('/readyz').then(
              (r) => r.status,
              () => 0,
            ),
          { timeout: 30_000, interval: 100 },
        )
        .toBe(200);
      if (storageMode() !== 'postgres+redis') expect(stdout).toMatch(/\/setup\/gth_setup_/);

      // Requests in progress when SIGTERM arrives are answered before the process exits: these
      // sign-in attempts each spend tens of milliseconds hashing (argon2id, OWASP parameters).
      const csrf = await new Promise<string>((resolve, reject) => {
        const req = request({ socketPath, path: '/login', agent: false }, (res) => {
          res.resume();
          resolve(String(res.headers['set-cookie']).match(/gatehouse_csrf=([^;]+)/)![1]!);
        });
        req.on('error', reject);
        req.end();
      });
      const body = `username=nobody&password=not+a+real+password&_csrf=${csrf}`;
      const inFlight = Array.from(
        { length: 8 },
        () =>
          new Promise<number>((resolve, reject) => {
            const req = request(
              {
                socketPath,
                path: '/login',
                method: 'POST',
                headers: {
                  'content-type': 'application/x-www-form-urlencoded',
                  cookie: `__Host-gatehouse_csrf=${csrf}`,
                },
              },
              (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode!));
              },
            );
            req.on('error', reject);
            req.end(body);
          }),
      );
      // Stop once the server has received all eight (it logs each arrival at debug level).
      const arrived = () =>
        stdout.split('\n').filter((l) => l.includes('incoming request') && l.includes('POST'))
          .length;
      await expect.poll(arrived, { timeout: 30_000, interval: 5 }).toBe(8);
      server.kill('SIGTERM');
      expect(await Promise.all(inFlight)).toEqual(Array(8).fill(401));
      expect(await exited).toBe(0);
      expect(stdout).toContain('stopped');
    } finally {
      server.kill('SIGKILL');
    }
  });
});

describe(`gatehouse token (${storageMode()})`, { timeout: 180_000 }, () => {
  it('creates, lists and revokes tokens; scopes never wider than the user; bad usage exits 2', async () => {
    const user = await run([
      'user',
      'create',
      '--username',
      'tokenuser',
      '--email',
      'tokenuser@example.org',
    ]);
    expect(user.code).toBe(0);
    expect((await run(['token', 'create', '--scope', 'account:read'])).code).toBe(2);
    expect((await run(['token', 'create', '--user', 'tokenuser'])).code).toBe(2);
    const badExpiry = await run([
      'token',
      'create',
      '--user',
      'tokenuser',
      '--scope',
      'account:read',
      '--expires-in',
      'soon',
    ]);
    expect(badExpiry.code).toBe(2);
    expect(badExpiry.stderr).toContain('--expires-in');

    const wider = await run([
      'token',
      'create',
      '--user',
      'tokenuser',
      '--scope',
      'gatehouse:admin',
      '--json',
    ]);
    expect(wider.code).toBe(1);
    expect(wider.stderr).toContain('not held: gatehouse:admin');
    noStack(wider.stderr);
    expect((await run(['token', 'create', '--user', 'nobody', '--scope', 'x'])).code).toBe(1);

    const created = await run([
      'token',
      'create',
      '--user',
      'tokenuser',
      '--scope',
      'account:read',
      '--scope',
      'account:write',
      '--expires-in',
      '30d',
      '--name',
      'backup script',
      '--json',
    ]);
    expect(created.code).toBe(0);
    expect(created.stderr).toBe('');
    const json = JSON.parse(created.stdout);
    expect(json.token).toMatch(/^gth_api_[0-9a-f]{32}[0-9A-Za-z]{49}$/);
    expect(json).toMatchObject({
      name: 'backup script',
      scopes: ['account:read', 'account:write'],
    });

    const forever = await run([
      'token',
      'create',
      '--user',
      'tokenuser',
      '--scope',
      'account:read',
    ]);
    expect(forever.code).toBe(0);
    expect(forever.stdout).toMatch(/gth_api_/);
    expect(forever.stderr).toContain('warning: This token never expires');

    const listed = await run(['token', 'list', '--user', 'tokenuser', '--json']);
    expect(listed.code).toBe(0);
    const tokens = JSON.parse(listed.stdout).tokens;
    expect(tokens).toHaveLength(2);
    expect(listed.stdout).not.toContain(json.token);

    expect((await run(['token', 'revoke'])).code).toBe(2);
    expect((await run(['token', 'revoke', json.id, 'extra'])).code).toBe(2);
    expect((await run(['token', 'revoke', 'not-an-id'])).code).toBe(2);
    const revoked = await run(['token', 'revoke', json.id, '--json']);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ revoked: true, id: json.id });
    const again = await run(['token', 'revoke', json.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('there is no token');
    expect((await run(['token', 'list', '--user', 'tokenuser'])).stdout).not.toContain(json.id);
  });
});
