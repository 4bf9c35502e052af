// The services a member has allowed to use their account: the answers remembered from the
// consent page. First-party clients never ask (the administrator vouched for them), so they
// have no answer to take back and are not listed.
//
// Disconnecting a service forgets the answer and revokes the member's grants to it, with every
// token issued under them; a service that registered for back-channel logout is told to end
// the member's session there. Its next sign-in shows the consent page again.

import type Provider from 'oidc-provider';
import type { Audit } from '../audit/audit.ts';
import type { Clients } from '../clients/clients.ts';
import type { Logger } from '../config/logger.ts';
import { UUID } from '../patterns.ts';
import type { EventBus } from '../store/events.ts';
import type { Kv } from '../store/kv.ts';
import type { Consents } from './consents.ts';
import type { OidcProvider } from './provider.ts';

export interface ConnectedService {
  clientId: string;
  name: string;
  logoUri: string | null;
  /** What the member allowed it to see. */
  scopes: string[];
  /** When the member last answered its consent page. */
  allowedAt: Date;
}

/** Back-channel logout of one member's session at one client, if it registered for it. */
export async function backchannelLogout(
  provider: Provider,
  logger: Logger,
  clientId: string,
  accountId: string,
  sid: string | undefined,
): Promise<void> {
  const client = await provider.Client.find(clientId).catch(() => undefined);
  if (!client?.backchannelLogoutUri) return;
  // Public on the client model though the type definitions leave it out.
  await (client as unknown as { backchannelLogout(sub: string, sid?: string): Promise<void> })
    .backchannelLogout(accountId, sid)
    .catch((err: unknown) =>
      logger.warn({ err, clientId }, 'back-channel logout to a client failed'),
    );
}

