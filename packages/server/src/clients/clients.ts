// The OIDC client registry: the services that sign their members in through Gatehouse.
//
// `create` derives what a choice implies (a response type that returns tokens from the
// authorization endpoint needs the implicit grant; a code flow gets refresh tokens) and
// refuses a contradiction with one line that says what to change.

import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import {
  generateSecretToken,
  hashSecret,
  parseSecretToken,
  verifySecret,
} from '../crypto/secret-tokens.ts';
import { CONTROL_CHARACTERS, UUID } from '../patterns.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import { oidcClients } from './tables.ts';

export type ClientRow = typeof oidcClients.$inferSelect;

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'implicit',
  DEVICE_CODE_GRANT,
] as const;
export const RESPONSE_TYPES = [
  'code',
  'id_token',
  'token',
  'id_token token',
  'code id_token',
  'code token',
  'code id_token token',
] as const;
/** Said wherever a client is registered for `token` alone: allowed, and not recommended. */
export const TOKEN_RESPONSE_NOTE =
  'response type "token" hands the access token to the browser in the redirect, where history, logs and other scripts can read it; RFC 9700 §2.1.2 advises against it. "code" with PKCE is the better choice where the service can use it';
export const SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'] as const;
export const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const;
export const ID_TOKEN_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'];
const MAX_URIS = 20;
const MAX_URI_LENGTH = 2000;

/** Client metadata naming URLs that Gatehouse itself requests. */
const FETCHED_METADATA = ['jwks_uri', 'sector_identifier_uri', 'backchannel_logout_uri'] as const;

const normalUrl = (value: string) => URL.parse(value)?.href ?? null;

export class ClientError extends Error {
  override name = 'ClientError';
  readonly code: 'CLIENT_INVALID' | 'CLIENT_NOT_FOUND';
  readonly status: number;
  constructor(code: 'CLIENT_INVALID' | 'CLIENT_NOT_FOUND', message: string) {
    super(message);
    this.code = code;
    this.status = code === 'CLIENT_NOT_FOUND' ? 404 : 400;
  }
}

const invalid = (message: string): never => {
  throw new ClientError('CLIENT_INVALID', message);
};

/** What RFC 7591 registration hands over (already validated by oidc-provider). */
interface RegisteredMetadata {
  [key: string]: unknown;
  client_id?: string;
  client_secret?: string;
  client_name?: string;
  logo_uri?: string;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  grant_types?: string[];
  response_types?: string[];
  token_endpoint_auth_method?: string;
  scope?: string;
}

export interface ClientInput {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  public?: boolean;
  grantTypes?: string[];
  responseTypes?: string[];
  scopes?: string[];
  firstParty?: boolean;
  logoUri?: string | null;
  launchUrl?: string | null;
  accessRule?: string | null;
  /** Resource indicators (RFC 8707) the client may ask tokens for; none by default. */
  resources?: string[];
  tokenEndpointAuthMethod?: string;
  idTokenSignedResponseAlg?: string;
  backchannelLogoutUri?: string | null;
  jwksUri?: string | null;
  jwks?: { keys: unknown[] } | null;
  /** web (default) or native (command-line and desktop apps: loopback or custom-scheme redirects). */
  applicationType?: 'web' | 'native';
}

/** A client as the CLI, the API and the admin pages show it: never with a secret. */
export interface Client {
  clientId: string;
  name: string;
  logoUri: string | null;
  launchUrl: string | null;
  firstParty: boolean;
  public: boolean;
  tokenEndpointAuthMethod: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  responseTypes: string[];
  scopes: string[];
  accessRule: string | null;
  resources: string[];
  backchannelLogoutUri: string | null;
  idTokenSignedResponseAlg: string;
  applicationType: 'web' | 'native';
  source: string;
  createdAt: Date;
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') return invalid(`${field} must be text`);
  const s = value.trim();
  if (!s || s.length > max || CONTROL_CHARACTERS.test(s)) {
    return invalid(`${field} must be 1 to ${max} characters without control characters`);
  }
  return s;
}

