// What members allowed each client, remembered so the consent page is shown once: the scopes
// and the resource indicators (RFC 8707) a client may get tokens for on their behalf. The one
// place consent is read and written: the provider's loadExistingGrant finds it, the consent
// page remembers it, and disconnecting a service forgets it.

import { and, eq } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { oidcConsents } from './tables.ts';

export interface Consent {
  scopes: string[];
  resources: string[];
}

export function createConsents(deps: { db: Db; now: () => number }) {
  const { db } = deps;
  const of = (userId: string, clientId: string) =>
    and(eq(oidcConsents.userId, userId), eq(oidcConsents.clientId, clientId));

  return {
    /** The member's answer for a client, or null if they never allowed it. */
    async find(userId: string, clientId: string): Promise<Consent | null> {
      const [stored] = await db
        .select({ scopes: oidcConsents.scopes, resources: oidcConsents.resources })
        .from(oidcConsents)
        .where(of(userId, clientId));
      return stored ?? null;
    },

    /** Adds what the member just allowed to what they allowed before; returns the union. */
    async remember(userId: string, clientId: string, allowed: Consent): Promise<Consent> {
      const before = await this.find(userId, clientId);
      const scopes = [...new Set([...(before?.scopes ?? []), ...allowed.scopes])];
      const resources = [...new Set([...(before?.resources ?? []), ...allowed.resources])];
      await db
        .insert(oidcConsents)
        .values({ userId, clientId, scopes, resources })
        .onConflictDoUpdate({
          target: [oidcConsents.userId, oidcConsents.clientId],
          set: { scopes, resources, grantedAt: new Date(deps.now()) },
        });
      return { scopes, resources };
    },

    /** Forgets the member's answer; what it was, or null if there was none. */
    async forget(userId: string, clientId: string): Promise<Consent | null> {
      const [forgotten] = await db
        .delete(oidcConsents)
        .where(of(userId, clientId))
        .returning({ scopes: oidcConsents.scopes, resources: oidcConsents.resources });
      return forgotten ?? null;
    },
  };
}

export type Consents = ReturnType<typeof createConsents>;
