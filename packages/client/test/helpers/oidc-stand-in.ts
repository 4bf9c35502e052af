// A stand-in for Gatehouse's OIDC side in tests, until the real provider lands: a bare
// `oidc-provider` with dev interactions (any login, any password), introspection, refresh
// tokens, RP-initiated logout, Gatehouse's claim names, and the revocation-event stream at
// `/api/v1/events`. `signOut(sub)` drops every session, grant and token of a member and pushes a
// `recheck`, as Gatehouse does when a member signs out everywhere.

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import Provider from 'oidc-provider';

export interface StandInAccount {
  preferred_username: string;
  name?: string;
  email?: string;
  /** Whether the address is verified; true when not said (the stand-in's members verified it). */
  email_verified?: boolean;
  picture?: string;
  groups?: string[];
  permissions?: string[];
}

export interface OidcStandIn {
  issuer: string;
  /** Registers a confidential client (client_secret_basic). */
  addClient(client: {
    clientId: string;
    clientSecret: string;
    redirectUris: string[];
    postLogoutRedirectUris?: string[];
  }): void;
  accounts: Map<string, StandInAccount>;
  /** A JWT access token for `aud`, signed with the provider's key. */
  signAccessToken(sub: string, aud: string, claims?: JWTPayload): Promise<string>;
  /** Drops the member's sessions and tokens; pushes a `recheck` unless `silent` (a missed event). */
  signOut(sub: string, options?: { silent?: boolean }): Promise<void>;
  push(event: unknown): void;
  dropEventConnections(): void;
  openEventConnections(): number;
  close(): Promise<void>;
}

type Stored = { payload: Record<string, unknown>; expiresAt: number };

export async function createOidcStandIn(): Promise<OidcStandIn> {
  const store = new Map<string, Stored>();
  const streams = new Set<ServerResponse>();
  const accounts = new Map<string, StandInAccount>();
  const credentials = new Map<string, string>();

  class Adapter {
    name: string;
    constructor(name: string) {
      this.name = name;
    }
    key(id: string) {
      return `${this.name}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      store.set(this.key(id), {
        payload,
        expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY,
      });
      if (payload.uid)
        store.set(`${this.name}:uid:${payload.uid}`, {
          payload: { id },
          expiresAt: Number.POSITIVE_INFINITY,
        });
      if (payload.userCode)
        store.set(`${this.name}:uc:${payload.userCode}`, {
          payload: { id },
          expiresAt: Number.POSITIVE_INFINITY,
        });
    }
    async find(id: string) {
      const s = store.get(this.key(id));
      if (!s || s.expiresAt < Date.now()) return undefined;
      return s.payload;
    }
    async findByUid(uid: string) {
      const ref = store.get(`${this.name}:uid:${uid}`);
      return ref ? this.find(ref.payload.id as string) : undefined;
    }
    async findByUserCode(code: string) {
      const ref = store.get(`${this.name}:uc:${code}`);
      return ref ? this.find(ref.payload.id as string) : undefined;
    }
    async consume(id: string) {
      const s = store.get(this.key(id));
      if (s) s.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [k, s] of store) if (s.payload.grantId === grantId) store.delete(k);
    }
  }

  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `standin-${Math.random().toString(36).slice(2, 8)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  void publicKey;

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const claimsOf = (sub: string) => {
    const a = accounts.get(sub) ?? { preferred_username: sub };
    return {
      preferred_username: a.preferred_username,
      name: a.name,
      email: a.email,
      // As Gatehouse: email_verified goes with the email (scope email).
      email_verified: a.email === undefined ? undefined : (a.email_verified ?? true),
      picture: a.picture,
      groups: a.groups ?? [],
      permissions: a.permissions ?? [],
    };
  };

  const provider = new Provider(issuer, {
    adapter: Adapter as never,
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, ...claimsOf(sub) }),
    }),
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'picture'],
      email: ['email', 'email_verified'],
      groups: ['groups', 'permissions'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    conformIdTokenClaims: false,
    // As Gatehouse: a refresh token for every client allowed the grant, offline_access or not.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(g: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    jwks: { keys: [privateJwk as never] },
    cookies: { keys: ['stand-in-cookie-key-0123456789abcdef'] },
    features: {
      devInteractions: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    extraTokenClaims: async (_ctx: unknown, token: unknown) =>
      (token as { accountId?: string }).accountId
        ? claimsOf((token as { accountId: string }).accountId)
        : undefined,
    pkce: { required: () => true },
  });
  provider.on('server_error', (_ctx: unknown, err: unknown) =>
    console.error('stand-in server_error', err),
  );
  const callback = provider.callback();

  server.on('request', (req, res) => {
    if (req.url?.startsWith('/api/v1/events')) {
      const auth = req.headers.authorization ?? '';
      const [id, secret] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':')
        .map((s) => decodeURIComponent(s));
      if (!id || credentials.get(id) !== secret) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"error":"invalid_client"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': hello\n\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    callback(req, res);
  });

  const standIn: OidcStandIn = {
    issuer,
    accounts,
    addClient(c) {
      credentials.set(c.clientId, c.clientSecret);
      store.set(`Client:${c.clientId}`, {
        payload: {
          client_id: c.clientId,
          client_secret: c.clientSecret,
          redirect_uris: c.redirectUris,
          post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
        expiresAt: Number.POSITIVE_INFINITY,
      });
    },
    async signAccessToken(sub, aud, claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: issuer,
        aud,
        sub,
        iat: now,
        exp: now + 600,
        ...claimsOf(sub),
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
        .sign(privateKey);
    },
    async signOut(sub, options = {}) {
      for (const [k, s] of store) {
        if (!k.startsWith('Client:') && s.payload.accountId === sub) store.delete(k);
      }
      if (!options.silent) standIn.push({ type: 'recheck', sub });
    },
    dropEventConnections() {
      for (const res of streams) res.destroy();
      streams.clear();
    },
    push(event) {
      for (const res of streams) res.write(`data: ${JSON.stringify(event)}\n\n`);
    },
    openEventConnections: () => streams.size,
    async close() {
      for (const res of streams) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return standIn;
}
