// Consent, decided in one file: what members allowed each client (the scopes and the resource
// indicators, RFC 8707, a client may get tokens for on their behalf), when that is enough to
// sign in without asking (loadExistingGrant), and what the member's answer on the consent page
// grants. The consent page itself is in http/views/oidc-pages.ts; disconnecting a service
// (connected-services.ts) forgets the answer here.

import { and, desc, eq } from 'drizzle-orm';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Audit } from '../audit/audit.ts';
import { allowsResource, type ClientRow } from '../clients/clients.ts';
import type { Db } from '../store/db.ts';
import { oidcConsents } from './tables.ts';

export interface Consent {
  scopes: string[];
  resources: string[];
}

/** Who answered, and from where (the audit entry's actor). */
export interface ConsentActor {
  userId: string;
  ip: string | null;
}

/** What the consent page was asked to allow (the provider's interaction details). */
export type ConsentInteraction = Pick<
  Awaited<ReturnType<Provider['interactionDetails']>>,
  'params' | 'prompt' | 'grantId'
>;

export function createConsents(deps: { db: Db; now: () => number; audit: Audit }) {
  const { db } = deps;
  const of = (userId: string, clientId: string) =>
    and(eq(oidcConsents.userId, userId), eq(oidcConsents.clientId, clientId));

  async function find(userId: string, clientId: string): Promise<Consent | null> {
    const [stored] = await db
      .select({ scopes: oidcConsents.scopes, resources: oidcConsents.resources })
      .from(oidcConsents)
      .where(of(userId, clientId));
    return stored ?? null;
  }

  /** Adds what the member just allowed to what they allowed before; returns the union. */
  async function remember(userId: string, clientId: string, allowed: Consent): Promise<Consent> {
    const before = await find(userId, clientId);
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
  }

  return {
    /** The member's answer for a client, or null if they never allowed it. */
    find,
    remember,

    /** Forgets the member's answer; what it was, or null if there was none. */
    async forget(userId: string, clientId: string): Promise<Consent | null> {
      const [forgotten] = await db
        .delete(oidcConsents)
        .where(of(userId, clientId))
        .returning({ scopes: oidcConsents.scopes, resources: oidcConsents.resources });
      return forgotten ?? null;
    },

    /** The clients the member allowed, most recently allowed first. */
    async listFor(
      userId: string,
    ): Promise<{ clientId: string; scopes: string[]; allowedAt: Date }[]> {
      return db
        .select({
          clientId: oidcConsents.clientId,
          scopes: oidcConsents.scopes,
          allowedAt: oidcConsents.grantedAt,
        })
        .from(oidcConsents)
        .where(eq(oidcConsents.userId, userId))
        .orderBy(desc(oidcConsents.grantedAt));
    },

    /**
     * The member allowed what the consent page asked (the scopes, claims and resources the
     * provider found missing): adds them to the interaction's grant (or a new one) and saves
     * it, remembers the answer for next time (the union of what was ever allowed), and records
     * it in the audit log. The saved grant's id, or null when the interaction's grant is gone.
     */
    async allow(
      provider: Provider,
      interaction: ConsentInteraction,
      actor: ConsentActor,
    ): Promise<string | null> {
      const { params, prompt, grantId } = interaction;
      const clientId = String(params.client_id);
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: actor.userId, clientId });
      if (!grant) return null;
      const missingScope = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
      if (missingScope.length) grant.addOIDCScope(missingScope.join(' '));
      const missingClaims = (prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
      if (missingClaims.length) grant.addOIDCClaims(missingClaims);
      const missingResource = (prompt.details.missingResourceScopes ?? {}) as Record<
        string,
        string[]
      >;
      for (const [indicator, scopes] of Object.entries(missingResource)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const savedGrantId = await grant.save();
      const granted = String(grant.getOIDCScope() ?? '')
        .split(' ')
        .filter(Boolean);
      const { scopes, resources } = await remember(actor.userId, clientId, {
        scopes: granted,
        resources: Object.keys(missingResource),
      });
      await deps.audit.record({
        actorId: actor.userId,
        action: 'oidc.consent',
        target: `client:${clientId}`,
        ip: actor.ip,
        details: { scopes, ...(resources.length ? { resources } : {}) },
      });
      return savedGrantId;
    },
  };
}

export type Consents = ReturnType<typeof createConsents>;

/**
 * oidc-provider's loadExistingGrant: when what the member allowed before is enough to sign in
 * without the consent page. The client's access rule is checked first (a member it refuses is
 * refused here, whatever they allowed). A first-party client needs no answer; for any other,
 * the scopes and resources the member allowed before; a resource not allowed yet is asked
 * about on the consent page, which names it.
 */
export function loadExistingGrant(deps: {
  consents: Pick<Consents, 'find'>;
  clientRow: (clientId: string) => Promise<ClientRow | null>;
  mayUse: (userId: string, rule: string | null) => Promise<boolean>;
}) {
  return async (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client!;
    const accountId = ctx.oidc.session!.accountId!;
    const row = await deps.clientRow(client.clientId);
    if (!row || !(await deps.mayUse(accountId, row.accessRule))) {
      throw new errors.AccessDenied(
        `Your account may not sign in to ${client.clientName ?? 'this service'}`,
      );
    }
    const grantId =
      ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const requested = String(ctx.oidc.params?.scope ?? 'openid').split(' ');
    let consented: { scopes: string[]; resources: string[] | null };
    if (row.firstParty) {
      consented = { scopes: requested, resources: null };
    } else {
      const stored = await deps.consents.find(accountId, row.id);
      if (!stored) return undefined;
      consented = stored;
    }
    const scope = requested.filter((s) => consented.scopes.includes(s)).join(' ');
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
    grant.addOIDCScope(scope);
    const resource = ctx.oidc.params?.resource;
    if (
      typeof resource === 'string' &&
      (consented.resources === null || allowsResource({ resources: consented.resources }, resource))
    )
      grant.addResourceScope(resource, scope);
    await grant.save();
    return grant;
  };
}
