// Configuration: defaults < config file < environment < command-line flags, validated once at
// start-up and frozen. Nothing outside this folder reads process.env.

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from './duration.ts';
import { ConfigError } from './errors.ts';
import { FORWARD_AUTH_DEFAULTS, type ForwardAuthConfig, parseForwardAuth } from './forward-auth.ts';

export type RegistrationMode = 'open' | 'invite' | 'closed';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** Public base URL without a trailing slash; also the OIDC issuer. */
  readonly issuer: string;
  readonly port: number;
  readonly host: string;
  readonly socket: string | null;
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  readonly redisUrl: string | null;
  /** Key prefix in the shared store, so several deployments (or test files) can share one Redis. */
  readonly redisPrefix: string;
  readonly cookieDomain: string | null;
  readonly dev: boolean;
  readonly registration: RegistrationMode;
  readonly logLevel: LogLevel;
  /** Which peers may set X-Forwarded-For: all, none, or addresses / CIDR ranges / 'loopback'. */
  readonly trustProxy: boolean | string;
  readonly sessions: { readonly idleTimeoutMs: number; readonly absoluteTimeoutMs: number };
  /**
   * The key that encrypts signing keys at rest and signs the OIDC provider's cookies. Every
   * instance sharing a database needs the same one; without it, one is generated in dataDir.
   */
  readonly secretKey: string | null;
  /** Access rules for services behind a reverse proxy (`forward_auth` in the config file). */
  readonly forwardAuth: ForwardAuthConfig;
  /** The file the settings came from, if any. */
  readonly configFile: string | null;
}

/** One setting: where it comes from and how it is checked. */
interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  /** Key in the config file (snake_case) and the `serve` flag (kebab-case). */
  file: string;
  flag: string;
  parse: (raw: unknown, name: string) => Config[K];
}

/** Raw values from the three sources, keyed by Config key. */
export type RawSettings = Partial<Record<keyof Config, unknown>>;

function fail(name: string, expected: string): never {
  throw new ConfigError(`${name} ${expected}`);
}

function str(raw: unknown, name: string): string {
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  if (typeof raw !== 'string' || raw.trim() === '') fail(name, 'must be a non-empty string');
  return raw.trim();
}

function bool(raw: unknown, name: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  return fail(name, 'must be 1 or 0 (true or false)');
}

function port(raw: unknown, name: string): number {
  const n = typeof raw === 'number' ? raw : Number(str(raw, name));
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    fail(name, 'must be a port number from 0 to 65535');
  return n;
}

function url(schemes: string[], raw: unknown, name: string): string {
  const s = str(raw, name);
  const scheme = s.split(':', 1)[0]!.toLowerCase();
  const shown = schemes.map((x) => `${x}://`).join(' or ');
  if (!schemes.includes(scheme) || !s.includes('://')) fail(name, `must start with ${shown}`);
  try {
    new URL(s);
  } catch {
    // Never echo the value: database and Redis URLs carry passwords.
    fail(name, `must be a valid URL starting with ${shown}`);
  }
  return s;
}

function issuer(raw: unknown, name: string): string {
  const s = url(['http', 'https'], raw, name);
  const u = new URL(s);
  // Pages, cookies (__Host- requires path /) and the OIDC endpoints all live at the root.
  if (u.search || u.hash || u.username || u.password || u.pathname !== '/') {
    fail(
      name,
      'must be a plain base URL such as https://auth.example.org (no path, query, fragment or credentials)',
    );
  }
  return u.href.replace(/\/+$/, '');
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: unknown, name: string): T => {
    const s = str(raw, name).toLowerCase();
    if (!(values as readonly string[]).includes(s))
      fail(name, `must be one of: ${values.join(', ')}`);
    return s as T;
  };
}

function duration(raw: unknown, name: string): number {
  const ms = typeof raw === 'number' || typeof raw === 'string' ? parseDuration(raw) : null;
  if (ms === null || ms <= 0) fail(name, 'must be a duration such as 30m, 12h or 7d');
  return ms;
}

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

