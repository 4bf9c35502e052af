// GET /api/v1/events: revocation events for services using gatehouse-client, as server-sent
// events. A service authenticates with its OIDC client credentials (HTTP Basic) and keeps one
// connection open; Gatehouse writes `data: {"type":"recheck","sub":…}` when a member's sessions
// are revoked or the member changed (sign-out, group removal, disabled), `data: {"type":"keys"}`
// when the signing keys rotate, and a `: ping` comment as heartbeat. A service that falls too
// far behind is disconnected: it reconnects and re-checks every lease, which is always safe.
//
// A `recheck` goes only to the services the member concerns (`audienceOf`: a client they signed
// in to, one at the origin of a resource they hold a token for, one that introspected their
// token), so a service does not learn who signs in elsewhere. If that cannot be worked out (a
// store is down) it goes to every service: telling too many is safe, too few is not.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventBus, GatehouseEvent } from '../../store/events.ts';
import { HttpError } from '../errors.ts';

export interface EventsApiOptions {
  events: Pick<EventBus, 'on'> & Partial<Pick<EventBus, 'onGap'>>;
  /** The OIDC client the request's credentials (HTTP Basic client_id:client_secret) prove, or null. */
  authenticateService(request: FastifyRequest): Promise<{ clientId: string } | null>;
  /**
   * Which services a member's events concern: loads what is needed once per event, then answers
   * per client id. Absent: every service hears of every member.
   */
  audienceOf?(
    userId: string,
    alsoResources?: readonly string[],
  ): Promise<(clientId: string) => Promise<boolean>>;
  /** Heartbeat interval; proxies and the SDK drop a silent connection. Default 15 s. */
  heartbeatMs?: number;
  /** Open streams per client id (a process has one; a few for restarts overlap). Default 20. */
  maxStreamsPerClient?: number;
  /** Bytes queued for one slow reader before it is disconnected. Default 1 MiB. */
  maxBufferedBytes?: number;
}

/** What services receive, one JSON object per `data:` line. */
export type ServiceEvent =
  | { type: 'recheck'; sub: string }
  | { type: 'recheck-all' }
  | { type: 'keys' };

export function toServiceEvents(event: GatehouseEvent): ServiceEvent[] {
  switch (event.type) {
    case 'sessions.revoked':
    case 'user.changed':
    case 'apitokens.revoked':
    // Sent again once the member's OIDC grants are revoked, so a service that re-checked in
    // between (and still saw its tokens active) checks once more.
    case 'oidc.session_ended':
    case 'oidc.grants_revoked':
      return [{ type: 'recheck', sub: event.userId }];
    case 'access.changed':
      return event.userIds === '*'
        ? [{ type: 'recheck-all' }]
        : event.userIds.map((sub) => ({ type: 'recheck', sub }) as const);
    case 'keys.rotated':
      return [{ type: 'keys' }];
    default:
      return [];
  }
}

export const EVENTS_OPENAPI_PATHS = {
  '/api/v1/events': {
    get: {
      summary: 'Revocation events for services (server-sent events)',
      description:
        'One long-lived text/event-stream per service process. Each `data:` line is JSON: {"type":"recheck","sub":"<user id>"}, {"type":"recheck-all"} or {"type":"keys"}; `: ping` comments every 15 s.',
      security: [{ clientBasic: [] }],
      responses: {
        200: { description: 'The stream', content: { 'text/event-stream': {} } },
        401: {
          description: 'Missing or wrong client credentials',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        429: {
          description: 'Too many open streams for this client',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  },
};

export async function eventsApi(app: FastifyInstance, opts: EventsApiOptions) {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxStreams = opts.maxStreamsPerClient ?? 20;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  /** Open streams by client id: each stream's writer. */
  const streams = new Map<string, Set<(text: string) => void>>();
  const closers = new Set<() => void>();

  async function deliver(event: GatehouseEvent) {
    const out = toServiceEvents(event);
    if (out.length === 0 || streams.size === 0) return;
    // An event about one client (its grants were just revoked, so they no longer show the
    // member as its own) always reaches that client.
    const about = 'clientId' in event ? event.clientId : null;
    for (const message of out) {
      const text = `data: ${JSON.stringify(message)}\n\n`;
      let concerns: ((clientId: string) => Promise<boolean>) | null = null;
      if (message.type === 'recheck' && opts.audienceOf) {
        const resources = 'resources' in event ? (event.resources ?? []) : [];
        concerns = await opts.audienceOf(message.sub, resources).catch(() => null);
      }
      for (const [clientId, writers] of streams) {
        if (concerns && clientId !== about && !(await concerns(clientId).catch(() => true)))
          continue;
        for (const write of writers) write(text);
      }
    }
  }
  // One subscription for every stream; events are delivered in the order they came.
  let delivering = Promise.resolve();
  const unsubscribe = opts.events.on((event) => {
    delivering = delivering.then(() => deliver(event)).catch(() => {});
  });
  // This instance may have missed events while its channel was down: every service re-checks
  // everything it holds, as after its own reconnection.
  const unsubscribeGap = opts.events.onGap?.(() => {
    delivering = delivering
      .then(() => deliver({ type: 'access.changed', userIds: '*' }))
      .catch(() => {});
  });
  app.addHook('onClose', async () => {
    unsubscribe();
    unsubscribeGap?.();
  });

  // Ends every stream before the server closes, so shutdown does not wait on them.
  app.addHook('preClose', async () => {
    for (const close of [...closers]) close();
  });

  app.get('/api/v1/events', async (request, reply) => {
    const service = await opts.authenticateService(request);
    if (!service) {
      reply.header('www-authenticate', 'Basic realm="gatehouse", charset="UTF-8"');
      throw new HttpError('UNAUTHENTICATED', {
        message: 'Authenticate with the service’s client id and secret (HTTP Basic).',
      });
    }
    let writers = streams.get(service.clientId);
    if ((writers?.size ?? 0) >= maxStreams) {
      throw new HttpError('RATE_LIMITED', {
        message: 'Too many open event streams for this client; close some first.',
        retryAfterSeconds: 5,
      });
    }

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n: connected\n\n');

    let closed = false;
    const send = (text: string) => {
      if (closed) return;
      if (res.writableLength > maxBuffered) {
        // Too slow to keep up: drop it; the SDK reconnects and re-checks all its leases.
        close();
        return;
      }
      res.write(text);
    };
    if (!writers) {
      writers = new Set();
      streams.set(service.clientId, writers);
    }
    writers.add(send);
    const heartbeat = setInterval(() => send(': ping\n\n'), heartbeatMs);
    heartbeat.unref();

    function close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      closers.delete(close);
      writers!.delete(send);
      if (writers!.size === 0 && streams.get(service!.clientId) === writers)
        streams.delete(service!.clientId);
      res.end();
      res.destroy();
    }
    closers.add(close);
    res.on('close', close);
    res.on('error', close);
    request.raw.socket.on('close', close);
  });
}
