// What every part of the access domain speaks: who acts, groups and their members, grants, and
// the checks on names and texts that more than one section applies.

import { CONTROL_CHARACTERS as CONTROL } from '../patterns.ts';
import { AccessError } from './errors.ts';

export type GroupRole = 'owner' | 'member';
export const GROUP_ROLES: readonly GroupRole[] = ['owner', 'member'];

/** Who is acting: one type for every service (see audit/audit.ts). */
export type { Actor } from '../audit/audit.ts';

export interface Group {
  id: string;
  parentId: string | null;
  name: string;
  path: string;
  description: string | null;
  createdAt: Date;
}

export interface Member {
  userId: string;
  username: string;
  name: string | null;
  role: GroupRole;
  shareDepth: number;
  joinedAt: Date;
}

export interface Membership {
  group: Group;
  role: GroupRole;
  shareDepth: number;
  joinedAt: Date;
}

export interface DeletePreview {
  /** The group and every subgroup, parents first. */
  groups: string[];
  memberships: number;
  invitations: number;
  includes: number;
}

/** A permission alone or through a named role. */
export type Grant = { permission: string } | { role: string };

export type InvitationStatus = 'pending' | 'revoked' | 'expired' | 'used-up';

export interface Invitation {
  id: string;
  groupId: string;
  groupPath: string;
  role: GroupRole;
  shareDepth: number;
  maxUses: number;
  uses: number;
  note: string | null;
  expiresAt: Date;
  revokedAt: Date | null;
  createdAt: Date;
  createdBy: string | null;
  createdByUsername: string | null;
  status: InvitationStatus;
}

export interface NewInvitation {
  groupId: string;
  role?: GroupRole;
  /** How many people may use it (1: one person). */
  maxUses?: number;
  /** Milliseconds from now; default 7 days. */
  expiresInMs?: number;
  /** How far people who join through it may invite others (0: not at all). */
  shareDepth?: number;
  note?: string | null;
}

/** A user's strongest standing over a group: from their memberships of it or of a group above. */
export interface Standing {
  role: GroupRole | null;
  shareDepth: number;
}

const PERMISSION = /^[A-Za-z0-9._:*-]{1,100}$/;
export const ROLE_NAME = /^[a-z0-9._-]{1,60}$/;

export { UUID } from '../patterns.ts';

export function validPermission(p: unknown): p is string {
  return typeof p === 'string' && PERMISSION.test(p);
}

/** A group's or role's description: trimmed, NFC, at most 500 characters; empty is none. */
export function cleanDescription(d: string | null | undefined): string | null {
  if (d === null || d === undefined) return null;
  const s = d.normalize('NFC').trim();
  if (s.length > 500 || CONTROL.test(s.replace(/[\n\r\t]/g, ' ')))
    throw new AccessError('DESCRIPTION_INVALID');
  return s === '' ? null : s;
}

/** Postgres's unique_violation, however deep the driver wrapped it. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return true;
  }
  return false;
}
