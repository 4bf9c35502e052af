// A cookie-keeping client over app.inject(), for page tests: it behaves like a browser that
// submits the forms it was shown (CSRF token included).

import type { FastifyInstance } from 'fastify';

type Response = Awaited<ReturnType<FastifyInstance['inject']>>;

export function createInjectClient(
  app: FastifyInstance,
  defaults: { ip?: string; headers?: Record<string, string> } = {},
) {
  const jar = new Map<string, string>();

  function store(res: Response) {
    for (const c of res.cookies as Array<{
      name: string;
      value: string;
      maxAge?: number;
      expires?: Date;
    }>) {
      const gone =
        c.value === '' || c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.now());
      if (gone) jar.delete(c.name);
      else jar.set(c.name, c.value);
    }
    return res;
  }

  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

  const client = {
    jar,
    cookie(name: string) {
      return jar.get(name);
    },
    /** The CSRF token a rendered form would carry (from the csrf cookie). */
    csrf(): string {
      for (const [k, v] of jar) if (k.endsWith('gatehouse_csrf')) return v;
      return '';
    },
    async get(url: string, headers: Record<string, string> = {}) {
      return store(
        await app.inject({
          method: 'GET',
          url,
          remoteAddress: defaults.ip,
          headers: { accept: 'text/html', ...defaults.headers, cookie: cookieHeader(), ...headers },
        }),
      );
    },
    /** Posts a form; the CSRF token is added unless the caller sets _csrf itself. */
    async post(
      url: string,
      form: Record<string, string | string[]> = {},
      headers: Record<string, string> = {},
    ) {
      if (!client.csrf()) await client.get('/login');
      const body = new URLSearchParams();
      const fields = { _csrf: client.csrf(), ...form };
      for (const [k, v] of Object.entries(fields))
        for (const one of [v].flat()) body.append(k, one);
      return store(
        await app.inject({
          method: 'POST',
          url,
          remoteAddress: defaults.ip,
          headers: {
            accept: 'text/html',
            'content-type': 'application/x-www-form-urlencoded',
            ...defaults.headers,
            cookie: cookieHeader(),
            ...headers,
          },
          payload: body.toString(),
        }),
      );
    },
    async signIn(username: string, password: string) {
      return client.post('/login', { username, password });
    },
  };
  return client;
}
