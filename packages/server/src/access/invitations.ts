// Invitations: a secret link (and QR code) to join a group with a role, an expiry and a use
// limit. Owners invite with any role; members who joined through an invitation that allowed
// re-sharing may invite further, never with more than they hold (limited-privilege sharing).

import { and, desc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { directoryEntries } from '../accounts/directory.ts';
import { generateSecretToken, parseSecretToken, verifySecret } from '../crypto/secret-tokens.ts';
import { CONTROL_CHARACTERS, UUID } from '../patterns.ts';
import type { Db } from '../store/db.ts';
import type { AccessContext } from './context.ts';
import { AccessError } from './errors.ts';
import { setMembership } from './memberships.ts';
import { invitations, invitationUses } from './tables.ts';
import type {
  Actor,
  Group,
  GroupRole,
  Invitation,
  InvitationStatus,
  NewInvitation,
} from './types.ts';

export const MAX_SHARE_DEPTH = 10;
export const MAX_USES = 10_000;
const MIN_EXPIRY_MS = 60_000;
const MAX_EXPIRY_MS = 366 * 86_400_000;

const STATUS_ERROR = {
  revoked: 'INVITATION_REVOKED',
  expired: 'INVITATION_EXPIRED',
  'used-up': 'INVITATION_USED_UP',
} as const;

export function createInvitations(
  ctx: AccessContext,
  options: {
    /** The public base URL, for invitation links. */
    issuer?: string | undefined;
  } = {},
) {
  const { db, now } = ctx;

  /** What the actor may pass on at `path`: the highest role and re-sharing depth. */
  async function inviteRights(
    userId: string | null,
    path: string,
    asAdmin = true,
  ): Promise<{ role: GroupRole | null; shareDepth: number }> {
    if (asAdmin && (await ctx.isAdmin(userId)))
      return { role: 'owner', shareDepth: MAX_SHARE_DEPTH };
    const s = await ctx.standing(userId!, path);
    if (s.role === 'owner') return { role: 'owner', shareDepth: MAX_SHARE_DEPTH };
    if (s.role === 'member' && s.shareDepth > 0)
      return { role: 'member', shareDepth: s.shareDepth - 1 };
    return { role: null, shareDepth: 0 };
  }

  /** Throws unless `userId` may create (or still stand behind) such an invitation. */
  async function checkRights(
    userId: string | null,
    path: string,
    role: GroupRole,
    shareDepth: number,
    asAdmin = true,
  ) {
    const rights = await inviteRights(userId, path, asAdmin);
    if (rights.role === null) throw new AccessError('INVITE_NOT_ALLOWED');
    if (role === 'owner' && rights.role !== 'owner') throw new AccessError('ROLE_TOO_HIGH');
    if (shareDepth > rights.shareDepth) throw new AccessError('SHARE_DEPTH_TOO_HIGH');
  }

  function statusOf(row: {
    revokedAt: Date | null;
    expiresAt: Date;
    uses: number;
    maxUses: number;
  }) {
    if (row.revokedAt) return 'revoked';
    if (row.expiresAt.getTime() <= now()) return 'expired';
    if (row.uses >= row.maxUses) return 'used-up';
    return 'pending';
  }

  async function select(
    where: ReturnType<typeof eq>,
    from: Db = db,
  ): Promise<(Invitation & { secretHash: string })[]> {
    const rows = await from
      .select({
        inv: invitations,
        groupPath: sql<string>`(select path from groups where groups.id = ${invitations.groupId})`,
      })
      .from(invitations)
      .where(where)
      .orderBy(desc(invitations.createdAt));
    const creators = await directoryEntries(
      from,
      rows.flatMap((r) => (r.inv.createdBy === null ? [] : [r.inv.createdBy])),
    );
    const usernames = new Map(creators.map((entry) => [entry.id, entry.username]));
    return rows.map((r) => ({
      id: r.inv.id,
      groupId: r.inv.groupId,
      groupPath: r.groupPath,
      role: r.inv.role as GroupRole,
      shareDepth: r.inv.shareDepth,
      maxUses: r.inv.maxUses,
      uses: r.inv.uses,
      note: r.inv.note,
      expiresAt: r.inv.expiresAt,
      revokedAt: r.inv.revokedAt,
      createdAt: r.inv.createdAt,
      createdBy: r.inv.createdBy,
      createdByUsername: r.inv.createdBy === null ? null : (usernames.get(r.inv.createdBy) ?? null),
      status: statusOf(r.inv),
      secretHash: r.inv.secretHash,
    }));
  }

  function strip({ secretHash: _, ...inv }: Invitation & { secretHash: string }): Invitation {
    return inv;
  }

  /** The invitation a link names, if the link is genuine (whatever its status). */
  async function fromToken(token: unknown): Promise<Invitation | null> {
    const parsed = parseSecretToken(token, 'inv');
    if (!parsed) return null;
    const [row] = await select(eq(invitations.id, parsed.id));
    if (!row || !verifySecret(parsed.secret, Buffer.from(row.secretHash, 'hex'))) return null;
    return strip(row);
  }

  /** Revoked when the inviter can no longer stand behind it (they lost the rights it passes on). */
  async function effectiveStatus(inv: Invitation): Promise<InvitationStatus> {
    if (inv.status !== 'pending') return inv.status;
    try {
      await checkRights(inv.createdBy, inv.groupPath, inv.role, inv.shareDepth);
    } catch {
      return 'revoked';
    }
    return 'pending';
  }

  const api = {
    MAX_SHARE_DEPTH,

    /** What the actor may offer at this group, for the form. */
    inviteRights,

    /** Creates an invitation; the token is shown once (as a link and a QR code) and never stored. */
    async create(
      actor: Actor,
      input: NewInvitation,
    ): Promise<{ token: string; url: string; invitation: Invitation }> {
      const group = await ctx.getGroup(input.groupId);
      const role = input.role ?? 'member';
      if (role !== 'owner' && role !== 'member') throw new AccessError('ROLE_INVALID');
      const maxUses = input.maxUses ?? 1;
      if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > MAX_USES)
        throw new AccessError('MAX_USES_INVALID');
      const expiresIn = input.expiresInMs ?? 7 * 86_400_000;
      if (!Number.isFinite(expiresIn) || expiresIn < MIN_EXPIRY_MS || expiresIn > MAX_EXPIRY_MS)
        throw new AccessError('EXPIRY_INVALID');
      const shareDepth = input.shareDepth ?? 0;
      if (!Number.isInteger(shareDepth) || shareDepth < 0 || shareDepth > MAX_SHARE_DEPTH)
        throw new AccessError('SHARE_DEPTH_INVALID');
      const note = input.note?.trim() || null;
      if (note && (note.length > 200 || CONTROL_CHARACTERS.test(note)))
        throw new AccessError('NOTE_INVALID');
      await checkRights(actor.userId, group.path, role, shareDepth, actor.admin !== false);
      const { token, id, hash } = generateSecretToken('inv');
      const at = now();
      await db.insert(invitations).values({
        id,
        groupId: group.id,
        secretHash: hash.toString('hex'),
        createdBy: actor.userId,
        role,
        shareDepth,
        maxUses,
        note,
        expiresAt: new Date(at + expiresIn),
        createdAt: new Date(at),
      });
      await ctx.record(actor, 'invitation.create', `invitation:${id}`, {
        path: group.path,
        role,
        maxUses,
        shareDepth,
        expiresAt: new Date(at + expiresIn).toISOString(),
      });
      const [row] = await select(eq(invitations.id, id));
      return { token, url: api.urlFor(token), invitation: strip(row!) };
    },

    urlFor(token: string): string {
      return `${(options.issuer ?? '').replace(/\/+$/, '')}/invite/${token}`;
    },

    /** Invitations to a group, newest first; `pending` keeps only those that can still be used. */
    async list(groupId: string, options: { pending?: boolean } = {}): Promise<Invitation[]> {
      const where = options.pending
        ? and(
            eq(invitations.groupId, groupId),
            isNull(invitations.revokedAt),
            gt(invitations.expiresAt, new Date(now())),
            lt(invitations.uses, invitations.maxUses),
          )!
        : eq(invitations.groupId, groupId);
      return (await select(where as ReturnType<typeof eq>)).map(strip);
    },

    async get(id: string): Promise<Invitation | null> {
      if (typeof id !== 'string' || !UUID.test(id)) return null;
      const [row] = await select(eq(invitations.id, id.toLowerCase()));
      return row ? strip(row) : null;
    },

    /** Withdraws an invitation: its owners, the group's owners or an administrator. */
    async revoke(actor: Actor, invitationId: string) {
      const inv = await api.get(invitationId);
      if (!inv) throw new AccessError('INVITATION_NOT_FOUND');
      const own = actor.userId !== null && inv.createdBy === actor.userId;
      if (!own && !(actor.admin !== false && (await ctx.isAdmin(actor.userId)))) {
        const s = await ctx.standing(actor.userId!, inv.groupPath);
        if (s.role !== 'owner') throw new AccessError('FORBIDDEN');
      }
      await db
        .update(invitations)
        .set({ revokedAt: new Date(now()) })
        .where(and(eq(invitations.id, inv.id), isNull(invitations.revokedAt)));
      await ctx.record(actor, 'invitation.revoke', `invitation:${inv.id}`, {
        path: inv.groupPath,
      });
    },

    /** For the landing page: the invitation and its status, or null for a link that is not genuine. */
    async inspect(token: unknown): Promise<(Invitation & { status: InvitationStatus }) | null> {
      const inv = await fromToken(token);
      if (!inv) return null;
      return { ...inv, status: await effectiveStatus(inv) };
    },

    /**
     * Accepts an invitation for `actor.userId`. Using it up is one conditional UPDATE, so when
     * two people race for the last use exactly one gets it; accepting twice costs one use.
     */
    async accept(
      actor: Actor & { userId: string },
      token: unknown,
    ): Promise<{ group: Group; role: GroupRole; alreadyMember: boolean }> {
      const inv = await fromToken(token);
      if (!inv) throw new AccessError('INVITATION_INVALID');
      const status = await effectiveStatus(inv);
      if (status !== 'pending') throw new AccessError(STATUS_ERROR[status]);
      const group = await ctx.getGroup(inv.groupId);
      const mine = await ctx.standing(actor.userId, group.path);
      const covers =
        mine.role === 'owner' ||
        (mine.role === 'member' && inv.role === 'member' && mine.shareDepth >= inv.shareDepth);
      if (covers) return { group, role: mine.role!, alreadyMember: true };
      const outcome = await db.transaction(async (tx) => {
        const first = await tx
          .insert(invitationUses)
          .values({ invitationId: inv.id, userId: actor.userId, usedAt: new Date(now()) })
          .onConflictDoNothing()
          .returning({ id: invitationUses.invitationId });
        if (first.length === 0) return 'again' as const;
        const used = await tx
          .update(invitations)
          .set({ uses: sql`${invitations.uses} + 1` })
          .where(
            and(
              eq(invitations.id, inv.id),
              isNull(invitations.revokedAt),
              gt(invitations.expiresAt, new Date(now())),
              lt(invitations.uses, invitations.maxUses),
            ),
          )
          .returning({ uses: invitations.uses });
        if (used.length === 0) {
          const [now_] = await select(eq(invitations.id, inv.id), tx as unknown as Db);
          const s = now_ ? statusOf(now_) : 'revoked';
          throw new AccessError(STATUS_ERROR[s === 'pending' ? 'used-up' : s]);
        }
        await setMembership(tx as unknown as Db, {
          groupId: group.id,
          userId: actor.userId,
          role: inv.role,
          shareDepth: inv.shareDepth,
          invitationId: inv.id,
          createdAt: new Date(now()),
        });
        return 'joined' as const;
      });
      if (outcome === 'again') {
        // Accepted before: fine if still a member (a double submit), refused if since removed.
        const again = await ctx.standing(actor.userId, group.path);
        if (again.role === null) throw new AccessError('INVITATION_USED_UP');
        return { group, role: again.role, alreadyMember: true };
      }
      await ctx.record(actor, 'invitation.accept', `invitation:${inv.id}`, {
        path: group.path,
        role: inv.role,
        userId: actor.userId,
      });
      await ctx.changed([actor.userId]);
      return { group, role: inv.role, alreadyMember: false };
    },
  };
  return api;
}
