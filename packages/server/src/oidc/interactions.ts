// One session: where the provider's interactions meet the Gatehouse session.
//
// The provider's login prompt gains a check that the Gatehouse session cookie belongs to the
// provider session's account. A member signed in to Gatehouse passes through the interaction
// without being asked anything; a member signed out of Gatehouse is asked to sign in again even
// if the provider still remembers them. A provider session with no account yet takes the
// Gatehouse session's member at the start of an authorization request, so prompt=none works
// for a member who signed in at /login (resumeGatehouseSession).

import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Kv } from '../store/kv.ts';
import type { OidcHooks, SessionRef } from './hooks.ts';

/** The name of the extraParams hook that carries a Gatehouse sign-in over (not a parameter). */
const SESSION_HOOK = 'gatehouse_session';

/** The interaction policy: oidc-provider's, with the login prompt tied to the Gatehouse session. */
export function interactionsPolicy(hooks: Pick<OidcHooks, 'sessionOf' | 'linked'>) {
  const { Prompt, Check, base } = interactionPolicy;
  const policy = base();
  const login = policy.get('login') as InstanceType<typeof Prompt>;
  login.checks.add(
    new Check(
      'gatehouse_session',
      'The Gatehouse session does not belong to this account',
      async (ctx) => {
        const session = await hooks.sessionOf(ctx.get('cookie'));
        const accountId = ctx.oidc.session?.accountId;
        if (!session || session.userId !== accountId) return Check.REQUEST_PROMPT;
        await hooks.linked?.(session.id, ctx.oidc.session!.uid);
        return Check.NO_NEED_TO_PROMPT;
      },
    ),
  );
  return policy;
}

/**
 * One session, without a page: an authorization request from a browser with a valid Gatehouse
 * session, while the provider session has no account (the member signed in at /login, or the
 * provider session ended on its own), signs that member in to the provider session before the
 * provider looks for the account. prompt=none then succeeds silently for a signed-in member
 * (consent permitting), and no interaction is needed just to carry the sign-in over.
 * oidc-provider's extraParams validators are its hook that runs on every authorization request
 * before the account and grant are loaded; this one has no parameter of its own.
 */
export function resumeGatehouseSession(hooks: Pick<OidcHooks, 'sessionOf'>) {
  return {
    async [SESSION_HOOK](ctx: KoaContextWithOIDC, value: string | undefined) {
      if (value !== undefined)
        throw new errors.InvalidRequest(`${SESSION_HOOK} is not a parameter clients send`);
      if (ctx.oidc.route !== 'authorization' || !ctx.oidc.session || ctx.oidc.session.accountId)
        return;
      const session = await hooks.sessionOf(ctx.get('cookie'));
      if (!session) return;
      ctx.oidc.session.loginAccount({
        accountId: session.userId,
        loginTs: Math.floor(session.createdAt / 1000),
        amr: ['pwd'],
      });
    },
  };
}

/** Reauthentication markers live as long as an interaction can. */
const MARKER_MS = 3_600_000;

/**
 * The login prompt of an interaction, asked with a Gatehouse session: whether the member must
 * sign in again first. A fresh sign-in is needed for prompt=login, or when the session is older
 * than max_age. The time we sent the member to sign in again is kept (to the millisecond), so
 * the sign-in that follows satisfies it and a max_age of 0 does not loop.
 */
export async function needsFreshSignIn(
  deps: { kv: Kv; now: () => number },
  interaction: { uid: string; reasons: readonly string[]; maxAge: unknown },
  session: Pick<SessionRef, 'createdAt'>,
): Promise<boolean> {
  const maxAge = interaction.maxAge === undefined ? null : Number(interaction.maxAge);
  const wantsFresh =
    interaction.reasons.includes('login_prompt') ||
    (maxAge !== null && Number.isFinite(maxAge) && deps.now() - session.createdAt > maxAge * 1000);
  if (!wantsFresh) return false;
  const markerKey = `oidc:reauth:${interaction.uid}`;
  const marker = Number((await deps.kv.get(markerKey)) ?? Number.NaN);
  const tooOld = !(session.createdAt >= marker);
  if (tooOld) await deps.kv.set(markerKey, String(deps.now()), MARKER_MS);
  return tooOld;
}
