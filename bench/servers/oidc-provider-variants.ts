// Ablation of the token endpoint (bench/tools/oidc-ablation.ts): the bare oidc-provider of
// servers/oidc-provider.ts, changed one step at a time towards Gatehouse's set-up, to see what
// each step costs. VARIANT:
//   features  the bare provider with the features, scopes and client auth methods Gatehouse
//             enables (resource indicators, introspection, revocation, device flow, PAR,
//             registration, back-channel and RP-initiated logout), still in memory
//   fastify   `features`, mounted in an empty Fastify app the way Gatehouse mounts it
//             (a catch-all route, body left unread, reply.hijack(), provider.callback())
// PORT, HOST, CLIENT_ID and CLIENT_SECRET as for servers/oidc-provider.ts.

import Fastify from 'fastify';
import Provider, { type Configuration } from 'oidc-provider';
import { listenAddress, stopWith } from './child.ts';

const { port, host } = listenAddress('oidc-provider-variants');
const variant = process.env.VARIANT ?? 'features';
const issuer = `http://${host}:${port}`;

const configuration: Configuration = {
  clients: [
    {
      client_id: process.env.CLIENT_ID!,
      client_secret: process.env.CLIENT_SECRET!,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'picture', 'updated_at'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
  routes: { token: '/oidc/token', jwks: '/oidc/jwks' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    deviceFlow: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    registration: { enabled: true, initialAccessToken: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf ?? (undefined as never),
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => ({
        scope: 'openid profile email groups',
        audience: resourceIndicator,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: async () => undefined,
};

const provider = new Provider(issuer, configuration);

if (variant === 'features') {
  const server = provider.listen(port, host);
  stopWith(() => new Promise<void>((resolve) => server.close(() => resolve())));
} else if (variant === 'fastify') {
  const app = Fastify({ logger: false });
  const callback = provider.callback();
  await app.register(async (mounted) => {
    mounted.removeAllContentTypeParsers();
    mounted.addContentTypeParser('*', (_request, _payload, done) => done(null));
    mounted.all('/*', (request, reply) => {
      reply.hijack();
      callback(request.raw, reply.raw);
    });
  });
  await app.listen({ port, host });
  stopWith(() => app.close());
} else {
  process.stderr.write(`oidc-provider-variants: unknown VARIANT ${variant}\n`);
  process.exit(2);
}
