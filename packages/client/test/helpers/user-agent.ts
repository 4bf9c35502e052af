// A browser stand-in for sign-in tests: a cookie jar per host (ports share cookies, as in
// browsers), redirects followed by hand, and HTML forms submitted with chosen values. It speaks
// node:http rather than fetch, because fetch forces `Sec-Fetch-Mode: cors` and a browser
// navigation says `navigate`.

import { request } from 'node:http';

interface RawResponse {
  status: number;
  headers: Headers;
  text(): Promise<string>;
}

/** One HTTP exchange over node:http, headers as sent (no fetch metadata rewriting). */
export function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          for (const one of Array.isArray(v) ? v : [v ?? '']) headers.append(k, one);
        }
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers, text: async () => body });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

export interface Page {
  url: string;
  status: number;
  body: string;
  headers: Headers;
}

export class UserAgent {
  readonly jar = new Map<string, Map<string, string>>();

  cookieHeader(url: string): string {
    const cookies = this.jar.get(new URL(url).hostname) ?? new Map();
    return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  cookie(url: string, name: string): string | undefined {
    return this.jar.get(new URL(url).hostname)?.get(name);
  }

  private store(url: string, res: RawResponse) {
    const host = new URL(url).hostname;
    let cookies = this.jar.get(host);
    if (!cookies) {
      cookies = new Map();
      this.jar.set(host, cookies);
    }
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const maxAge = attrs.find((a) => a.trim().toLowerCase().startsWith('max-age='));
      const expired = value === '' || (maxAge !== undefined && Number(maxAge.split('=')[1]) <= 0);
      if (expired) cookies.delete(name);
      else cookies.set(name, value);
    }
  }

  /** Requests a URL as a browser navigation and follows redirects. */
  async navigate(
    url: string,
    init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    let current = url;
    let method = init.method ?? 'GET';
    let body: URLSearchParams | undefined = init.body;
    for (let hops = 0; hops < 20; hops++) {
      const res = await rawRequest(current, {
        method,
        body: body?.toString(),
        headers: {
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          accept: 'text/html',
          'sec-fetch-mode': 'navigate',
          cookie: this.cookieHeader(current),
          ...init.headers,
        },
      });
      this.store(current, res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        current = new URL(location, current).href;
        if (res.status !== 307 && res.status !== 308) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { url: current, status: res.status, body: await res.text(), headers: res.headers };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submits the first form on the page, its hidden fields plus `fields`. */
  async submit(page: Page, fields: Record<string, string> = {}): Promise<Page> {
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(page.body);
    if (!form) throw new Error(`no form on ${page.url}: ${page.body.slice(0, 300)}`);
    const params = new URLSearchParams();
    for (const input of form[2]!.matchAll(/<input([^>]*)>/gi)) {
      const name = /name="([^"]*)"/.exec(input[1]!)?.[1];
      const value = /value="([^"]*)"/.exec(input[1]!)?.[1] ?? '';
      if (name) params.set(name, value);
    }
    for (const [k, v] of Object.entries(fields)) params.set(k, v);
    const action = new URL(form[1]!.replace(/&amp;/g, '&'), page.url).href;
    return this.navigate(action, { method: 'POST', body: params });
  }

  /** Signs in at the stand-in (dev interactions: login form, then consent). */
  async signInAtStandIn(startUrl: string, login: string): Promise<Page> {
    let page = await this.navigate(startUrl);
    for (
      let step = 0;
      step < 4 && /<form/i.test(page.body) && page.url.includes('/interaction/');
      step++
    ) {
      page = await this.submit(
        page,
        /name="login"/.test(page.body) ? { login, password: 'x' } : {},
      );
    }
    return page;
  }
}
