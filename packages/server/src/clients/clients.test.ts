// The client registry's rules: what a choice implies, and one clear line for a contradiction.

import { describe, expect, it } from 'vitest';
import { ClientError, DEVICE_CODE_GRANT, normaliseClient } from './clients.ts';

const web = { name: 'App', redirectUris: ['https://app.example.org/cb'] };

describe('normaliseClient', () => {
  it('gives a plain client the code flow with refresh tokens', () => {
    const n = normaliseClient(web);
    expect(n.grantTypes).toEqual(['authorization_code', 'refresh_token']);
    expect(n.responseTypes).toEqual(['code']);
    expect(n.tokenEndpointAuthMethod).toBe('client_secret_basic');
    expect(n.scopes).toContain('openid');
  });

  it('derives the implicit grant from token-returning response types, in canonical order', () => {
    const n = normaliseClient({ ...web, responseTypes: ['id_token code', 'token id_token'] });
    expect(n.responseTypes).toEqual(['code id_token', 'id_token token']);
    expect(n.grantTypes).toEqual(['authorization_code', 'refresh_token', 'implicit']);
  });

  it('accepts token alone (OAuth 2.0 implicit, no ID token) and gives it the implicit grant', () => {
    const n = normaliseClient({ ...web, responseTypes: ['token'] });
    expect(n.responseTypes).toEqual(['token']);
    expect(n.grantTypes).toEqual(['implicit']);
    expect(n.scopes).toContain('openid');
    const both = normaliseClient({ ...web, responseTypes: ['token', 'code'] });
    expect(both.grantTypes).toEqual(['authorization_code', 'refresh_token', 'implicit']);
  });

  it('accepts device_code as the short name of the device grant, and public clients use none', () => {
    const n = normaliseClient({ name: 'CLI', public: true, grantTypes: ['device_code'] });
    expect(n.grantTypes).toEqual([DEVICE_CODE_GRANT]);
    expect(n.tokenEndpointAuthMethod).toBe('none');
  });

  const conflicts: Array<[string, Parameters<typeof normaliseClient>[0], string]> = [
    [
      'public with client_credentials',
      { name: 'x', public: true, grantTypes: ['client_credentials'] },
      'a public client has no secret',
    ],
    [
      'token on a loopback web client',
      { name: 'x', responseTypes: ['token'], redirectUris: ['http://127.0.0.1/cb'] },
      'needs https redirect URIs',
    ],
    ['response type none', { ...web, responseTypes: ['none'] }, 'response type "none"'],
    ['a fragment', { name: 'x', redirectUris: ['https://a.example.org/cb#x'] }, 'fragment'],
    [
      'no redirect URI',
      { name: 'x', grantTypes: ['authorization_code'] },
      'needs at least one redirect URI',
    ],
    ['a script URL', { name: 'x', redirectUris: ['javascript:alert(1)'] }, 'javascript:'],
    ['an unknown scope', { ...web, scopes: ['admin'] }, 'scope "admin"'],
    ['an unknown grant', { ...web, grantTypes: ['password'] }, 'grant type "password"'],
    [
      'redirects without a flow',
      { name: 'x', grantTypes: ['client_credentials'], redirectUris: ['https://a.example.org/cb'] },
      'only used with',
    ],
    [
      'implicit on http',
      { name: 'x', responseTypes: ['id_token'], redirectUris: ['http://127.0.0.1/cb'] },
      'application-type native',
    ],
    [
      'credentials in a URI',
      { name: 'x', redirectUris: ['https://u:p@a.example.org/cb'] },
      'credentials',
    ],
    [
      'a control character in the name',
      { name: 'a\u0000b', redirectUris: ['https://a.example.org/cb'] },
      'control characters',
    ],
    [
      'too many redirect URIs',
      {
        name: 'x',
        redirectUris: Array.from({ length: 21 }, (_, i) => `https://a.example.org/${i}`),
      },
      'at most 20',
    ],
    [
      'private_key_jwt without keys',
      { ...web, tokenEndpointAuthMethod: 'private_key_jwt' },
      'public keys',
    ],
  ];
  it.each(conflicts)('refuses %s with one line', (_name, input, message) => {
    let error: unknown;
    try {
      normaliseClient(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe('CLIENT_INVALID');
    expect((error as ClientError).message).toContain(message);
    expect((error as ClientError).message).not.toContain('\n');
  });

  it('refuses an access rule the validator rejects, naming it', () => {
    expect(() =>
      normaliseClient({ ...web, accessRule: 'members &' }, () => {
        throw new Error('Expected a group path at position 9');
      }),
    ).toThrow('the access rule is not valid: Expected a group path at position 9');
  });
});
