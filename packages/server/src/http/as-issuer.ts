// The provider sees every request as addressed to the issuer (see asIssuer).

import type { IncomingMessage } from 'node:http';
import { type ProxyTrust, rawClientAddress } from './client-address.ts';

/**
 * The provider builds the URLs it emits (the device flow's verification_uri, redirects to the
 * interaction, form actions, registration_client_uri) from the request's host and protocol.
 * It is handed the issuer's instead, whatever Host or X-Forwarded-Host a client or a proxy
 * sent, and the client address Gatehouse resolved with its own trusted-proxy rule: so the
 * provider may trust the forwarded headers (provider.proxy), as they are only ever ours.
 */
export function asIssuer(req: IncomingMessage, issuer: URL, trust: ProxyTrust) {
  const address = rawClientAddress(req, trust);
  req.headers.host = issuer.host;
  req.headers['x-forwarded-proto'] = issuer.protocol.slice(0, -1);
  req.headers['x-forwarded-for'] = address;
  delete req.headers['x-forwarded-host'];
  delete req.headers.forwarded;
}
