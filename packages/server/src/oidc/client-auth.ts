// A service proving who it is with its OIDC client credentials outside the provider's own
// endpoints: at introspection of Gatehouse API tokens and on the revocation event stream.
// Public clients have no secret and are refused; secrets are compared in constant time by
// the client registry.

import type { Clients } from '../clients/clients.ts';

export function createClientAuth(deps: { clients: Pick<Clients, 'row' | 'checkSecret'> }) {
  /** client_secret_post: the credentials in the form body. */
  async function posted(clientId: string, secret: string): Promise<{ clientId: string } | null> {
    if (!clientId || !secret) return null;
    const row = await deps.clients.row(clientId);
    if (!row || !deps.clients.checkSecret(row, secret)) return null;
    return { clientId: row.id };
  }

  /** client_secret_basic: an Authorization header with HTTP Basic credentials. */
  async function basic(authorization: string | undefined): Promise<{ clientId: string } | null> {
    if (!authorization?.startsWith('Basic ') || authorization.length > 1024) return null;
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) return null;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    let clientId: string;
    let secret: string;
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    } catch {
      return null;
    }
    return posted(clientId, secret);
  }

  return {
    basic,
    posted,
    /**
     * Either way, as the token endpoint accepts them: the Authorization header when there is
     * one (and then only it), else the posted client_id and client_secret.
     */
    async either(
      authorization: string | undefined,
      form: { clientId: string; secret: string },
    ): Promise<{ clientId: string } | null> {
      return (
        (await basic(authorization)) ??
        (authorization ? null : await posted(form.clientId, form.secret))
      );
    },
  };
}

export type ClientAuth = ReturnType<typeof createClientAuth>;