/** An absolute URL without a fragment; https, or http on loopback, unless `anyScheme` (native apps). */
export function checkUri(
  value: unknown,
  field: string,
  opts: { anyScheme?: boolean } = {},
): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URI_LENGTH) {
    return invalid(`${field} must be an absolute URL of at most ${MAX_URI_LENGTH} characters`);
  }
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return invalid(`${field} "${value.slice(0, 100)}" is not an absolute URL`);
  }
  if (u.hash || value.includes('#')) invalid(`${field} must not contain a fragment (#…)`);
  if (u.username || u.password) invalid(`${field} must not contain credentials`);
  const web = u.protocol === 'https:' || u.protocol === 'http:';
  if (!web && !opts.anyScheme) invalid(`${field} must be an http:// or https:// URL`);
  if (['javascript:', 'data:', 'file:', 'vbscript:'].includes(u.protocol)) {
    invalid(`${field} must not use the ${u.protocol} scheme`);
  }
  return value;
}

function uris(values: unknown, field: string, anyScheme: boolean): string[] {
  if (values === undefined) return [];
  if (!Array.isArray(values)) return invalid(`${field} must be a list of URLs`);
  if (values.length > MAX_URIS) invalid(`at most ${MAX_URIS} ${field} values are allowed`);
  return [...new Set(values.map((v) => checkUri(v, field, { anyScheme })))];
}

function normaliseResponseType(value: string): string {
  const parts = value.trim().split(/\s+/).sort();
  // Canonical order as registered: code first, then id_token, then token.
  const order = ['code', 'id_token', 'token'];
  return parts.sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(' ');
}

function oneOfList<T extends string>(values: unknown, allowed: readonly T[], field: string): T[] {
  if (!Array.isArray(values)) return invalid(`${field} must be a list`);
  for (const v of values) {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      invalid(`${field} "${String(v).slice(0, 60)}" is not one of: ${allowed.join(', ')}`);
    }
  }
  return [...new Set(values as T[])];
}

interface Normalised {
  name: string;
  logoUri: string | null;
  launchUrl: string | null;
  firstParty: boolean;
  tokenEndpointAuthMethod: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  responseTypes: string[];
  scopes: string[];
  accessRule: string | null;
  resources: string[];
  metadata: Record<string, unknown>;
}

/**
 * Checks a client's settings and fills in what they imply. Exported for the CLI's dry runs and
 * the admin API; `validateAccessRule` checks the access expression (the access subsystem's).
 */
