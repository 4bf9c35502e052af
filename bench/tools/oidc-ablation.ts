// Token endpoint ablation: the bare oidc-provider, then the same with Gatehouse's features,
// then that mounted in Fastify, then Gatehouse itself (embedded), each loaded with the same
// client_credentials request, twice in alternation. Prints req/s and server CPU µs per request.
//   node bench/tools/oidc-ablation.ts

import { fileURLToPath } from 'node:url';
import { generateSecretToken } from '../../packages/server/src/crypto/secret-tokens.ts';
import { startGatehouse } from '../lib/gatehouse.ts';
import { waitForReady } from '../lib/http.ts';
import { load } from '../lib/load.ts';
import { cpuSecondsOf } from '../lib/memory.ts';
import { cleanUp, freePort, installExitHandlers, startProcess } from '../lib/process.ts';
import { readSettings } from '../lib/settings.ts';

installExitHandlers();
const { id, token } = generateSecretToken('cs');
const basic = Buffer.from(`${id}:${token}`).toString('base64');
const seconds = Number(process.env.BENCH_DURATION ?? 8);

const variants = [
  { name: 'bare oidc-provider', script: 'oidc-provider.ts', variant: '', path: '/token' },
  {
    name: '+ Gatehouse features',
    script: 'oidc-provider-variants.ts',
    variant: 'features',
    path: '/oidc/token',
  },
  {
    name: '+ mounted in Fastify',
    script: 'oidc-provider-variants.ts',
    variant: 'fastify',
    path: '/oidc/token',
  },
  { name: 'Gatehouse (embedded)', script: '', variant: '', path: '/oidc/token' },
];
const CREATE_CLIENT = fileURLToPath(new URL('./create-oidc-client.ts', import.meta.url));

/** Gatehouse embedded with one client_credentials client (its own id and secret). */
async function gatehouse() {
  let auth = '';
  const gh = await startGatehouse({
    mode: 'embedded',
    settings: readSettings(),
    beforeStart: async (cli) => {
      const { stdout } = await cli.script(CREATE_CLIENT, [
        JSON.stringify({ name: 'ablation', grantTypes: ['client_credentials'] }),
      ]);
      const c = JSON.parse(stdout) as { client_id: string; client_secret: string };
      auth = Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
    },
  });
  return { base: gh.baseUrl, pid: gh.pid, auth, stop: () => gh.stop() };
}

for (const round of [1, 2]) {
  for (const v of variants) {
    const server = v.script ? await reference(v) : await gatehouse();
    let cpu0 = 0;
    const result = await load(server.base + v.path, {
      connections: 50,
      durationSeconds: seconds,
      warmupSeconds: 2,
      method: 'POST',
      headers: {
        authorization: `Basic ${server.auth}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
      onMeasureStart: () => {
        cpu0 = cpuSecondsOf(server.pid);
      },
    });
    const us = ((cpuSecondsOf(server.pid) - cpu0) / result.totalRequests) * 1e6;
    console.log(
      `round ${round}  ${v.name.padEnd(22)} ${String(Math.round(result.requestsPerSecond)).padStart(6)} req/s  ${us.toFixed(1).padStart(6)} µs CPU/req  non-200 ${result.unexpected}`,
    );
    await server.stop();
  }
}
await cleanUp();

async function reference(v: (typeof variants)[number]) {
  const port = await freePort();
  const proc = startProcess(
    process.execPath,
    [fileURLToPath(new URL(`../servers/${v.script}`, import.meta.url))],
    {
      name: v.name,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        CLIENT_ID: id,
        CLIENT_SECRET: token,
        VARIANT: v.variant,
      },
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitForReady(proc, `${base}/.well-known/openid-configuration`, {
    intervalMs: 20,
    timeoutMs: 30_000,
  });
  return { base, pid: proc.pid, auth: basic, stop: () => proc.stop() };
}
