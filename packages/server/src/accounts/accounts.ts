// Accounts: create users, look them up, check passwords, change profiles and passwords.
// Every change a person makes (create, register, profile, password, disable, delete) is
// recorded in the audit log here, with the actor who made it.

import { and, asc, count, eq, gt, inArray, isNull, or } from 'drizzle-orm';
import type { Actor, Audit } from '../audit/audit.ts';
import type { createPasswordHasher } from '../crypto/passwords.ts';
import { UUID } from '../patterns.ts';
import type { Db } from '../store/db.ts';
import type { EventBus } from '../store/events.ts';
import { createLru } from '../store/lru.ts';
import { AccountError } from './errors.ts';
import {
  looksLikeEmail,
  normaliseEmail,
  normaliseName,
  normalisePictureUrl,
  normaliseUsername,
} from './identifiers.ts';
import { userPermissions, users } from './tables.ts';
import {
  ADMIN_PERMISSION,
  checkNewPassword,
  isUniqueViolation,
  type NewUser,
  toUser,
  type User,
  type UserRow,
} from './user.ts';

type PasswordHasher = ReturnType<typeof createPasswordHasher>;

export {
  ADMIN_PERMISSION,
  checkNewPassword,
  MIN_PASSWORD_LENGTH,
  type NewUser,
  type User,
} from './user.ts';

