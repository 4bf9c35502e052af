import * as argon2 from '@node-rs/argon2';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createPasswordHasher,
  defaultHashingLimits,
  MAX_PASSWORD_LENGTH,
  OWASP_ARGON2ID,
  PasswordHashingBusyError,
  PasswordTooLongError,
} from './passwords.ts';

// Spies around the real library, so tests can tell whether any hashing happened at all.
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...real, hash: vi.fn(real.hash), verify: vi.fn(real.verify) };
});

// Cheap parameters: the behaviour under test does not depend on the cost.
const FAST = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

describe('password hasher', () => {
  beforeEach(() => {
    vi.mocked(argon2.hash).mockClear();
    vi.mocked(argon2.verify).mockClear();
  });

  it('hashes with argon2id and the OWASP parameters by default, and verifies', async () => {
    expect(OWASP_ARGON2ID).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const hasher = createPasswordHasher();
    const hash = await hasher.hash('correct horse battery staple');
    expect(hash).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    );
    expect(argon2.parseOptions(hash)).toMatchObject({ algorithm: 2, ...OWASP_ARGON2ID });
    expect(await hasher.verify(hash, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(hash, 'correct horse battery stapler')).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
  });

  it('hashes with the parameters it was given', async () => {
    const hasher = createPasswordHasher(FAST);
    const hash = await hasher.hash('pw');
    expect(hash.startsWith('$argon2id$v=19$m=1024,t=1,p=1$')).toBe(true);
    expect(createPasswordHasher({ timeCost: 1 }).needsRehash(hash)).toBe(true);
    expect(hasher.needsRehash(hash)).toBe(false);
  });

  it('salts every hash', async () => {
    const hasher = createPasswordHasher(FAST);
    const [a, b] = await Promise.all([hasher.hash('same'), hasher.hash('same')]);
    expect(a).not.toBe(b);
    expect(await hasher.verify(a, 'same')).toBe(true);
    expect(await hasher.verify(b, 'same')).toBe(true);
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const hasher = createPasswordHasher(FAST);
    const hash = await hasher.hash('hunter2');
    expect(await hasher.verify(hash, 'hunter2')).toBe(true);
    expect(await hasher.verify(hash, 'hunter3')).toBe(false);
    expect(await hasher.verify(hash, 'Hunter2')).toBe(false);
    expect(await hasher.verify(hash, '')).toBe(false);
  });

  it('accepts the same password typed in NFC and in NFD', async () => {
    const hasher = createPasswordHasher(FAST);
    const nfc = 'Café Ångström';
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect(await hasher.verify(await hasher.hash(nfc), nfd)).toBe(true);
    expect(await hasher.verify(await hasher.hash(nfd), nfc)).toBe(true);
  });

  it('measures the length limit after normalisation', async () => {
    const hasher = createPasswordHasher(FAST);
    const nfc = 'é'.repeat(MAX_PASSWORD_LENGTH);
    const nfd = nfc.normalize('NFD');
    expect(nfd.length).toBe(2 * MAX_PASSWORD_LENGTH);
    expect(await hasher.verify(await hasher.hash(nfd), nfc)).toBe(true);
  });

  it('says a hash needs rehashing when its algorithm or any parameter differs', async () => {
    const hasher = createPasswordHasher(FAST);
    const current = await hasher.hash('pw');
    expect(hasher.needsRehash(current)).toBe(false);
    for (const other of [
      { ...FAST, memoryCost: 2048 },
      { ...FAST, timeCost: 2 },
      { ...FAST, parallelism: 2 },
    ]) {
      expect(hasher.needsRehash(await createPasswordHasher(other).hash('pw'))).toBe(true);
    }
    const argon2i = await argon2.hash('pw', { ...FAST, algorithm: 1 });
    expect(argon2i.startsWith('$argon2i$')).toBe(true);
    expect(hasher.needsRehash(argon2i)).toBe(true);
    expect(hasher.needsRehash(current.replace('$v=19$', '$v=16$'))).toBe(true);
    expect(hasher.needsRehash('$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW')).toBe(
      true,
    );
    expect(hasher.needsRehash('')).toBe(true);
    expect(hasher.needsRehash('plaintext')).toBe(true);
  });

  it('refuses to hash a password over the limit, with a stable code', async () => {
    const hasher = createPasswordHasher(FAST);
    expect(await hasher.hash('x'.repeat(MAX_PASSWORD_LENGTH))).toMatch(/^\$argon2id\$/);
    const refused = hasher.hash('x'.repeat(MAX_PASSWORD_LENGTH + 1));
    await expect(refused).rejects.toBeInstanceOf(PasswordTooLongError);
    await expect(refused).rejects.toMatchObject({ code: 'PASSWORD_TOO_LONG' });
  });

  it('refuses a 1 MB password without hashing it', async () => {
    const hasher = createPasswordHasher();
    const stored = await hasher.hash('pw');
    vi.mocked(argon2.hash).mockClear();
    const huge = 'a'.repeat(1024 * 1024);
    await expect(hasher.hash(huge)).rejects.toMatchObject({ code: 'PASSWORD_TOO_LONG' });
    expect(await hasher.verify(stored, huge)).toBe(false);
    await hasher.dummyVerify(huge);
    expect(argon2.hash).not.toHaveBeenCalled();
    expect(argon2.verify).not.toHaveBeenCalled();
  });

  it('returns false, without throwing, for a malformed hash', async () => {
    const hasher = createPasswordHasher(FAST);
    const good = await hasher.hash('pw');
    const malformed: unknown[] = [
      '',
      'garbage',
      '$argon2id$',
      good.slice(0, -10),
      good.replace('m=1024', 'm=abc'),
      '$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA',
      '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW',
      null,
      undefined,
      42,
    ];
    for (const hash of malformed) {
      await expect(hasher.verify(hash as string, 'pw')).resolves.toBe(false);
    }
    expect(await hasher.verify(good, null as unknown as string)).toBe(false);
  });

  it('runs a real verification for an unknown user, against one hash made once', async () => {
    const hasher = createPasswordHasher(FAST);
    await hasher.dummyVerify('guess');
    await Promise.all([hasher.dummyVerify('guess 2'), hasher.dummyVerify('guess 3')]);
    expect(argon2.hash).toHaveBeenCalledTimes(1);
    expect(argon2.verify).toHaveBeenCalledTimes(3);
    // Against a hash with this hasher's parameters, so it costs what a real login costs.
    const dummy = vi.mocked(argon2.verify).mock.calls[0]![0] as string;
    expect(hasher.needsRehash(dummy)).toBe(false);

    // Another hasher has its own dummy hash: no state shared between instances.
    await createPasswordHasher(FAST).dummyVerify('guess');
    expect(argon2.hash).toHaveBeenCalledTimes(2);
  });
});

describe('password hashing bounds', () => {
  it('keeps a core free by default: one hashing slot on two cores, never none', () => {
    expect(defaultHashingLimits(2).concurrency).toBe(1);
    expect(defaultHashingLimits(1).concurrency).toBe(1);
    expect(defaultHashingLimits(8).concurrency).toBe(7);
  });

  it('runs at most `concurrency` hashes, queues `maxQueued`, and refuses the next at once', async () => {
    const hasher = createPasswordHasher(FAST, { concurrency: 2, maxQueued: 1 });
    const stored = await hasher.hash('pw');
    const running = [hasher.verify(stored, 'pw'), hasher.verify(stored, 'pw')];
    const queued = hasher.verify(stored, 'pw');
    expect(hasher.load()).toEqual({ running: 2, queued: 1 });
    await expect(hasher.verify(stored, 'pw')).rejects.toBeInstanceOf(PasswordHashingBusyError);
    await expect(hasher.hash('other')).rejects.toMatchObject({ code: 'HASHING_BUSY' });
    expect(await Promise.all([...running, queued])).toEqual([true, true, true]);
    expect(hasher.load()).toEqual({ running: 0, queued: 0 });
    expect(await hasher.verify(stored, 'pw')).toBe(true);
  });
});
