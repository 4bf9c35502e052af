// Resource indicators (RFC 8707): the services behind forward auth a client may get JWT access
// tokens for. Only the resources the client's registration lists (an administrator sets them
// with `gatehouse client update --resource`): a token for a service behind forward auth lets
// its holder in as the member, so no other client may mint one.

import { errors } from 'oidc-provider';
import { allowsResource, type ClientRow } from '../clients/clients.ts';
import { TTL } from './lifetimes.ts';

/** What a resource server may ask for: the member scopes, whose claims a JWT access token carries. */
const RESOURCE_SCOPES = 'openid profile email groups';

/** oidc-provider's getResourceServerInfo, from the client's row. */
export function resourceServerInfo(clientRow: (clientId: string) => Promise<ClientRow | null>) {
  return async (_ctx: unknown, resourceIndicator: string, client: { clientId: string }) => {
    let url: URL;
    try {
      url = new URL(resourceIndicator);
    } catch {
      throw new errors.InvalidTarget('the resource indicator must be an absolute URL');
    }
    if (url.hash)
      throw new errors.InvalidTarget('the resource indicator must not contain a fragment');
    const row = await clientRow(client.clientId);
    if (!row || !allowsResource(row, resourceIndicator)) {
      throw new errors.InvalidTarget(
        'this client is not allowed tokens for that resource; an administrator lists the resources a client may ask for',
      );
    }
    return {
      scope: RESOURCE_SCOPES,
      audience: resourceIndicator,
      accessTokenTTL: TTL.AccessToken,
      accessTokenFormat: 'jwt' as const,
      jwt: { sign: { alg: 'RS256' as const } },
    };
  };
}
