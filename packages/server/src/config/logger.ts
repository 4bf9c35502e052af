// Structured logs (pino). No line may carry a password, a secret token or a cookie value:
// known fields are redacted by path, and every secret token that slips into a message or a
// URL is masked by its recognisable prefix.

import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

const TOKEN = /\bgth_([a-z]+)_[0-9A-Za-z]{20,}/g;

/** Masks every Gatehouse secret token in a string, keeping its kind for debugging. */
export function maskSecrets(text: string): string {
  return text.replace(TOKEN, 'gth_$1_[redacted]');
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