export function normaliseClient(
  input: ClientInput,
  validateAccessRule: (rule: string) => void = () => {},
): Normalised {
  const name = text(input.name, 'name', 100);
  const isPublic = input.public === true || input.tokenEndpointAuthMethod === 'none';
  const method = input.tokenEndpointAuthMethod ?? (isPublic ? 'none' : 'client_secret_basic');
  oneOfList([method], AUTH_METHODS, 'token endpoint auth method');
  if (isPublic && method !== 'none') {
    invalid('a public client authenticates with "none"; drop --public or the auth method');
  }

  const responseTypes = (input.responseTypes ?? []).map((t) => {
    if (typeof t !== 'string') return invalid('response types must be text');
    const n = normaliseResponseType(t);
    if (n === 'none') return invalid('response type "none" is not supported');
    return n;
  });
  oneOfList(responseTypes, RESPONSE_TYPES, 'response type');
  const grantTypes = new Set(
    oneOfList(
      (input.grantTypes ?? []).map((g) => (g === 'device_code' ? DEVICE_CODE_GRANT : g)),
      GRANT_TYPES,
      'grant type',
    ),
  );
  const explicitGrants = grantTypes.size > 0;
  if (!explicitGrants && responseTypes.length === 0) {
    grantTypes.add('authorization_code').add('refresh_token');
  }
  if (grantTypes.has('authorization_code') && responseTypes.length === 0)
    responseTypes.push('code');
  if (grantTypes.has('implicit') && !responseTypes.some((t) => t.includes('token'))) {
    invalid(
      'the implicit grant needs a response type that returns tokens, such as "id_token token"',
    );
  }
  // What the response types imply.
  for (const t of responseTypes) {
    if (t.includes('code')) grantTypes.add('authorization_code');
    if (t.includes('token')) grantTypes.add('implicit');
  }
  if (!explicitGrants && grantTypes.has('authorization_code')) grantTypes.add('refresh_token');
  if (isPublic && grantTypes.has('client_credentials')) {
    invalid(
      'a public client has no secret, so it cannot use client_credentials; drop --public or that grant type',
    );
  }
  if (grantTypes.size === 0) invalid('choose at least one grant type or response type');

  const redirectUris = uris(input.redirectUris, 'redirect URI', true);
  const needsRedirect = grantTypes.has('authorization_code') || grantTypes.has('implicit');
  if (needsRedirect && redirectUris.length === 0) {
    invalid('a client that signs people in needs at least one redirect URI (--redirect-uri)');
  }
  if (!needsRedirect && redirectUris.length > 0) {
    invalid('redirect URIs are only used with the authorization_code or implicit grants');
  }
  const postLogoutRedirectUris = uris(
    input.postLogoutRedirectUris,
    'post-logout redirect URI',
    true,
  );

  const scopes = input.scopes?.length ? oneOfList(input.scopes, SCOPES, 'scope') : DEFAULT_SCOPES;
  if (!scopes.includes('openid') && needsRedirect) scopes.unshift('openid');

  const metadata: Record<string, unknown> = {};
  const applicationType = input.applicationType ?? 'web';
  oneOfList([applicationType], ['web', 'native'], 'application type');
  metadata.application_type = applicationType;
  if (applicationType === 'web' && grantTypes.has('implicit')) {
    for (const uri of [...redirectUris, ...postLogoutRedirectUris]) {
      const u = new URL(uri);
      if (u.protocol !== 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) {
        invalid(
          `a web client using a response type that returns tokens needs https redirect URIs that are not localhost ("${uri.slice(0, 100)}"); register it with --application-type native for a loopback address`,
        );
      }
    }
  }
  const alg = input.idTokenSignedResponseAlg ?? 'RS256';
  oneOfList([alg], ID_TOKEN_ALGS, 'ID token signing algorithm');
  metadata.id_token_signed_response_alg = alg;
  if (input.backchannelLogoutUri) {
    metadata.backchannel_logout_uri = checkUri(
      input.backchannelLogoutUri,
      'back-channel logout URI',
    );
    metadata.backchannel_logout_session_required = true;
  }
  if (method === 'private_key_jwt') {
    if (input.jwksUri) metadata.jwks_uri = checkUri(input.jwksUri, 'JWKS URI');
    else if (input.jwks && Array.isArray(input.jwks.keys))
      metadata.jwks = { keys: input.jwks.keys };
    else invalid("private_key_jwt needs the client's public keys: a JWKS URI or a JWKS");
  }
  const accessRule = input.accessRule ? text(input.accessRule, 'access rule', 1024) : null;
  if (accessRule) {
    try {
      validateAccessRule(accessRule);
    } catch (err) {
      invalid(`the access rule is not valid: ${(err as Error).message}`);
    }
  }

  const resources = uris(input.resources, 'resource', false).map(checkResource);

  return {
    name,
    logoUri: input.logoUri ? checkUri(input.logoUri, 'logo URL') : null,
    launchUrl: input.launchUrl ? checkUri(input.launchUrl, 'launch URL') : null,
    firstParty: input.firstParty === true,
    tokenEndpointAuthMethod: method,
    redirectUris,
    postLogoutRedirectUris,
    grantTypes: GRANT_TYPES.filter((g) => grantTypes.has(g)),
    responseTypes,
    scopes,
    accessRule,
    resources,
    metadata,
  };
}

/**
 * A resource indicator a client may be allowed: an absolute http(s) URL without a fragment
 * (checked by `checkUri`) and without a query, so one resource has one spelling.
 */
function checkResource(uri: string): string {
  if (new URL(uri).search || uri.includes('?'))
    invalid(`resource "${uri.slice(0, 100)}" must not contain a query`);
  return uri;
}

/**
 * Whether a client may be issued tokens for `resource` (RFC 8707): one of the resources its
 * registration lists, compared as URLs (`https://a.example` and `https://a.example/` are one).
 */
export function allowsResource(row: Pick<ClientRow, 'resources'>, resource: string): boolean {
  const wanted = sameResource(resource);
  return wanted !== null && row.resources.some((r) => sameResource(r) === wanted);
}

function sameResource(uri: string): string | null {
  try {
    return new URL(uri).href;
  } catch {
    return null;
  }
}

