// The `forward_auth` section of the config file: access rules for services behind a reverse
// proxy, and the parent domains a member may be sent back to after signing in. Checked here
// for shape (every error names the rule and the field); the forward-auth subsystem compiles
// the checked rules and validates group expressions.

import { ConfigError } from './errors.ts';

export type ForwardAuthPolicy = 'bypass' | 'deny' | 'signed_in' | 'two_factor';
export const POLICIES: readonly ForwardAuthPolicy[] = ['bypass', 'deny', 'signed_in', 'two_factor'];

export interface ForwardAuthRuleConfig {
  /** Position in the file (0-based), for messages and logs. */
  readonly index: number;
  /** For `/auth/verify?rule=<name>`; null for rules matched by host and path only. */
  readonly name: string | null;
  /** Lower-case ASCII (punycode) host names, or `*.suffix` wildcards; null matches any host. */
  readonly hosts: readonly string[] | null;
  /** A glob (`*` matches any run of characters, `/` included) or a regular expression. */
  readonly path: { readonly glob: string } | { readonly regex: string } | null;
  readonly methods: readonly string[] | null;
  readonly policy: ForwardAuthPolicy;
  /** Usernames allowed (any signed-in member when null). */
  readonly users: readonly string[] | null;
  /** A group expression (`members/workshop & !perm:banned`), checked by the access subsystem. */
  readonly groups: string | null;
}

export interface ForwardAuthConfig {
  /** Parent domains whose URLs the login page may return to (`example.org` covers its subdomains). */
  readonly domains: readonly string[];
  readonly rules: readonly ForwardAuthRuleConfig[];
  /** The header nginx's auth_request sets with the original URL (lower case). */
  readonly originalUrlHeader: string;
  /** `case_insensitive_paths`: `path` and `path_regex` ignore case, for services that do. */
  readonly caseInsensitivePaths: boolean;
}

export const FORWARD_AUTH_DEFAULTS: ForwardAuthConfig = Object.freeze({
  domains: Object.freeze([]) as readonly string[],
  rules: Object.freeze([]) as readonly ForwardAuthRuleConfig[],
  originalUrlHeader: 'x-original-url',
  caseInsensitivePaths: false,
});

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)*$/;
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const METHOD = /^[A-Z]{1,20}$/;
const HEADER_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const USERNAME = /^[^\s,]{1,100}$/;
const RULE_KEYS = new Set([
  'name',
  'host',
  'path',
  'path_regex',
  'methods',
  'policy',
  'users',
  'groups',
]);
const SECTION_KEYS = new Set(['domains', 'rules', 'original_url_header', 'case_insensitive_paths']);
const MAX_RULES = 1000;

