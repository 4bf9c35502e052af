// The storage adapter oidc-provider asks for (one instance per model name). Durable models go
// to the database, short-lived ones to the key-value store with their expiry, and clients come
// from Gatehouse's client registry. A revoked grant leaves a tombstone in the key-value store,
// so tokens stored there under that grant are refused without an index of them.

import { and, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ClientRow, Clients } from '../clients/clients.ts';
import type { Db } from '../store/db.ts';
import type { Kv } from '../store/kv.ts';
import { oidcPayloads } from './tables.ts';

const DURABLE = new Set([
  'Grant',
  'RefreshToken',
  'Session',
  'InitialAccessToken',
  'RegistrationAccessToken',
]);
/** Tombstones outlive any token of the grant (refresh tokens are the longest, 30 days). */
const GRANT_TOMBSTONE_MS = 31 * 86_400_000;

export interface AdapterDeps {
  db: Db;
  kv: Kv;
  clients: Clients;
  /** The client's row, from the provider's cache (one cache serves metadata and consent). */
  clientRow: (clientId: string) => Promise<ClientRow | null>;
  /** Forgets a cached row after this instance changed the client. */
  forgetClient: (clientId: string) => void;
  /** Maps a client row to the metadata oidc-provider validates and uses. */
  clientMetadata: (row: ClientRow) => AdapterPayload;
  now: () => number;
}

const tombstone = (grantId: string) => `oidc:grant-revoked:${grantId}`;

/**
 * Whether a grant was revoked (sign-out, a disconnected service, an access rule no longer met):
 * for JWT access tokens, which carry their grant (`gid`) and are checked without the provider.
 */
export async function grantRevoked(kv: Kv, grantId: string): Promise<boolean> {
  return (await kv.get(tombstone(grantId))) !== null;
}