export function toClient(row: ClientRow): Client {
  const m = row.metadata;
  return {
    clientId: row.id,
    name: row.name,
    logoUri: row.logoUri,
    launchUrl: row.launchUrl,
    firstParty: row.firstParty,
    public: row.tokenEndpointAuthMethod === 'none',
    tokenEndpointAuthMethod: row.tokenEndpointAuthMethod,
    redirectUris: row.redirectUris,
    postLogoutRedirectUris: row.postLogoutRedirectUris,
    grantTypes: row.grantTypes,
    responseTypes: row.responseTypes,
    scopes: row.scopes,
    accessRule: row.accessRule,
    resources: row.resources,
    backchannelLogoutUri: (m.backchannel_logout_uri as string | undefined) ?? null,
    idTokenSignedResponseAlg: (m.id_token_signed_response_alg as string | undefined) ?? 'RS256',
    applicationType: m.application_type === 'native' ? 'native' : 'web',
    source: row.source,
    createdAt: row.createdAt,
  };
}

/** The wire form (snake_case, as in RFC 7591) the CLI's --json and the JSON API print. */
export function clientJson(c: Client) {
  return {
    client_id: c.clientId,
    name: c.name,
    public: c.public,
    first_party: c.firstParty,
    application_type: c.applicationType,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    response_types: c.responseTypes,
    scopes: c.scopes,
    logo_uri: c.logoUri,
    launch_url: c.launchUrl,
    access_rule: c.accessRule,
    resources: c.resources,
    backchannel_logout_uri: c.backchannelLogoutUri,
    id_token_signed_response_alg: c.idTokenSignedResponseAlg,
    created_at: c.createdAt.toISOString(),
  };
}

function clientInputOf(c: Client): ClientInput {
  return {
    name: c.name,
    redirectUris: c.redirectUris,
    postLogoutRedirectUris: c.postLogoutRedirectUris,
    public: c.public,
    grantTypes: c.grantTypes,
    responseTypes: c.responseTypes,
    scopes: c.scopes,
    firstParty: c.firstParty,
    logoUri: c.logoUri,
    launchUrl: c.launchUrl,
    accessRule: c.accessRule,
    resources: c.resources,
    tokenEndpointAuthMethod: c.tokenEndpointAuthMethod,
    idTokenSignedResponseAlg: c.idTokenSignedResponseAlg,
    backchannelLogoutUri: c.backchannelLogoutUri,
    applicationType: c.applicationType,
  };
}

