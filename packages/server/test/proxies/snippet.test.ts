// The NGINX and Caddy snippets in the operators' guide are the files the proxy tests run.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { CADDY_SNIPPET } from './caddy.ts';
import { NGINX_SNIPPET } from './nginx.ts';

const guide = () =>
  readFileSync(
    fileURLToPath(new URL('../../../../docs/operators/proxies.md', import.meta.url)),
    'utf8',
  );

it('shows the tested Caddy snippet, unchanged, in docs/operators/proxies.md', () => {
  const snippet = readFileSync(CADDY_SNIPPET, 'utf8').trim();
  const blocks = [...guide().matchAll(/```caddyfile\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  expect(blocks).toContain(snippet);
});

it('shows the tested NGINX snippet, unchanged, in docs/operators/proxies.md', () => {
  const snippet = readFileSync(NGINX_SNIPPET, 'utf8').trim();
  const blocks = [...guide().matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  expect(blocks).toContain(snippet);
});
