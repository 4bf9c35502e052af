// Every secret Gatehouse hands out: `gth_<kind>_<row id><secret><checksum>`.
//
// Seed 000's pattern: the row id selects the row, only SHA-256 of the secret is stored, and
// the secret is compared in constant time. On top of it, a readable prefix per kind and a
// CRC32 checksum (like GitHub's tokens) let secret scanners recognise a leaked token offline
// and let us reject a malformed one without a database read.
import { hash as oneShotHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { UUID } from '../patterns.ts';

export const TOKEN_KINDS = ['sess', 'api', 'inv', 'rst', 'vfy', 'setup', 'cs'] as const;

/** sessions, API tokens, invitations, password resets, email verifications, first-admin setup links, OIDC client secrets */
export type TokenKind = (typeof TOKEN_KINDS)[number];

// `gh` is GitHub's namespace; `gth` is ours.
const NAMESPACE = 'gth_';
const ID_LENGTH = 32; // a UUID's 128 bits as lowercase hex without dashes (seed 000's `{id.hex}`)
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43; // 62^43 > 2^256, so 43 base62 digits hold any 256-bit value
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32, so 6 base62 digits hold any CRC32
const BODY_LENGTH = ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH;

// Digits first so that left-padding a fixed-width number is padding with '0'.
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const MAX_SECRET = (1n << BigInt(SECRET_BYTES * 8)) - 1n;

// A Map, not an object literal, so a kind like '__proto__' from untyped callers finds nothing.
const PREFIX_BY_KIND: ReadonlyMap<string, string> = new Map(
  TOKEN_KINDS.map((kind) => [kind, `${NAMESPACE}${kind}_`]),
);

/**
 * A RegExp source for secret scanners (GitHub secret scanning custom patterns, gitleaks,
 * trufflehog): the namespace, a known kind, 32 lowercase hex digits of row id, then 49 base62
 * digits (43 of secret, 6 of checksum). The word boundaries keep it from matching inside a
 * longer identifier. A match is a candidate; scanners that can run code confirm it offline by
 * recomputing the CRC32 of everything before the last 6 characters (see `parseSecretToken`).
 *
 *     new RegExp(SECRET_TOKEN_PATTERN, 'g')
 */
export const SECRET_TOKEN_PATTERN = `\\b${NAMESPACE}(?:${TOKEN_KINDS.join('|')})_[0-9a-f]{${ID_LENGTH}}[0-9A-Za-z]{${SECRET_LENGTH + CHECKSUM_LENGTH}}\\b`;

/**
 * A new token of `kind` for the row `id` (a new random UUID unless given). Store `id` and
 * `hash`; hand `token` to its holder and forget it.
 */
export function generateSecretToken(
  kind: TokenKind,
  id?: string,
): { token: string; id: string; hash: Buffer } {
  const prefix = PREFIX_BY_KIND.get(kind);
  if (prefix === undefined) throw new TypeError(`Unknown secret token kind: ${String(kind)}`);
  const rowId = (id ?? randomUUID()).toLowerCase();
  if (!UUID.test(rowId)) throw new TypeError('A secret token id must be a UUID');
  const secret = encodeSecretBytes(randomBytes(SECRET_BYTES));
  const unchecked = prefix + rowId.replaceAll('-', '') + secret;
  return { token: unchecked + checksumOf(unchecked), id: rowId, hash: hashSecret(secret) };
}

/**
 * The row id (dashed UUID) and secret of a well-formed token of `kind`, or null. Cheap and
 * exception-free because it runs on every request carrying a credential: it checks the length
 * first, then each character once (no regex), then the checksum. It does not prove the token
 * genuine — that is `verifySecret` against the stored hash.
 */
export function parseSecretToken(
  token: unknown,
  kind: TokenKind,
): { id: string; secret: string } | null {
  if (typeof token !== 'string') return null;
  const prefix = PREFIX_BY_KIND.get(kind);
  if (prefix === undefined || token.length !== prefix.length + BODY_LENGTH) return null;
  if (!token.startsWith(prefix)) return null;
  const idStart = prefix.length;
  const secretStart = idStart + ID_LENGTH;
  const checksumStart = secretStart + SECRET_LENGTH;
  for (let i = idStart; i < secretStart; i++) {
    if (!isLowerHex(token.charCodeAt(i))) return null;
  }
  for (let i = secretStart; i < token.length; i++) {
    if (!isBase62(token.charCodeAt(i))) return null;
  }
  if (checksumOf(token.slice(0, checksumStart)) !== token.slice(checksumStart)) return null;
  const hex = token.slice(idStart, secretStart);
  return {
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    secret: token.slice(secretStart, checksumStart),
  };
}

/** SHA-256 of a token's secret part: the only form of it the database keeps. */
export function hashSecret(secret: string): Buffer {
  return oneShotHash('sha256', secret, 'buffer');
}

/** Whether `secret` hashes to `expectedHash`, in constant time: the hash is the secret's only proof. */
export function verifySecret(secret: string, expectedHash: Buffer | Uint8Array): boolean {
  const actual = hashSecret(secret);
  // timingSafeEqual throws on unequal lengths; a wrong-length hash is simply not a match.
  if (actual.length !== expectedHash.length) return false;
  return timingSafeEqual(actual, expectedHash);
}

/**
 * The kind named by a token's prefix, or null. Only the prefix is examined, so logs and
 * redaction can label a truncated or mangled token too; use `parseSecretToken` to validate.
 */
export function tokenKindOf(token: string): TokenKind | null {
  if (typeof token !== 'string' || !token.startsWith(NAMESPACE)) return null;
  for (const kind of TOKEN_KINDS) {
    if (token.startsWith(PREFIX_BY_KIND.get(kind)!)) return kind;
  }
  return null;
}

/**
 * 32 bytes as a fixed-width, 43-digit base62 big-endian number, left-padded with '0' so
 * every secret has the same length and a leading zero byte loses no entropy.
 */
export function encodeSecretBytes(bytes: Uint8Array): string {
  if (bytes.length !== SECRET_BYTES) throw new RangeError(`A secret is ${SECRET_BYTES} bytes`);
  return toBase62(BigInt(`0x${Buffer.from(bytes).toString('hex')}`), SECRET_LENGTH);
}

/** The 32 bytes a secret encodes, or null if it is not 43 base62 digits below 2^256. */
export function decodeSecretBytes(secret: string): Buffer | null {
  if (secret.length !== SECRET_LENGTH) return null;
  let value = 0n;
  for (let i = 0; i < secret.length; i++) {
    const digit = base62Digit(secret.charCodeAt(i));
    if (digit < 0) return null;
    value = value * 62n + BigInt(digit);
  }
  if (value > MAX_SECRET) return null;
  return Buffer.from(value.toString(16).padStart(SECRET_BYTES * 2, '0'), 'hex');
}

function checksumOf(text: string): string {
  // zlib.crc32 is native since Node 22.2, inside our supported range; tokens are ASCII, so
  // its UTF-8 encoding of the string is the bytes a scanner sees.
  // Plain numbers: a CRC32 fits in 32 bits, and this runs on every request with a credential.
  let rest = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

function toBase62(value: bigint, width: number): string {
  const digits: string[] = new Array(width);
  let rest = value;
  for (let i = width - 1; i >= 0; i--) {
    digits[i] = BASE62[Number(rest % 62n)]!;
    rest /= 62n;
  }
  return digits.join('');
}

function base62Digit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 65 && code <= 90) return code - 55; // A-Z
  if (code >= 97 && code <= 122) return code - 61; // a-z
  return -1;
}

function isBase62(code: number): boolean {
  return base62Digit(code) >= 0;
}

function isLowerHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 102);
}
