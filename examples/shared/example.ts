// What the examples share: their options, the Gatehouse client they build, and their pages.
// Each example is then only the framework's own wiring.

import { createGatehouseClient, type GatehouseClient, type GatehouseUser } from 'gatehouse-client';

/** What every example's `start` takes. */
export interface ExampleOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  port: number;
  host?: string;
  /** Seals the service's session cookie; at least 32 characters. */
  sessionSecret?: string;
  /**
   * The resource indicator this service asks Gatehouse for (an absolute URL, usually the
   * service's own); its access tokens are then JWTs with this audience. Default: none (the
   * audience is the client id).
   */
  resource?: string;
  /** For tests: the fetch the client uses to reach Gatehouse. */
  fetch?: typeof fetch;
}

/** A running example. */
export interface RunningExample {
  url: string;
  gatehouse: GatehouseClient;
  close(): Promise<void>;
}

/** The group the workshop page needs, and the permissions of the API routes. */
export const WORKSHOP = 'members/workshop';
export const READ = 'upload:read';
export const WRITE = 'upload:write';

export function exampleClient(options: ExampleOptions): GatehouseClient {
  const base = `http://${options.host ?? '127.0.0.1'}:${options.port}`;
  return createGatehouseClient({
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.resource ? { audience: options.resource } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    session: {
      secret: options.sessionSecret ?? `${options.clientSecret}-example-session-secret-padding`,
      redirectUri: `${base}/auth/callback`,
      ...(options.resource ? { resource: options.resource } : {}),
    },
  });
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${escapeHtml(title)}</title><main>${body}</main></html>`;
}

export function homePage(user: GatehouseUser | null): string {
  return user
    ? page(
        'Home',
        `<h1>Hello, ${escapeHtml(user.name ?? user.username)}</h1>
        <form method="post" action="/auth/logout"><button>Sign out</button></form>`,
      )
    : page('Home', '<h1>Welcome</h1><p><a href="/auth/login">Sign in with Gatehouse</a></p>');
}

export function workshopPage(user: GatehouseUser): string {
  return page('Workshop', `<h1>Workshop</h1><p>Welcome, ${escapeHtml(user.username)}.</p>`);
}

export function envOptions(defaultPort: number): ExampleOptions {
  const env = process.env;
  return {
    issuer: env.GATEHOUSE_ISSUER ?? 'http://localhost:8000',
    clientId: env.CLIENT_ID ?? 'example',
    clientSecret: env.CLIENT_SECRET ?? '',
    port: Number(env.PORT ?? defaultPort),
    sessionSecret: env.SESSION_SECRET,
    resource: env.GATEHOUSE_RESOURCE,
  };
}