export function createClients(deps: {
  db: Db;
  events: EventBus;
  now: () => number;
  validateAccessRule?: (rule: string) => void;
}) {
  const { db, events, now } = deps;
  const validate = (input: ClientInput) => normaliseClient(input, deps.validateAccessRule);

  function newSecret(clientId: string) {
    const { token, hash } = generateSecretToken('cs', clientId);
    return { secret: token, secretHash: hash.toString('hex') };
  }

  async function row(clientId: string): Promise<ClientRow | null> {
    if (!UUID.test(clientId)) return null;
    const [found] = await db
      .select()
      .from(oidcClients)
      .where(eq(oidcClients.id, clientId.toLowerCase()));
    return found ?? null;
  }

  async function changed(clientId: string) {
    await events.emit({ type: 'clients.changed', clientId });
  }

  return {
    normalise: validate,

    /** Registers a client; the secret (confidential clients only) is returned once. */
    async create(
      input: ClientInput,
      source = 'admin',
    ): Promise<{ client: Client; secret: string | null }> {
      const n = validate(input);
      const id = randomUUID();
      const s = n.tokenEndpointAuthMethod.startsWith('client_secret') ? newSecret(id) : null;
      const [created] = await db
        .insert(oidcClients)
        .values({ id, ...n, secretHash: s?.secretHash ?? null, source })
        .returning();
      return { client: toClient(created!), secret: s?.secret ?? null };
    },

    async list(): Promise<Client[]> {
      const rows = await db
        .select()
        .from(oidcClients)
        .orderBy(asc(oidcClients.name), asc(oidcClients.id));
      return rows.map(toClient);
    },

    async get(clientId: string): Promise<Client | null> {
      const found = await row(clientId);
      return found ? toClient(found) : null;
    },

    /** The stored row: for the OIDC adapter, which needs the secret hash and metadata. */
    row,

    async update(clientId: string, patch: ClientInput): Promise<Client> {
      const current = await row(clientId);
      if (!current) throw new ClientError('CLIENT_NOT_FOUND', 'There is no such client.');
      const n = validate({ ...clientInputOf(toClient(current)), ...patch });
      const wasConfidential = current.secretHash !== null;
      const confidential = n.tokenEndpointAuthMethod.startsWith('client_secret');
      if (confidential && !wasConfidential) {
        invalid(
          'this client has no secret; rotate-secret gives it one before it can use a secret auth method',
        );
      }
      const [updated] = await db
        .update(oidcClients)
        .set({
          ...n,
          secretHash: confidential ? current.secretHash : null,
          metadata: { ...current.metadata, ...n.metadata },
          updatedAt: new Date(now()),
        })
        .where(eq(oidcClients.id, current.id))
        .returning();
      await changed(current.id);
      return toClient(updated!);
    },

    async delete(clientId: string): Promise<boolean> {
      const current = await row(clientId);
      if (!current) return false;
      await db.delete(oidcClients).where(eq(oidcClients.id, current.id));
      await changed(current.id);
      return true;
    },

    /** A new secret replaces the old one at once; a public client becomes confidential. */
    async rotateSecret(clientId: string): Promise<string> {
      const current = await row(clientId);
      if (!current) throw new ClientError('CLIENT_NOT_FOUND', 'There is no such client.');
      const s = newSecret(current.id);
      const method = current.tokenEndpointAuthMethod.startsWith('client_secret')
        ? current.tokenEndpointAuthMethod
        : 'client_secret_basic';
      await db
        .update(oidcClients)
        .set({
          secretHash: s.secretHash,
          tokenEndpointAuthMethod: method,
          updatedAt: new Date(now()),
        })
        .where(eq(oidcClients.id, current.id));
      await changed(current.id);
      return s.secret;
    },

    /**
     * Stores a client registered through RFC 7591 dynamic registration. The provider has
     * already validated the metadata; only the secret's hash is kept.
     */
    async saveRegistered(clientId: string, metadata: Record<string, unknown>): Promise<void> {
      const {
        client_id: _id,
        client_secret,
        client_name,
        logo_uri,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        response_types,
        token_endpoint_auth_method,
        scope,
        ...rest
      } = metadata as RegisteredMetadata;
      let secretHash: string | null = null;
      if (typeof client_secret === 'string') {
        const parsed = parseSecretToken(client_secret, 'cs');
        if (!parsed) invalid('a registered client secret must be a Gatehouse client secret');
        secretHash = hashSecret(parsed!.secret).toString('hex');
      }
      const values = {
        name:
          typeof client_name === 'string' && client_name
            ? client_name.slice(0, 100)
            : 'Unnamed client',
        logoUri: typeof logo_uri === 'string' ? logo_uri : null,
        firstParty: false,
        secretHash,
        tokenEndpointAuthMethod: token_endpoint_auth_method ?? 'client_secret_basic',
        redirectUris: redirect_uris ?? [],
        postLogoutRedirectUris: post_logout_redirect_uris ?? [],
        grantTypes: grant_types ?? ['authorization_code'],
        responseTypes: response_types ?? ['code'],
        scopes: typeof scope === 'string' ? scope.split(' ') : DEFAULT_SCOPES,
        metadata: rest,
        source: 'dynamic',
        updatedAt: new Date(now()),
      };
      await db
        .insert(oidcClients)
        .values({ id: clientId, ...values })
        .onConflictDoUpdate({ target: oidcClients.id, set: values });
      await changed(clientId);
    },

    /**
     * Whether an administrator registered `url` as one Gatehouse fetches for a client (its
     * JWKS, sector identifier or back-channel logout URI). Such a URL may be on a private
     * network; one registered through dynamic registration may not (oidc/outgoing.ts).
     */
    async registeredByAdmin(url: string): Promise<boolean> {
      const wanted = normalUrl(url);
      if (!wanted) return false;
      const rows = await db
        .select({ metadata: oidcClients.metadata })
        .from(oidcClients)
        .where(eq(oidcClients.source, 'admin'));
      return rows.some(({ metadata }) =>
        FETCHED_METADATA.some((key) => {
          const value = metadata[key];
          return typeof value === 'string' && normalUrl(value) === wanted;
        }),
      );
    },

    /** Whether `presented` is this client's secret, in constant time. */
    checkSecret(client: Pick<ClientRow, 'id' | 'secretHash'>, presented: unknown): boolean {
      if (!client.secretHash) return false;
      // The id inside the token is not checked: the hash comparison is the proof, and secrets
      // issued by dynamic registration carry their own id.
      const parsed = parseSecretToken(presented, 'cs');
      if (!parsed) return false;
      return verifySecret(parsed.secret, Buffer.from(client.secretHash, 'hex'));
    },
  };
}

export type Clients = ReturnType<typeof createClients>;