export function adapterFactory(deps: AdapterDeps) {
  const { db, kv, now } = deps;

  async function revokeGrant(grantId: string) {
    await kv.set(tombstone(grantId), '1', GRANT_TOMBSTONE_MS);
    await db.delete(oidcPayloads).where(eq(oidcPayloads.grantId, grantId));
  }

  class ClientAdapter implements Adapter {
    async find(id: string) {
      const row = await deps.clientRow(id);
      return row ? deps.clientMetadata(row) : undefined;
    }
    async upsert(id: string, payload: AdapterPayload) {
      deps.forgetClient(id);
      await deps.clients.saveRegistered(id, payload as Record<string, unknown>);
    }
    async destroy(id: string) {
      deps.forgetClient(id);
      await deps.clients.delete(id);
    }
    async consume() {}
    async findByUid() {
      return undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async revokeByGrantId() {}
  }

  class KvAdapter implements Adapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    key(id: string) {
      return `oidc:${this.name}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      const ttl = Math.max(1, expiresIn) * 1000;
      const json = JSON.stringify(payload);
      await kv.set(this.key(id), json, ttl);
      if (payload.userCode) await kv.set(this.key(`uc:${payload.userCode}`), id, ttl);
      if (payload.uid) await kv.set(this.key(`uid:${payload.uid}`), id, ttl);
    }
    async find(id: string) {
      const raw = await kv.get(this.key(id));
      if (!raw) return undefined;
      const payload = JSON.parse(raw) as AdapterPayload;
      if (payload.grantId && (await kv.get(tombstone(payload.grantId)))) return undefined;
      const consumed = await kv.get(this.key(`consumed:${id}`));
      if (consumed) payload.consumed = Number(consumed);
      return payload;
    }
    async findByUserCode(userCode: string) {
      const id = await kv.get(this.key(`uc:${userCode}`));
      return id ? this.find(id) : undefined;
    }
    async findByUid(uid: string) {
      const id = await kv.get(this.key(`uid:${uid}`));
      return id ? this.find(id) : undefined;
    }
    async consume(id: string) {
      const ttl = (await kv.ttl(this.key(id))) ?? 60_000;
      await kv.setIfAbsent(this.key(`consumed:${id}`), String(Math.floor(now() / 1000)), ttl);
    }
    async destroy(id: string) {
      await kv.del(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      await revokeGrant(grantId);
    }
  }

  const live = (model: string) =>
    and(
      eq(oidcPayloads.model, model),
      or(isNull(oidcPayloads.expiresAt), gt(oidcPayloads.expiresAt, new Date(now()))),
    );

  class DbAdapter implements Adapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      const values = {
        payload: payload as Record<string, unknown>,
        grantId: payload.grantId ?? null,
        uid: payload.uid ?? null,
        userCode: payload.userCode ?? null,
        accountId: payload.accountId ?? null,
        expiresAt: expiresIn ? new Date(now() + expiresIn * 1000) : null,
      };
      await db
        .insert(oidcPayloads)
        .values({ model: this.name, id, ...values })
        .onConflictDoUpdate({ target: [oidcPayloads.model, oidcPayloads.id], set: values });
    }
    async findWhere(condition: ReturnType<typeof eq>) {
      const [row] = await db
        .select({ payload: oidcPayloads.payload, consumedAt: oidcPayloads.consumedAt })
        .from(oidcPayloads)
        .where(and(live(this.name), condition))
        .limit(1);
      if (!row) return undefined;
      const payload = row.payload as AdapterPayload;
      if (row.consumedAt) payload.consumed = Math.floor(row.consumedAt.getTime() / 1000);
      return payload;
    }
    find(id: string) {
      return this.findWhere(eq(oidcPayloads.id, id));
    }
    findByUid(uid: string) {
      return this.findWhere(eq(oidcPayloads.uid, uid));
    }
    findByUserCode(userCode: string) {
      return this.findWhere(eq(oidcPayloads.userCode, userCode));
    }
    async consume(id: string) {
      await db
        .update(oidcPayloads)
        .set({ consumedAt: new Date(now()) })
        .where(
          and(
            eq(oidcPayloads.model, this.name),
            eq(oidcPayloads.id, id),
            isNull(oidcPayloads.consumedAt),
          ),
        );
    }
    async destroy(id: string) {
      await db
        .delete(oidcPayloads)
        .where(and(eq(oidcPayloads.model, this.name), eq(oidcPayloads.id, id)));
    }
    async revokeByGrantId(grantId: string) {
      await revokeGrant(grantId);
    }
  }

  async function liveOf(model: string, accountId: string): Promise<AdapterPayload[]> {
    const rows = await db
      .select({ payload: oidcPayloads.payload })
      .from(oidcPayloads)
      .where(and(live(model), eq(oidcPayloads.accountId, accountId)));
    return rows.map((r) => r.payload as AdapterPayload);
  }

  const adapters = new Map<string, Adapter>();
  return {
    /** The `adapter` option of oidc-provider. */
    factory(name: string): Adapter {
      let adapter = adapters.get(name);
      if (!adapter) {
        adapter =
          name === 'Client'
            ? new ClientAdapter()
            : DURABLE.has(name)
              ? new DbAdapter(name)
              : new KvAdapter(name);
        adapters.set(name, adapter);
      }
      return adapter;
    },
    revokeGrant,
    /** Removes expired durable records; the key-value store expires its own. */
    async purgeExpired() {
      await db.delete(oidcPayloads).where(lt(oidcPayloads.expiresAt, new Date(now())));
    },
    /** The ids of an account's grants to one client, for disconnecting it. */
    async grantsOf(accountId: string, clientId: string): Promise<string[]> {
      const rows = await db
        .select({ id: oidcPayloads.id })
        .from(oidcPayloads)
        .where(
          and(
            live('Grant'),
            eq(oidcPayloads.accountId, accountId),
            eq(sql`${oidcPayloads.payload}->>'clientId'`, clientId),
          ),
        );
      return rows.map((r) => r.id);
    },
    /**
     * Live grants to some clients (of some accounts, or of everyone): for revoking those whose
     * member no longer passes the client's access rule.
     */
    async grantsTo(
      clientIds: readonly string[],
      accountIds: readonly string[] | null,
    ): Promise<Array<{ id: string; accountId: string; clientId: string }>> {
      if (clientIds.length === 0 || accountIds?.length === 0) return [];
      const clientId = sql<string>`${oidcPayloads.payload}->>'clientId'`;
      const rows = await db
        .select({ id: oidcPayloads.id, accountId: oidcPayloads.accountId, clientId })
        .from(oidcPayloads)
        .where(
          and(
            live('Grant'),
            inArray(clientId, [...clientIds]),
            accountIds ? inArray(oidcPayloads.accountId, [...accountIds]) : undefined,
          ),
        );
      return rows.filter((r): r is typeof r & { accountId: string } => r.accountId !== null);
    },
    /** Provider sessions of an account, for ending them when the member is disabled. */
    sessionsOf: (accountId: string) => liveOf('Session', accountId),
    /** Grants of an account (to every client), for telling services what concerns them. */
    grantsOfAccount: (accountId: string) => liveOf('Grant', accountId),
  };
}

export type OidcAdapters = ReturnType<typeof adapterFactory>;
