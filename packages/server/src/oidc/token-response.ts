// The OAuth 2.0 response type `token` (an access token straight from the authorization
// endpoint, no ID token) for the clients registered for it. oidc-provider 9 refuses to
// configure `token` alone, so Gatehouse runs it as the provider's `id_token token` flow:
//
// 1. The provider is told the client may use `id_token token`.
// 2. Before the provider sees an authorization request (GET or POST /oidc/auth, or a pushed
//    one at /oidc/request) asking for `token` from a client registered for it, the request
//    becomes `id_token token` with `openid` in the scope, a nonce, and a marker parameter.
//    (The provider serves POST /oidc/auth only with `enableHttpPostMethods`, which needs
//    SameSite=None cookies; Gatehouse leaves it off, so today that POST answers 404.)
// 3. The marker is a registered extra parameter whose validator lets it through only on such
//    a request from such a client, so no client can send it to change its own responses.
// 4. When the provider answers a marked request, the ID token is taken out of the response
//    and `iss` put in (RFC 9207), as the provider does for responses without an ID token.
//
// The access token is the provider's own implicit-flow token, so it carries `openid` too and
// can read userinfo. Signed request objects (`request=`) cannot be rewritten; they are not
// enabled in Gatehouse, and a `token` request carrying one is left for the provider to refuse.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ParsedUrlQuery, parse, stringify } from 'node:querystring';
import {
  type Client,
  errors,
  type KoaContextWithOIDC,
  type ResponseType,
  type UnknownObject,
} from 'oidc-provider';
import type { ClientRow } from '../clients/clients.ts';

/** The extra authorization parameter that marks a request that asked for `token`. */
export const TOKEN_MARKER = 'gatehouse_response_type';
/** The provider's limit on a form body (lib/shared/selective_body.js), kept here too. */
export const FORM_BODY_LIMIT = 56 * 1024;

type ClientRowOf = (clientId: string) => Promise<ClientRow | null>;
type Handle = (req: IncomingMessage, res: ServerResponse) => unknown;

/** What the provider is told a registry response type is: `token` runs as `id_token token`. */
export function providerResponseTypes(types: readonly string[]): ResponseType[] {
  return [...new Set(types.map((t) => (t === 'token' ? 'id_token token' : t)))] as ResponseType[];
}

/**
 * The marker's validator (oidc-provider's `extraParams`), run after the provider has checked
 * the client, the response type and the redirect URI, on every authorization and pushed
 * request, including a pushed one when it is used. It also keeps a client registered for
 * `token` but not for `id_token token` from asking for ID tokens.
 */
export function tokenMarkerParam(clientRow: ClientRowOf) {
  return {
    async [TOKEN_MARKER](ctx: KoaContextWithOIDC, value: string | undefined, client: Client) {
      const asked = ctx.oidc.params?.response_type;
      if (value === undefined && asked !== 'id_token token') return;
      const registered = (await clientRow(client.clientId))?.responseTypes ?? [];
      if (value !== undefined) {
        if (value !== 'token' || asked !== 'id_token token' || !registered.includes('token')) {
          throw new errors.InvalidRequest(`${TOKEN_MARKER} is set by Gatehouse, not by clients`);
        }
      } else if (registered.includes('token') && !registered.includes('id_token token')) {
        throw new errors.InvalidRequest('requested response_type is not allowed for this client');
      }
    },
  };
}

/** The `authorization.success` listener: a marked response loses its ID token. */
export function answerTokenOnly(ctx: KoaContextWithOIDC, out?: UnknownObject) {
  if (!out || ctx.oidc.params?.[TOKEN_MARKER] !== 'token') return;
  delete out.id_token;
  // RFC 9207; in a JWT response mode the signed response carries iss itself.
  if (!ctx.oidc.responseMode?.includes('jwt')) out.iss = ctx.oidc.provider.issuer;
}

/** Turns a `token` request into the marked `id_token token` one. */
function rewrite(params: ParsedUrlQuery): void {
  params.response_type = 'id_token token';
  // A repeated scope (an array) stays as sent, for the provider to refuse.
  const { scope } = params;
  if (!scope) params.scope = 'openid';
  else if (typeof scope === 'string' && !scope.split(' ').includes('openid'))
    params.scope = `openid ${scope}`;
  if (params.nonce === undefined) params.nonce = randomBytes(16).toString('base64url');
  params[TOKEN_MARKER] = 'token';
}

