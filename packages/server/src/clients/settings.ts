// A client's settings: what may be chosen, the checks on each, and what a choice implies (a
// response type that returns tokens from the authorization endpoint needs the implicit grant;
// a code flow gets refresh tokens). A contradiction is refused with one line that says what to
// change. Also the resource indicators (RFC 8707) a client may ask tokens for.

import { CONTROL_CHARACTERS } from '../patterns.ts';
import type { oidcClients } from './tables.ts';

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
export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'];
const MAX_URIS = 20;
const MAX_URI_LENGTH = 2000;

/** Client metadata naming URLs that Gatehouse itself requests. */
export const FETCHED_METADATA = [
  'jwks_uri',
  'sector_identifier_uri',
  'backchannel_logout_uri',
] as const;

export const normalUrl = (value: string) => URL.parse(value)?.href ?? null;

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

export const invalid = (message: string): never => {
  throw new ClientError('CLIENT_INVALID', message);
};

/** What RFC 7591 registration hands over (already validated by oidc-provider). */
export interface RegisteredMetadata {
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

/** A client's settings once checked and completed: what the registry stores. */
export interface Normalised {
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