export function createAccounts(deps: {
  db: Db;
  hasher: PasswordHasher;
  events: EventBus;
  audit: Audit;
  now?: () => number;
}) {
  const { db, hasher, events, audit } = deps;
  const now = deps.now ?? Date.now;
  // Users are read on every signed-in request; changes arrive as user.changed events.
  const cache = createLru<User>({ max: 10_000, ttlMs: 60_000, now });
  events.on((event) => {
    if (event.type === 'user.changed') cache.delete(event.userId);
  });
  // Events may have been missed (the channel dropped): read users afresh.
  events.onGap(() => cache.clear());

  async function load(where: ReturnType<typeof eq>): Promise<{ row: UserRow; user: User } | null> {
    const [row] = await db.select().from(users).where(where).limit(1);
    if (!row) return null;
    const perms = await db
      .select({ permission: userPermissions.permission })
      .from(userPermissions)
      .where(eq(userPermissions.userId, row.id));
    return { row, user: toUser(row, perms.map((p) => p.permission).sort()) };
  }

  async function changed(userId: string) {
    cache.delete(userId);
    await events.emit({ type: 'user.changed', userId });
  }

  /** Checks and stores a new user; the caller records why. */
  async function insert(input: NewUser): Promise<string> {
    const username = normaliseUsername(input.username);
    if (!username) throw new AccountError('USERNAME_INVALID');
    const email = normaliseEmail(input.email);
    if (!email) throw new AccountError('EMAIL_INVALID');
    const name = normaliseName(input.name);
    if (name === undefined && input.name !== undefined) throw new AccountError('NAME_INVALID');
    const pictureUrl = normalisePictureUrl(input.pictureUrl);
    if (pictureUrl === undefined && input.pictureUrl !== undefined)
      throw new AccountError('PICTURE_URL_INVALID');
    let passwordHash: string | null = null;
    if (input.password !== undefined && input.password !== null) {
      checkNewPassword(input.password);
      passwordHash = await hasher.hash(input.password);
    }
    const id = crypto.randomUUID();
    const at = new Date(now());
    try {
      await db.transaction(async (tx) => {
        await tx.insert(users).values({
          id,
          username: username.display,
          usernameKey: username.key,
          email: email.display,
          emailKey: email.key,
          emailVerified: input.emailVerified ? at : null,
          name: name ?? null,
          pictureUrl: pictureUrl ?? null,
          passwordHash,
          passwordChangedAt: passwordHash ? at : null,
          createdAt: at,
          updatedAt: at,
        });
        if (input.admin)
          await tx.insert(userPermissions).values({ userId: id, permission: ADMIN_PERMISSION });
      });
    } catch (err) {
      if (isUniqueViolation(err, 'username')) throw new AccountError('USERNAME_TAKEN');
      if (isUniqueViolation(err, 'email')) throw new AccountError('EMAIL_TAKEN');
      throw err;
    }
    return id;
  }

  /** Sets a password without the current one; unrecorded (the callers record). */
  async function storePassword(id: string, password: string): Promise<void> {
    checkNewPassword(password);
    const passwordHash = await hasher.hash(password);
    const at = new Date(now());
    const updated = await db
      .update(users)
      .set({ passwordHash, passwordChangedAt: at, updatedAt: at })
      .where(eq(users.id, id))
      .returning({ id: users.id });
    if (updated.length === 0) throw new AccountError('USER_NOT_FOUND');
    await changed(id);
  }

  return {
    /**
     * Creates a user on someone's behalf (`user.create`): an administrator, or the CLI. Absent
     * actor: set-up and tests, unrecorded.
     */
    async create(input: NewUser, actor?: Actor): Promise<User> {
      const id = await insert(input);
      if (actor) await audit.act(actor, 'user.create', `user:${id}`);
      return (await this.findById(id))!;
    },

    /**
     * A newcomer creates their own account (`user.register`, or `user.create_first_admin`
     * from the set-up link), acting as the new user from `context.ip`.
     */
    async register(
      input: NewUser,
      context: { ip: string | null; firstAdmin?: boolean; invitation?: string },
    ): Promise<User> {
      const id = await insert(input);
      await audit.act(
        { userId: id, ip: context.ip },
        context.firstAdmin ? 'user.create_first_admin' : 'user.register',
        `user:${id}`,
        context.invitation ? { invitation: context.invitation } : {},
      );
      return (await this.findById(id))!;
    },

    /** The user, from the in-process cache when possible. */
    async findById(id: string): Promise<User | null> {
      const cached = cache.get(id);
      if (cached) return cached;
      if (!UUID.test(id)) return null;
      const found = await load(eq(users.id, id));
      if (found) cache.set(id, found.user);
      return found?.user ?? null;
    },

    async findByUsername(username: string): Promise<User | null> {
      const key = normaliseUsername(username)?.key;
      if (!key) return null;
      return (await load(eq(users.usernameKey, key)))?.user ?? null;
    },

    /** Does any administrator exist? Until one does, the setup link is offered. */
    async hasAdmin(): Promise<boolean> {
      const [row] = await db
        .select({ userId: userPermissions.userId })
        .from(userPermissions)
        .innerJoin(users, eq(users.id, userPermissions.userId))
        .where(and(eq(userPermissions.permission, ADMIN_PERMISSION), isNull(users.disabledAt)))
        .limit(1);
      return row !== undefined;
    },

    async count(): Promise<number> {
      const [row] = await db.select({ n: count() }).from(users);
      return row?.n ?? 0;
    },

    /**
     * Checks a username-or-email and password. Returns the user or null, taking the same time
     * whether or not the account exists, and re-hashing when the parameters have changed.
     */
    async authenticate(login: string, password: string): Promise<User | null> {
      const key = looksLikeEmail(login)
        ? normaliseEmail(login)?.key
        : normaliseUsername(login)?.key;
      const found = key
        ? await load(looksLikeEmail(login) ? eq(users.emailKey, key) : eq(users.usernameKey, key))
        : null;
      if (!found?.row.passwordHash) {
        await hasher.dummyVerify(password);
        return null;
      }
      const ok = await hasher.verify(found.row.passwordHash, password);
      if (!ok || found.user.disabled) return null;
      if (hasher.needsRehash(found.row.passwordHash)) {
        const passwordHash = await hasher.hash(password);
        await db.update(users).set({ passwordHash }).where(eq(users.id, found.row.id));
      }
      return found.user;
    },

    async updateProfile(
      id: string,
      input: {
        name?: string | null;
        email?: string;
        pictureUrl?: string | null;
        /** An administrator vouches for the address (true) or withdraws that (false). */
        emailVerified?: boolean;
      },
      actor?: Actor,
    ): Promise<User> {
      const patch: Partial<UserRow> = { updatedAt: new Date(now()) };
      if (input.name !== undefined) {
        const name = normaliseName(input.name);
        if (name === undefined) throw new AccountError('NAME_INVALID');
        patch.name = name;
      }
      if (input.pictureUrl !== undefined) {
        const pictureUrl = normalisePictureUrl(input.pictureUrl);
        if (pictureUrl === undefined) throw new AccountError('PICTURE_URL_INVALID');
        patch.pictureUrl = pictureUrl;
      }
      if (input.email !== undefined) {
        const email = normaliseEmail(input.email);
        if (!email) throw new AccountError('EMAIL_INVALID');
        const current = await this.findById(id);
        if (current && current.email.toLowerCase() !== email.key) {
          patch.email = email.display;
          patch.emailKey = email.key;
          patch.emailVerified = null; // a new address is unproven
        }
      }
      if (input.emailVerified !== undefined)
        patch.emailVerified = input.emailVerified ? new Date(now()) : null;
      try {
        const updated = await db
          .update(users)
          .set(patch)
          .where(eq(users.id, id))
          .returning({ id: users.id });
        if (updated.length === 0) throw new AccountError('USER_NOT_FOUND');
      } catch (err) {
        if (isUniqueViolation(err, 'email')) throw new AccountError('EMAIL_TAKEN');
        throw err;
      }
      await changed(id);
      if (actor) await audit.act(actor, 'user.update_profile', `user:${id}`);
      return (await this.findById(id))!;
    },

    /** The member changes their password after giving the current one (`user.change_password`). */
    async changePassword(
      id: string,
      current: string,
      next: string,
      confirm?: string,
      actor?: Actor,
    ): Promise<void> {
      const [row] = await db
        .select({ hash: users.passwordHash })
        .from(users)
        .where(eq(users.id, id));
      if (!row) throw new AccountError('USER_NOT_FOUND');
      checkNewPassword(next, confirm);
      if (!row.hash || !(await hasher.verify(row.hash, current)))
        throw new AccountError('PASSWORD_WRONG');
      await storePassword(id, next);
      if (actor) await audit.act(actor, 'user.change_password', `user:${id}`);
    },

    /**
     * Sets a password without the current one, from a one-time link (`user.set_password`, by
     * the member from `context.ip`).
     */
    async setPassword(id: string, password: string, context: { ip: string | null }): Promise<void> {
      await storePassword(id, password);
      await audit.act({ userId: id, ip: context.ip }, 'user.set_password', `user:${id}`);
    },

    /** Disables or enables a user (`user.disable` / `user.enable`). */
    async setDisabled(id: string, disabled: boolean, actor?: Actor): Promise<void> {
      const updated = await db
        .update(users)
        .set({ disabledAt: disabled ? new Date(now()) : null, updatedAt: new Date(now()) })
        .where(eq(users.id, id))
        .returning({ id: users.id });
      if (updated.length === 0) throw new AccountError('USER_NOT_FOUND');
      await changed(id);
      if (actor) await audit.act(actor, disabled ? 'user.disable' : 'user.enable', `user:${id}`);
    },

    async grantPermission(id: string, permission: string): Promise<void> {
      await db.insert(userPermissions).values({ userId: id, permission }).onConflictDoNothing();
      await changed(id);
    },

    async revokePermission(id: string, permission: string): Promise<void> {
      await db
        .delete(userPermissions)
        .where(and(eq(userPermissions.userId, id), eq(userPermissions.permission, permission)));
      await changed(id);
    },

    /**
     * A page of users in username order, for administration. `after` is the previous page's
     * `next` (a username key); `next` is null on the last page.
     */
    async list(options: {
      after?: string | null;
      limit: number;
    }): Promise<{ users: User[]; next: string | null }> {
      const rows = await db
        .select()
        .from(users)
        .where(options.after ? gt(users.usernameKey, options.after) : undefined)
        .orderBy(asc(users.usernameKey))
        .limit(options.limit + 1);
      const pageRows = rows.slice(0, options.limit);
      const perms =
        pageRows.length === 0
          ? []
          : await db
              .select()
              .from(userPermissions)
              .where(
                inArray(
                  userPermissions.userId,
                  pageRows.map((r) => r.id),
                ),
              );
      const list = pageRows.map((row) =>
        toUser(
          row,
          perms
            .filter((p) => p.userId === row.id)
            .map((p) => p.permission)
            .sort(),
        ),
      );
      const last = pageRows.at(-1);
      return { users: list, next: rows.length > options.limit && last ? last.usernameKey : null };
    },

    /**
     * Deletes a user and, by cascade, their sessions, tokens and grants (`user.delete`, naming
     * the username that is gone). True when deleted.
     */
    async delete(id: string, actor?: Actor): Promise<boolean> {
      if (!UUID.test(id)) return false;
      const removed = await db
        .delete(users)
        .where(eq(users.id, id))
        .returning({ id: users.id, username: users.username });
      if (removed.length === 0) return false;
      await changed(id);
      if (actor)
        await audit.act(actor, 'user.delete', `user:${id}`, { username: removed[0]!.username });
      return true;
    },

    /** Is either identifier in use? For forms that want to say so before hashing a password. */
    async exists(username: string, email: string): Promise<{ username: boolean; email: boolean }> {
      const u = normaliseUsername(username)?.key ?? '';
      const e = normaliseEmail(email)?.key ?? '';
      const rows = await db
        .select({ usernameKey: users.usernameKey, emailKey: users.emailKey })
        .from(users)
        .where(or(eq(users.usernameKey, u), eq(users.emailKey, e)));
      return {
        username: rows.some((r) => r.usernameKey === u),
        email: rows.some((r) => r.emailKey === e),
      };
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
