// Signing keys and their rotation. Each algorithm has one `current` key that signs, one `next`
// key that is already published in the JWKS but signs nothing yet, and `retired` keys that are
// still published until every token they signed has expired. Rotation promotes next to
// current, so a relying party that cached the JWKS before the rotation already holds the key
// that signs after it.

import { randomUUID } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Db } from '../store/db.ts';
import type { SecretKey } from './secret-key.ts';
import { signingKeys } from './tables.ts';

export const SIGNING_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

const PURPOSE = 'signing-keys';
// Any constant distinct from the migration lock.
const LOCK_ID = 0x6761_7465_6b65_79n;

export interface KeySet {
  /** Private JWKs for the provider: current keys sign, the others only verify. */
  provider: JWK[];
  /** The public JWKS to publish: next, current and retired keys. */
  published: { keys: JWK[] };
  /** Changes whenever the set changes (the JWKS ETag). */
  version: string;
}

export interface SigningKeys {
  /** Creates the missing current and next keys; safe to call from several instances at once. */
  ensure(): Promise<void>;
  load(): Promise<KeySet>;
  /**
   * Promotes each algorithm's next key to current, retires the current one until `now +
   * retainMs` and creates a new next key. Removes retired keys whose time has passed.
   */
  rotate(retainMs: number): Promise<{ retired: string[]; activated: string[] }>;
}

async function newKey(alg: SigningAlgorithm) {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const kid = randomUUID();
  const pub = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const priv = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, pub, priv };
}

export function createSigningKeys(deps: {
  db: Db;
  secretKey: SecretKey;
  now: () => number;
}): SigningKeys {
  const { db, secretKey, now } = deps;

  async function insert(tx: Db, alg: SigningAlgorithm, state: 'next' | 'current') {
    const { kid, pub, priv } = await newKey(alg);
    await tx.insert(signingKeys).values({
      kid,
      alg,
      state,
      publicJwk: pub,
      privateJwk: secretKey.seal(PURPOSE, JSON.stringify(priv)),
      activatedAt: state === 'current' ? new Date(now()) : null,
    });
    return kid;
  }

  async function locked<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_ID})`);
      return fn(tx as unknown as Db);
    });
  }

  async function fillMissing(tx: Db): Promise<string[]> {
    const rows = await tx
      .select({ alg: signingKeys.alg, state: signingKeys.state })
      .from(signingKeys);
    const created: string[] = [];
    for (const alg of SIGNING_ALGORITHMS) {
      for (const state of ['current', 'next'] as const) {
        if (!rows.some((r) => r.alg === alg && r.state === state))
          created.push(await insert(tx, alg, state));
      }
    }
    return created;
  }

  return {
    async ensure() {
      const rows = await db
        .select({ alg: signingKeys.alg, state: signingKeys.state })
        .from(signingKeys);
      if (rows.length >= SIGNING_ALGORITHMS.length * 2) return;
      await locked(fillMissing);
    },

    async load() {
      const rows = await db.select().from(signingKeys);
      const order = { current: 0, next: 1, retired: 2 } as const;
      rows.sort(
        (a, b) => order[a.state] - order[b.state] || a.createdAt.getTime() - b.createdAt.getTime(),
      );
      const provider: JWK[] = [];
      const published: JWK[] = [];
      for (const row of rows) {
        if (row.state === 'retired' && row.expiresAt && row.expiresAt.getTime() <= now()) continue;
        const priv = JSON.parse(secretKey.open(PURPOSE, row.privateJwk)) as JWK;
        // key_ops ['verify'] keeps next and retired keys out of the provider's signing choice;
        // current keys carry none (webcrypto refuses 'verify' on a private key it signs with).
        provider.push(row.state === 'current' ? priv : { ...priv, key_ops: ['verify'] });
        published.push(row.publicJwk as JWK);
      }
      const version = rows.map((r) => `${r.kid}:${r.state}`).join(',');
      return { provider, published: { keys: published }, version };
    },

    async rotate(retainMs) {
      return locked(async (tx) => {
        await fillMissing(tx);
        const at = new Date(now());
        await tx
          .delete(signingKeys)
          .where(and(eq(signingKeys.state, 'retired'), lt(signingKeys.expiresAt, at)));
        const retired = await tx
          .update(signingKeys)
          .set({ state: 'retired', retiredAt: at, expiresAt: new Date(now() + retainMs) })
          .where(eq(signingKeys.state, 'current'))
          .returning({ kid: signingKeys.kid });
        const activated = await tx
          .update(signingKeys)
          .set({ state: 'current', activatedAt: at })
          .where(eq(signingKeys.state, 'next'))
          .returning({ kid: signingKeys.kid });
        for (const alg of SIGNING_ALGORITHMS) await insert(tx, alg, 'next');
        return { retired: retired.map((r) => r.kid), activated: activated.map((r) => r.kid) };
      });
    },
  };
}
