// Every way an account operation can be refused, with its HTTP status and a message a person
// can act on. Callers switch on `code`, never on the message.

import { CodedError } from '../coded-error.ts';

export const ACCOUNT_ERRORS = {
  USERNAME_INVALID: {
    status: 400,
    field: 'username',
    message:
      'Usernames are 1 to 40 letters a–z, digits, dots, dashes or underscores, starting and ending with a letter or digit.',
  },
  USERNAME_TAKEN: {
    status: 409,
    field: 'username',
    message: 'That username is taken. Choose another.',
  },
  EMAIL_INVALID: {
    status: 400,
    field: 'email',
    message: 'Enter an email address such as name@example.org.',
  },
  EMAIL_TAKEN: {
    status: 409,
    field: 'email',
    message: 'That email address belongs to another account.',
  },
  NAME_INVALID: {
    status: 400,
    field: 'name',
    message: 'Display names are at most 100 characters, without control characters.',
  },
  PICTURE_URL_INVALID: {
    status: 400,
    field: 'picture_url',
    message: 'The picture URL must be an https:// address of at most 2000 characters.',
  },
  PASSWORD_TOO_SHORT: {
    status: 400,
    field: 'password',
    message: 'Passwords must be at least 10 characters.',
  },
  PASSWORD_TOO_LONG: {
    status: 400,
    field: 'password',
    message: 'Passwords must be at most 1024 characters.',
  },
  PASSWORD_MISMATCH: {
    status: 400,
    field: 'password_confirm',
    message: 'The two passwords do not match.',
  },
  PASSWORD_WRONG: {
    status: 400,
    field: 'current_password',
    message: 'Your current password is not correct.',
  },
  USER_NOT_FOUND: { status: 404, field: null, message: 'There is no such user.' },
} as const;

export type AccountErrorCode = keyof typeof ACCOUNT_ERRORS;

export class AccountError extends CodedError<AccountErrorCode> {
  override name = 'AccountError';
  constructor(code: AccountErrorCode) {
    super(ACCOUNT_ERRORS, code);
  }
}
