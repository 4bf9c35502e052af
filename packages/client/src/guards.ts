// Framework-neutral guards: a rule says who may pass (anyone, any member, members satisfying an
// access expression or holding permissions); `applyGuard` authenticates the request, checks the
// rule, and on failure answers it — a redirect to sign in for a browser navigation, otherwise
// JSON `{ error: { code, message } }` with 401 or 403.

import type { GatehouseClient } from './client.ts';
import { GatehouseError } from './errors.ts';
import { type HttpExchange, isBrowserNavigation } from './exchange.ts';
import type { GatehouseUser } from './user.ts';

/**
 * Who may pass a guard. Build one with {@link requireLogin}, {@link optionalLogin},
 * {@link requireAccess} or {@link requirePermission}.
 *
 * @example
 * ```ts
 * const rule: GuardRule = { login: 'required', permissions: ['upload:write'] };
 * ```
 */
export interface GuardRule<Req = unknown> {
  readonly login: 'required' | 'optional';
  /** Let members through whom `isKnownUser` does not know yet (a create-my-user endpoint). */
  readonly allowUnknown?: boolean;
  /** An access expression, or a function of the request and member returning one. */
  readonly access?: string | ((request: Req, user: GatehouseUser) => string);
  /** Every one of these permissions is needed. */
  readonly permissions?: readonly string[];
}

/**
 * The guard methods every adapter offers, from the one function that turns a rule into the
 * framework's middleware: one binder, so the adapters cannot drift apart.
 *
 * @example
 * ```ts
 * return { client, ...bindGuards((rule: GuardRule<Request>) => middlewareFor(rule)) };
 * ```
 */
export function bindGuards<Req, Handler>(guard: (rule: GuardRule<Req>) => Handler) {
  return {
    guard,
    requireLogin: (options?: { allowUnknown?: boolean }) => guard(requireLogin(options)),
    optionalLogin: () => guard(optionalLogin()),
    requireAccess: (
      expression: string | ((request: Req, user: GatehouseUser) => string),
      options?: { allowUnknown?: boolean },
    ) => guard(requireAccess(expression, options)),
    requirePermission: (permission: string, ...more: string[]) =>
      guard(requirePermission(permission, ...more)),
  };
}

/**
 * What a guard decided: `ok` with the member (null for an anonymous optional login), or not ok
 * (the response has been sent).
 *
 * @example
 * ```ts
 * const result: GuardResult = await applyGuard(gatehouse, exchange, requireLogin());
 * if (result.ok) console.log(result.user?.username);
 * ```
 */
export type GuardResult = { ok: true; user: GatehouseUser | null } | { ok: false };

/**
 * Any signed-in member.
 *
 * @example
 * ```ts
 * app.get('/me', gate.guard(requireLogin()), handler);
 * app.post('/users', gate.guard(requireLogin({ allowUnknown: true })), createMyUser);
 * ```
 */
export function requireLogin(options: { allowUnknown?: boolean } = {}): GuardRule {
  return Object.freeze({ login: 'required', allowUnknown: options.allowUnknown ?? false });
}

/**
 * Anyone; the member when signed in (a bad token is still refused).
 *
 * @example
 * ```ts
 * app.get('/', gate.guard(optionalLogin()), (req, res) => res.send(req.user ? 'hi' : 'welcome'));
 * ```
 */
export function optionalLogin(): GuardRule {
  return Object.freeze({ login: 'optional', allowUnknown: true });
}

/**
 * Members satisfying an access expression (groups, permissions, and / or / not), given as text
 * or computed from the request.
 *
 * @example
 * ```ts
 * requireAccess('members/workshop/laser or admin:all');
 * requireAccess((req: { params: { team: string } }) => `teams/${req.params.team}`);
 * ```
 */
export function requireAccess<Req = unknown>(
  expression: string | ((request: Req, user: GatehouseUser) => string),
  options: { allowUnknown?: boolean } = {},
): GuardRule<Req> {
  if (typeof expression !== 'string' && typeof expression !== 'function') {
    throw new TypeError('requireAccess needs an expression or a function returning one');
  }
  return Object.freeze({
    login: 'required',
    access: expression,
    allowUnknown: options.allowUnknown ?? false,
  });
}