/** The client a request asks `token` alone for, when it can be rewritten. */
function tokenRequestFrom(params: ParsedUrlQuery): string | null {
  if (params.response_type !== 'token' || params.request !== undefined) return null;
  return typeof params.client_id === 'string' ? params.client_id : null;
}

type BodyRead = { text: string } | { refused: string } | { aborted: true };

/** The form body, read as the provider would read it: its size limit, the declared charset. */
async function readForm(req: IncomingMessage): Promise<BodyRead> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of req.iterator({ destroyOnReturn: false })) {
      received += (chunk as Buffer).length;
      if (received > FORM_BODY_LIMIT) return { refused: 'the request body is larger than 56 KiB' };
      chunks.push(chunk as Buffer);
    }
  } catch {
    return { aborted: true };
  }
  const body = Buffer.concat(chunks, received);
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  try {
    return { text: charset ? new TextDecoder(charset).decode(body) : body.toString('utf8') };
  } catch {
    return { refused: 'failed to parse the request body' };
  }
}

const isForm = (req: IncomingMessage) =>
  (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() ===
  'application/x-www-form-urlencoded';

/** Answers as the provider answers a form body it cannot read. */
function refuse(res: ServerResponse, description: string) {
  res
    .writeHead(400, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'close',
    })
    .end(JSON.stringify({ error: 'invalid_request', error_description: description }));
}

/**
 * The provider's request handler with `token` requests rewritten first (GET and POST
 * `authorization`, POST `pushed`). Everything else reaches the provider unchanged; a POST body
 * read here is handed over as `req.body`, which the provider parses as it would the stream.
 */
export function withTokenResponseType(
  handle: Handle,
  deps: {
    clientRow: ClientRowOf;
    /** Logs a failure and answers 500 (the HTTP layer's one way of doing so). */
    failed: (res: ServerResponse, err: unknown) => void;
    routes: { authorization: string; pushed: string };
  },
): Handle {
  const { clientRow, routes, failed } = deps;
  const registeredForToken = async (clientId: string | null) =>
    clientId !== null && (await clientRow(clientId))?.responseTypes.includes('token') === true;

  async function fromQuery(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    params: ParsedUrlQuery,
  ) {
    if (await registeredForToken(tokenRequestFrom(params))) {
      rewrite(params);
      req.url = `${path}?${stringify(params)}`;
    }
    return handle(req, res);
  }

  async function fromBody(req: IncomingMessage & { body?: unknown }, res: ServerResponse) {
    let params: ParsedUrlQuery;
    if (req.body !== undefined || !req.readable) {
      // Read upstream already: the raw text, or an object.
      const { body } = req;
      if (body === undefined || body === null) return handle(req, res);
      params =
        typeof body === 'string' || Buffer.isBuffer(body)
          ? parse(body.toString())
          : ({ ...body } as ParsedUrlQuery);
    } else {
      // The provider refuses a declared length over its limit before reading anything.
      if (Number(req.headers['content-length']) > FORM_BODY_LIMIT) return handle(req, res);
      const read = await readForm(req);
      if ('aborted' in read) return res.destroy();
      if ('refused' in read) return refuse(res, read.refused);
      req.body = read.text;
      params = parse(read.text);
    }
    if (await registeredForToken(tokenRequestFrom(params))) {
      rewrite(params);
      req.body = params;
    }
    return handle(req, res);
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === routes.authorization && req.method === 'GET' && q >= 0) {
      const params = parse(url.slice(q + 1));
      if (params.response_type !== 'token') return handle(req, res);
      return fromQuery(req, res, path, params).catch((err: unknown) => failed(res, err));
    }
    if (
      (path === routes.authorization || path === routes.pushed) &&
      req.method === 'POST' &&
      isForm(req)
    ) {
      return fromBody(req, res).catch((err: unknown) => failed(res, err));
    }
    return handle(req, res);
  };
}
