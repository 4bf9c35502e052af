// Requests answered straight from node:http, before Fastify's routing, hooks and reply objects:
// the machine-to-machine endpoints that are called far more often than any page (forward auth
// on every proxied request, the OIDC token endpoint, userinfo, discovery and the JWKS). They
// need no session hook, no CSRF, no body parser of Fastify's; what they do need (security
// headers, the client's address, the request log line) they take from the same functions the
// Fastify side uses. The same handlers are registered as Fastify routes too, so `inject()` and
// anything the fast path does not recognise (another method, an encoded path, a trailing
// slash) get the same answer the slow way.

import {
  createServer,
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type {
  FastifyBaseLogger,
  FastifyReply,
  FastifyRequest,
  FastifyServerFactory,
} from 'fastify';
import type { Logger } from 'pino';
import { maskSecrets } from '../config/logger.ts';
import { isStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../store/unavailable.ts';
import { type ProxyTrust, rawClientAddress } from './client-address.ts';
import { HTTP_ERRORS } from './errors.ts';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** The fields of the one log line written per request at info level. */
export function requestLogLine(
  method: string | undefined,
  url: string,
  status: number,
  ms: number,
  ip: string,
) {
  return { method, url: maskSecrets(url), status, ms: Math.round(ms * 10) / 10, ip };
}

/**
 * A failure, answered as Fastify's error handler answers JSON: a store that is down is a 503
 * with Retry-After (logged in one line); anything else is a bug, logged with its stack, a 500.
 */
export function answerFailure(res: ServerResponse, err: unknown, log: FailureLog) {
  const down = isStoreUnavailable(err);
  if (down && 'warn' in log) log.warn({ reason: (err as Error).message }, 'store unavailable');
  else log.error({ err }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const code = down ? 'STORE_UNAVAILABLE' : 'INTERNAL';
  const body = JSON.stringify({ error: { code, message: HTTP_ERRORS[code].message } });
  res.writeHead(HTTP_ERRORS[code].status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...(down ? { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) } : {}),
  });
  res.end(body);
}

type FailureLog = Pick<Logger, 'error'> | Pick<Logger, 'error' | 'warn'> | FastifyBaseLogger;

/** Runs a raw handler; whatever it throws or rejects with becomes answerFailure's 500. */
function runRaw(handler: RawHandler, req: IncomingMessage, res: ServerResponse, log: FailureLog) {
  try {
    const done = handler(req, res);
    if (done) done.catch((err: unknown) => answerFailure(res, err, log));
  } catch (err) {
    answerFailure(res, err, log);
  }
}

/**
 * The same raw handler as a Fastify route (for inject() and the URLs the fast path leaves to
 * Fastify): the reply is hijacked, so the answer is the handler's alone, whichever way it came.
 */
export function rawRoute(handler: RawHandler) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    runRaw(handler, request.raw, reply.raw, request.log);
  };
}

export interface FastPath {
  /** Answers `path` (exact, without the query) for the given methods, or for all when omitted. */
  add(path: string, handler: RawHandler, methods?: readonly string[]): void;
  /** Fastify's `serverFactory`: a node:http server that tries the fast path first. */
  serverFactory: FastifyServerFactory;
  /** From now on everything goes through Fastify, which answers 503 while closing. */
  close(): void;
  /** How many requests the fast path has taken (tests check that it is in use). */
  readonly answered: number;
}

export function createFastPath(opts: {
  /** The per-request log line's logger, or null when info is off. */
  logger: Logger | null;
  errorLogger: Logger;
  trust: ProxyTrust;
}): FastPath {
  const { logger, trust } = opts;
  const routes = new Map<string, { handler: RawHandler; methods: Set<string> | null }>();
  let closing = false;
  let answered = 0;

  function find(req: IncomingMessage): RawHandler | undefined {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const route = routes.get(q === -1 ? url : url.slice(0, q));
    if (!route || (route.methods && !route.methods.has(req.method ?? ''))) return undefined;
    return route.handler;
  }

  function logWhenDone(req: IncomingMessage, res: ServerResponse, log: Logger) {
    const start = performance.now();
    // Read now: by the time the answer is written the client may have closed the socket.
    const ip = rawClientAddress(req, trust);
    res.once('finish', () => {
      log.info(
        requestLogLine(req.method, req.url ?? '', res.statusCode, performance.now() - start, ip),
        'request',
      );
    });
  }

  return {
    add(path, handler, methods) {
      routes.set(path, { handler, methods: methods ? new Set(methods) : null });
    },
    serverFactory(fastify, options) {
      const server = createServer((options.http ?? {}) as ServerOptions, (req, res) => {
        const handler = closing ? undefined : find(req);
        if (!handler) return fastify(req, res);
        answered++;
        if (logger) logWhenDone(req, res, logger);
        runRaw(handler, req, res, logger ?? opts.errorLogger);
      });
      // What Fastify sets on the servers it creates itself (its defaults are filled in by now).
      server.keepAliveTimeout = options.keepAliveTimeout as number;
      server.requestTimeout = options.requestTimeout as number;
      server.setTimeout(options.connectionTimeout as number);
      return server;
    },
    close() {
      closing = true;
    },
    get answered() {
      return answered;
    },
  };
}