const SETTINGS: Setting<keyof Config>[] = [
  { key: 'issuer', env: 'GATEHOUSE_ISSUER', file: 'issuer', flag: 'issuer', parse: issuer },
  { key: 'port', env: 'GATEHOUSE_PORT', file: 'port', flag: 'port', parse: port },
  { key: 'host', env: 'GATEHOUSE_HOST', file: 'host', flag: 'host', parse: str },
  { key: 'socket', env: 'GATEHOUSE_SOCKET', file: 'socket', flag: 'socket', parse: str },
  { key: 'dataDir', env: 'GATEHOUSE_DATA_DIR', file: 'data_dir', flag: 'data-dir', parse: str },
  {
    key: 'databaseUrl',
    env: 'GATEHOUSE_DATABASE_URL',
    file: 'database_url',
    flag: 'database-url',
    parse: (raw, name) => url(['postgres', 'postgresql'], raw, name),
  },
  {
    key: 'redisUrl',
    env: 'GATEHOUSE_REDIS_URL',
    file: 'redis_url',
    flag: 'redis-url',
    parse: (raw, name) => url(['redis', 'rediss'], raw, name),
  },
  {
    key: 'redisPrefix',
    env: 'GATEHOUSE_REDIS_PREFIX',
    file: 'redis_prefix',
    flag: 'redis-prefix',
    parse: str,
  },
  {
    key: 'cookieDomain',
    env: 'GATEHOUSE_COOKIE_DOMAIN',
    file: 'cookie_domain',
    flag: 'cookie-domain',
    parse: (raw, name) => {
      const s = str(raw, name).toLowerCase().replace(/^\./, '');
      if (!HOSTNAME.test(s)) fail(name, 'must be a domain name such as example.org');
      return s;
    },
  },
  { key: 'dev', env: 'GATEHOUSE_DEV', file: 'dev', flag: 'dev', parse: bool },
  {
    key: 'registration',
    env: 'GATEHOUSE_REGISTRATION',
    file: 'registration',
    flag: 'registration',
    parse: oneOf(['open', 'invite', 'closed'] as const),
  },
  {
    key: 'logLevel',
    env: 'GATEHOUSE_LOG_LEVEL',
    file: 'log_level',
    flag: 'log-level',
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  },
  {
    key: 'trustProxy',
    env: 'GATEHOUSE_TRUST_PROXY',
    file: 'trust_proxy',
    flag: 'trust-proxy',
    parse: (raw, name) => {
      if (typeof raw === 'boolean') return raw;
      const s = str(raw, name);
      if (['true', 'false', '1', '0'].includes(s.toLowerCase())) return bool(s, name);
      // A hop count cannot tell a proxy from a visitor who sends X-Forwarded-For itself.
      if (/^\d+$/.test(s))
        fail(name, "cannot be a hop count: list the proxies' addresses or CIDR ranges instead");
      return s; // an address list, a CIDR range or 'loopback'
    },
  },
  {
    key: 'secretKey',
    env: 'GATEHOUSE_SECRET_KEY',
    file: 'secret_key',
    flag: 'secret-key',
    parse: secretKey,
  },
];

function secretKey(raw: unknown, name: string): string {
  const s = str(raw, name);
  // Never echo the value.
  if (s.length < 32) fail(name, 'must be at least 32 characters (try: openssl rand -base64 48)');
  return s;
}

const SESSION_FILE_KEYS: Record<string, keyof Config['sessions']> = {
  idle_timeout: 'idleTimeoutMs',
  absolute_timeout: 'absoluteTimeoutMs',
};

export const DEFAULTS = {
  issuer: 'http://localhost:8000',
  port: 8000,
  host: '127.0.0.1',
  socket: null,
  dataDir: './.gatehouse',
  databaseUrl: null,
  redisUrl: null,
  redisPrefix: 'gatehouse:',
  cookieDomain: null,
  dev: false,
  registration: 'invite',
  logLevel: 'info',
  trustProxy: 'loopback',
  sessions: { idleTimeoutMs: 7 * 86_400_000, absoluteTimeoutMs: 30 * 86_400_000 },
  secretKey: null,
  forwardAuth: FORWARD_AUTH_DEFAULTS,
  configFile: null,
} as const satisfies Config;

/** The flags `gatehouse serve` accepts, mirroring the environment variables. */
export const SERVE_FLAGS = SETTINGS.map((s) => ({ flag: s.flag, env: s.env, key: s.key }));

function readConfigFile(path: string, explicit: boolean): Record<string, unknown> | null {
  if (!existsSync(path)) {
    if (explicit) throw new ConfigError(`GATEHOUSE_CONFIG names ${path}, which does not exist`);
    return null;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    const detail = (err as Error).message.split('\n')[0];
    throw new ConfigError(
      `the config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${detail}`,
    );
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`the config file ${path} must hold a mapping of settings`);
  }
  return data as Record<string, unknown>;
}

export interface LoadConfigInput {
  env?: Record<string, string | undefined>;
  /** Flag values from `gatehouse serve`, keyed by flag name (kebab-case). */
  flags?: Record<string, unknown>;
  /** Working directory for relative paths. */
  cwd?: string;
}

