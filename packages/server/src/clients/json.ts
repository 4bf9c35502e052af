// A client in the wire form (snake_case, as in RFC 7591) the JSON API and the CLI's --json
// print; never its secret.

import type { Client } from './clients.ts';

export function clientJson(c: Client) {
  return {
    client_id: c.clientId,
    name: c.name,
    public: c.public,
    first_party: c.firstParty,
    application_type: c.applicationType,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    response_types: c.responseTypes,
    scopes: c.scopes,
    logo_uri: c.logoUri,
    launch_url: c.launchUrl,
    access_rule: c.accessRule,
    resources: c.resources,
    backchannel_logout_uri: c.backchannelLogoutUri,
    id_token_signed_response_alg: c.idTokenSignedResponseAlg,
    created_at: c.createdAt.toISOString(),
  };
}
