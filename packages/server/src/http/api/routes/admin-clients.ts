// Administration of OIDC clients: the same registry as `gatehouse client …`. Secrets are
// returned once, by create and rotate-secret, and stored only as hashes.

import { z } from 'zod';
import type { Client, ClientInput } from '../../../clients/clients.ts';
import { clientJson } from '../../../clients/json.ts';
import { HttpError } from '../../errors.ts';
import { apiActor } from '../actor.ts';
import { type ApiContext, defineRoute } from '../define.ts';
import { pageOf, pageQuery, paginateList } from '../pagination.ts';
import { ADMIN_SCOPE } from '../scopes.ts';

const TAGS = ['admin'];
const clientParams = z.strictObject({ id: z.uuid() });
const uri = z.string().max(2000);

export const clientSchema = z.object({
  client_id: z.string(),
  name: z.string(),
  public: z.boolean(),
  first_party: z.boolean(),
  application_type: z.enum(['web', 'native']),
  token_endpoint_auth_method: z.string(),
  redirect_uris: z.array(z.string()),
  post_logout_redirect_uris: z.array(z.string()),
  grant_types: z.array(z.string()),
  response_types: z.array(z.string()),
  scopes: z.array(z.string()),
  logo_uri: z.string().nullable(),
  launch_url: z.string().nullable(),
  access_rule: z.string().nullable(),
  resources: z.array(z.string()),
  backchannel_logout_uri: z.string().nullable(),
  id_token_signed_response_alg: z.string(),
  created_at: z.string(),
});

const settings = {
  name: z.string().max(100),
  redirect_uris: z.array(uri).max(20).optional(),
  post_logout_redirect_uris: z.array(uri).max(20).optional(),
  public: z.boolean().optional(),
  grant_types: z.array(z.string().max(100)).max(10).optional(),
  response_types: z.array(z.string().max(40)).max(10).optional(),
  scopes: z.array(z.string().max(40)).max(10).optional(),
  first_party: z.boolean().optional(),
  logo_uri: uri.nullable().optional(),
  launch_url: uri.nullable().optional(),
  access_rule: z.string().max(1024).nullable().optional(),
  resources: z.array(uri).max(20).optional(),
  token_endpoint_auth_method: z.string().max(40).optional(),
  id_token_signed_response_alg: z.string().max(10).optional(),
  backchannel_logout_uri: uri.nullable().optional(),
  application_type: z.enum(['web', 'native']).optional(),
};

type Settings = Partial<{ [K in keyof typeof settings]: z.infer<(typeof settings)[K]> }>;

function inputOf(body: Settings): ClientInput {
  const input: ClientInput = {};
  const map: Array<[keyof Settings, keyof ClientInput]> = [
    ['name', 'name'],
    ['redirect_uris', 'redirectUris'],
    ['post_logout_redirect_uris', 'postLogoutRedirectUris'],
    ['public', 'public'],
    ['grant_types', 'grantTypes'],
    ['response_types', 'responseTypes'],
    ['scopes', 'scopes'],
    ['first_party', 'firstParty'],
    ['logo_uri', 'logoUri'],
    ['launch_url', 'launchUrl'],
    ['access_rule', 'accessRule'],
    ['resources', 'resources'],
    ['token_endpoint_auth_method', 'tokenEndpointAuthMethod'],
    ['id_token_signed_response_alg', 'idTokenSignedResponseAlg'],
    ['backchannel_logout_uri', 'backchannelLogoutUri'],
    ['application_type', 'applicationType'],
  ];
  for (const [from, to] of map) {
    if (body[from] !== undefined) (input as Record<string, unknown>)[to] = body[from];
  }
  return input;
}

async function target(ctx: ApiContext<{ id: string }, unknown, unknown>): Promise<Client> {
  const client = await ctx.gh.clients.get(ctx.params.id);
  if (!client) throw new HttpError('NOT_FOUND', { message: 'There is no such client.' });
  return client;
}

export const listClients = defineRoute({
  id: 'adminListClients',
  method: 'GET',
  path: '/api/v1/admin/clients',
  summary: 'OIDC clients, in name order',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  query: z.strictObject({ ...pageQuery }),
  response: pageOf(clientSchema),
  async handler({ gh, query }) {
    const page = paginateList(await gh.clients.list(), query, (c) => [c.name, c.clientId]);
    return { items: page.items.map(clientJson), next_cursor: page.next_cursor };
  },
});

export const createClient = defineRoute({
  id: 'adminCreateClient',
  method: 'POST',
  path: '/api/v1/admin/clients',
  summary: 'Register an OIDC client',
  description:
    'What a choice implies is derived (token-returning response types add the implicit grant; code flows get refresh tokens). The response type `token` alone is accepted but discouraged (RFC 9700 §2.1.2); `code` with PKCE is better. `client_secret` is returned only here; Gatehouse keeps its hash.',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  idempotent: true,
  body: z.strictObject(settings),
  status: 201,
  response: clientSchema.extend({ client_secret: z.string().nullable() }),
  async handler(ctx) {
    const { client, secret } = await ctx.gh.clients.create(inputOf(ctx.body), apiActor(ctx));
    return { ...clientJson(client), client_secret: secret };
  },
});

export const getClient = defineRoute({
  id: 'adminGetClient',
  method: 'GET',
  path: '/api/v1/admin/clients/{id}',
  summary: 'An OIDC client',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: clientParams,
  response: clientSchema,
  async handler(ctx) {
    return clientJson(await target(ctx));
  },
});

export const updateClient = defineRoute({
  id: 'adminUpdateClient',
  method: 'PATCH',
  path: '/api/v1/admin/clients/{id}',
  summary: "Change an OIDC client's settings (lists replace the stored list)",
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: clientParams,
  body: z.strictObject({ ...settings, name: settings.name.optional() }),
  response: clientSchema,
  async handler(ctx) {
    const { clientId } = await target(ctx);
    const client = await ctx.gh.clients.update(clientId, inputOf(ctx.body), apiActor(ctx));
    return clientJson(client);
  },
});

export const deleteClient = defineRoute({
  id: 'adminDeleteClient',
  method: 'DELETE',
  path: '/api/v1/admin/clients/{id}',
  summary: 'Delete an OIDC client',
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: clientParams,
  async handler(ctx) {
    const client = await target(ctx);
    await ctx.gh.clients.delete(client.clientId, apiActor(ctx));
  },
});

export const rotateClientSecret = defineRoute({
  id: 'adminRotateClientSecret',
  method: 'POST',
  path: '/api/v1/admin/clients/{id}/secret',
  summary: "Replace an OIDC client's secret; the old one stops working at once",
  tags: TAGS,
  scope: ADMIN_SCOPE,
  params: clientParams,
  response: z.object({ client_id: z.string(), client_secret: z.string() }),
  async handler(ctx) {
    const client = await target(ctx);
    const secret = await ctx.gh.clients.rotateSecret(client.clientId, apiActor(ctx));
    return { client_id: client.clientId, client_secret: secret };
  },
});

export const adminClientRoutes = [
  listClients,
  createClient,
  getClient,
  updateClient,
  deleteClient,
  rotateClientSecret,
];