/** A host name as browsers send it: lower case, IDNA (punycode), no port. Null when invalid. */
export function normaliseHostName(raw: string): string | null {
  let host = raw.trim().toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (!/^[a-z0-9.-]+$/.test(host)) {
    // Unicode names (bücher.example) become their punycode form, as the Host header carries them.
    try {
      const u = new URL(`http://${host}/`);
      if (u.port || u.username || u.pathname !== '/') return null;
      host = u.hostname;
    } catch {
      return null;
    }
  }
  return HOSTNAME.test(host) ? host : null;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(raw: unknown, where: string, what: string): unknown[] {
  if (typeof raw === 'string') return [raw];
  if (!Array.isArray(raw) || raw.length === 0)
    throw new ConfigError(`${where} must be ${what} or a non-empty list of them`);
  return raw;
}

function hostPattern(raw: unknown, where: string): string {
  if (typeof raw !== 'string')
    throw new ConfigError(`${where} must be a host name such as wiki.example.org or *.example.org`);
  const wildcard = raw.trim().startsWith('*.');
  const host = normaliseHostName(wildcard ? raw.trim().slice(2) : raw);
  if (!host)
    throw new ConfigError(
      `${where} must be a host name such as wiki.example.org or *.example.org, not "${raw.slice(0, 100)}"`,
    );
  return wildcard ? `*.${host}` : host;
}

function pathPattern(
  rule: Record<string, unknown>,
  where: string,
  at: string,
): ForwardAuthRuleConfig['path'] {
  if (rule.path !== undefined && rule.path_regex !== undefined)
    throw new ConfigError(`${where}${at} has both path and path_regex; use one`);
  if (rule.path !== undefined) {
    const p = rule.path;
    if (typeof p !== 'string' || !p.startsWith('/') || p.length > 1000 || /[\s?#]/.test(p))
      throw new ConfigError(
        `${where}.path${at} must be a path glob starting with / such as /admin/* (no spaces, ? or #)`,
      );
    return { glob: p };
  }
  if (rule.path_regex !== undefined) {
    const p = rule.path_regex;
    if (typeof p !== 'string' || p === '' || p.length > 1000)
      throw new ConfigError(
        `${where}.path_regex${at} must be a regular expression such as ^/api/v[0-9]+/`,
      );
    try {
      new RegExp(p, 'u');
    } catch (err) {
      throw new ConfigError(
        `${where}.path_regex${at} is not a valid regular expression: ${(err as Error).message}`,
      );
    }
    return { regex: p };
  }
  return null;
}

function parseRule(raw: unknown, index: number, at: string): ForwardAuthRuleConfig {
  const where = `forward_auth.rules[${index}]${at}`;
  if (!isMapping(raw)) throw new ConfigError(`${where} must be a mapping with at least a policy`);
  for (const key of Object.keys(raw)) {
    if (!RULE_KEYS.has(key))
      throw new ConfigError(
        `${where} has an unknown field "${key.slice(0, 50)}" (known: ${[...RULE_KEYS].join(', ')})`,
      );
  }
  const f = (field: string) => `forward_auth.rules[${index}].${field}${at}`;

  let name: string | null = null;
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || !RULE_NAME.test(raw.name))
      throw new ConfigError(`${f('name')} must be letters, digits, '.', '_' or '-' (at most 64)`);
    name = raw.name;
  }
  if (
    name !== null &&
    (raw.host !== undefined || raw.path !== undefined || raw.path_regex !== undefined)
  )
    throw new ConfigError(
      `${where} has a name, so the proxy chooses it with /auth/verify?rule=${name}; remove host and path (named rules are not matched by URL)`,
    );
  const hosts =
    raw.host === undefined
      ? null
      : list(raw.host, f('host'), 'a host name').map((h, i) =>
          hostPattern(h, Array.isArray(raw.host) ? `${f(`host[${i}]`)}` : f('host')),
        );
  const path = pathPattern(raw, `forward_auth.rules[${index}]`, at);
  const methods =
    raw.methods === undefined
      ? null
      : list(raw.methods, f('methods'), 'an HTTP method').map((m) => {
          if (typeof m !== 'string' || !METHOD.test(m.toUpperCase()))
            throw new ConfigError(`${f('methods')} must list HTTP methods such as GET and POST`);
          return m.toUpperCase();
        });
  if (typeof raw.policy !== 'string' || !(POLICIES as string[]).includes(raw.policy))
    throw new ConfigError(`${f('policy')} must be one of: ${POLICIES.join(', ')}`);
  const policy = raw.policy as ForwardAuthPolicy;
  const users =
    raw.users === undefined
      ? null
      : list(raw.users, f('users'), 'a username').map((u) => {
          if (typeof u !== 'string' || !USERNAME.test(u))
            throw new ConfigError(`${f('users')} must list usernames`);
          return u.toLowerCase();
        });
  let groups: string | null = null;
  if (raw.groups !== undefined) {
    if (typeof raw.groups !== 'string' || raw.groups.trim() === '' || raw.groups.length > 2000)
      throw new ConfigError(`${f('groups')} must be a group expression such as members/workshop`);
    groups = raw.groups.trim();
  }
  if ((users || groups) && (policy === 'bypass' || policy === 'deny'))
    throw new ConfigError(
      `${f('users')} and groups only make sense with policy signed_in or two_factor, not ${policy}`,
    );
  if (policy === 'two_factor')
    throw new ConfigError(
      `${f('policy')} is two_factor, which is not available yet: this Gatehouse has no two-factor sign-in. Use signed_in for now`,
    );
  return Object.freeze({
    index,
    name,
    hosts: hosts && Object.freeze(hosts),
    path: path && Object.freeze(path),
    methods: methods && Object.freeze(methods),
    policy,
    users: users && Object.freeze(users),
    groups,
  });
}

/** Checks the `forward_auth` mapping of the config file; `file` names it in messages. */
export function parseForwardAuth(raw: unknown, file: string): ForwardAuthConfig {
  if (raw === undefined || raw === null) return FORWARD_AUTH_DEFAULTS;
  const at = ` in ${file}`;
  if (!isMapping(raw))
    throw new ConfigError(`forward_auth${at} must be a mapping with rules and domains`);
  for (const key of Object.keys(raw)) {
    if (!SECTION_KEYS.has(key))
      throw new ConfigError(`unknown setting "forward_auth.${key.slice(0, 50)}"${at}`);
  }
  const domains =
    raw.domains === undefined || (Array.isArray(raw.domains) && raw.domains.length === 0)
      ? []
      : list(raw.domains, `forward_auth.domains${at}`, 'a domain name').map((d, i) => {
          const host = typeof d === 'string' ? normaliseHostName(d.replace(/^\*?\./, '')) : null;
          if (!host)
            throw new ConfigError(
              `forward_auth.domains[${i}]${at} must be a domain name such as example.org`,
            );
          return host;
        });
  let rules: ForwardAuthRuleConfig[] = [];
  if (raw.rules !== undefined) {
    if (!Array.isArray(raw.rules))
      throw new ConfigError(`forward_auth.rules${at} must be a list of rules`);
    if (raw.rules.length > MAX_RULES)
      throw new ConfigError(
        `forward_auth.rules${at} has ${raw.rules.length} rules; at most ${MAX_RULES}`,
      );
    rules = raw.rules.map((r, i) => parseRule(r, i, at));
  }
  const names = new Set<string>();
  for (const r of rules) {
    if (r.name === null) continue;
    if (names.has(r.name))
      throw new ConfigError(
        `forward_auth.rules[${r.index}].name${at}: "${r.name}" is used by an earlier rule`,
      );
    names.add(r.name);
  }
  let originalUrlHeader = FORWARD_AUTH_DEFAULTS.originalUrlHeader;
  if (raw.original_url_header !== undefined) {
    const h = raw.original_url_header;
    if (typeof h !== 'string' || !HEADER_NAME.test(h.toLowerCase()))
      throw new ConfigError(
        `forward_auth.original_url_header${at} must be a header name such as X-Original-URL`,
      );
    originalUrlHeader = h.toLowerCase();
  }
  const caseInsensitivePaths = raw.case_insensitive_paths ?? false;
  if (typeof caseInsensitivePaths !== 'boolean')
    throw new ConfigError(`forward_auth.case_insensitive_paths${at} must be true or false`);
  return Object.freeze({
    domains: Object.freeze(domains as string[]),
    rules: Object.freeze(rules),
    originalUrlHeader,
    caseInsensitivePaths,
  });
}
