import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeSecretBytes,
  encodeSecretBytes,
  generateSecretToken,
  hashSecret,
  parseSecretToken,
  SECRET_TOKEN_PATTERN,
  TOKEN_KINDS,
  type TokenKind,
  tokenKindOf,
  verifySecret,
} from './secret-tokens.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Replace the character at `i` with another one of the same class, so that only the checksum
// (not the character checks) can catch the change.
function flip(token: string, i: number): string {
  const c = token[i]!;
  const alphabet = /[0-9a-f]/.test(c) && i < token.length - 49 ? '0123456789abcdef' : BASE62;
  const other = alphabet[(alphabet.indexOf(c) + 1) % alphabet.length] ?? 'x';
  return token.slice(0, i) + other + token.slice(i + 1);
}

describe('secret tokens', () => {
  it.each(TOKEN_KINDS)('round-trips a %s token to its id and secret', (kind) => {
    const { token, id, hash } = generateSecretToken(kind);
    expect(token).toMatch(new RegExp(`^gth_${kind}_[0-9a-f]{32}[0-9A-Za-z]{49}$`));
    expect(token.slice(`gth_${kind}_`.length, `gth_${kind}_`.length + 32)).toBe(
      id.replaceAll('-', ''),
    );
    const parsed = parseSecretToken(token, kind);
    expect(parsed).not.toBeNull();
    expect(parsed!.id).toBe(id);
    expect(parsed!.secret).toHaveLength(43);
    expect(verifySecret(parsed!.secret, hash)).toBe(true);
    expect(tokenKindOf(token)).toBe(kind);
  });

  it('uses a given row id and returns it in canonical lower-case form', () => {
    const given = '0F8FAD5B-D9CB-469F-A165-70867728950E';
    const { token, id } = generateSecretToken('sess', given);
    expect(id).toBe(given.toLowerCase());
    expect(token.startsWith('gth_sess_0f8fad5bd9cb469fa16570867728950e')).toBe(true);
    expect(parseSecretToken(token, 'sess')?.id).toBe(given.toLowerCase());
  });

  it('refuses to mint a token for an id that is not a UUID or for an unknown kind', () => {
    expect(() => generateSecretToken('sess', 'not-a-uuid')).toThrow(TypeError);
    expect(() => generateSecretToken('bogus' as TokenKind)).toThrow(TypeError);
  });

  it('rejects a token with any single character changed (checksum)', () => {
    for (const kind of TOKEN_KINDS) {
      const { token } = generateSecretToken(kind);
      for (let i = 0; i < token.length; i++) {
        const changed = flip(token, i);
        expect(changed).not.toBe(token);
        expect(parseSecretToken(changed, kind), `position ${i} of ${token}`).toBeNull();
      }
    }
  });

  it('rejects a body whose characters are well-formed but whose checksum is not', () => {
    const { token } = generateSecretToken('api');
    const swapped = `${token.slice(0, -6)}000000`;
    expect(token.endsWith('000000')).toBe(false);
    expect(parseSecretToken(swapped, 'api')).toBeNull();
  });

  it('rejects a token of another kind, even with the prefix rewritten', () => {
    const { token } = generateSecretToken('rst');
    expect(parseSecretToken(token, 'vfy')).toBeNull();
    // Same length as `rst`, so only the checksum over the prefix can tell.
    expect(parseSecretToken(token.replace('gth_rst_', 'gth_vfy_'), 'vfy')).toBeNull();
    expect(parseSecretToken(token.replace('gth_rst_', 'gth_inv_'), 'inv')).toBeNull();
  });

  it('rejects truncated, extended, unicode, huge and non-string input', () => {
    const { token } = generateSecretToken('sess');
    const bad: unknown[] = [
      '',
      'gth_sess_',
      token.slice(0, -1),
      token.slice(1),
      `${token}0`,
      ` ${token}`,
      `${token}\n`,
      token.toUpperCase(),
      `${token.slice(0, 20)}é${token.slice(21)}`,
      `${token.slice(0, 20)}😀${token.slice(22)}`, // a surrogate pair: same UTF-16 length
      `${token.slice(0, 20)}\u0660${token.slice(21)}`, // Arabic-Indic digit zero
      `${token.slice(0, 40)}\0${token.slice(41)}`,
      'x'.repeat(1024 * 1024),
      token + 'x'.repeat(1024 * 1024),
      undefined,
      null,
      42,
      {},
      [token],
      Buffer.from(token),
      { toString: () => token },
    ];
    for (const input of bad) expect(parseSecretToken(input, 'sess')).toBeNull();
  });

  it('rejects a well-formed token with an uppercase hex row id', () => {
    const { token } = generateSecretToken('sess', '0f8fad5b-d9cb-469f-a165-70867728950e');
    const upper = token.replace(
      '0f8fad5bd9cb469fa16570867728950e',
      '0F8FAD5BD9CB469FA16570867728950E',
    );
    expect(parseSecretToken(upper, 'sess')).toBeNull();
  });

  it('never returns the same token, id or secret twice', () => {
    const a = generateSecretToken('sess');
    const b = generateSecretToken('sess');
    expect(a.token).not.toBe(b.token);
    expect(a.id).not.toBe(b.id);
    expect(parseSecretToken(a.token, 'sess')!.secret).not.toBe(
      parseSecretToken(b.token, 'sess')!.secret,
    );
    // Same row, new secret: what rotating a cookie does.
    const c = generateSecretToken('sess', a.id);
    expect(c.id).toBe(a.id);
    expect(c.token).not.toBe(a.token);
    expect(c.hash.equals(a.hash)).toBe(false);
  });

  it('hashes only the secret part, with SHA-256', () => {
    const { token, hash } = generateSecretToken('api');
    const { secret } = parseSecretToken(token, 'api')!;
    expect(hash).toHaveLength(32);
    expect(hash.equals(createHash('sha256').update(secret).digest())).toBe(true);
    expect(hash.equals(createHash('sha256').update(token).digest())).toBe(false);
    expect(hashSecret(secret).equals(hash)).toBe(true);
  });

  it('verifies the right secret and rejects another secret or a malformed hash', () => {
    const { token, hash } = generateSecretToken('inv');
    const { secret } = parseSecretToken(token, 'inv')!;
    const other = parseSecretToken(generateSecretToken('inv').token, 'inv')!.secret;
    expect(verifySecret(secret, hash)).toBe(true);
    expect(verifySecret(secret, new Uint8Array(hash))).toBe(true);
    expect(verifySecret(other, hash)).toBe(false);
    expect(verifySecret(secret, hash.subarray(0, 31))).toBe(false);
    expect(verifySecret(secret, Buffer.alloc(0))).toBe(false);
    expect(verifySecret(secret, Buffer.concat([hash, Buffer.alloc(1)]))).toBe(false);
  });

  it('carries a full 256-bit secret in 43 fixed-width base62 digits', () => {
    const zeros = encodeSecretBytes(Buffer.alloc(32, 0));
    expect(zeros).toBe('0'.repeat(43));
    expect(decodeSecretBytes(zeros)!.equals(Buffer.alloc(32, 0))).toBe(true);

    const ones = encodeSecretBytes(Buffer.alloc(32, 0xff));
    expect(ones).toHaveLength(43);
    expect(ones[0]).not.toBe('0'); // 2^256 - 1 needs all 43 digits: 42 would not hold 256 bits
    expect(decodeSecretBytes(ones)!.equals(Buffer.alloc(32, 0xff))).toBe(true);

    const leadingZero = Buffer.alloc(32, 0xab);
    leadingZero[0] = 0;
    leadingZero[1] = 0;
    const encoded = encodeSecretBytes(leadingZero);
    expect(encoded).toHaveLength(43);
    expect(encoded.startsWith('0')).toBe(true);
    expect(decodeSecretBytes(encoded)!.equals(leadingZero)).toBe(true);

    const one = Buffer.alloc(32);
    one[31] = 1;
    expect(encodeSecretBytes(one)).toBe(`${'0'.repeat(42)}1`);

    // Above 2^256 - 1 or malformed: not something we minted.
    expect(decodeSecretBytes('z'.repeat(43))).toBeNull();
    expect(decodeSecretBytes('0'.repeat(42))).toBeNull();
    expect(decodeSecretBytes(`${'0'.repeat(42)}-`)).toBeNull();
    expect(() => encodeSecretBytes(Buffer.alloc(31))).toThrow(RangeError);
  });

  it('mints secrets that decode back to 32 random bytes', () => {
    for (let i = 0; i < 50; i++) {
      const { secret } = parseSecretToken(generateSecretToken('vfy').token, 'vfy')!;
      const bytes = decodeSecretBytes(secret);
      expect(bytes).toHaveLength(32);
      expect(encodeSecretBytes(bytes!)).toBe(secret);
    }
  });

  it('names the kind of a token by its prefix only', () => {
    expect(tokenKindOf('gth_setup_abc')).toBe('setup');
    expect(tokenKindOf('gth_sess_')).toBe('sess');
    expect(tokenKindOf('gth_session_abc')).toBeNull();
    expect(tokenKindOf('gth_')).toBeNull();
    expect(tokenKindOf('ghp_abc')).toBeNull();
    expect(tokenKindOf('')).toBeNull();
    expect(tokenKindOf(42 as unknown as string)).toBeNull();
  });

  it('gives secret scanners a pattern that finds every generated token in text', () => {
    const tokens = TOKEN_KINDS.map((kind) => generateSecretToken(kind).token);
    const text = `config:\n  a: ${tokens.join('\n  b: "')}"\nGATEHOUSE=${tokens[0]};`;
    const found = [...text.matchAll(new RegExp(SECRET_TOKEN_PATTERN, 'g'))].map((m) => m[0]);
    expect(found.sort()).toEqual([...tokens, tokens[0]].sort());
    for (const token of tokens) expect(new RegExp(SECRET_TOKEN_PATTERN).test(token)).toBe(true);

    const pattern = new RegExp(SECRET_TOKEN_PATTERN);
    expect(pattern.test(`x${tokens[0]}`)).toBe(false);
    expect(pattern.test(`${tokens[0]}x`)).toBe(false);
    expect(pattern.test(tokens[0]!.slice(0, -1))).toBe(false);
    expect(pattern.test(`gth_other_${'0'.repeat(81)}`)).toBe(false);
  });
});
