// Idempotency-Key for API writes that create something: a client that retries after a timeout
// gets the first response again instead of a second creation.
//
// Keyed by member + method + path + key, kept 24 hours. The first response is stored encrypted
// (AES-256-GCM) under a key derived from the Idempotency-Key, which never reaches the store:
// responses such as a new API token hold secrets, and a copy of the store must not reveal them.
// A request is matched to its first one by a SHA-256 of its body; a different body with the
// same key is refused (422). While the first request runs, a retry gets 409.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Kv } from '../../store/kv.ts';
import { HttpError } from '../errors.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
const PENDING_TTL_MS = 60_000;
/** Printable ASCII, as UUIDs and other client-made keys are. */
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

interface Stored {
  /** SHA-256 of the request body. */
  f: string;
  /** Absent while the first request is still running. */
  s?: number;
  /** iv.tag.ciphertext, base64url. */
  b?: string;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

function sha256(...parts: string[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest();
}

function seal(key: Buffer, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(value ?? null)), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url')).join('.');
}

function open(key: Buffer, sealed: string): unknown {
  const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  const decipher = createDecipheriv('aes-256-gcm', key, iv!);
  decipher.setAuthTag(tag!);
  return JSON.parse(Buffer.concat([decipher.update(data!), decipher.final()]).toString());
}

export function createIdempotency(deps: { kv: Kv }) {
  const { kv } = deps;

  return {
    /**
     * Runs `action` once per key: the first call's response is stored; a repeat with the same
     * body gets it back (`replayed: true`).
     */
    async run(
      scope: { userId: string; method: string; path: string; key: string; body: unknown },
      action: () => Promise<StoredResponse>,
    ): Promise<StoredResponse & { replayed: boolean }> {
      if (!KEY_FORMAT.test(scope.key)) {
        throw new HttpError('BAD_REQUEST', {
          message: 'Invalid request: Idempotency-Key must be 1 to 255 printable ASCII characters.',
        });
      }
      const id = sha256('idem', scope.userId, scope.method, scope.path, scope.key).toString(
        'base64url',
      );
      const storeKey = `idem:${id}`;
      const secret = sha256('idem-enc', scope.userId, scope.key);
      const fingerprint = sha256(JSON.stringify(scope.body ?? null)).toString('base64url');

      const pending: Stored = { f: fingerprint };
      if (!(await kv.setIfAbsent(storeKey, JSON.stringify(pending), PENDING_TTL_MS))) {
        const raw = await kv.get(storeKey);
        const stored = raw ? (JSON.parse(raw) as Stored) : null;
        if (stored && stored.f !== fingerprint) throw new HttpError('IDEMPOTENCY_KEY_REUSED');
        if (!stored || stored.s === undefined || stored.b === undefined)
          throw new HttpError('IDEMPOTENCY_KEY_IN_USE');
        return { status: stored.s, body: open(secret, stored.b), replayed: true };
      }
      let response: StoredResponse;
      try {
        response = await action();
      } catch (err) {
        // A refused request may be retried with the same key once its cause is fixed.
        await kv.del(storeKey);
        throw err;
      }
      const done: Stored = { f: fingerprint, s: response.status, b: seal(secret, response.body) };
      await kv.set(storeKey, JSON.stringify(done), IDEMPOTENCY_TTL_MS);
      return { ...response, replayed: false };
    },
  };
}

export type Idempotency = ReturnType<typeof createIdempotency>;