/** Reads, validates and freezes the configuration. Throws ConfigError with one readable line. */
export function loadConfig(input: LoadConfigInput = {}): Config {
  const env = input.env ?? {};
  const flags = input.flags ?? {};
  const cwd = input.cwd ?? process.cwd();

  const explicitFile = (flags.config as string | undefined) ?? (env.GATEHOUSE_CONFIG || undefined);
  const filePath = resolve(cwd, explicitFile ?? 'gatehouse.yaml');
  const file = readConfigFile(filePath, explicitFile !== undefined) ?? null;

  const known = new Set([...SETTINGS.map((s) => s.file), 'sessions', 'forward_auth']);
  for (const key of Object.keys(file ?? {})) {
    if (!known.has(key)) throw new ConfigError(`unknown setting "${key}" in ${filePath}`);
  }

  const out: Record<string, unknown> = { ...DEFAULTS, configFile: file ? filePath : null };
  for (const s of SETTINGS) {
    const sources: Array<[unknown, string]> = [
      [file?.[s.file], `${s.file} in ${filePath}`],
      [env[s.env] === '' ? undefined : env[s.env], s.env],
      [flags[s.flag], `--${s.flag}`],
    ];
    for (const [raw, name] of sources) {
      if (raw !== undefined && raw !== null) out[s.key] = s.parse(raw, name);
    }
  }

  const sessions = { ...DEFAULTS.sessions };
  const fileSessions = file?.sessions;
  if (fileSessions !== undefined) {
    if (typeof fileSessions !== 'object' || fileSessions === null || Array.isArray(fileSessions)) {
      throw new ConfigError(
        `sessions in ${filePath} must be a mapping with idle_timeout and absolute_timeout`,
      );
    }
    for (const [k, v] of Object.entries(fileSessions)) {
      const target = SESSION_FILE_KEYS[k];
      if (!target) throw new ConfigError(`unknown setting "sessions.${k}" in ${filePath}`);
      sessions[target] = duration(v, `sessions.${k} in ${filePath}`);
    }
  }
  if (sessions.idleTimeoutMs > sessions.absoluteTimeoutMs) {
    throw new ConfigError(
      'sessions.idle_timeout must not be longer than sessions.absolute_timeout',
    );
  }
  out.sessions = Object.freeze(sessions);
  out.forwardAuth = parseForwardAuth(file?.forward_auth, filePath);

  // Without an issuer, it is where this server listens: GATEHOUSE_PORT=8431 alone gives
  // http://localhost:8431, so links and the OIDC issuer name the address actually served.
  if (!issuerSet(file, env, flags))
    out.issuer = issuer(
      defaultIssuer(out.host as string, out.port as number),
      'the issuer made from GATEHOUSE_HOST and GATEHOUSE_PORT (set GATEHOUSE_ISSUER)',
    );

  const dataDir = out.dataDir as string;
  out.dataDir = isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir);

  return Object.freeze(out) as unknown as Config;
}

function issuerSet(
  file: Record<string, unknown> | null,
  env: Record<string, string | undefined>,
  flags: Record<string, unknown>,
): boolean {
  const given = (raw: unknown) => raw !== undefined && raw !== null && raw !== '';
  return given(file?.issuer) || given(env.GATEHOUSE_ISSUER) || given(flags.issuer);
}

/**
 * The issuer when none is set: http:// on the host and port served. A loopback or wildcard
 * host becomes localhost (the origin a browser on this machine uses); port 0 keeps 8000's
 * default, since the port is chosen only at listen.
 */
export function defaultIssuer(host: string, port: number): string {
  const loopback = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost', '[::1]', '[::]'];
  const name = loopback.includes(host.toLowerCase())
    ? 'localhost'
    : host.includes(':')
      ? `[${host}]`
      : host;
  const p = port === 0 ? DEFAULTS.port : port;
  return `http://${name}${p === 80 ? '' : `:${p}`}`;
}

/** A config for tests and embedding: defaults plus overrides (the caller vouches for them). */
export function makeConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...DEFAULTS, ...overrides }) as Config;
}

/** Warnings an operator should see at start-up (not errors: the service still works). */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const u = new URL(config.issuer);
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol === 'http:' && !local && !config.dev) {
    warnings.push(
      `GATEHOUSE_ISSUER is ${config.issuer}: browsers drop Secure cookies on plain http outside localhost; serve Gatehouse over https`,
    );
  }
  if (config.dev)
    warnings.push(
      'GATEHOUSE_DEV=1: dev mode is on (test login, mail printed, http cookies); never use it in production',
    );
  if (
    config.cookieDomain &&
    u.hostname !== config.cookieDomain &&
    !u.hostname.endsWith(`.${config.cookieDomain}`)
  ) {
    warnings.push(
      `GATEHOUSE_COOKIE_DOMAIN ${config.cookieDomain} does not contain the issuer's host ${u.hostname}`,
    );
  }
  return warnings;
}
