// The OIDC client registry: the services that sign their members in through Gatehouse.
//
//   settings.ts   what a client may choose, the checks, and what a choice implies
//   secrets.ts    a confidential client's secret: made, stored as a hash, checked
//   json.ts       a client's wire form, for the API and the CLI
//   clients.ts    the registry (this file): store, look-up, and the audit
//                 entries of administrators' changes (client.create, update, delete,
//                 rotate_secret), recorded here with the actor who made them

import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { Actor, Audit } from '../audit/audit.ts';
import { UUID } from '../patterns.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import { checkSecret, newSecret, registeredSecretHash } from './secrets.ts';
import {
  ClientError,
  type ClientInput,
  type ClientRow,
  DEFAULT_SCOPES,
  FETCHED_METADATA,
  invalid,
  type Normalised,
  normaliseClient,
  normalUrl,
  type RegisteredMetadata,
} from './settings.ts';
import { oidcClients } from './tables.ts';

export {
  AUTH_METHODS,
  allowsResource,
  ClientError,
  type ClientInput,
  type ClientRow,
  checkUri,
  DEVICE_CODE_GRANT,
  GRANT_TYPES,
  ID_TOKEN_ALGS,
  normaliseClient,
  RESPONSE_TYPES,
  SCOPES,
  TOKEN_RESPONSE_NOTE,
} from './settings.ts';

/** A client as the CLI, the API and the admin pages show it: never with a secret. */
export interface Client extends Omit<Normalised, 'metadata'> {
  clientId: string;
  public: boolean;
  backchannelLogoutUri: string | null;
  idTokenSignedResponseAlg: string;
  applicationType: 'web' | 'native';
  source: string;
  createdAt: Date;
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
  audit: Audit;
  now: () => number;
  validateAccessRule?: (rule: string) => void;
}) {
  const { db, events, audit, now } = deps;
  const validate = (input: ClientInput) => normaliseClient(input, deps.validateAccessRule);

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

  /** The audit entry of a change, when an actor is given (absent: set-up, tests, the provider). */
  async function record(actor: Actor | undefined, action: string, clientId: string) {
    if (actor) await audit.act(actor, action, `client:${clientId}`);
  }

  return {
    normalise: validate,

    /** Registers a client; the secret (confidential clients only) is returned once. */
    async create(
      input: ClientInput,
      actor?: Actor,
    ): Promise<{ client: Client; secret: string | null }> {
      const n = validate(input);
      const id = randomUUID();
      const s = n.tokenEndpointAuthMethod.startsWith('client_secret') ? newSecret(id) : null;
      const [created] = await db
        .insert(oidcClients)
        .values({ id, ...n, secretHash: s?.secretHash ?? null, source: 'admin' })
        .returning();
      await record(actor, 'client.create', id);
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

    async update(clientId: string, patch: ClientInput, actor?: Actor): Promise<Client> {
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
      await record(actor, 'client.update', current.id);
      return toClient(updated!);
    },

    /** Deletes a client; false when there is none. (The provider's RFC 7592 deletion passes no actor.) */
    async delete(clientId: string, actor?: Actor): Promise<boolean> {
      const current = await row(clientId);
      if (!current) return false;
      await db.delete(oidcClients).where(eq(oidcClients.id, current.id));
      await changed(current.id);
      await record(actor, 'client.delete', current.id);
      return true;
    },

    /** A new secret replaces the old one at once; a public client becomes confidential. */
    async rotateSecret(clientId: string, actor?: Actor): Promise<string> {
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
      await record(actor, 'client.rotate_secret', current.id);
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
      const secretHash =
        typeof client_secret === 'string' ? registeredSecretHash(client_secret) : null;
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
    checkSecret,
  };
}

export type Clients = ReturnType<typeof createClients>;
