// The empty Fastify app of fastify.ts with its one JSON route guarded by gatehouse-client
// (`requireLogin()`, a Bearer JWT access token). Compared with fastify.ts, it shows what the
// guard costs per request. The issuer's discovery and keys are served to the client from memory
// (an injected fetch), and GET /bench-token hands the benchmark a token signed with its key.
// PORT (required) and HOST (default 127.0.0.1) say where to listen.

import Fastify from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { fastifyGatehouse } from '../../packages/client/src/adapters/fastify.ts';
import { createGatehouseClient } from '../../packages/client/src/index.ts';
import { listenAddress, stopWith } from './child.ts';

const { port, host } = listenAddress('fastify-sdk');
const ISSUER = 'https://gatehouse.bench.invalid';
const AUDIENCE = 'bench-service';

const { privateKey, publicKey } = await generateKeyPair('RS256');
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256' }] };
const memoryFetch = (async (input: string | URL | Request) => {
  const url = String(input instanceof Request ? input.url : input);
  const body = url.endsWith('/jwks') ? jwks : { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` };
  return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
}) as typeof fetch;

const gate = fastifyGatehouse(
  createGatehouseClient({ issuer: ISSUER, clientId: AUDIENCE, events: false, fetch: memoryFetch }),
);

const app = Fastify({ logger: false });
await app.register(gate.plugin);
app.get('/bench-token', async () => ({
  token: await new SignJWT({ preferred_username: 'bench', groups: ['members'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey),
}));
app.get(
  '/',
  {
    preHandler: gate.requireLogin(),
    schema: {
      response: {
        200: { type: 'object', properties: { status: { type: 'string' } } },
      },
    },
  },
  async () => ({ status: 'ok' }),
);
await app.listen({ port, host });

stopWith(() => app.close());
