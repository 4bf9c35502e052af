// What the provider asks of the rest of Gatehouse while it answers a request. The subsystem
// (oidc.ts) fills these from the domain services; `OidcSurface` is the part only the HTTP
// layer can give (its pages, its session cookie, its failure answer), handed over when it
// starts the provider.

import type { IncomingMessage, ServerResponse } from 'node:http';

/** The Gatehouse session behind a request: the provider only needs these. */
export interface SessionRef {
  id: string;
  userId: string;
  createdAt: number;
}

/** Pages the provider renders itself, in Gatehouse's look. */
export interface ProviderPages {
  error(out: { error?: string; error_description?: string }): string;
  logout(form: string, clientName: string | null): string;
  /** After RP-initiated logout; `stillSignedIn`: the browser's Gatehouse session lives on. */
  loggedOut(clientName: string | null, stillSignedIn: boolean): string;
  deviceInput(form: string, error: string | null): string;
  deviceConfirm(form: string, clientName: string, userCode: string): string;
  deviceDone(clientName: string): string;
  /** A store is down: the try-again page, and the sentence said in JSON answers. */
  storeUnavailable(): { page: string; message: string };
}

/**
 * Wrong device user codes, counted per client address (device-codes.ts; the HTTP layer admits
 * each request with its address): the wait in seconds when it refused the request (its code
 * was not looked up), and a note that a submitted code was not found.
 */
export interface UserCodeChecks {
  refusal(req: IncomingMessage): number | null;
  missed(req: IncomingMessage): Promise<void>;
}

/** What the HTTP layer gives the provider when it mounts it. */
export interface OidcSurface {
  pages: ProviderPages;
  /** The session token a Cookie header carries (the session cookie's value), if any. */
  sessionToken(cookieHeader: string | undefined): string | undefined;
  /** A raw request that failed before the provider could answer: a 500 or 503 in JSON. */
  failed(res: ServerResponse, err: unknown): void;
}

export interface OidcHooks {
  /** The member's effective group paths (the access-groups subsystem fills this). */
  groupsOf(userId: string): Promise<string[]>;
  /** The member's permission strings. */
  permissionsOf(userId: string): Promise<string[]>;
  /** Whether the member passes a client's access rule (null rule: every member). */
  mayUse(userId: string, rule: string | null): Promise<boolean>;
  /** A client introspected another client's token of this member (for the event stream). */
  introspected?(clientId: string, accountId: string): Promise<void>;
  /** The Gatehouse session behind a request, from its cookie. */
  sessionOf(cookieHeader: string | undefined): Promise<SessionRef | null>;
  /** A Gatehouse session now stands behind a provider session (for back-channel logout). */
  linked?(sessionId: string, providerSessionUid: string): Promise<void>;
  userCodes: UserCodeChecks;
  pages: ProviderPages;
}
