import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/errors.ts';
import { parseForwardAuth } from '../config/forward-auth.ts';
import { parseOriginalRequest } from './original-request.ts';
import { compileRules } from './rules.ts';

const FILE = '/etc/gatehouse.yaml';

function refused(raw: unknown, validate?: (t: string) => void): string {
  try {
    compileRules(parseForwardAuth(raw, FILE), validate);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

const rules = (list: unknown[], domains: string[] = []) =>
  compileRules(parseForwardAuth({ rules: list, domains }, FILE));

describe('forward-auth rules', () => {
  const set = rules([
    { host: 'wiki.example.org', path: '/public/*', policy: 'bypass' },
    { host: 'wiki.example.org', path: '/admin/*', users: ['Alice'], policy: 'signed_in' },
    { host: 'wiki.example.org', path: '/api/*', methods: ['post', 'PUT'], policy: 'deny' },
    { host: '*.example.org', path_regex: '^/v[0-9]+/', policy: 'signed_in' },
    { host: ['print.example.org', 'bücher.example.org'], policy: 'signed_in' },
    { host: 'wiki.example.org', path: '/a*b/c', policy: 'bypass' },
    { name: 'members', policy: 'signed_in', methods: ['GET'] },
  ]);
  const label = (host: string, path: string, method = 'GET') =>
    set.match(host, path, method)?.index ?? null;

  it('takes the first rule that matches host, path and method', () => {
    expect(label('wiki.example.org', '/public/x')).toBe(0);
    expect(label('wiki.example.org', '/public/')).toBe(0);
    expect(label('wiki.example.org', '/admin/users')).toBe(1);
    expect(label('wiki.example.org', '/api/x', 'POST')).toBe(2);
    expect(label('wiki.example.org', '/api/x', 'GET')).toBe(null);
    expect(label('shop.example.org', '/v2/items')).toBe(3);
    expect(label('a.b.example.org', '/v2/items')).toBe(3);
    expect(label('print.example.org', '/anything')).toBe(4);
    expect(label('xn--bcher-kva.example.org', '/')).toBe(4);
    expect(label('wiki.example.org', '/aXYZb/c')).toBe(5);
    expect(label('wiki.example.org', '/aXYZb/cd')).toBe(null);
  });

  it('denies by matching nothing: other hosts, the bare parent domain, prefixes of a path', () => {
    expect(label('example.org', '/v2/')).toBe(null);
    expect(label('evilexample.org', '/v2/')).toBe(null);
    expect(label('wiki.example.org', '/publicity')).toBe(null);
    expect(label('wiki.example.org.evil.test', '/public/x')).toBe(null);
  });

  it('keeps named rules out of URL matching and finds them by name', () => {
    expect(set.byName('members')?.index).toBe(6);
    expect(set.byName('nope')).toBe(null);
    expect(set.byName('members')?.matches('any.host', '/x', 'GET')).toBe(true);
    expect(set.byName('members')?.matches('any.host', '/x', 'POST')).toBe(false);
    expect(set.rules[1]?.users?.has('alice')).toBe(true);
  });

  it('matches the path the upstream will see, not a disguise of it', () => {
    const at = (uri: string) => {
      const p = parseOriginalRequest(
        { 'x-original-url': `https://wiki.example.org${uri}` },
        'GET',
        'x-original-url',
      );
      if (!p.ok) return p.message;
      const { host, path, readings, method } = p.value;
      const picked = set.pick(host, path, readings, method);
      return picked ? (picked.rule?.index ?? null) : 'ambiguous';
    };
    expect(at('/public/../admin/x')).toBe(1);
    expect(at('/public/%2e%2e/admin/x')).toBe(1);
    expect(at('/%61dmin/x')).toBe(1);
    expect(at('/public/%zz')).toContain('percent-escape');
    // Read differently by Tomcat/Spring (;parameters), by servers that decode before resolving
    // dot segments (%2F, %5C, %2e%2e%2f, double encoding) or merge slashes: refused when the
    // readings fall under different rules.
    for (const uri of [
      '/public/..;/admin/x',
      '/public/..%2Fadmin/x',
      '/public/..%2fadmin/x',
      '/public/%2e%2e%2fadmin/x',
      '/public/..%5cadmin/x',
      '/public/%252e%252e%252fadmin/x',
      '/public/%2e%2e%3b/admin/x',
      '/admin;x/y',
      '/admin%2Fx',
      '//admin/x',
      // A backslash is `/` to the URL parser and a character to NGINX and Express; an empty
      // segment before `..` is dropped by the parser and merged away by NGINX and Tomcat.
      '/public/..\\admin/x',
      '/admin/x\\..\\..\\public/y',
      '/public//../admin/x',
      '/public/x//..//../admin/x',
    ])
      expect(at(uri), uri).toBe('ambiguous');
    // ...and allowed when every reading picks the same rule.
    expect(at('/public/a;b')).toBe(0);
    expect(at('/public/group%2Fproject')).toBe(0);
    expect(at('/public/100%25')).toBe(0);
    expect(at('/public/a%20b')).toBe(0);
    expect(at('/admin/a%2Fb;c')).toBe(1);
    expect(at('/Admin/x')).toBe(null); // case-sensitive unless case_insensitive_paths
  });

  it('ignores case in path and path_regex with case_insensitive_paths', () => {
    const loose = compileRules(
      parseForwardAuth(
        {
          case_insensitive_paths: true,
          rules: [
            { path: '/public/*', policy: 'bypass' },
            { path: '/Admin/*', policy: 'signed_in', users: ['alice'] },
            { path_regex: '^/api/v[0-9]+$', policy: 'deny' },
            { path: '/*/EXACT', policy: 'deny' },
          ],
        },
        FILE,
      ),
    );
    const at = (path: string) => loose.match('wiki.example.org', path, 'GET')?.index ?? null;
    expect(at('/ADMIN/x')).toBe(1);
    expect(at('/admin/x')).toBe(1);
    expect(at('/PUBLIC/x')).toBe(0);
    expect(at('/API/V2')).toBe(2);
    expect(at('/a/exact')).toBe(3);
    expect(refused({ case_insensitive_paths: 'yes' })).toContain(
      'forward_auth.case_insensitive_paths in',
    );
  });
});

describe('forward-auth configuration errors', () => {
  it('names the rule and the field in one line', () => {
    expect(refused({ rules: [{ policy: 'signed_in' }, { policy: 'maybe' }] })).toBe(
      `forward_auth.rules[1].policy in ${FILE} must be one of: bypass, deny, signed_in, two_factor`,
    );
    expect(refused({ rules: [{ host: 'a b', policy: 'deny' }] })).toContain(
      'forward_auth.rules[0].host in',
    );
    expect(refused({ rules: [{ path: 'admin', policy: 'deny' }] })).toContain(
      'forward_auth.rules[0].path in',
    );
    expect(refused({ rules: [{ path_regex: '(', policy: 'deny' }] })).toContain(
      'is not a valid regular expression: Invalid regular expression',
    );
    expect(refused({ rules: [{ path: '/a', path_regex: '/a', policy: 'deny' }] })).toContain(
      'has both path and path_regex',
    );
    expect(refused({ rules: [{ policy: 'deny', colour: 'red' }] })).toContain(
      'unknown field "colour"',
    );
    expect(refused({ rules: [{ policy: 'signed_in', methods: ['G ET'] }] })).toContain(
      'rules[0].methods',
    );
    expect(refused({ rules: [{ policy: 'signed_in', users: ['bad name!'] }] })).toContain(
      'rules[0].users',
    );
    expect(refused({ rules: [{ policy: 'bypass', users: ['alice'] }] })).toContain(
      'only make sense with policy signed_in',
    );
    expect(refused({ rules: 'everything' })).toContain('must be a list of rules');
    expect(refused({ rulez: [] })).toContain('unknown setting "forward_auth.rulez"');
    expect(refused({ domains: ['not a domain'] })).toContain('forward_auth.domains[0]');
    expect(
      refused({
        rules: [
          { name: 'x', policy: 'deny' },
          { name: 'x', policy: 'deny' },
        ],
      }),
    ).toContain('"x" is used by an earlier rule');
    expect(refused({ rules: [{ name: 'x', host: 'a.example', policy: 'deny' }] })).toContain(
      'remove host and path',
    );
  });

  it('refuses two_factor until two-factor sign-in exists', () => {
    expect(refused({ rules: [{ policy: 'two_factor' }] })).toContain('not available yet');
  });

  it('checks group expressions with the access-expression language, or a given validator', () => {
    expect(refused({ rules: [{ policy: 'signed_in', groups: 'members & (' }] })).toContain(
      'forward_auth.rules[0].groups: ',
    );
    const validate = (t: string) => {
      if (t.includes('((')) throw new Error('unbalanced parenthesis at 1');
    };
    expect(refused({ rules: [{ policy: 'signed_in', groups: '((a' }] }, validate)).toContain(
      'unbalanced parenthesis at 1',
    );
    expect(
      compileRules(
        parseForwardAuth({ rules: [{ policy: 'signed_in', groups: 'members' }] }, FILE),
        validate,
      ).rules[0]?.groups,
    ).toBe('members');
  });

  it('accepts an empty section and punycodes unicode domains', () => {
    expect(parseForwardAuth(undefined, FILE).rules).toEqual([]);
    expect(parseForwardAuth({ domains: ['Bücher.Example', '.example.org'] }, FILE).domains).toEqual(
      ['xn--bcher-kva.example', 'example.org'],
    );
  });
});
