// The rewrite in front of the provider for the response type `token`: which requests it turns
// into marked `id_token token` ones, and that everything else reaches the provider as sent.
// The whole flow, with the provider and a browser, is in test/oidc/flows.test.ts.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import inject from 'light-my-request';
import { describe, expect, it } from 'vitest';
import type { ClientRow } from '../clients/clients.ts';
import { answerFailure } from '../http/fast-path.ts';
import {
  FORM_BODY_LIMIT,
  providerResponseTypes,
  TOKEN_MARKER,
  withTokenResponseType,
} from './token-response.ts';

const TOKEN_CLIENT = '00000000-0000-4000-8000-000000000001';
const HYBRID_CLIENT = '00000000-0000-4000-8000-000000000002';
const rows: Record<string, string[]> = {
  [TOKEN_CLIENT]: ['token'],
  [HYBRID_CLIENT]: ['id_token token'],
};
const FORM = 'application/x-www-form-urlencoded';

/** The wrapped handler over a stand-in provider that reports what it was given. */
function harness(options: { failLookup?: boolean } = {}) {
  const seen: Array<{ url: string; body: unknown; readable: boolean }> = [];
  const errors: unknown[] = [];
  const provider = (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => {
    seen.push({ url: req.url!, body: req.body, readable: req.readable });
    res.writeHead(200).end('provider');
  };
  const handle = withTokenResponseType(provider, {
    clientRow: async (clientId) => {
      if (options.failLookup) throw new Error('database unavailable');
      return rows[clientId] ? ({ responseTypes: rows[clientId] } as ClientRow) : null;
    },
    failed: (res, err) => answerFailure(res, err, { error: (e: unknown) => errors.push(e) }),
    routes: { authorization: '/oidc/auth', pushed: '/oidc/request' },
  });
  return { handle: handle as never, seen, errors };
}

const query = (url: string) => Object.fromEntries(new URL(url, 'http://x').searchParams);

describe('the token response type rewrite', () => {
  it('turns a token request from a client registered for it into a marked id_token token', async () => {
    const { handle, seen } = harness();
    await inject(handle, {
      url: `/oidc/auth?client_id=${TOKEN_CLIENT}&response_type=token&scope=profile&state=s`,
    });
    const params = query(seen[0]!.url);
    expect(params).toMatchObject({
      client_id: TOKEN_CLIENT,
      response_type: 'id_token token',
      scope: 'openid profile',
      state: 's',
      [TOKEN_MARKER]: 'token',
    });
    expect(params.nonce).toMatch(/^[\w-]{22}$/);
  });

  it("keeps the client's nonce and an openid scope already asked for", async () => {
    const { handle, seen } = harness();
    await inject(handle, {
      url: `/oidc/auth?client_id=${TOKEN_CLIENT}&response_type=token&scope=email+openid&nonce=mine`,
    });
    expect(query(seen[0]!.url)).toMatchObject({ scope: 'email openid', nonce: 'mine' });
    // A repeated parameter stays repeated, for the provider to refuse.
    await inject(handle, {
      url: `/oidc/auth?client_id=${TOKEN_CLIENT}&response_type=token&scope=a&scope=b`,
    });
    expect(new URL(seen[1]!.url, 'http://x').searchParams.getAll('scope')).toEqual(['a', 'b']);
  });

  it('leaves alone other response types, other clients, request objects and other paths', async () => {
    const { handle, seen } = harness();
    const untouched = [
      `/oidc/auth?client_id=${TOKEN_CLIENT}&response_type=code&scope=openid`,
      `/oidc/auth?client_id=${HYBRID_CLIENT}&response_type=token`,
      `/oidc/auth?client_id=not-a-client&response_type=token`,
      `/oidc/auth?response_type=token`,
      `/oidc/auth?client_id=${TOKEN_CLIENT}&response_type=token&response_type=token`,
      `/oidc/auth?client_id=${TOKEN_CLIENT}&response_type=token&request=eyJ.eyJ.sig`,
      `/oidc/auth/abc?client_id=${TOKEN_CLIENT}&response_type=token`,
      `/oidc/me?client_id=${TOKEN_CLIENT}&response_type=token`,
    ];
    for (const url of untouched) await inject(handle, { url });
    expect(seen.map((s) => s.url)).toEqual(untouched);
  });

  it('rewrites a pushed request and a POSTed one, and hands other bodies over as sent', async () => {
    const { handle, seen } = harness();
    const body = `client_id=${TOKEN_CLIENT}&client_secret=x&response_type=token&redirect_uri=https%3A%2F%2Fa.example%2Fcb`;
    for (const url of ['/oidc/request', '/oidc/auth']) {
      await inject(handle, { method: 'POST', url, headers: { 'content-type': FORM }, body });
    }
    for (const { body: given } of seen) {
      expect(given).toMatchObject({
        client_id: TOKEN_CLIENT,
        client_secret: 'x',
        response_type: 'id_token token',
        scope: 'openid',
        redirect_uri: 'https://a.example/cb',
        [TOKEN_MARKER]: 'token',
      });
    }
    const plain = `client_id=${HYBRID_CLIENT}&response_type=token&x=%E0%A4%A`;
    await inject(handle, {
      method: 'POST',
      url: '/oidc/request',
      headers: { 'content-type': `${FORM}; charset=utf-8` },
      body: plain,
    });
    expect(seen[2]).toMatchObject({ body: plain, readable: false });
  });

  it('rewrites a body another layer already parsed', async () => {
    const { handle, seen } = harness();
    const parsed = (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => {
      req.body = { client_id: TOKEN_CLIENT, response_type: 'token' };
      req.resume();
      req.on('end', () => (handle as (a: unknown, b: unknown) => void)(req, res));
    };
    await inject(parsed as never, {
      method: 'POST',
      url: '/oidc/request',
      headers: { 'content-type': FORM },
      body: 'ignored=1',
    });
    expect(seen[0]!.body).toMatchObject({ response_type: 'id_token token' });
  });

  it("refuses a chunked body over the provider's limit, and one in an unknown charset", async () => {
    const { handle, seen } = harness();
    const big = `client_id=${TOKEN_CLIENT}&x=${'a'.repeat(FORM_BODY_LIMIT)}`;
    const chunked = await inject(handle, {
      method: 'POST',
      url: '/oidc/request',
      headers: { 'content-type': FORM },
      payload: Readable.from([Buffer.from(big)]),
    });
    expect(chunked.statusCode).toBe(400);
    expect(chunked.json()).toEqual({
      error: 'invalid_request',
      error_description: 'the request body is larger than 56 KiB',
    });
    const charset = await inject(handle, {
      method: 'POST',
      url: '/oidc/request',
      headers: { 'content-type': `${FORM}; charset=no-such-charset` },
      body: 'a=b',
    });
    expect(charset.statusCode).toBe(400);
    expect(charset.json().error).toBe('invalid_request');
    expect(seen).toHaveLength(0);
  });

  it('leaves a body declared too large unread, for the provider to refuse', async () => {
    const { handle, seen } = harness();
    await inject(handle, {
      method: 'POST',
      url: '/oidc/request',
      headers: { 'content-type': FORM },
      body: 'a'.repeat(FORM_BODY_LIMIT + 1),
    });
    expect(seen[0]).toMatchObject({ body: undefined, readable: true });
  });

  it('answers server_error, without details, when the client cannot be looked up', async () => {
    const { handle, errors } = harness({ failLookup: true });
    const res = await inject(handle, {
      url: `/oidc/auth?client_id=${TOKEN_CLIENT}&response_type=token`,
    });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('database');
    expect(errors).toHaveLength(1);
  });

  it('tells the provider token is id_token token', () => {
    expect(providerResponseTypes(['code', 'token', 'id_token token'])).toEqual([
      'code',
      'id_token token',
    ]);
  });
});