/**
 * Members holding every one of these permissions.
 *
 * @example
 * ```ts
 * app.post('/uploads', gate.guard(requirePermission('upload:write')), upload);
 * ```
 */
export function requirePermission(permission: string, ...more: string[]): GuardRule {
  return Object.freeze({ login: 'required', permissions: Object.freeze([permission, ...more]) });
}

/**
 * Sends the answer for a failure: a redirect to sign in (browser navigation, sign-in
 * configured), to `unknownUserRedirect`, or JSON `{ error: { code, message } }`.
 *
 * @example
 * ```ts
 * await respondWithError(gatehouse, exchange, new GatehouseError('forbidden'));
 * ```
 */
export async function respondWithError(
  client: GatehouseClient,
  exchange: HttpExchange,
  err: GatehouseError,
): Promise<void> {
  const browser = isBrowserNavigation(exchange);
  const paths = client.sessionPaths;
  if (err.status === 401 && browser && paths) {
    const url = `${paths.login}?returnTo=${encodeURIComponent(exchange.url)}`;
    return exchange.redirect(url);
  }
  const unknownRedirect = client.core.options.unknownUserRedirect;
  if (err.code === 'unknown_user' && browser && unknownRedirect) {
    return exchange.redirect(unknownRedirect);
  }
  // The detail of a server-side failure is for the operator, not the visitor.
  if (err.status >= 500) client.core.options.onError?.(err);
  const shown = err.status >= 500 ? new GatehouseError(err.code) : err;
  if (browser && exchange.sendHtml) return exchange.sendHtml(err.status, errorPage(shown, paths));
  return exchange.sendJson(err.status, shown.toJSON());
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A plain page for a browser: what happened, and the way on. */
function errorPage(err: GatehouseError, paths: { login: string } | null): string {
  const title = err.status === 403 ? 'Not allowed' : 'Something went wrong';
  const next =
    err.code === 'login_failed' && paths
      ? `<p><a href="${escapeHtml(paths.login)}">Sign in again</a></p>`
      : '<p><a href="/">Go to the home page</a></p>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1><p>${escapeHtml(err.message)}</p>${next}</main></body></html>`;
}

/**
 * Authenticates the request and checks the rule; on failure the response is sent and
 * `{ ok: false }` returned. Adapters call this; use it directly to write an adapter.
 *
 * @example
 * ```ts
 * const result = await applyGuard(gatehouse, exchange, requirePermission('upload:write'), req);
 * if (!result.ok) return; // answered
 * ```
 */
export async function applyGuard<Req>(
  client: GatehouseClient,
  exchange: HttpExchange,
  rule: GuardRule<Req>,
  request?: Req,
): Promise<GuardResult> {
  try {
    const user = await client.authenticate(exchange);
    if (!user) {
      if (rule.login === 'optional') return { ok: true, user: null };
      throw new GatehouseError(client.sessionPaths ? 'login_required' : 'token_missing');
    }
    const isKnown = client.core.options.isKnownUser;
    if (isKnown && !rule.allowUnknown && !(await isKnown(user))) {
      throw new GatehouseError('unknown_user');
    }
    if (rule.permissions) {
      for (const p of rule.permissions) {
        if (!user.permissions.includes(p)) {
          throw new GatehouseError('forbidden', `This needs the permission ${p}.`);
        }
      }
    }
    if (rule.access !== undefined) {
      const expression =
        typeof rule.access === 'function' ? rule.access(request as Req, user) : rule.access;
      if (!client.allows(expression, user)) throw new GatehouseError('forbidden');
    }
    return { ok: true, user };
  } catch (err) {
    if (!(err instanceof GatehouseError)) throw err;
    await respondWithError(client, exchange, err);
    return { ok: false };
  }
}

/**
 * Answers the sign-in paths for an adapter; failures become error answers.
 *
 * @example
 * ```ts
 * if (await handleAuthRoute(gatehouse, exchange)) return; // login, callback or logout answered
 * ```
 */
export async function handleAuthRoute(
  client: GatehouseClient,
  exchange: HttpExchange,
): Promise<boolean> {
  try {
    return await client.handleAuthRoute(exchange);
  } catch (err) {
    if (!(err instanceof GatehouseError)) throw err;
    await respondWithError(client, exchange, err);
    return true;
  }
}
