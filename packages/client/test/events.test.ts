import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouseClient, GatehouseError } from '../src/index.ts';
import { backoffDelay, openEventStream } from '../src/lib/event-stream.ts';
import { createMiniIssuer, type MiniIssuer } from './helpers/mini-issuer.ts';

let mini: MiniIssuer;
beforeAll(async () => {
  mini = await createMiniIssuer();
});
afterAll(() => mini.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean) {
  while (!cond()) await sleep(5);
}
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return (err as GatehouseError).code;
  }
}

function client() {
  return createGatehouseClient({
    issuer: mini.issuer,
    clientId: mini.clientId,
    clientSecret: mini.clientSecret,
  });
}

describe('revocation events', () => {
  it('a recheck event evicts the member’s cached tokens; a revoked one is then refused', async () => {
    const gh = client();
    await gh.connect();
    const sub = 'aaaaaaaa-0000-4000-8000-000000000001';
    const t = await mini.sign({ sub });
    const other = await mini.sign({ sub: 'bbbbbbbb-0000-4000-8000-000000000002' });
    await gh.verify(t);
    await gh.verify(other);
    const before = mini.introspections;
    // Seen again: no call home.
    await gh.verify(t);
    expect(mini.introspections).toBe(before);

    const seen: string[] = [];
    gh.onRecheck((s) => seen.push(s));
    mini.revokedJwts.add(t);
    mini.push({ type: 'recheck', sub });
    await until(() => seen.length === 1);
    expect(await code(gh.verify(t))).toBe('token_revoked');
    expect(mini.introspections).toBe(before + 1);
    // Another member's token is untouched.
    expect(await code(gh.verify(other))).toBe('accepted');
    expect(mini.introspections).toBe(before + 1);
    gh.close();
  });

  it('after a recheck, a JWT the issuer will not introspect (as Gatehouse) is refused as revoked', async () => {
    const gh = client();
    await gh.connect();
    const sub = 'aaaaaaaa-0000-4000-8000-000000000009';
    const t = await mini.sign({ sub, iat: Math.floor(Date.now() / 1000) - 5 });
    await gh.verify(t);
    let seen = 0;
    gh.onRecheck(() => seen++);
    mini.jwtIntrospectionUnsupported = true;
    try {
      mini.push({ type: 'recheck', sub });
      await until(() => seen === 1);
      // Not `issuer_unavailable`: Gatehouse answered, it just cannot vouch for a JWT.
      expect(await code(gh.verify(t))).toBe('token_revoked');
    } finally {
      mini.jwtIntrospectionUnsupported = false;
      gh.close();
    }
  });

  it('a token issued before a recheck is re-checked even when the issuer’s clock is ahead (within the tolerance)', async () => {
    // The service's clock is 3 s behind Gatehouse's: a token issued just before the revocation
    // carries an iat later than the service's own time of the event.
    const gh = createGatehouseClient({
      issuer: mini.issuer,
      clientId: mini.clientId,
      clientSecret: mini.clientSecret,
      now: () => Date.now() - 3000,
    });
    await gh.connect();
    const sub = 'aaaaaaaa-0000-4000-8000-00000000000c';
    const t = await mini.sign({ sub, iat: Math.floor(Date.now() / 1000) });
    const seen: string[] = [];
    gh.onRecheck((s) => seen.push(s));
    mini.revokedJwts.add(t);
    mini.push({ type: 'recheck', sub });
    await until(() => seen.length === 1);
    expect(await code(gh.verify(t))).toBe('token_revoked');
    // One issued well after the revocation (beyond the tolerance) is not asked about.
    const later = await mini.sign({ sub, iat: Math.floor(Date.now() / 1000) + 10 });
    const before = mini.introspections;
    expect(await code(gh.verify(later))).toBe('accepted');
    expect(mini.introspections).toBe(before);
    gh.close();
  });

  it('after a recheck, a token Gatehouse still vouches for is accepted with fresh claims', async () => {
    const gh = client();
    await gh.connect();
    const sub = 'aaaaaaaa-0000-4000-8000-000000000003';
    const t = await mini.sign({ sub, groups: ['members/old'] });
    await gh.verify(t);
    let seen = 0;
    gh.onRecheck(() => seen++);
    mini.push({ type: 'recheck', sub });
    await until(() => seen === 1);
    const user = await gh.verify(t);
    expect(user.id).toBe(sub);
    gh.close();
  });

  it('an opaque token lease ends at once on a recheck event', async () => {
    const gh = client();
    await gh.connect();
    mini.opaque.set('gth_api_evt', { sub: 'u-evt', preferred_username: 'eve' });
    await gh.verify('gth_api_evt');
    let seen = 0;
    gh.onRecheck(() => seen++);
    mini.opaque.delete('gth_api_evt');
    mini.push({ type: 'recheck', sub: 'u-evt' });
    await until(() => seen === 1);
    expect(await code(gh.verify('gth_api_evt'))).toBe('token_invalid');
    gh.close();
  });

  it('does not keep an introspection answer when a revocation arrived while it was asked', async () => {
    const gh = client();
    await gh.connect();
    mini.opaque.set('gth_api_race', { sub: 'u-race', preferred_username: 'race' });
    let open: () => void = () => {};
    mini.introspectionGate = new Promise((r) => {
      open = r;
    });
    const before = mini.introspections;
    const pending = gh.verify('gth_api_race');
    while (mini.introspections === before) await sleep(5);
    let seen = 0;
    gh.onRecheck(() => seen++);
    mini.push({ type: 'recheck', sub: 'u-race' });
    await until(() => seen === 1);
    mini.opaque.delete('gth_api_race');
    open();
    mini.introspectionGate = null;
    // The answer given before the revocation serves the request that asked…
    expect((await pending).username).toBe('race');
    // …but is not kept: the next request asks again and is refused.
    expect(await code(gh.verify('gth_api_race'))).toBe('token_invalid');
    gh.close();
  });

  it('a keys event refreshes the JWKS', async () => {
    const gh = client();
    await gh.connect();
    await gh.verify(await mini.sign());
    const before = mini.jwksFetches;
    mini.push({ type: 'keys' });
    await until(() => mini.jwksFetches >= before + 1);
    gh.close();
  });

  it('reconnects after the connection drops, and re-checks every lease after the gap', async () => {
    const gh = client();
    await gh.connect();
    mini.opaque.set('gth_api_gap', { sub: 'u-gap', preferred_username: 'gap' });
    await gh.verify('gth_api_gap');
    const accepted = mini.eventsAccepted;
    const before = mini.introspections;
    mini.dropEventConnections();
    await until(() => mini.eventsAccepted >= accepted + 1 && gh.eventsConnected);
    await gh.verify('gth_api_gap');
    expect(mini.introspections).toBe(before + 1);
    gh.close();
  });

  it('ignores malformed and hostile events', async () => {
    const gh = client();
    await gh.connect();
    const t = await mini.sign({ sub: 'u-hostile' });
    await gh.verify(t);
    for (const e of ['not json', { type: 'recheck' }, { type: 'recheck', sub: 42 }, null, []]) {
      mini.push(e);
    }
    mini.push({ type: 'keys-not' });
    await sleep(20);
    const before = mini.introspections;
    expect(await code(gh.verify(t))).toBe('accepted');
    expect(mini.introspections).toBe(before);
    gh.close();
  });
});

