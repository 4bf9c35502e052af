// The NGINX snippet in the operators' guide is the file the NGINX tests run.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { NGINX_SNIPPET } from './nginx.ts';

it('shows the tested NGINX snippet, unchanged, in docs/operators/proxies.md', () => {
  const guide = readFileSync(
    fileURLToPath(new URL('../../../../docs/operators/proxies.md', import.meta.url)),
    'utf8',
  );
  const snippet = readFileSync(NGINX_SNIPPET, 'utf8').trim();
  const blocks = [...guide.matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  expect(blocks).toContain(snippet);
});
