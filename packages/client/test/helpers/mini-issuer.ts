// A stand-in for Gatehouse in SDK tests: discovery, a JWKS that can rotate or go down,
// introspection of opaque tokens, and the revocation-event stream — on a real loopback socket.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

type Alg = 'RS256' | 'ES256' | 'EdDSA';

export interface MiniIssuer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Signs an access token with the current key (or a given kid), defaults filled in. */
  /** An access token (`typ: at+jwt`, as Gatehouse signs them); `typ` mints another kind. */
  sign(
    claims?: JWTPayload,
    opts?: { kid?: string; expiresIn?: string | number; typ?: string | null },
  ): Promise<string>;
  /** Adds a new current key; returns its kid. */
  rotate(alg?: Alg): Promise<string>;
  /** The public JWK of the current key (for hostile-token tests). */
  publicJwk(): Record<string, unknown>;
  jwksDown: boolean;
  jwksFetches: number;
  introspections: number;
  /** Opaque tokens that introspection answers active for. */
  opaque: Map<string, Record<string, unknown>>;
  /** JWTs introspection should answer inactive for (revoked). */
  revokedJwts: Set<string>;
  /** Answer JWT introspection as oidc-provider does: 400 unsupported_token_type. */
  jwtIntrospectionUnsupported: boolean;
  eventsAccepted: number;
  /** While set, introspection answers wait for it (to race events against a call home). */
  introspectionGate: Promise<void> | null;
  /** Refuse event connections (503) while true. */
  eventsDown: boolean;
  push(event: unknown): void;
  /** Closes every open event connection (the server stays up). */
  dropEventConnections(): void;
  openEventConnections(): number;
  close(): Promise<void>;
}

export async function createMiniIssuer(
  opts: { alg?: Alg; clientId?: string; clientSecret?: string } = {},
): Promise<MiniIssuer> {
  const keys: Array<{
    kid: string;
    alg: Alg;
    privateKey: CryptoKey;
    jwk: Record<string, unknown>;
  }> = [];
  const clientId = opts.clientId ?? 'svc';
  const clientSecret = opts.clientSecret ?? 'svc-secret-0123456789';
  const expectedAuth = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  const streams = new Set<ServerResponse>();
  let issuer = '';

  async function rotate(alg: Alg = opts.alg ?? 'RS256'): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `k${keys.length + 1}-${Math.random().toString(36).slice(2, 8)}`;
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    keys.push({ kid, alg, privateKey, jwk });
    return kid;
  }
  await rotate();

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  const mini: MiniIssuer = {
    issuer: '',
    clientId,
    clientSecret,
    jwksDown: false,
    jwksFetches: 0,
    introspections: 0,
    opaque: new Map(),
    revokedJwts: new Set(),
    eventsAccepted: 0,
    eventsDown: false,
    introspectionGate: null,
    jwtIntrospectionUnsupported: false,
    rotate,
    publicJwk: () => keys[keys.length - 1]!.jwk,
    async sign(claims = {}, o = {}) {
      const key = o.kid ? keys.find((k) => k.kid === o.kid)! : keys[keys.length - 1]!;
      return new SignJWT({
        preferred_username: 'ada',
        name: 'Ada Lovelace',
        email: 'ada@example.org',
        email_verified: true,
        groups: ['members/workshop'],
        permissions: ['upload:write'],
        ...claims,
      })
        .setProtectedHeader({
          alg: key.alg,
          kid: key.kid,
          ...(o.typ === null ? {} : { typ: o.typ ?? 'at+jwt' }),
        })
        .setIssuer((claims.iss as string) ?? issuer)
        .setAudience((claims.aud as string) ?? clientId)
        .setSubject((claims.sub as string) ?? '6f1c8a52-6f36-4a49-9d4b-3a2f1f3c0d11')
        .setIssuedAt((claims.iat as number) ?? undefined)
        .setExpirationTime((claims.exp as number) ?? o.expiresIn ?? '5m')
        .sign(key.privateKey);
    },
    push(event) {
      for (const res of streams) res.write(`data: ${JSON.stringify(event)}\n\n`);
    },
    dropEventConnections() {
      for (const res of streams) res.destroy();
      streams.clear();
    },
    openEventConnections: () => streams.size,
    async close() {
      mini.dropEventConnections();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        return json(200, {
          issuer,
          jwks_uri: `${issuer}/jwks`,
          introspection_endpoint: `${issuer}/introspect`,
          token_endpoint: `${issuer}/token`,
          authorization_endpoint: `${issuer}/auth`,
        });
      case '/jwks':
        mini.jwksFetches++;
        if (mini.jwksDown) return json(503, { error: 'down' });
        return json(200, { keys: keys.map((k) => k.jwk) });
      case '/introspect': {
        mini.introspections++;
        if (req.headers.authorization !== expectedAuth)
          return json(401, { error: 'invalid_client' });
        const token = new URLSearchParams(await readBody(req)).get('token') ?? '';
        const claims = mini.opaque.get(token);
        await mini.introspectionGate;
        // As Gatehouse: API tokens are gatehouse_api_token (a test may say otherwise).
        if (claims)
          return json(200, {
            active: true,
            iss: issuer,
            token_type: 'gatehouse_api_token',
            ...claims,
          });
        if (token.split('.').length === 3 && mini.jwtIntrospectionUnsupported) {
          return json(400, {
            error: 'unsupported_token_type',
            error_description: 'Structured JWT Tokens cannot be introspected',
          });
        }
        if (token.split('.').length === 3 && !mini.revokedJwts.has(token)) {
          const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
          return json(200, { active: true, token_type: 'Bearer', ...payload });
        }
        return json(200, { active: false });
      }
      case '/api/v1/events':
        if (req.headers.authorization !== expectedAuth)
          return json(401, { error: 'invalid_client' });
        if (mini.eventsDown) return json(503, { error: 'down' });
        mini.eventsAccepted++;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(': hello\n\n');
        streams.add(res);
        res.on('close', () => streams.delete(res));
        return;
      default:
        return json(404, { error: 'not_found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mini.issuer = issuer;
  return mini;
}
