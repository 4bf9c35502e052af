import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGatehouse, storageMode, type TestGatehouse } from '../testing/test-gatehouse.ts';
import { AccountError } from './errors.ts';
import {
  normaliseEmail,
  normaliseName,
  normalisePictureUrl,
  normaliseUsername,
} from './identifiers.ts';

let t: TestGatehouse;
beforeAll(async () => {
  t = await createTestGatehouse();
});
afterAll(() => t?.close());

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AccountError) return err.code;
    throw err;
  }
  return 'no error';
}

describe(`accounts (${storageMode()})`, () => {
  it('creates a user with a stable UUID and finds it by id and username', async () => {
    const user = await t.gh.accounts.create({
      username: 'Ada',
      email: 'Ada@Example.org',
      name: 'Ada L.',
      password: 'analytical engine',
    });
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(user).toMatchObject({
      username: 'Ada',
      email: 'Ada@Example.org',
      name: 'Ada L.',
      disabled: false,
      isAdmin: false,
    });
    expect(await t.gh.accounts.findById(user.id)).toEqual(user);
    expect((await t.gh.accounts.findByUsername('ADA'))?.id).toBe(user.id);
  });

  it('treats usernames case-insensitively and folds Unicode compatibility forms', async () => {
    await t.gh.accounts.create({ username: 'grace', email: 'grace@example.org' });
    expect(await code(t.gh.accounts.create({ username: 'GRACE', email: 'g2@example.org' }))).toBe(
      'USERNAME_TAKEN',
    );
    // Fullwidth letters normalise (NFKC) to the same name.
    expect(
      await code(t.gh.accounts.create({ username: 'ｇｒａｃｅ', email: 'g3@example.org' })),
    ).toBe('USERNAME_TAKEN');
  });

  it('refuses look-alike and hostile usernames', async () => {
    for (const username of [
      'аdmin' /* Cyrillic а */,
      "admin'; drop table users; --",
      'a b',
      '',
      '.dot',
      'x'.repeat(41),
      'nul\u0000l',
      'ad\u200bmin',
    ]) {
      expect(
        await code(t.gh.accounts.create({ username, email: `${crypto.randomUUID()}@example.org` })),
      ).toBe('USERNAME_INVALID');
    }
    expect(await t.gh.accounts.findByUsername("' or 1=1 --")).toBeNull();
  });

  it('keeps emails unique regardless of case', async () => {
    await t.gh.accounts.create({ username: 'linus', email: 'linus@example.org' });
    expect(
      await code(t.gh.accounts.create({ username: 'linus2', email: 'LINUS@example.org' })),
    ).toBe('EMAIL_TAKEN');
    expect(await code(t.gh.accounts.create({ username: 'linus3', email: 'not-an-email' }))).toBe(
      'EMAIL_INVALID',
    );
  });

  it('authenticates by username or email, and refuses wrong passwords and unknown users alike', async () => {
    const user = await t.gh.accounts.create({
      username: 'barbara',
      email: 'barbara@example.org',
      password: 'liskov substitution',
    });
    expect((await t.gh.accounts.authenticate('barbara', 'liskov substitution'))?.id).toBe(user.id);
    expect(
      (await t.gh.accounts.authenticate('BARBARA@example.org', 'liskov substitution'))?.id,
    ).toBe(user.id);
    expect(await t.gh.accounts.authenticate('barbara', 'wrong password!')).toBeNull();
    expect(await t.gh.accounts.authenticate('nobody', 'liskov substitution')).toBeNull();
    expect(await t.gh.accounts.authenticate('barbara', 'x'.repeat(1024 * 1024))).toBeNull();
  });

  it('refuses a disabled user even with the right password', async () => {
    const user = await t.gh.accounts.create({
      username: 'dis',
      email: 'dis@example.org',
      password: 'disabled password',
    });
    await t.gh.accounts.setDisabled(user.id, true);
    expect(await t.gh.accounts.authenticate('dis', 'disabled password')).toBeNull();
    expect((await t.gh.accounts.findById(user.id))?.disabled).toBe(true);
  });

  it('re-hashes a password on sign-in when the parameters have changed', async () => {
    const user = await t.gh.accounts.create({
      username: 'rehash',
      email: 'rehash@example.org',
      password: 'old parameters',
    });
    const stronger = await createTestGatehouse({
      stores: t.stores,
      passwordParams: { memoryCost: 2048, timeCost: 1, parallelism: 1 },
    });
    try {
      expect(await stronger.gh.accounts.authenticate('rehash', 'old parameters')).not.toBeNull();
      const rows = await t.stores.database.db.execute(
        `select password_hash from users where id = '${user.id}'`,
      );
      const hash = (rows as unknown as { rows: Array<{ password_hash: string }> }).rows[0]!
        .password_hash;
      expect(hash).toContain('m=2048');
    } finally {
      await stronger.close(); // shares the suite's stores, which it leaves open
    }
  });

  it('enforces password length on creation and change, and checks the current password', async () => {
    expect(
      await code(
        t.gh.accounts.create({ username: 'short', email: 'short@example.org', password: 'short' }),
      ),
    ).toBe('PASSWORD_TOO_SHORT');
    expect(
      await code(
        t.gh.accounts.create({
          username: 'long',
          email: 'long@example.org',
          password: 'x'.repeat(1025),
        }),
      ),
    ).toBe('PASSWORD_TOO_LONG');
    const user = await t.gh.accounts.create({
      username: 'changer',
      email: 'changer@example.org',
      password: 'first password',
    });
    expect(
      await code(t.gh.accounts.changePassword(user.id, 'not it at all', 'second password')),
    ).toBe('PASSWORD_WRONG');
    expect(
      await code(
        t.gh.accounts.changePassword(user.id, 'first password', 'second password', 'different'),
      ),
    ).toBe('PASSWORD_MISMATCH');
    await t.gh.accounts.changePassword(
      user.id,
      'first password',
      'second password',
      'second password',
    );
    expect(await t.gh.accounts.authenticate('changer', 'first password')).toBeNull();
    expect(await t.gh.accounts.authenticate('changer', 'second password')).not.toBeNull();
  });

  it('updates a profile, un-verifies a changed email, and refuses a taken one', async () => {
    const user = await t.gh.accounts.create({
      username: 'prof',
      email: 'prof@example.org',
      emailVerified: true,
    });
    expect(user.emailVerified).toBe(true);
    const updated = await t.gh.accounts.updateProfile(user.id, {
      name: '  Prof. Ünïcode 🎓 ',
      email: 'new@example.org',
      pictureUrl: 'https://img.example.org/p.png',
    });
    expect(updated).toMatchObject({
      name: 'Prof. Ünïcode 🎓',
      email: 'new@example.org',
      emailVerified: false,
      pictureUrl: 'https://img.example.org/p.png',
    });
    expect(await code(t.gh.accounts.updateProfile(user.id, { email: 'grace@example.org' }))).toBe(
      'EMAIL_TAKEN',
    );
    expect(
      await code(t.gh.accounts.updateProfile(user.id, { pictureUrl: 'javascript:alert(1)' })),
    ).toBe('PICTURE_URL_INVALID');
    expect(await code(t.gh.accounts.updateProfile(user.id, { name: 'x'.repeat(101) }))).toBe(
      'NAME_INVALID',
    );
  });

  it('marks administrators by the gatehouse:admin permission', async () => {
    const admin = await t.gh.accounts.create({
      username: 'root',
      email: 'root@example.org',
      admin: true,
    });
    expect(admin.isAdmin).toBe(true);
    expect(admin.permissions).toContain('gatehouse:admin');
    await t.gh.accounts.revokePermission(admin.id, 'gatehouse:admin');
    expect((await t.gh.accounts.findById(admin.id))?.isAdmin).toBe(false);
  });

  it('sees a change made by another instance sharing the stores', async () => {
    const other = await createTestGatehouse({ stores: t.stores });
    try {
      const user = await t.gh.accounts.create({ username: 'shared', email: 'shared@example.org' });
      expect((await other.gh.accounts.findById(user.id))?.name).toBeNull(); // now cached there
      await t.gh.accounts.updateProfile(user.id, { name: 'Renamed' });
      await expect
        .poll(async () => (await other.gh.accounts.findById(user.id))?.name, { timeout: 5000 })
        .toBe('Renamed');
    } finally {
      await other.close(); // shares the suite's stores, which it leaves open
    }
  });
});

describe('identifiers', () => {
  it('normalises usernames, emails, names and picture URLs', () => {
    expect(normaliseUsername(' Alice ')).toEqual({ display: 'Alice', key: 'alice' });
    expect(normaliseUsername('ａｌｉｃｅ')?.key).toBe('alice');
    expect(normaliseUsername('аlice')).toBeNull();
    expect(normaliseEmail('Bob@Example.ORG')).toEqual({
      display: 'Bob@Example.ORG',
      key: 'bob@example.org',
    });
    expect(normaliseEmail('a@b')).toBeNull();
    expect(normaliseEmail(`${'a'.repeat(300)}@example.org`)).toBeNull();
    expect(normaliseName('')).toBeNull();
    expect(normaliseName('bell\u0007')).toBeUndefined();
    expect(normalisePictureUrl('http://insecure.example/p.png')).toBeUndefined();
    expect(normalisePictureUrl('')).toBeNull();
  });
});
