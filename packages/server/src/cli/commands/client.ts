// `gatehouse client …`: the OIDC client registry from the command line.

import { CLI_ACTOR } from '../../audit/audit.ts';
import { type Client, type ClientInput, TOKEN_RESPONSE_NOTE } from '../../clients/clients.ts';
import { clientJson } from '../../clients/json.ts';
import type { Gatehouse } from '../../gatehouse.ts';
import { issueInitialAccessToken } from '../../oidc/provider.ts';
import type { Command } from '../command.ts';
import { withGatehouse } from '../context.ts';
import { CommandError, type Io, UsageError } from '../output.ts';

const SETTINGS_OPTIONS = {
  name: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  public: { type: 'boolean' },
  'grant-type': { type: 'string', multiple: true },
  'response-type': { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  'first-party': { type: 'boolean' },
  'logo-uri': { type: 'string' },
  'launch-url': { type: 'string' },
  'access-rule': { type: 'string' },
  resource: { type: 'string', multiple: true },
  'auth-method': { type: 'string' },
  'id-token-alg': { type: 'string' },
  'backchannel-logout-uri': { type: 'string' },
  'jwks-uri': { type: 'string' },
  'application-type': { type: 'string' },
} as const;

const SETTINGS_HELP = `  --name N                       shown on the consent page and the portal
  --redirect-uri URI             exact-match redirect URI (repeat for several)
  --post-logout-redirect-uri URI where RP-initiated logout may send the member (repeatable)
  --public                       no secret (single-page and native apps); PKCE S256 required
  --grant-type T                 authorization_code, refresh_token, client_credentials,
                                 implicit, device_code (repeatable)
  --response-type T              code, id_token, token, "id_token token", "code id_token",
                                 "code token", "code id_token token" (repeatable);
                                 token alone is allowed but discouraged (RFC 9700 §2.1.2)
  --scope S                      allowed scopes: openid profile email groups offline_access
  --first-party                  trusted: members are not asked for consent
  --logo-uri URL                 logo for the consent page and the portal tile
  --launch-url URL               the portal shows a tile opening this URL
  --access-rule EXPR             who may sign in (default: every member)
  --resource URL                 a resource indicator (RFC 8707) it may get tokens for, such
                                 as a forward-auth service's origin (repeatable; none by default)
  --auth-method M                client_secret_basic (default), client_secret_post,
                                 private_key_jwt, none
  --id-token-alg A               RS256 (default), ES256, EdDSA
  --backchannel-logout-uri URI   receives a logout token when the member's session ends
  --jwks-uri URI                 the client's keys, for private_key_jwt
  --application-type T           web (default) or native (loopback or custom-scheme redirects)
  --json                         print JSON`;

function list(value: unknown): string[] | undefined {
  return Array.isArray(value) ? (value as string[]) : undefined;
}

/** Only the settings given on the command line, so `update` changes nothing else. */
function settingsFrom(values: Record<string, unknown>): ClientInput {
  const input: ClientInput = {};
  const set = <K extends keyof ClientInput>(key: K, value: ClientInput[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  set('name', values.name as string | undefined);
  set('redirectUris', list(values['redirect-uri']));
  set('postLogoutRedirectUris', list(values['post-logout-redirect-uri']));
  set('public', values.public as boolean | undefined);
  set('grantTypes', list(values['grant-type']));
  set('responseTypes', list(values['response-type']));
  set(
    'scopes',
    list(values.scope)?.flatMap((s) => s.split(/[\s,]+/).filter(Boolean)),
  );
  set('firstParty', values['first-party'] as boolean | undefined);
  set('logoUri', values['logo-uri'] as string | undefined);
  set('launchUrl', values['launch-url'] as string | undefined);
  set('accessRule', values['access-rule'] as string | undefined);
  set('resources', list(values.resource));
  set('tokenEndpointAuthMethod', values['auth-method'] as string | undefined);
  set('idTokenSignedResponseAlg', values['id-token-alg'] as string | undefined);
  set('backchannelLogoutUri', values['backchannel-logout-uri'] as string | undefined);
  set('jwksUri', values['jwks-uri'] as string | undefined);
  set('applicationType', values['application-type'] as ClientInput['applicationType']);
  return input;
}

function describeClient(c: Client): string {
  const rows: Array<[string, string]> = [
    ['client id', c.clientId],
    ['name', c.name],
    [
      'type',
      `${c.public ? 'public' : 'confidential'} ${c.applicationType}${c.firstParty ? ', first-party' : ''}`,
    ],
    ['auth method', c.tokenEndpointAuthMethod],
    ['grant types', c.grantTypes.join(', ')],
    ['response types', c.responseTypes.join(', ') || '—'],
    ['scopes', c.scopes.join(' ')],
    ['redirect URIs', c.redirectUris.join('\n                  ') || '—'],
    ['logout redirects', c.postLogoutRedirectUris.join('\n                  ') || '—'],
    ['access rule', c.accessRule ?? 'every member'],
    ['resources', c.resources.join('\n                  ') || '—'],
  ];
  if (c.launchUrl) rows.push(['launch URL', c.launchUrl]);
  if (c.backchannelLogoutUri) rows.push(['back-channel', c.backchannelLogoutUri]);
  return rows.map(([k, v]) => `  ${k.padEnd(16)}${v}`).join('\n');
}

/** A note on stderr (so --json stays one document) when the client uses `token` alone. */
function noteTokenResponse(io: Io, c: Client) {
  if (c.responseTypes.includes('token')) io.err(`note: ${TOKEN_RESPONSE_NOTE}`);
}

function printSecret(io: Io, secret: string | null) {
  if (!secret) return;
  io.out(
    `\n  client secret   ${secret}\n\nThe secret is shown only now; Gatehouse keeps only its hash. Store it in the service's configuration.`,
  );
}

function clientIdFrom(positionals: string[]): string {
  const [id] = positionals;
  if (!id) throw new UsageError('give the client id: gatehouse client <command> <client-id>');
  return id;
}

async function found(gh: Gatehouse, id: unknown): Promise<Client> {
  const client = await gh.clients.get(String(id));
  if (!client) throw new CommandError(`there is no client ${String(id).slice(0, 60)}`);
  return client;
}

export const clientCreateCommand: Command = {
  path: ['client', 'create'],
  summary: 'register an OIDC client (a service members sign in to)',
  usage: `Usage: gatehouse client create --name N --redirect-uri URI [--redirect-uri URI…] [--public]
                        [--grant-type T…] [--response-type T…] [--post-logout-redirect-uri URI] […]

Registers a client and prints its id and (for confidential clients) its secret, once.
What a choice implies is filled in: a response type that returns tokens adds the implicit
grant, a code flow gets refresh tokens. A contradiction is explained in one line.

Options:
${SETTINGS_HELP}
                                 ({"client_id", "client_secret", …})`,
  options: SETTINGS_OPTIONS,
  async run(values, io) {
    if (typeof values.name !== 'string') throw new UsageError('--name is required');
    return withGatehouse(io, async (gh) => {
      const { client, secret } = await gh.clients.create(settingsFrom(values), CLI_ACTOR);
      noteTokenResponse(io, client);
      if (values.json) io.out(JSON.stringify({ ...clientJson(client), client_secret: secret }));
      else {
        io.out(`Registered ${client.name}.\n\n${describeClient(client)}`);
        printSecret(io, secret);
      }
      return 0;
    });
  },
};

export const clientListCommand: Command = {
  path: ['client', 'list'],
  summary: 'list OIDC clients',
  usage: 'Usage: gatehouse client list [--json]',
  options: {},
  async run(values, io) {
    return withGatehouse(io, async (gh) => {
      const clients = await gh.clients.list();
      if (values.json) io.out(JSON.stringify(clients.map(clientJson)));
      else if (clients.length === 0)
        io.out('No clients yet. Register one with `gatehouse client create`.');
      else
        for (const c of clients) io.out(`${c.clientId}  ${c.name}${c.public ? ' (public)' : ''}`);
      return 0;
    });
  },
};

export const clientShowCommand: Command = {
  path: ['client', 'show'],
  summary: 'show an OIDC client',
  usage: 'Usage: gatehouse client show <client-id> [--json]',
  options: {},
  positionals: 1,
  async run(values, io, positionals) {
    return withGatehouse(io, async (gh) => {
      const client = await found(gh, clientIdFrom(positionals));
      io.out(values.json ? JSON.stringify(clientJson(client)) : describeClient(client));
      return 0;
    });
  },
};

export const clientUpdateCommand: Command = {
  path: ['client', 'update'],
  summary: "change an OIDC client's settings",
  usage: `Usage: gatehouse client update <client-id> [settings…]

Changes only the settings given; list options (--redirect-uri, --scope…) replace the list.

Options:
${SETTINGS_HELP}`,
  options: SETTINGS_OPTIONS,
  positionals: 1,
  async run(values, io, positionals) {
    const clientId = clientIdFrom(positionals);
    const patch = settingsFrom(values);
    if (Object.keys(patch).length === 0)
      throw new UsageError('give at least one setting to change');
    return withGatehouse(io, async (gh) => {
      const { clientId: id } = await found(gh, clientId);
      const client = await gh.clients.update(id, patch, CLI_ACTOR);
      if (patch.responseTypes) noteTokenResponse(io, client);
      io.out(
        values.json
          ? JSON.stringify(clientJson(client))
          : `Updated ${client.name}.\n\n${describeClient(client)}`,
      );
      return 0;
    });
  },
};

export const clientDeleteCommand: Command = {
  path: ['client', 'delete'],
  summary: 'delete an OIDC client',
  usage:
    'Usage: gatehouse client delete <client-id> [--json]\n\nMembers can no longer sign in to it; its refresh tokens stop working.',
  options: {},
  positionals: 1,
  async run(values, io, positionals) {
    return withGatehouse(io, async (gh) => {
      const client = await found(gh, clientIdFrom(positionals));
      await gh.clients.delete(client.clientId, CLI_ACTOR);
      io.out(
        values.json
          ? JSON.stringify({ deleted: client.clientId })
          : `Deleted ${client.name} (${client.clientId}).`,
      );
      return 0;
    });
  },
};

export const clientRotateSecretCommand: Command = {
  path: ['client', 'rotate-secret'],
  summary: "replace an OIDC client's secret",
  usage:
    'Usage: gatehouse client rotate-secret <client-id> [--json]\n\nThe old secret stops working at once; the new one is shown only now.',
  options: {},
  positionals: 1,
  async run(values, io, positionals) {
    return withGatehouse(io, async (gh) => {
      const client = await found(gh, clientIdFrom(positionals));
      const secret = await gh.clients.rotateSecret(client.clientId, CLI_ACTOR);
      if (values.json)
        io.out(JSON.stringify({ client_id: client.clientId, client_secret: secret }));
      else {
        io.out(`New secret for ${client.name}.`);
        printSecret(io, secret);
      }
      return 0;
    });
  },
};

export const clientRegistrationTokenCommand: Command = {
  path: ['client', 'registration-token'],
  summary: 'issue an initial access token for dynamic client registration',
  usage: `Usage: gatehouse client registration-token [--expires-in 24h] [--json]

Prints a token that lets one service register itself at the registration endpoint
(RFC 7591: POST /oidc/reg with "Authorization: Bearer <token>"). The token registers a
single client: it is used up by the first registration that succeeds (a refused one leaves
it usable). Issue one token per service.`,
  options: { 'expires-in': { type: 'string' } },
  async run(values, io) {
    const { parseDuration } = await import('../../config/duration.ts');
    const ms = parseDuration(String(values['expires-in'] ?? '24h'));
    if (ms === null || ms <= 0)
      throw new UsageError('--expires-in must be a duration such as 24h or 7d');
    return withGatehouse(io, async (gh) => {
      const token = await issueInitialAccessToken(gh, Math.ceil(ms / 1000));
      io.out(
        values.json
          ? JSON.stringify({ token, registration_endpoint: `${gh.config.issuer}/oidc/reg` })
          : token,
      );
      return 0;
    });
  },
};

export const CLIENT_COMMANDS = [
  clientCreateCommand,
  clientListCommand,
  clientShowCommand,
  clientUpdateCommand,
  clientDeleteCommand,
  clientRotateSecretCommand,
  clientRegistrationTokenCommand,
];
