// Every way an API token operation can be refused, with its HTTP status and a message a person
// can act on. Callers switch on `code`, never on the message.

import { CodedError } from '../coded-error.ts';

export const API_TOKEN_ERRORS = {
  TOKEN_NAME_INVALID: {
    status: 400,
    field: 'name',
    message: 'Token names are 1 to 100 characters, without control characters.',
  },
  TOKEN_SCOPES_INVALID: {
    status: 400,
    field: 'scopes',
    message:
      'Give 1 to 32 scopes, each a permission string such as upload:read (letters, digits and . _ : / -).',
  },
  TOKEN_SCOPE_NOT_HELD: {
    status: 403,
    field: 'scopes',
    message: 'A token can only carry permissions you hold yourself.',
  },
  TOKEN_EXPIRY_INVALID: {
    status: 400,
    field: 'expires_in',
    message: 'The expiry must be a duration such as 30d, 12h or 2w (or "never"), at most 5 years.',
  },
  TOKEN_LIMIT_REACHED: {
    status: 409,
    field: null,
    message: 'This account has the most tokens allowed (100). Revoke some before creating more.',
  },
  TOKEN_NOT_FOUND: { status: 404, field: null, message: 'There is no such token.' },
  TOKEN_USER_NOT_FOUND: { status: 404, field: null, message: 'There is no such user.' },
  TOKEN_USER_DISABLED: {
    status: 409,
    field: null,
    message: 'The account is disabled, so it cannot get new tokens.',
  },
} as const;

export type ApiTokenErrorCode = keyof typeof API_TOKEN_ERRORS;

export class ApiTokenError extends CodedError<ApiTokenErrorCode> {
  override name = 'ApiTokenError';
  constructor(code: ApiTokenErrorCode, message?: string) {
    super(API_TOKEN_ERRORS, code, message);
  }
}
