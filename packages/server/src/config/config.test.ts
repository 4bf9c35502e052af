import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configWarnings, DEFAULTS, loadConfig } from './config.ts';
import { parseDuration } from './duration.ts';
import { ConfigError } from './errors.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'gh-config-'));

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults with nothing set', () => {
    const cwd = dir();
    const config = loadConfig({ env: {}, cwd });
    expect(config).toMatchObject({
      issuer: 'http://localhost:8000',
      port: 8000,
      host: '127.0.0.1',
      socket: null,
      databaseUrl: null,
      redisUrl: null,
      cookieDomain: null,
      dev: false,
      registration: 'invite',
      configFile: null,
    });
    expect(config.dataDir).toBe(join(cwd, '.gatehouse'));
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable of the environment table', () => {
    const config = loadConfig({
      cwd: dir(),
      env: {
        GATEHOUSE_ISSUER: 'https://auth.example.org/',
        GATEHOUSE_PORT: '9000',
        GATEHOUSE_HOST: '0.0.0.0',
        GATEHOUSE_SOCKET: '/run/gatehouse.sock',
        GATEHOUSE_DATA_DIR: '/var/lib/gatehouse',
        GATEHOUSE_DATABASE_URL: 'postgres://gh:pw@db:5432/gatehouse',
        GATEHOUSE_REDIS_URL: 'redis://cache:6379',
        GATEHOUSE_COOKIE_DOMAIN: '.Example.org',
        GATEHOUSE_DEV: '1',
      },
    });
    expect(config).toMatchObject({
      issuer: 'https://auth.example.org',
      port: 9000,
      host: '0.0.0.0',
      socket: '/run/gatehouse.sock',
      dataDir: '/var/lib/gatehouse',
      databaseUrl: 'postgres://gh:pw@db:5432/gatehouse',
      redisUrl: 'redis://cache:6379',
      cookieDomain: 'example.org',
      dev: true,
    });
  });

  it('layers defaults < file < environment < flags', () => {
    const cwd = dir();
    writeFileSync(
      join(cwd, 'gatehouse.yaml'),
      'port: 7000\nhost: 10.0.0.1\nregistration: open\nissuer: https://file.example\n',
    );
    const config = loadConfig({
      cwd,
      env: { GATEHOUSE_PORT: '7100', GATEHOUSE_HOST: '10.0.0.2' },
      flags: { port: '7200' },
    });
    expect(config.port).toBe(7200);
    expect(config.host).toBe('10.0.0.2');
    expect(config.registration).toBe('open');
    expect(config.issuer).toBe('https://file.example');
    expect(config.configFile).toBe(join(cwd, 'gatehouse.yaml'));
  });

  it('reads a JSON file named by GATEHOUSE_CONFIG, with session timeouts', () => {
    const cwd = dir();
    writeFileSync(
      join(cwd, 'gh.json'),
      JSON.stringify({ sessions: { idle_timeout: '2h', absolute_timeout: '3d' } }),
    );
    const config = loadConfig({ cwd, env: { GATEHOUSE_CONFIG: 'gh.json' } });
    expect(config.sessions).toEqual({
      idleTimeoutMs: 2 * 3_600_000,
      absoluteTimeoutMs: 3 * 86_400_000,
    });
  });

  it.each([
    [
      { GATEHOUSE_DATABASE_URL: 'mysql://x' },
      'GATEHOUSE_DATABASE_URL must start with postgres:// or postgresql://',
    ],
    [{ GATEHOUSE_DATABASE_URL: 'garbage' }, 'GATEHOUSE_DATABASE_URL must start with postgres://'],
    [
      { GATEHOUSE_REDIS_URL: 'http://x' },
      'GATEHOUSE_REDIS_URL must start with redis:// or rediss://',
    ],
    [{ GATEHOUSE_PORT: 'eighty' }, 'GATEHOUSE_PORT must be a port number'],
    [{ GATEHOUSE_PORT: '70000' }, 'GATEHOUSE_PORT must be a port number'],
    [{ GATEHOUSE_ISSUER: 'ftp://x' }, 'GATEHOUSE_ISSUER must start with http:// or https://'],
    [{ GATEHOUSE_ISSUER: 'https://x.example/?a=1' }, 'GATEHOUSE_ISSUER must be a plain base URL'],
    [{ GATEHOUSE_DEV: 'maybe' }, 'GATEHOUSE_DEV must be 1 or 0'],
    [{ GATEHOUSE_COOKIE_DOMAIN: 'not a domain' }, 'GATEHOUSE_COOKIE_DOMAIN must be a domain name'],
    [
      { GATEHOUSE_REGISTRATION: 'sometimes' },
      'GATEHOUSE_REGISTRATION must be one of: open, invite, closed',
    ],
  ])('refuses %o with one line naming the variable', (env, message) => {
    const text = refused(() => loadConfig({ cwd: dir(), env }));
    expect(text).toContain(message);
    expect(text).not.toContain('\n');
  });

  it('treats an empty GATEHOUSE_CONFIG as unset and reads trusted proxies', () => {
    const config = loadConfig({
      cwd: dir(),
      env: { GATEHOUSE_CONFIG: '', GATEHOUSE_TRUST_PROXY: '1' },
    });
    expect(config.configFile).toBeNull();
    expect(config.trustProxy).toBe(true);
    expect(loadConfig({ cwd: dir(), env: { GATEHOUSE_TRUST_PROXY: '0' } }).trustProxy).toBe(false);
    expect(
      refused(() => loadConfig({ cwd: dir(), env: { GATEHOUSE_TRUST_PROXY: '2' } })),
    ).toContain('GATEHOUSE_TRUST_PROXY cannot be a hop count');
    expect(
      loadConfig({ cwd: dir(), env: { GATEHOUSE_TRUST_PROXY: '10.0.0.0/8' } }).trustProxy,
    ).toBe('10.0.0.0/8');
  });

  it('derives the default issuer from the port and host served, unless an issuer is set', () => {
    const cwd = dir();
    const issuerOf = (env: Record<string, string>) => loadConfig({ env, cwd }).issuer;
    expect(issuerOf({ GATEHOUSE_PORT: '8431' })).toBe('http://localhost:8431');
    expect(issuerOf({ GATEHOUSE_PORT: '8431', GATEHOUSE_HOST: '0.0.0.0' })).toBe(
      'http://localhost:8431',
    );
    expect(issuerOf({ GATEHOUSE_PORT: '9000', GATEHOUSE_HOST: 'auth.lan' })).toBe(
      'http://auth.lan:9000',
    );
    expect(issuerOf({ GATEHOUSE_HOST: '::1' })).toBe('http://localhost:8000');
    expect(issuerOf({ GATEHOUSE_HOST: 'fd00::1' })).toBe('http://[fd00::1]:8000');
    expect(issuerOf({ GATEHOUSE_PORT: '80', GATEHOUSE_HOST: 'auth.lan' })).toBe('http://auth.lan');
    expect(issuerOf({ GATEHOUSE_PORT: '8431', GATEHOUSE_ISSUER: 'https://auth.example.org' })).toBe(
      'https://auth.example.org',
    );
    expect(loadConfig({ env: {}, flags: { port: '7001' }, cwd }).issuer).toBe(
      'http://localhost:7001',
    );
  });

  it('refuses an issuer with a path: pages and cookies live at the root', () => {
    expect(
      refused(() =>
        loadConfig({ cwd: dir(), env: { GATEHOUSE_ISSUER: 'https://example.org/auth' } }),
      ),
    ).toContain('no path');
  });

  it('never echoes a database password in the error', () => {
    const text = refused(() =>
      loadConfig({ cwd: dir(), env: { GATEHOUSE_DATABASE_URL: 'mysql://u:hunter2secret@db/x' } }),
    );
    expect(text).not.toContain('hunter2secret');
  });

  it('names a bad flag as a flag', () => {
    expect(refused(() => loadConfig({ cwd: dir(), env: {}, flags: { port: 'x' } }))).toContain(
      '--port',
    );
  });

  it('refuses unknown settings, bad YAML, a missing named file, and inverted timeouts', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'gatehouse.yaml'), 'isuer: https://typo.example\n');
    expect(refused(() => loadConfig({ cwd, env: {} }))).toContain('unknown setting "isuer"');
    writeFileSync(join(cwd, 'gatehouse.yaml'), 'port: [1, 2\n');
    expect(refused(() => loadConfig({ cwd, env: {} }))).toContain('is not valid YAML');
    writeFileSync(join(cwd, 'gatehouse.yaml'), '- a\n- b\n');
    expect(refused(() => loadConfig({ cwd, env: {} }))).toContain('must hold a mapping');
    expect(refused(() => loadConfig({ cwd, env: { GATEHOUSE_CONFIG: 'nope.yaml' } }))).toContain(
      'does not exist',
    );
    writeFileSync(
      join(cwd, 'gatehouse.yaml'),
      'sessions: { idle_timeout: 40d, absolute_timeout: 30d }\n',
    );
    expect(refused(() => loadConfig({ cwd, env: {} }))).toContain(
      'idle_timeout must not be longer',
    );
    writeFileSync(join(cwd, 'gatehouse.yaml'), 'sessions: { idle_timeout: soon }\n');
    expect(refused(() => loadConfig({ cwd, env: {} }))).toContain('sessions.idle_timeout');
  });

  it('refuses a YAML alias bomb instead of expanding it', () => {
    const cwd = dir();
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++)
      lines.push(
        `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(9)
          .fill(i === 0 ? '*a' : `*${'b'.repeat(i)}`)
          .join(',')}]`,
      );
    writeFileSync(join(cwd, 'gatehouse.yaml'), `${lines.join('\n')}\n`);
    expect(() => loadConfig({ cwd, env: {} })).toThrow(ConfigError);
  });

  it('warns about plain http outside localhost and about dev mode', () => {
    const prod = loadConfig({ cwd: dir(), env: { GATEHOUSE_ISSUER: 'http://auth.example.org' } });
    expect(configWarnings(prod).join()).toContain('Secure cookies');
    expect(configWarnings({ ...DEFAULTS, dev: true }).join()).toContain('dev mode');
    expect(configWarnings(DEFAULTS)).toEqual([]);
    const sibling = {
      ...DEFAULTS,
      issuer: 'https://auth.evilexample.org',
      cookieDomain: 'example.org',
    };
    expect(configWarnings(sibling).join()).toContain('does not contain');
    expect(configWarnings({ ...sibling, issuer: 'https://auth.example.org' })).toEqual([]);
  });
});

describe('parseDuration', () => {
  it('reads the units operators write', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration(60)).toBe(60_000);
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('-1d')).toBeNull();
    expect(parseDuration(`${'9'.repeat(50)}d`)).toBeNull();
  });
});
