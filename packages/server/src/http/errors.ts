// HTTP-level refusals with stable codes. Pages render them as a message page, the JSON API as
// { "error": { "code", "message" } }. No stack trace or internal detail ever reaches a client.

import { CodedError } from '../coded-error.ts';

export const HTTP_ERRORS = {
  BAD_REQUEST: {
    status: 400,
    title: 'Something is wrong with that request',
    message: 'The request could not be understood. Go back, reload the page and try again.',
  },
  CSRF_FAILED: {
    status: 403,
    title: 'This form has expired',
    message:
      'For your safety the form could not be accepted. Go back, reload the page and submit it again.',
  },
  UNAUTHENTICATED: { status: 401, title: 'Sign in required', message: 'Sign in to continue.' },
  FORBIDDEN: {
    status: 403,
    title: 'Not allowed',
    message: 'Your account is not allowed to do that.',
  },
  INSUFFICIENT_SCOPE: {
    status: 403,
    title: 'Not allowed',
    message: 'This API token does not carry the scope this request needs.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    title: 'Idempotency key reused',
    message:
      'This Idempotency-Key was already used with a different request. Use a new key for a new request.',
  },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    title: 'Request in progress',
    message: 'A request with this Idempotency-Key is still being processed. Retry in a moment.',
  },
  SELF_LOCKOUT: {
    status: 409,
    title: 'Not on your own account',
    message:
      'You cannot disable or delete your own account here. Ask another administrator to do it.',
  },
  NOT_FOUND: {
    status: 404,
    title: 'Page not found',
    message: 'There is nothing at this address. Check the link, or start again from the home page.',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: 'Not allowed',
    message: 'That method is not allowed here.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    title: 'Too much data',
    message: 'What you sent is larger than Gatehouse accepts. Shorten it and try again.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'Unsupported format',
    message:
      'Send forms as application/x-www-form-urlencoded and API requests as application/json.',
  },
  RATE_LIMITED: {
    status: 429,
    title: 'Too many attempts',
    message: 'Too many attempts. Wait a moment and try again.',
  },
  LINK_INVALID: {
    status: 410,
    title: 'This link is no longer valid',
    message: 'The link has expired or has already been used. Ask for a new one.',
  },
  INTERNAL: {
    status: 500,
    title: 'Something went wrong',
    message:
      'Gatehouse could not finish that request. Try again in a moment; if it keeps happening, tell an administrator.',
  },
  UNAVAILABLE: {
    status: 503,
    title: 'Temporarily unavailable',
    message: 'Gatehouse is starting or stopping. Try again in a moment.',
  },
  BUSY: {
    status: 503,
    title: 'Busy just now',
    message: 'Gatehouse is checking many sign-ins at once just now. Try again in a few seconds.',
  },
  STORE_UNAVAILABLE: {
    status: 503,
    title: 'Temporarily unavailable',
    message:
      'Gatehouse cannot reach its database or shared store just now. Try again in a few seconds.',
  },
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export class HttpError extends CodedError<HttpErrorCode> {
  override name = 'HttpError';
  readonly title: string;
  readonly retryAfterSeconds: number | null;
  constructor(code: HttpErrorCode, options: { message?: string; retryAfterSeconds?: number } = {}) {
    super(HTTP_ERRORS, code, options.message);
    this.title = HTTP_ERRORS[code].title;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
  }
}
