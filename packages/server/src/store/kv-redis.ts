// The key-value store shared by many instances: Redis, through one command connection and,
// once something subscribes, one subscriber connection that fans messages out in-process.
//
// During an outage every command fails at once, or after the command timeout when Redis does
// not answer (nothing is queued for a reconnect that may never come), with StoreUnavailableError, and a subscription that was lost
// and restored reports the gap to its subscriber, who may have missed messages meanwhile.

import { Redis } from 'ioredis';
import { type Kv, normaliseTtl, type Unsubscribe, warnUnhandledKvError } from './kv.ts';
import { StoreUnavailableError } from './unavailable.ts';

export interface RedisKvOptions {
  /** `redis://` or `rediss://`, with credentials and database number if needed. */
  url: string;
  /** Namespaces keys and channels, so deployments and test files can share one Redis. */
  prefix?: string;
  /** How long the first connection may take before the factory gives up. */
  connectTimeoutMs?: number;
  /** How long one command may take before it fails as unavailable. */
  commandTimeoutMs?: number;
  /**
   * Receives errors no caller can be given: a subscriber's handler that throws, or the
   * connection dropping (reported once per outage; commands meanwhile reject on their own).
   */
  onError?: (error: unknown) => void;
}

const DEFAULT_PREFIX = 'gatehouse:';
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
// A request makes a few store calls in sequence; one second each keeps its answer, even in an
// outage, well under the two seconds a proxy or a person waits. A healthy Redis answers in
// well under a millisecond.
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;

interface Subscription {
  handler: (message: string) => void;
  onLost?: () => void;
  onGap?: () => void;
}

interface Channel {
  subscriptions: Set<Subscription>;
  /** Settles when Redis has acknowledged SUBSCRIBE; later subscribers wait on it too. */
  ready: Promise<unknown>;
}

