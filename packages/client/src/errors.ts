// Every failure the SDK reports, one table: a stable code callers switch on, the HTTP status a
// guard answers with, and a message a person can act on.

/**
 * The stable error codes of `gatehouse-client`. Switch on these, never on message text.
 *
 * @example
 * ```ts
 * const retryable = (code: GatehouseErrorCode) => code === 'issuer_unavailable';
 * ```
 */
export type GatehouseErrorCode =
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'token_revoked'
  | 'login_required'
  | 'forbidden'
  | 'unknown_user'
  | 'login_failed'
  | 'issuer_unavailable'
  | 'configuration';

/**
 * Status and default message for each code.
 *
 * @example
 * ```ts
 * import { GATEHOUSE_ERRORS } from 'gatehouse-client';
 * GATEHOUSE_ERRORS.forbidden.status; // 403
 * ```
 */
export const GATEHOUSE_ERRORS: Readonly<
  Record<GatehouseErrorCode, { status: number; message: string }>
> = Object.freeze({
  token_missing: { status: 401, message: 'Sign in, or send an access token as Bearer.' },
  token_invalid: { status: 401, message: 'The access token is not valid for this service.' },
  token_expired: { status: 401, message: 'The access token has expired; get a new one.' },
  token_revoked: { status: 401, message: 'The access token or session has been revoked.' },
  login_required: { status: 401, message: 'Sign in to continue.' },
  forbidden: { status: 403, message: 'You do not have access to this.' },
  unknown_user: {
    status: 403,
    message: 'You are signed in, but not yet registered with this service.',
  },
  login_failed: { status: 400, message: 'Sign-in did not complete; try again.' },
  issuer_unavailable: {
    status: 503,
    message: 'Gatehouse cannot be reached right now; try again shortly.',
  },
  configuration: { status: 500, message: 'The service is misconfigured.' },
});

/**
 * An error from `gatehouse-client`, with a stable `code` and the HTTP `status` to answer with.
 *
 * @example
 * ```ts
 * try {
 *   await gatehouse.verify(token);
 * } catch (err) {
 *   if (err instanceof GatehouseError && err.code === 'token_expired') refresh();
 * }
 * ```
 */
export class GatehouseError extends Error {
  readonly code: GatehouseErrorCode;
  readonly status: number;

  constructor(code: GatehouseErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? GATEHOUSE_ERRORS[code].message, options);
    this.name = 'GatehouseError';
    this.code = code;
    this.status = GATEHOUSE_ERRORS[code].status;
  }

  /** The JSON body guards answer with: `{ error: { code, message } }`. */
  toJSON(): { error: { code: GatehouseErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
