import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInjectClient } from '../../testing/inject-client.ts';
import { createTestGatehouse, type TestGatehouse } from '../../testing/test-gatehouse.ts';

let t: TestGatehouse;
beforeAll(async () => {
  t = await createTestGatehouse();
  await t.gh.accounts.create({
    username: 'alice',
    email: 'alice@example.org',
    password: 'correct horse battery',
  });
});
afterAll(() => t?.close());

describe('smoke', () => {
  it('signs in and sees the portal', async () => {
    const c = createInjectClient(t.app);
    const login = await c.get('/login');
    expect(login.statusCode).toBe(200);
    const res = await c.signIn('alice', 'correct horse battery');
    expect(res.statusCode).toBe(303);
    const portal = await c.get('/');
    expect(portal.statusCode).toBe(200);
    expect(portal.body).toContain('alice');
    const me = await c.get('/api/v1/me', { accept: 'application/json' });
    expect(me.json()).toMatchObject({ username: 'alice' });
  });
});