export function createConnectedServices(deps: {
  /** What members allowed (consents.ts): listed here, and forgotten on disconnect. */
  consents: Pick<Consents, 'listFor' | 'forget'>;
  events: EventBus;
  audit: Audit;
  logger: Logger;
  /** The live provider (it is rebuilt when signing keys rotate). */
  current: () => OidcProvider;
  clients: Pick<Clients, 'list' | 'row'>;
  kv: Kv;
  /** Whether a member passes an access rule (the access subsystem's decision). */
  mayUse: (userId: string, rule: string) => Promise<boolean>;
}) {
  /**
   * Revokes a member's grants to one client, with every token issued under them, and tells the
   * client (back-channel logout) where it registered for it. The grant goes too, not only its
   * tokens: a provider session still pointing at it would otherwise reuse it and skip the
   * consent page and the access rule.
   */
  async function revokeGrants(userId: string, clientId: string, grantIds: readonly string[]) {
    const { provider, adapters } = deps.current();
    // The resources they held tokens for, named in the event: once the grants are gone, the
    // services at those resources can no longer be found from them.
    const resources = new Set<string>();
    for (const grantId of grantIds) {
      const grant = await adapters.factory('Grant').find(grantId);
      for (const r of Object.keys((grant?.resources as object | undefined) ?? {})) resources.add(r);
      await adapters.revokeGrant(grantId);
      await adapters.factory('Grant').destroy(grantId);
    }
    for (const session of await adapters.sessionsOf(userId)) {
      const authorizations = session.authorizations as Record<string, { sid?: string }> | undefined;
      const authorization = authorizations?.[clientId];
      if (authorization) {
        await backchannelLogout(provider, deps.logger, clientId, userId, authorization.sid);
      }
    }
    await deps.events.emit({
      type: 'oidc.grants_revoked',
      userId,
      clientId,
      ...(resources.size ? { resources: [...resources] } : {}),
    });
  }

  const introspectedKey = (clientId: string, userId: string) =>
    `oidc:introspected:${clientId}:${userId}`;

  /**
   * Origins an administrator tied a client to: the resources it lists, and for clients an
   * administrator registered, its redirect URIs and portal link (a client registered by anyone
   * could name any origin, and would learn who holds tokens there).
   */
  function originsOf(row: {
    redirectUris: string[];
    launchUrl: string | null;
    resources: string[];
    source: string;
  }): Set<string> {
    const origins = new Set<string>();
    const ownUris =
      row.source === 'admin'
        ? [...row.redirectUris, ...(row.launchUrl ? [row.launchUrl] : [])]
        : [];
    for (const uri of [...row.resources, ...ownUris]) {
      try {
        origins.add(new URL(uri).origin);
      } catch {
        // A custom-scheme redirect (native apps) has no origin to match.
      }
    }
    return origins;
  }

  return {
    /**
     * Which services a member concerns, for the revocation event stream (`/api/v1/events`):
     * a client the member signed in to (a live grant), a service at the origin of a resource
     * the member holds a token for, and a client that introspected one of the member's tokens
     * in the last day. Loads the member's grants once; the answer is asked per client.
     */
    async audienceOf(
      userId: string,
      /** Resources named by the event itself (grants just revoked). */
      alsoResources: readonly string[] = [],
    ): Promise<(clientId: string) => Promise<boolean>> {
      const { clientRow } = deps.current();
      const clients = new Set<string>();
      const resourceOrigins = new Set<string>();
      const grants = await deps.current().adapters.grantsOfAccount(userId);
      const held = [
        { resources: Object.fromEntries(alsoResources.map((r) => [r, ''])) },
        ...grants,
      ];
      for (const grant of held) {
        if ('clientId' in grant && typeof grant.clientId === 'string') clients.add(grant.clientId);
        for (const indicator of Object.keys((grant.resources as object | undefined) ?? {})) {
          try {
            resourceOrigins.add(new URL(indicator).origin);
          } catch {
            // Not a URL: matches no service.
          }
        }
      }
      return async (clientId) => {
        if (clients.has(clientId)) return true;
        if (resourceOrigins.size > 0) {
          const row = await clientRow(clientId);
          if (row && [...originsOf(row)].some((o) => resourceOrigins.has(o))) return true;
        }
        return (await deps.kv.get(introspectedKey(clientId, userId))) !== null;
      };
    },

    /** Notes that a client introspected a token of the member: it hears of their revocations. */
    async noteIntrospection(clientId: string, userId: string): Promise<void> {
      await deps.kv.set(introspectedKey(clientId, userId), '1', 86_400_000);
    },

    /**
     * After memberships or grants changed (`access.changed`): revokes the grants of members who
     * no longer pass the access rule of the client they were given to. Runs once, on the
     * instance where the change was made. Returns how many grants went.
     */
    async revokeWhereRuleFails(
      userIds: readonly string[] | '*',
      /** Only these clients (one whose rule just changed); all by default. */
      clientIds?: readonly string[],
    ): Promise<number> {
      const { adapters, clientRow } = deps.current();
      const ruled = (await deps.clients.list()).filter(
        (c) => c.accessRule !== null && (!clientIds || clientIds.includes(c.clientId)),
      );
      const grants = await adapters.grantsTo(
        ruled.map((c) => c.clientId),
        userIds === '*' ? null : userIds,
      );
      const byPair = new Map<string, { userId: string; clientId: string; ids: string[] }>();
      for (const g of grants) {
        const key = `${g.accountId} ${g.clientId}`;
        const pair = byPair.get(key) ?? { userId: g.accountId, clientId: g.clientId, ids: [] };
        pair.ids.push(g.id);
        byPair.set(key, pair);
      }
      let revoked = 0;
      for (const { userId, clientId, ids } of byPair.values()) {
        const row = await clientRow(clientId);
        if (row?.accessRule && (await deps.mayUse(userId, row.accessRule))) continue;
        await revokeGrants(userId, clientId, ids);
        await deps.audit.record({
          actorId: null,
          action: 'oidc.grants_revoke',
          target: `client:${clientId}`,
          details: { userId, reason: 'access rule no longer met' },
        });
        revoked += ids.length;
      }
      return revoked;
    },

    /** The services the member allowed, most recently allowed first. */
    async list(userId: string): Promise<ConnectedService[]> {
      const services: ConnectedService[] = [];
      for (const { clientId, scopes, allowedAt } of await deps.consents.listFor(userId)) {
        const row = await deps.clients.row(clientId);
        if (row)
          services.push({ clientId, name: row.name, logoUri: row.logoUri, scopes, allowedAt });
      }
      return services;
    },

    /**
     * Takes back the member's permission for one service, and records it in the audit log.
     * False when the member never allowed it (an unknown id, another member's service, or one
     * already disconnected).
     */
    async disconnect(
      userId: string,
      clientId: string,
      context: { ip: string | null; via: 'account' | 'api' },
    ): Promise<boolean> {
      if (!UUID.test(clientId)) return false;
      const forgotten = await deps.consents.forget(userId, clientId);
      if (!forgotten) return false;

      await revokeGrants(
        userId,
        clientId,
        await deps.current().adapters.grantsOf(userId, clientId),
      );
      await deps.audit.record({
        actorId: userId,
        action: 'oidc.consent_revoke',
        target: `client:${clientId}`,
        ip: context.ip,
        details: { via: context.via, scopes: forgotten.scopes },
      });
      return true;
    },
  };
}

export type ConnectedServices = ReturnType<typeof createConnectedServices>;