export async function createRedisKv(options: RedisKvOptions): Promise<Kv> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const onError = options.onError ?? warnUnhandledKvError;
  const command = await openConnection(options, onError);
  const where = describeUrl(options.url);
  const channels = new Map<string, Channel>();
  let subscriber: Promise<Redis> | null = null;
  let closing: Promise<void> | null = null;

  function live(): void {
    if (closing !== null) throw new Error('the key-value store is closed');
  }

  function dispatch(channel: string, message: string): void {
    const entry = channels.get(channel);
    if (entry === undefined) return;
    // A copy, so a handler that unsubscribes itself does not skip its neighbour.
    for (const subscription of [...entry.subscriptions]) {
      // A throw here would unwind into ioredis's reply parser and break the connection.
      try {
        subscription.handler(message);
      } catch (error) {
        onError(error);
      }
    }
  }

  /** Runs a command; an outage (not a refusal such as INCR on text) becomes StoreUnavailableError. */
  async function call<T>(run: () => Promise<T>): Promise<T> {
    live();
    try {
      return await run();
    } catch (error) {
      if (error instanceof Error && error.name === 'ReplyError') throw error;
      throw new StoreUnavailableError(
        'store',
        `Redis at ${where} did not answer: ${reason(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Tells every subscriber, once per outage, that messages are not being heard. */
  let lost = false;
  function subscriptionLost(): void {
    if (lost || closing !== null) return;
    lost = true;
    for (const entry of channels.values()) {
      for (const subscription of [...entry.subscriptions]) {
        try {
          subscription.onLost?.();
        } catch (error) {
          onError(error);
        }
      }
    }
  }

  /**
   * Subscribes again after a reconnect (ioredis's own resubscription is off: it cannot say
   * when it is done), then tells every subscriber about the gap. In that order: whatever a
   * subscriber reloads after the gap was written before any message it will now receive.
   */
  function resubscribe(connection: Redis): void {
    const names = [...channels.keys()];
    if (names.length === 0 || closing !== null) return;
    connection.subscribe(...names).then(
      () => {
        lost = false;
        for (const name of names) {
          for (const subscription of [...(channels.get(name)?.subscriptions ?? [])]) {
            try {
              subscription.onGap?.();
            } catch (error) {
              onError(error);
            }
          }
        }
      },
      (error: unknown) => {
        onError(error);
        // Dropped again: the next 'ready' tries again. Still up (SUBSCRIBE timed out): retry.
        if (connection.status === 'ready') setTimeout(() => resubscribe(connection), 1_000).unref();
      },
    );
  }

  function subscriberConnection(): Promise<Redis> {
    if (subscriber === null) {
      subscriber = openConnection(options, onError, { subscriber: true }).then((connection) => {
        connection.on('message', dispatch);
        // 'ready' after the first connection: a reconnect after an outage.
        connection.on('ready', () => resubscribe(connection));
        connection.on('close', subscriptionLost);
        return connection;
      });
      // A failed first attempt must not poison every later subscribe.
      subscriber.catch(() => {
        subscriber = null;
      });
    }
    return subscriber;
  }

  return {
    get(key) {
      return call(() => command.get(prefix + key));
    },

    async set(key, value, ttlMs) {
      const ttl = ttlMs === undefined ? undefined : normaliseTtl(ttlMs);
      await call(() =>
        ttl === undefined
          ? command.set(prefix + key, value)
          : command.set(prefix + key, value, 'PX', ttl),
      );
    },

    async setIfAbsent(key, value, ttlMs) {
      const ttl = normaliseTtl(ttlMs);
      const reply = await call(() => command.set(prefix + key, value, 'PX', ttl, 'NX'));
      return reply === 'OK';
    },

    async setIfPresent(key, value, ttlMs) {
      const ttl = normaliseTtl(ttlMs);
      // XX: only an existing key is replaced, atomically, so a key deleted meanwhile stays deleted.
      const reply = await call(() => command.set(prefix + key, value, 'PX', ttl, 'XX'));
      return reply === 'OK';
    },

    async del(...keys) {
      live();
      if (keys.length === 0) return;
      await call(() => command.del(...keys.map((key) => prefix + key)));
    },

    async incr(key, ttlMs) {
      const ttl = normaliseTtl(ttlMs);
      // SET NX creates the counter with its window only if absent; INCR never touches the
      // TTL. MULTI makes the pair atomic, so no counter is ever left without an expiry.
      const replies = await call(() =>
        command
          .multi()
          .set(prefix + key, '0', 'PX', ttl, 'NX')
          .incr(prefix + key)
          .exec(),
      );
      if (replies === null) throw new Error(`incr of ${JSON.stringify(key)} was aborted`);
      for (const [error] of replies) if (error) throw error;
      return Number(replies[1]?.[1]);
    },

    async ttl(key) {
      const ms = await call(() => command.pttl(prefix + key));
      // -2: no such key; -1: a key without expiry.
      return ms < 0 ? null : ms;
    },

    async publish(channel, message) {
      await call(() => command.publish(prefix + channel, message));
    },

    async subscribe(channel, handler, options): Promise<Unsubscribe> {
      live();
      const connection = await subscriberConnection();
      const name = prefix + channel;
      let entry = channels.get(name);
      if (entry === undefined) {
        entry = { subscriptions: new Set(), ready: call(() => connection.subscribe(name)) };
        channels.set(name, entry);
      }
      const own = entry;
      const subscription: Subscription = {
        handler,
        onLost: options?.onLost,
        onGap: options?.onGap,
      };
      own.subscriptions.add(subscription);
      try {
        await own.ready;
      } catch (error) {
        own.subscriptions.delete(subscription);
        if (channels.get(name) === own) channels.delete(name);
        throw error;
      }
      return async () => {
        if (!own.subscriptions.delete(subscription)) return;
        if (own.subscriptions.size > 0 || channels.get(name) !== own) return;
        channels.delete(name);
        // Commands on one connection run in order, so a SUBSCRIBE sent after this one
        // (someone resubscribing) still wins.
        if (closing === null) await connection.unsubscribe(name);
      };
    },

    async ping() {
      if (closing !== null || command.status !== 'ready') return false;
      try {
        return (await command.ping()) === 'PONG';
      } catch {
        return false;
      }
    },

    close() {
      if (closing === null) {
        const pending = subscriber;
        closing = (async () => {
          channels.clear();
          const connections = [command];
          if (pending !== null) {
            const connection = await pending.catch(() => null);
            if (connection !== null) connections.push(connection);
          }
          await Promise.all(connections.map(shutDown));
        })();
      }
      return closing;
    },
  };
}

/**
 * Deletes every key that starts with the prefix: how tests leave a shared Redis as they
 * found it. Refuses an empty prefix, which would mean every key in the database.
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  if (prefix === '') throw new Error('refusing to delete every key: the prefix is empty');
  const connection = await openConnection({ url }, () => {});
  try {
    const pattern = `${escapeGlob(prefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await connection.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await connection.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await shutDown(connection);
  }
}

/**
 * Connects, or rejects with a message naming the server (never its password). Without
 * this, ioredis would retry forever and a misconfigured URL would hang start-up silently.
 */
async function openConnection(
  options: Pick<RedisKvOptions, 'url' | 'connectTimeoutMs' | 'commandTimeoutMs'>,
  onError: (error: unknown) => void,
  role: { subscriber?: boolean } = {},
): Promise<Redis> {
  const where = describeUrl(options.url);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const connection = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // An outage fails commands at once instead of queueing them for a reconnect: a request
    // that waits for Redis to come back is worse than a quick 503. A command sent just
    // before the connection dropped is not retried either; its caller gets the error.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A Redis that accepts the connection but does not answer (paused, swapping, a half-open
    // socket) is bounded too.
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    // The subscriber connection resubscribes itself, to know when it is done (see resubscribe).
    autoResubscribe: !role.subscriber,
    // Commands issued in the same tick share one write: cheaper per command under load.
    enableAutoPipelining: true,
  });

  let lastError: unknown = null;
  let connected = false;
  let reportedOutage = false;
  // Also stops ioredis printing "Unhandled error event" for every reconnect attempt.
  connection.on('error', (error: unknown) => {
    lastError = error;
    if (!connected || reportedOutage) return;
    reportedOutage = true;
    onError(
      new Error(`lost the connection to Redis at ${where}: ${reason(error)}`, { cause: error }),
    );
  });
  connection.on('ready', () => {
    reportedOutage = false;
  });

  let timer: NodeJS.Timeout | undefined;
  try {
    // The socket's connect timeout does not cover a server that accepts the connection but
    // never completes the handshake (a wrong port, a stuck AUTH), so bound the whole of it.
    await Promise.race([
      connection.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    connection.disconnect();
    const cause = lastError ?? error;
    throw new Error(`cannot reach Redis at ${where}: ${reason(cause)}`, { cause });
  } finally {
    clearTimeout(timer);
  }
  connected = true;
  return connection;
}

async function shutDown(connection: Redis): Promise<void> {
  try {
    await connection.quit();
  } catch {
    // Already down or mid-reconnect: nothing to say goodbye to, so just stop retrying.
    connection.disconnect();
  }
}

/** The URL as it is safe to log: scheme, user, host, port and database, no password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username === '' ? '' : `${parsed.username}@`;
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return '(an unparseable URL)';
  }
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : error.message;
  }
  return String(error);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
