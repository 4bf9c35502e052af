// Structured logs (pino). No line may carry a password, a secret token or a cookie value:
// known fields are redacted by path, every secret token that slips into a message or a URL is
// masked by its recognisable prefix, and the query parameters that carry OAuth credentials or
// a member's identity (an ID token hint names its member) are masked by name.

import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

const TOKEN = /\bgth_([a-z]+)_[0-9A-Za-z]{20,}/g;

/**
 * Query parameters whose values are credentials (codes, tokens, secrets, assertions) or carry a
 * member's claims (ID token hints, request objects): a URL in a log keeps the name only.
 */
export const SECRET_PARAMS: ReadonlySet<string> = new Set([
  'access_token',
  'assertion',
  'client_assertion',
  'client_secret',
  'code',
  'code_verifier',
  'device_code',
  'login_hint',
  'id_token',
  'id_token_hint',
  'login_hint_token',
  'logout_hint',
  'password',
  'refresh_token',
  'request',
  'response',
  'subject_token',
  'token',
  'user_code',
]);

// A name=value pair of a query string (or a form body in a message): `;` is a separator for
// some servers, and the name is compared decoded, as the provider reads it.
const PARAM = /([?&;])([^=&;#\s]+)=([^&;#\s]*)/g;

/** A Gatehouse token already masked keeps its kind. */
const MASKED_TOKEN = /^gth_[a-z]+_\[redacted\]$/;

function paramName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/**
 * Masks every Gatehouse secret token in a string, keeping its kind for debugging, and the value
 * of every secret query parameter (SECRET_PARAMS).
 */
export function maskSecrets(text: string): string {
  const masked = text.replace(TOKEN, 'gth_$1_[redacted]');
  if (!masked.includes('=')) return masked;
  return masked.replace(PARAM, (pair, sep: string, name: string, value: string) =>
    value && !MASKED_TOKEN.test(value) && SECRET_PARAMS.has(paramName(name))
      ? `${sep}${name}=[redacted]`
      : pair,
  );
}

export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'cookie',
  '*.cookie',
  'headers.cookie',
  'headers.authorization',
  '*.headers.cookie',
  '*.headers.authorization',
  '*.headers["set-cookie"]',
  'body',
  '*.body',
];

export function createLogger(options: {
  level: LogLevel;
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        // A last line of defence for messages: a token interpolated into a message is masked.
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) {
            const arg = args[i];
            if (typeof arg === 'string') args[i] = maskSecrets(arg);
          }
          method.apply(this, args as Parameters<typeof method>);
        },
      },
      serializers: {
        err: pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}

export type { Logger };
