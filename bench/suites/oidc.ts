// The OpenID Connect provider: POST /oidc/token with the client_credentials grant
// (client_secret_basic), compared with a bare oidc-provider (in-memory adapter, the same client,
// the same library version) measured in the same run; and the two documents every relying
// party fetches, GET /.well-known/openid-configuration and GET /oidc/jwks, compared with bare
// node:http like every other row.

import { fileURLToPath } from 'node:url';
import { generateSecretToken } from '../../packages/server/src/crypto/secret-tokens.ts';
import type { RunningServer } from '../lib/gatehouse.ts';
import { startReference } from '../lib/reference.ts';
import type { Settings } from '../lib/settings.ts';
import type { LoadSpec, SuiteFactory } from '../lib/suite.ts';

const CREATE_CLIENT = fileURLToPath(new URL('../tools/create-oidc-client.ts', import.meta.url));
export const TOKEN_TARGET = 'POST /token (client_credentials)';
export const BARE_PROVIDER = 'bare oidc-provider';

interface Credentials {
  client_id: string;
  client_secret: string;
}

/** The token request as the load sends it: form body, HTTP Basic client authentication. */
function tokenRequest(path: string, c: Credentials): Omit<LoadSpec, 'target'> {
  const basic = Buffer.from(
    `${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`,
  ).toString('base64');
  return {
    path,
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  };
}

/** One token request by hand: a load of 401s would measure nothing useful. */
async function checkToken(baseUrl: string, spec: Omit<LoadSpec, 'target'>) {
  const res = await fetch(baseUrl + spec.path, {
    method: 'POST',
    headers: spec.headers,
    body: spec.body,
  });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  if (res.status !== 200 || !body.access_token)
    throw new Error(`POST ${spec.path} answered ${res.status} ${JSON.stringify(body)}`);
}

async function checkJson(url: string, field: string) {
  const res = await fetch(url);
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200 || !(field in body) || !res.headers.get('etag'))
    throw new Error(`GET ${url} answered ${res.status} without ${field} or an ETag`);
}

/**
 * The bare oidc-provider as a reference deployment: run.ts measures it after bare node:http
 * when this suite is selected. The client has the same shape as Gatehouse's (a UUID id and a
 * gth_cs_ secret of the same length), so the requests are the same size.
 */
export function bareProvider() {
  const { id, token } = generateSecretToken('cs');
  const credentials = { client_id: id, client_secret: token };
  return {
    name: BARE_PROVIDER,
    start: (settings: Settings): Promise<RunningServer> =>
      startReference('oidc-provider', settings, {
        env: { CLIENT_ID: id, CLIENT_SECRET: token },
        readyPath: '/.well-known/openid-configuration',
      }),
    async loads(server: RunningServer): Promise<LoadSpec[]> {
      const spec = tokenRequest('/token', credentials);
      await checkToken(server.baseUrl, spec);
      return [{ target: TOKEN_TARGET, ...spec }];
    },
  };
}

export const oidc: SuiteFactory = () => {
  let credentials: Credentials | null = null;
  return {
    name: 'oidc',
    async beforeStart(cli) {
      // Through the client registry the `gatehouse client create` command uses.
      const { stdout } = await cli.script(CREATE_CLIENT, [
        JSON.stringify({ name: 'bench service', grantTypes: ['client_credentials'] }),
      ]);
      credentials = JSON.parse(stdout.trim()) as Credentials;
    },
    async loads(gh) {
      if (!credentials) throw new Error('the OIDC client was not created');
      const spec = tokenRequest('/oidc/token', credentials);
      await checkToken(gh.baseUrl, spec);
      await checkJson(`${gh.baseUrl}/.well-known/openid-configuration`, 'issuer');
      await checkJson(`${gh.baseUrl}/oidc/jwks`, 'keys');
      return [
        {
          target: TOKEN_TARGET,
          ...spec,
          reference: { deployment: BARE_PROVIDER, target: TOKEN_TARGET },
        },
        {
          target: 'GET /.well-known/openid-configuration',
          path: '/.well-known/openid-configuration',
        },
        { target: 'GET /oidc/jwks', path: '/oidc/jwks' },
      ];
    },
  };
};
