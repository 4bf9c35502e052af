// A user as every subsystem sees it, what a new one is made from, and the rules a password
// must meet.

import { AccountError } from './errors.ts';
import type { users } from './tables.ts';

export const ADMIN_PERMISSION = 'gatehouse:admin';
export const MIN_PASSWORD_LENGTH = 10;

export interface User {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string | null;
  readonly pictureUrl: string | null;
  readonly disabled: boolean;
  readonly isAdmin: boolean;
  readonly permissions: readonly string[];
  readonly createdAt: Date;
}

export interface NewUser {
  username: string;
  email: string;
  name?: string | null;
  pictureUrl?: string | null;
  password?: string | null;
  admin?: boolean;
  emailVerified?: boolean;
}

export type UserRow = typeof users.$inferSelect;

export function toUser(row: UserRow, permissions: string[]): User {
  return Object.freeze({
    id: row.id,
    username: row.username,
    email: row.email,
    emailVerified: row.emailVerified !== null,
    name: row.name,
    pictureUrl: row.pictureUrl,
    disabled: row.disabledAt !== null,
    isAdmin: permissions.includes(ADMIN_PERMISSION),
    permissions: Object.freeze(permissions),
    createdAt: row.createdAt,
  });
}

export function isUniqueViolation(err: unknown, column: string): boolean {
  // Drizzle wraps driver errors; the Postgres error (code 23505) is the cause.
  for (
    let e = err as
      | { code?: string; constraint?: string; detail?: string; cause?: unknown }
      | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.code === '23505') return `${e.constraint ?? ''} ${e.detail ?? ''}`.includes(column);
  }
  return false;
}

export function checkNewPassword(password: string, confirm?: string): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH)
    throw new AccountError('PASSWORD_TOO_SHORT');
  if (password.length > 1024) throw new AccountError('PASSWORD_TOO_LONG');
  if (confirm !== undefined && confirm !== password) throw new AccountError('PASSWORD_MISMATCH');
}
