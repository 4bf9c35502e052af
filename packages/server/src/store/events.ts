// Revocation and invalidation events, carried by the shared store's pub/sub channel to every
// Gatehouse instance. The instance that makes a change also applies it to itself at once
// (the publish is asynchronous), so its own next request never sees stale state.

import type { Kv, Unsubscribe } from './kv.ts';

export type GatehouseEvent =
  /** `replacedBy`: the member signed in again in the same browser; that session carries on. */
  | { type: 'sessions.revoked'; userId: string; sessionIds: string[]; replacedBy?: string }
  | { type: 'user.changed'; userId: string }
  | { type: 'clients.changed'; clientId: string }
  | { type: 'keys.rotated' }
  /** A provider session ended and its grants were revoked (after sessions.revoked, once done). */
  | { type: 'oidc.session_ended'; userId: string }
  /** The member disconnected a service: their grants to it are revoked with its tokens. */
  | { type: 'oidc.grants_revoked'; userId: string; clientId: string; resources?: string[] }
  /** Memberships, groups or grants changed: decisions for these users ('*': everyone) are stale. */
  | { type: 'access.changed'; userIds: string[] | '*' }
  | { type: 'apitokens.revoked'; userId: string; tokenIds: string[] };

/** `local` is true on the instance that emitted the event: work to do once, not per instance. */
type Handler = (event: GatehouseEvent, local: boolean) => void;

export interface EventBus {
  /** Applies the event locally, then tells every other instance. */
  emit(event: GatehouseEvent): Promise<void>;
  on(handler: Handler): () => void;
  /**
   * Called when this instance may have missed events: the channel was lost (Redis restarted,
   * the network dropped) and is back. A cache that events keep fresh must be dropped then.
   */
  onGap(handler: () => void): () => void;
  /** False while the channel is down: caches cannot count on hearing of a change. */
  readonly listening: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const CHANNEL = 'events';

export function createEventBus(deps: { kv: Kv; onError?: (err: unknown) => void }): EventBus {
  const handlers = new Set<Handler>();
  const gapHandlers = new Set<() => void>();
  // Tags our own messages so the echo from the channel is not applied twice.
  const origin = crypto.randomUUID();
  let unsubscribe: Unsubscribe | null = null;
  let listening = true;

  function dispatch(event: GatehouseEvent, local: boolean) {
    for (const handler of handlers) {
      try {
        handler(event, local);
      } catch (err) {
        deps.onError?.(err);
      }
    }
  }

  return {
    async emit(event) {
      dispatch(event, true);
      await deps.kv.publish(CHANNEL, JSON.stringify({ origin, event }));
    },
    on(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    onGap(handler) {
      gapHandlers.add(handler);
      return () => gapHandlers.delete(handler);
    },
    get listening() {
      return listening;
    },
    async start() {
      const onGap = () => {
        listening = true;
        for (const handler of gapHandlers) {
          try {
            handler();
          } catch (err) {
            deps.onError?.(err);
          }
        }
      };
      unsubscribe = await deps.kv.subscribe(
        CHANNEL,
        (message) => {
          let parsed: { origin?: string; event?: GatehouseEvent };
          try {
            parsed = JSON.parse(message);
          } catch {
            return;
          }
          if (parsed.origin !== origin && parsed.event && typeof parsed.event.type === 'string') {
            dispatch(parsed.event, false);
          }
        },
        {
          onLost: () => {
            listening = false;
          },
          onGap,
        },
      );
    },
    async stop() {
      await unsubscribe?.();
      unsubscribe = null;
    },
  };
}
