// One-time links (first-administrator setup, password reset, email verification): a secret
// token per link, SHA-256 at rest, usable once before it expires. A reset link an
// administrator makes for someone is recorded in the audit log (`resetLink`).

import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Actor, Audit } from '../audit/audit.ts';
import {
  generateSecretToken,
  hashSecret,
  parseSecretToken,
  type TokenKind,
} from '../crypto/secret-tokens.ts';
import type { Db } from '../store/db.ts';
import { oneTimeTokens } from './tables.ts';

/** How long a password link for a user (new, or reset by an administrator) stays valid. */
export const SET_PASSWORD_LINK_TTL_MS = 72 * 60 * 60_000;

export type OneTimeKind = Extract<TokenKind, 'setup' | 'rst' | 'vfy'>;

export interface OneTimeToken {
  id: string;
  kind: OneTimeKind;
  userId: string | null;
  expiresAt: Date;
}

export function createOneTimeTokens(deps: { db: Db; audit: Audit; now?: () => number }) {
  const { db, audit } = deps;
  const now = deps.now ?? Date.now;

  function live(kind: OneTimeKind, token: unknown) {
    const parsed = parseSecretToken(token, kind);
    if (!parsed) return null;
    // The hash is looked up by id and compared in SQL; equality on a SHA-256 of a 256-bit
    // secret leaks nothing useful through timing.
    return and(
      eq(oneTimeTokens.id, parsed.id),
      eq(oneTimeTokens.kind, kind),
      eq(oneTimeTokens.secretHash, hashSecret(parsed.secret).toString('hex')),
      isNull(oneTimeTokens.usedAt),
      gt(oneTimeTokens.expiresAt, new Date(now())),
    );
  }

  const columns = {
    id: oneTimeTokens.id,
    kind: oneTimeTokens.kind,
    userId: oneTimeTokens.userId,
    expiresAt: oneTimeTokens.expiresAt,
  };

  async function issue(
    kind: OneTimeKind,
    options: { userId?: string | null; ttlMs: number },
  ): Promise<string> {
    const { token, id, hash } = generateSecretToken(kind);
    await db.insert(oneTimeTokens).values({
      id,
      kind,
      secretHash: hash.toString('hex'),
      userId: options.userId ?? null,
      expiresAt: new Date(now() + options.ttlMs),
    });
    return token;
  }

  return {
    /** A link of `kind`; unrecorded (a step of set-up or of creating a user). */
    issue,

    /**
     * A set-password link an administrator makes for `userId` (`user.reset_password_link`);
     * the current password keeps working until the link is used.
     */
    async resetLink(userId: string, actor: Actor): Promise<{ token: string; expiresAt: Date }> {
      const token = await issue('rst', { userId, ttlMs: SET_PASSWORD_LINK_TTL_MS });
      const expiresAt = new Date(now() + SET_PASSWORD_LINK_TTL_MS);
      await audit.act(actor, 'user.reset_password_link', `user:${userId}`);
      return { token, expiresAt };
    },

    /** The token's row if it is live, without using it up (to show the form it opens). */
    async peek(kind: OneTimeKind, token: unknown): Promise<OneTimeToken | null> {
      const where = live(kind, token);
      if (!where) return null;
      const [row] = await db.select(columns).from(oneTimeTokens).where(where).limit(1);
      return (row as OneTimeToken | undefined) ?? null;
    },

    /** Uses the token up; of two concurrent calls exactly one gets the row. */
    async consume(kind: OneTimeKind, token: unknown): Promise<OneTimeToken | null> {
      const where = live(kind, token);
      if (!where) return null;
      const [row] = await db
        .update(oneTimeTokens)
        .set({ usedAt: new Date(now()) })
        .where(where)
        .returning(columns);
      return (row as OneTimeToken | undefined) ?? null;
    },
  };
}

export type OneTimeTokens = ReturnType<typeof createOneTimeTokens>;
