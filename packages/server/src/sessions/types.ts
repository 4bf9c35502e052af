// What a session is, as the rest of Gatehouse sees it and as the sessions subsystem keeps it.

export interface SessionConfig {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
}

export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
}

export interface SessionListing {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** As kept in the shared store (JSON). */
export interface Cached extends Session {
  readonly secretHash: string;
}

/** As kept in process: the hash decoded once, not on every check. */
export interface Local extends Cached {
  readonly hashBytes: Buffer;
  /** When it was read from the shared store or the database. */
  readonly readAt: number;
}

/**
 * A cookie value already checked against a session's stored hash: which session, and the hash
 * it matched. Keyed by the SHA-256 of the whole cookie value, so the memo never holds the
 * secret or anything that could be presented instead of it.
 */
export interface Verified {
  readonly id: string;
  readonly secretHash: string;
}
