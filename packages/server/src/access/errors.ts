// Every way an access operation can be refused, with its HTTP status and a message a person can
// act on. Callers switch on `code`, never on the message.

import { CodedError } from '../coded-error.ts';

export const ACCESS_ERRORS = {
  GROUP_PATH_INVALID: {
    status: 400,
    message:
      'Group names are lowercase letters a–z, digits, ".", "_" or "-" (not only dots); paths join them with "/".',
  },
  GROUP_NOT_FOUND: { status: 404, message: 'There is no such group.' },
  PARENT_NOT_FOUND: { status: 404, message: 'The parent group does not exist. Create it first.' },
  GROUP_EXISTS: { status: 409, message: 'A group with that path already exists.' },
  GROUP_NOT_EMPTY: {
    status: 409,
    message:
      'This group has members, subgroups or invitations. Review what would be removed and confirm to delete them too.',
  },
  MOVE_INTO_ITSELF: {
    status: 409,
    message: 'A group cannot be moved into itself or one of its own subgroups.',
  },
  INCLUDE_CYCLE: {
    status: 409,
    message:
      'That include would make membership flow in a circle (a group would include itself). Choose another group.',
  },
  INCLUDE_SELF: { status: 409, message: 'A group cannot include itself.' },
  DESCRIPTION_INVALID: {
    status: 400,
    message: 'Descriptions are at most 500 characters, without control characters.',
  },
  FORBIDDEN: {
    status: 403,
    message: 'You are not an owner of this group (or of a group above it).',
  },
  ADMIN_REQUIRED: { status: 403, message: 'Only administrators can do that.' },
  NOT_A_MEMBER: { status: 404, message: 'That person is not a member of this group.' },
  LAST_OWNER: {
    status: 409,
    message:
      'You are the only owner of this group. Make someone else an owner first, or ask an administrator.',
  },
  ROLE_INVALID: { status: 400, message: 'The role must be "owner" or "member".' },
  ROLE_TOO_HIGH: {
    status: 403,
    message: 'You can only pass on a role you hold yourself: invite people as members.',
  },
  SHARE_DEPTH_TOO_HIGH: {
    status: 403,
    message:
      'You cannot let invitees invite others further than you may yourself. Lower the re-sharing depth.',
  },
  SHARE_DEPTH_INVALID: {
    status: 400,
    message: 'The re-sharing depth is a whole number from 0 to 10.',
  },
  INVITE_NOT_ALLOWED: {
    status: 403,
    message: 'You may not invite people to this group. Ask one of its owners.',
  },
  MAX_USES_INVALID: {
    status: 400,
    message: 'The number of people who can use the invitation is a whole number from 1 to 10000.',
  },
  EXPIRY_INVALID: {
    status: 400,
    message: 'Invitations expire between one minute and one year from now.',
  },
  NOTE_INVALID: { status: 400, message: 'Notes are at most 200 characters.' },
  INVITATION_INVALID: {
    status: 404,
    message: 'This invitation link is not valid. Check that you copied all of it.',
  },
  INVITATION_REVOKED: {
    status: 410,
    message:
      'This invitation has been withdrawn by the person who sent it. Ask them for a new one.',
  },
  INVITATION_EXPIRED: {
    status: 410,
    message: 'This invitation has expired. Ask the person who sent it for a new one.',
  },
  INVITATION_USED_UP: {
    status: 410,
    message: 'This invitation has already been used as many times as it allows. Ask for a new one.',
  },
  INVITATION_NOT_FOUND: { status: 404, message: 'There is no such invitation.' },
  PERMISSION_INVALID: {
    status: 400,
    message:
      'Permissions are 1 to 100 letters, digits, ".", "_", ":", "*" or "-", such as upload:write.',
  },
  ROLE_NAME_INVALID: {
    status: 400,
    message: 'Role names are 1 to 60 lowercase letters, digits, ".", "_" or "-".',
  },
  ROLE_NOT_FOUND: { status: 404, message: 'There is no such role.' },
  ROLE_EXISTS: { status: 409, message: 'A role with that name already exists.' },
  USER_NOT_FOUND: { status: 404, message: 'There is no such user.' },
} as const;

export type AccessErrorCode = keyof typeof ACCESS_ERRORS;

export class AccessError extends CodedError<AccessErrorCode> {
  override name = 'AccessError';
  /** Extra facts for the caller, sent beside `code` and `message` by the JSON API. */
  readonly details: Record<string, unknown> | undefined;
  constructor(code: AccessErrorCode, details?: Record<string, unknown>) {
    super(ACCESS_ERRORS, code);
    this.details = details;
  }
}
