// Forward-auth rules compiled once into matchers: a rule set is immutable, and a reload builds
// a new one and swaps it in, so a request always sees one whole rule set.

import { parseExpression } from 'gatehouse-client/expression';
import { normaliseUsername } from '../accounts/identifiers.ts';
import { ConfigError } from '../config/errors.ts';
import type {
  ForwardAuthConfig,
  ForwardAuthPolicy,
  ForwardAuthRuleConfig,
} from '../config/forward-auth.ts';

/** Checks a group expression; throws an Error whose message says what is wrong. */
export type ExpressionValidator = (text: string) => void;

/** The access-expression language's own check: the default for rules' `groups`. */
export const validateAccessExpression: ExpressionValidator = (text) => {
  parseExpression(text);
};

export interface Rule {
  readonly index: number;
  readonly name: string | null;
  readonly policy: ForwardAuthPolicy;
  /** Lower-case usernames; null: any signed-in member. */
  readonly users: ReadonlySet<string> | null;
  readonly groups: string | null;
  /** How logs and answers name the rule. */
  readonly label: string;
  matches(host: string, path: string, method: string): boolean;
}

export interface RuleSet {
  readonly rules: readonly Rule[];
  readonly domains: readonly string[];
  readonly originalUrlHeader: string;
  /** The first unnamed rule that matches, or null (which means deny). */
  match(host: string, path: string, method: string): Rule | null;
  /**
   * The rule for a path and its other readings (how other servers read it): `{ rule }` when
   * every reading picks the same rule (or none), null when they pick different ones.
   */
  pick(
    host: string,
    path: string,
    readings: readonly string[],
    method: string,
  ): { rule: Rule | null } | null;
  byName(name: string): Rule | null;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `/admin/*` → ^/admin/.*$ : `*` is any run of characters, `/` included; nothing else is special. */
export function globToRegex(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map(escapeRegex).join('.*')}$`, 's');
}

function hostMatcher(hosts: readonly string[] | null): ((host: string) => boolean) | null {
  if (!hosts) return null;
  const exact = new Set(hosts.filter((h) => !h.startsWith('*.')));
  const suffixes = hosts.filter((h) => h.startsWith('*.')).map((h) => h.slice(1));
  if (suffixes.length === 0) return (host) => exact.has(host);
  return (host) => {
    if (exact.has(host)) return true;
    for (const s of suffixes) if (host.length > s.length && host.endsWith(s)) return true;
    return false;
  };
}

function pathMatcher(
  path: ForwardAuthRuleConfig['path'],
  caseInsensitive: boolean,
): ((path: string) => boolean) | null {
  if (!path) return null;
  if ('glob' in path) {
    // The common shapes skip the regular expression: "/x/*" is a prefix test, "/x" equality.
    const g = caseInsensitive ? path.glob.toLowerCase() : path.glob;
    const star = g.indexOf('*');
    if (caseInsensitive) {
      if (star === -1) return (p) => p.toLowerCase() === g;
      if (star === g.length - 1) {
        const prefix = g.slice(0, -1);
        return (p) => p.toLowerCase().startsWith(prefix);
      }
      const re = globToRegex(g);
      return (p) => re.test(p.toLowerCase());
    }
    if (star === -1) return (p) => p === g;
    if (star === g.length - 1) {
      const prefix = g.slice(0, -1);
      return (p) => p.startsWith(prefix);
    }
    const re = globToRegex(g);
    return (p) => re.test(p);
  }
  const re = new RegExp(path.regex, caseInsensitive ? 'ui' : 'u');
  return (p) => re.test(p);
}

function compileRule(
  r: ForwardAuthRuleConfig,
  validate: ExpressionValidator,
  where: string,
  caseInsensitive: boolean,
): Rule {
  const host = hostMatcher(r.hosts);
  const path = pathMatcher(r.path, caseInsensitive);
  const methods = r.methods ? new Set(r.methods) : null;
  let users: Set<string> | null = null;
  if (r.users) {
    users = new Set();
    for (const u of r.users) {
      const n = normaliseUsername(u);
      if (!n)
        throw new ConfigError(
          `forward_auth.rules[${r.index}].users${where}: "${u}" is not a valid username`,
        );
      users.add(n.key);
    }
  }
  if (r.groups !== null) {
    try {
      validate(r.groups);
    } catch (err) {
      throw new ConfigError(
        `forward_auth.rules[${r.index}].groups${where}: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }
  const label = r.name ?? `#${r.index}`;
  return Object.freeze({
    index: r.index,
    name: r.name,
    policy: r.policy,
    users,
    groups: r.groups,
    label,
    matches(h: string, p: string, m: string) {
      return (!host || host(h)) && (!path || path(p)) && (!methods || methods.has(m));
    },
  });
}

/**
 * Compiles checked rules. Throws ConfigError naming the rule when a group expression (or a
 * username) is not valid; `where` names the file in messages (" in /etc/gatehouse.yaml").
 */
export function compileRules(
  config: ForwardAuthConfig,
  validate: ExpressionValidator = validateAccessExpression,
  where = '',
): RuleSet {
  const rules = config.rules.map((r) =>
    compileRule(r, validate, where, config.caseInsensitivePaths),
  );
  // Named rules are chosen by the proxy (`?rule=`) and never take part in host and path matching.
  const matched = rules.filter((r) => r.name === null);
  const named = new Map(rules.filter((r) => r.name !== null).map((r) => [r.name!, r]));
  const match = (host: string, path: string, method: string) => {
    for (const r of matched) if (r.matches(host, path, method)) return r;
    return null;
  };
  return Object.freeze({
    rules,
    domains: config.domains,
    originalUrlHeader: config.originalUrlHeader,
    match,
    pick(host: string, path: string, readings: readonly string[], method: string) {
      const rule = match(host, path, method);
      for (const other of readings) if (match(host, other, method) !== rule) return null;
      return { rule };
    },
    byName(name: string) {
      return named.get(name) ?? null;
    },
  });
}
