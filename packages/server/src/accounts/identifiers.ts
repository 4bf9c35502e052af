// Usernames and emails as people type them, normalised so that look-alikes collide.
//
// Usernames are NFKC-normalised (fullwidth "ａｌｉｃｅ" becomes "alice") and compared
// case-insensitively, and must then be plain ASCII letters, digits, ".", "_" or "-". Allowing
// every script would let "аdmin" (Cyrillic а) pass for "admin"; display names carry Unicode.

import { CONTROL_CHARACTERS as CONTROL } from '../patterns.ts';

const USERNAME = /^[a-z0-9](?:[a-z0-9._-]{0,38}[a-z0-9])?$/;
// Deliberately simple: one @, no spaces or control characters, a dotted domain. Deliverability
// is proven by the verification mail, not by a regex.
const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]{2,}$/u;

/** The display form: NFKC, trimmed; null when it cannot be a username. */
export function normaliseUsername(input: string): { display: string; key: string } | null {
  if (typeof input !== 'string' || input.length > 200) return null;
  const display = input.normalize('NFKC').trim();
  const key = display.toLowerCase();
  return USERNAME.test(key) ? { display, key } : null;
}

export function normaliseEmail(input: string): { display: string; key: string } | null {
  if (typeof input !== 'string' || input.length > 254) return null;
  const display = input.normalize('NFC').trim();
  return EMAIL.test(display) && display.length <= 254
    ? { display, key: display.toLowerCase() }
    : null;
}

/** Display names: any script, no control or format characters, at most 100 characters. */
export function normaliseName(input: string | null | undefined): string | null | undefined {
  if (input === null || input === undefined) return input;
  const name = input.normalize('NFC').trim();
  if (name === '') return null;
  if (name.length > 100 || CONTROL.test(name)) return undefined;
  return name;
}

export function normalisePictureUrl(input: string | null | undefined): string | null | undefined {
  if (input === null || input === undefined) return input;
  const s = input.trim();
  if (s === '') return null;
  if (s.length > 2000) return undefined;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** Is this a login that should be looked up by email? */
export function looksLikeEmail(login: string): boolean {
  return login.includes('@');
}
