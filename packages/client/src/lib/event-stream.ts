// The SDK end of Gatehouse's revocation events: one long-lived server-sent-events connection to
// `<issuer>/api/v1/events`, authenticated with the service's client credentials. It reconnects
// with exponential back-off and full jitter, treats a silent connection (no data, no `: ping`)
// as dead, and reports every (re)connection so the caller re-checks leases it held while blind.

import type { FetchLike } from './discovery.ts';

/**
 * An event Gatehouse pushes to services over `GET /api/v1/events`.
 *
 * @example
 * ```ts
 * const event: RevocationEvent = { type: 'recheck', sub: '6f1c8a52-…' };
 * ```
 */
export type RevocationEvent =
  | { type: 'recheck'; sub: string }
  /** Access changed for many members at once (a group moved, a role changed): re-check every lease. */
  | { type: 'recheck-all' }
  | { type: 'keys' };

export interface EventStreamOptions {
  url: string | (() => Promise<string>);
  authorization: string;
  fetch: FetchLike;
  onEvent: (event: RevocationEvent) => void;
  /** Called on every successful (re)connection: events may have been missed before it. */
  onConnected: () => void;
  onError?: (err: unknown) => void;
  /** First retry delay; doubles per failure up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** No byte for this long means the connection is dead (the server pings more often). */
  idleTimeoutMs?: number;
  random?: () => number;
}

export interface EventStream {
  /** True while a connection is open and answering. */
  readonly connected: boolean;
  /** Resolves once the first connection is open (or rejects when closed first). */
  ready(): Promise<void>;
  close(): void;
}

export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  // "Equal jitter": never less than half the ceiling, so retries do not hammer, and spread out.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function openEventStream(options: EventStreamOptions): EventStream {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  const idle = options.idleTimeoutMs ?? 45_000;
  const random = options.random ?? Math.random;
  let closed = false;
  let connected = false;
  let attempt = 0;
  let controller: AbortController | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let readyResolve: () => void = () => {};
  let readyReject: (err: unknown) => void = () => {};
  const readyPromise = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  readyPromise.catch(() => {});

  async function connectOnce(): Promise<void> {
    controller = new AbortController();
    const signal = controller.signal;
    let idleTimer: ReturnType<typeof setTimeout> | null = null;
    const touch = () => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => controller?.abort(new Error('event stream went silent')), idle);
      idleTimer.unref?.();
    };
    try {
      touch();
      const url = typeof options.url === 'string' ? options.url : await options.url();
      const res = await options.fetch(url, {
        headers: {
          accept: 'text/event-stream',
          authorization: options.authorization,
          'cache-control': 'no-cache',
        },
        signal,
      });
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`${url} answered ${res.status}`);
      }
      connected = true;
      attempt = 0;
      options.onConnected();
      readyResolve();
      const decoder = new TextDecoder();
      let buffer = '';
      let data: string[] = [];
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        buffer += decoder.decode(chunk, { stream: true });
        let nl = buffer.search(/\r\n|\r|\n/);
        while (nl !== -1) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
          if (line === '') {
            if (data.length) dispatch(data.join('\n'));
            data = [];
          } else if (line.startsWith('data:')) {
            data.push(line.slice(line[5] === ' ' ? 6 : 5));
          }
          // Comments (": ping"), `event:`, `id:` and `retry:` need nothing here.
          nl = buffer.search(/\r\n|\r|\n/);
        }
        // A hostile or broken server cannot make us buffer without bound.
        if (buffer.length > 64 * 1024) throw new Error('event stream line too long');
      }
      throw new Error('event stream ended');
    } finally {
      if (idleTimer) clearTimeout(idleTimer);
      connected = false;
    }
  }

  function dispatch(text: string) {
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    const e = event as { type?: unknown; sub?: unknown };
    if (e && e.type === 'recheck' && typeof e.sub === 'string') {
      options.onEvent({ type: 'recheck', sub: e.sub });
    } else if (e && e.type === 'keys') {
      options.onEvent({ type: 'keys' });
    } else if (e && e.type === 'recheck-all') {
      options.onEvent({ type: 'recheck-all' });
    }
  }

  function loop() {
    if (closed) return;
    connectOnce().catch((err) => {
      if (closed) return;
      options.onError?.(err);
      const delay = backoffDelay(attempt++, initial, max, random);
      retryTimer = setTimeout(loop, delay);
      retryTimer.unref?.();
    });
  }

  loop();

  return {
    get connected() {
      return connected;
    },
    ready: () => readyPromise,
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      controller?.abort();
      readyReject(new Error('event stream closed'));
    },
  };
}