describe('event stream', () => {
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, () => 0)).toBe(400);
    expect(backoffDelay(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(20, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(1000, 100, 10_000, () => 0.5)).toBe(7500);
  });

  it('retries while the server refuses, then connects; closes cleanly', async () => {
    mini.eventsDown = true;
    const errors: unknown[] = [];
    let connects = 0;
    const stream = openEventStream({
      url: `${mini.issuer}/api/v1/events`,
      authorization: `Basic ${Buffer.from(`${mini.clientId}:${mini.clientSecret}`).toString('base64')}`,
      fetch,
      onEvent: () => {},
      onConnected: () => connects++,
      onError: (e) => errors.push(e),
      initialDelayMs: 5,
      maxDelayMs: 20,
    });
    await until(() => errors.length >= 3);
    expect(connects).toBe(0);
    mini.eventsDown = false;
    await stream.ready();
    expect(connects).toBe(1);
    stream.close();
    await until(() => mini.openEventConnections() === 0);
  });

  it('reports a dead (silent) connection and reconnects', async () => {
    let connects = 0;
    const stream = openEventStream({
      url: `${mini.issuer}/api/v1/events`,
      authorization: `Basic ${Buffer.from(`${mini.clientId}:${mini.clientSecret}`).toString('base64')}`,
      fetch,
      onEvent: () => {},
      onConnected: () => connects++,
      initialDelayMs: 5,
      idleTimeoutMs: 50,
    });
    await until(() => connects >= 2);
    stream.close();
  });

  it('refuses to start events without a client secret', () => {
    expect(() =>
      createGatehouseClient({ issuer: mini.issuer, clientId: 'x', events: true }),
    ).toThrow(GatehouseError);
  });
});
