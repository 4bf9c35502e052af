import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { createGatehouseClient } from 'gatehouse-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus, type EventBus } from '../../store/events.ts';
import { createMemoryKv } from '../../store/kv-memory.ts';
import { readUntil } from '../../testing/read-stream.ts';
import { HTTP_ERRORS, HttpError } from '../errors.ts';
import { type EventsApiOptions, eventsApi, toServiceEvents } from './events.ts';

const ID = 'uploads';
const SECRET = 'uploads-secret-0123456789';
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

const OTHER = 'printing';
const OTHER_SECRET = 'printing-secret-0123456789';

// A fake registry: two clients, HTTP Basic.
async function authenticateService(request: FastifyRequest) {
  if (request.headers.authorization === basic(ID, SECRET)) return { clientId: ID };
  if (request.headers.authorization === basic(OTHER, OTHER_SECRET)) return { clientId: OTHER };
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

async function serve(
  options: Pick<EventsApiOptions, 'heartbeatMs' | 'maxStreamsPerClient' | 'audienceOf'> = {},
) {
  const events = createEventBus({ kv: createMemoryKv() });
  app = Fastify({ forceCloseConnections: true });
  app.setErrorHandler((err: Error, _request, reply) => {
    const code = err instanceof HttpError ? err.code : 'INTERNAL';
    if (err instanceof HttpError && err.retryAfterSeconds)
      reply.header('retry-after', String(err.retryAfterSeconds));
    return reply
      .code(HTTP_ERRORS[code].status)
      .send({ error: { code, message: err instanceof HttpError ? err.message : 'failed' } });
  });
  await app.register(eventsApi, { events, authenticateService, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/events`;
  return { events, url };
}

describe('GET /api/v1/events', () => {
  it('refuses missing, wrong and malformed credentials with a JSON 401, echoing nothing', async () => {
    const { url } = await serve();
    for (const authorization of [
      undefined,
      basic(ID, 'wrong'),
      basic('other', SECRET),
      'Basic !!!',
      `Bearer ${SECRET}`,
      `Basic ${'A'.repeat(8000)}`,
    ]) {
      const res = await fetch(url, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
      const text = await res.text();
      expect(JSON.parse(text).error.code).toBe('UNAUTHENTICATED');
      expect(text).not.toContain(SECRET);
    }
  });

  it('streams recheck for revoked sessions and changed users, and keys for rotation', async () => {
    const { url, events } = await serve();
    const res = await fetch(url, { headers: { authorization: basic(ID, SECRET) } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await readUntil(res, ': connected');
    await events.emit({ type: 'sessions.revoked', userId: 'u-1', sessionIds: ['s1'] });
    await events.emit({ type: 'user.changed', userId: 'u-2' });
    await events.emit({ type: 'keys.rotated' });
    const text = await readUntil(res, '{"type":"keys"}');
    expect(text).toContain('data: {"type":"recheck","sub":"u-1"}\n\n');
    expect(text).toContain('data: {"type":"recheck","sub":"u-2"}\n\n');
    // Session ids are not a service's business.
    expect(text).not.toContain('s1');
    await res.body!.cancel();
  });

  it('sends a heartbeat comment', async () => {
    const { url } = await serve({ heartbeatMs: 10 });
    const res = await fetch(url, { headers: { authorization: basic(ID, SECRET) } });
    expect(await readUntil(res, ': ping')).toContain(': ping\n\n');
    await res.body!.cancel();
  });

  it('limits open streams per client and frees the slot when one closes', async () => {
    const { url } = await serve({ maxStreamsPerClient: 2 });
    const headers = { authorization: basic(ID, SECRET) };
    const abortA = new AbortController();
    const a = await fetch(url, { headers, signal: abortA.signal });
    const b = await fetch(url, { headers });
    const c = await fetch(url, { headers });
    expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
    expect(c.headers.get('retry-after')).toBe('5');
    expect(JSON.parse(await c.text()).error.code).toBe('RATE_LIMITED');
    abortA.abort();
    let d = await fetch(url, { headers });
    while (d.status === 429) {
      await d.text();
      await sleep(5);
      d = await fetch(url, { headers });
    }
    expect(d.status).toBe(200);
    await b.body!.cancel();
    await d.body!.cancel();
  });

  it("sends each service only its own members' rechecks, and everything when that cannot be told", async () => {
    let storeDown = false;
    const members: Record<string, string[]> = { [ID]: ['u-ada'], [OTHER]: ['u-bob'] };
    const { url, events } = await serve({
      async audienceOf(userId) {
        if (storeDown) throw new Error('store unavailable');
        return async (clientId) => members[clientId]?.includes(userId) ?? false;
      },
    });
    const uploads = await fetch(url, { headers: { authorization: basic(ID, SECRET) } });
    const printing = await fetch(url, { headers: { authorization: basic(OTHER, OTHER_SECRET) } });
    await readUntil(uploads, ': connected');
    await readUntil(printing, ': connected');
    await events.emit({ type: 'sessions.revoked', userId: 'u-bob', sessionIds: [] });
    await events.emit({ type: 'access.changed', userIds: ['u-ada', 'u-bob'] });
    // The grants were revoked (so the member no longer shows as the client's): still told.
    await events.emit({ type: 'oidc.grants_revoked', userId: 'u-dan', clientId: ID });
    await events.emit({ type: 'keys.rotated' });
    let seenByUploads = await readUntil(uploads, '{"type":"keys"}');
    let seenByPrinting = await readUntil(printing, '{"type":"keys"}');
    storeDown = true;
    await events.emit({ type: 'user.changed', userId: 'u-carol' });
    seenByUploads += await readUntil(uploads, '"u-carol"');
    seenByPrinting += await readUntil(printing, '"u-carol"');
    expect(seenByUploads).not.toContain('u-bob');
    expect(seenByUploads).toContain('"sub":"u-ada"');
    expect(seenByUploads).toContain('"sub":"u-dan"');
    expect(seenByPrinting).not.toContain('u-dan');
    expect(seenByUploads).toContain('{"type":"keys"}');
    expect(seenByPrinting).not.toContain('u-ada');
    expect(seenByPrinting.match(/"sub":"u-bob"/g)).toHaveLength(2);
    expect(seenByPrinting).toContain('{"type":"keys"}');
    await uploads.body!.cancel();
    await printing.body!.cancel();
  });

  it('listens to the event bus once for every stream, and stops when the app closes', async () => {
    const kv = createMemoryKv();
    const bus = createEventBus({ kv });
    let handlers = 0;
    const counted: Pick<EventBus, 'on'> = {
      on(handler) {
        handlers++;
        const off = bus.on(handler);
        return () => {
          handlers--;
          return off();
        };
      },
    };
    app = Fastify();
    await app.register(eventsApi, { events: counted, authenticateService });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/events`;
    const first = await fetch(url, { headers: { authorization: basic(ID, SECRET) } });
    const second = await fetch(url, { headers: { authorization: basic(ID, SECRET) } });
    await readUntil(first, ': connected');
    await readUntil(second, ': connected');
    expect(handlers).toBe(1);
    await first.body!.cancel();
    await second.body!.cancel();
    await app.close();
    app = null;
    expect(handlers).toBe(0);
  });

  it('tells every service to re-check everything after a gap in its own event channel', async () => {
    const bus = createEventBus({ kv: createMemoryKv() });
    let gap: (() => void) | null = null;
    const events: EventsApiOptions['events'] = {
      on: (handler) => bus.on(handler),
      onGap(handler) {
        gap = handler;
        return () => {
          gap = null;
        };
      },
    };
    app = Fastify();
    await app.register(eventsApi, { events, authenticateService });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/events`;
    const res = await fetch(url, { headers: { authorization: basic(ID, SECRET) } });
    await readUntil(res, ': connected');
    gap!();
    expect(await readUntil(res, 'recheck-all')).toContain('{"type":"recheck-all"}');
    await res.body!.cancel();
  });

  it('ends open streams when the app closes', async () => {
    const { url } = await serve();
    const res = await fetch(url, { headers: { authorization: basic(ID, SECRET) } });
    await readUntil(res, ': connected');
    // Fails by hanging: close() would wait on the open stream, and the read would never end.
    await app!.close();
    app = null;
    const rest = await res.text().catch(() => '');
    expect(rest).not.toContain('data:');
  });

  it('drives gatehouse-client: a revocation reaches the SDK’s recheck listeners', async () => {
    const { url, events } = await serve();
    const gh = createGatehouseClient({
      issuer: 'http://127.0.0.1:1',
      clientId: ID,
      clientSecret: SECRET,
      eventsUrl: url,
    });
    try {
      await gh.connect();
      const seen: string[] = [];
      gh.onRecheck((sub) => seen.push(sub));
      await events.emit({ type: 'sessions.revoked', userId: 'u-9', sessionIds: [] });
      while (seen.length === 0) await sleep(5);
      expect(seen).toEqual(['u-9']);
    } finally {
      gh.close();
    }
  });

  it('maps only revocation-relevant events', () => {
    expect(toServiceEvents({ type: 'user.changed', userId: 'x' })).toEqual([
      { type: 'recheck', sub: 'x' },
    ]);
    expect(toServiceEvents({ type: 'keys.rotated' })).toEqual([{ type: 'keys' }]);
    expect(toServiceEvents({ type: 'access.changed', userIds: ['a', 'b'] })).toEqual([
      { type: 'recheck', sub: 'a' },
      { type: 'recheck', sub: 'b' },
    ]);
    expect(toServiceEvents({ type: 'access.changed', userIds: '*' })).toEqual([
      { type: 'recheck-all' },
    ]);
    expect(toServiceEvents({ type: 'clients.changed', clientId: 'c' })).toEqual([]);
  });
});
