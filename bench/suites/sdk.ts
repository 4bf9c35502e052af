// gatehouse-client in one process: `verify()` of a JWT access token against jose's `jwtVerify`
// with the same key, for tokens seen the first time (aim ≥ 0.9× jose) and seen again (aim ≥ 10×,
// answered from the bounded cache of verified tokens). The keys are served to the client by an
// injected fetch, so no socket is measured. The guarded-route half of the SDK benchmark is a
// deployment in run.ts (`fastify + gatehouse-client guard`, bench/servers/fastify-sdk.ts).

import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createGatehouseClient } from '../../packages/client/src/index.ts';

export interface SdkVerifyResult {
  tokens: number;
  rounds: number;
  /** Verifications per second, median of the rounds. */
  opsPerSecond: { jose: number; firstSeen: number; seenAgain: number };
  ratio: { firstSeen: number; seenAgain: number };
}

const ISSUER = 'https://gatehouse.bench.invalid';
const AUDIENCE = 'bench-service';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A Response-returning fetch that serves discovery and the JWKS from memory. */
function memoryIssuer(jwks: unknown): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    const body = url.endsWith('/.well-known/openid-configuration')
      ? { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` }
      : url.endsWith('/jwks')
        ? jwks
        : null;
    return new Response(JSON.stringify(body ?? { error: 'not_found' }), {
      status: body ? 200 : 404,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
}

export async function measureSdkVerify(
  options: { tokens?: number; rounds?: number; log?: (line: string) => void } = {},
): Promise<SdkVerifyResult> {
  const n = options.tokens ?? 2000;
  const rounds = options.rounds ?? 7;
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const fetchImpl = memoryIssuer({ keys: [jwk] });
  const now = Math.floor(Date.now() / 1000);
  const tokens = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new SignJWT({
        preferred_username: `user${i}`,
        name: `User ${i}`,
        email: `user${i}@example.org`,
        groups: ['members', 'members/workshop'],
        permissions: ['upload:read', 'upload:write'],
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(crypto.randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .setJti(String(i))
        .sign(privateKey),
    ),
  );
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'] };
  const newClient = () =>
    createGatehouseClient({
      issuer: ISSUER,
      clientId: AUDIENCE,
      events: false,
      fetch: fetchImpl,
      cacheSize: n * 2,
    });

  // The machine is shared and noisy: jose and verify() alternate in small batches over the same
  // tokens, so a burst of other load hits both sides alike.
  const batch = 50;
  const jose: number[] = [];
  const first: number[] = [];
  const again: number[] = [];
  const againRatio: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const client = newClient();
    // One warm-up token so the keys are loaded: "first seen" is about the token, not the JWKS.
    await client.verify(
      await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('warm')
        .setExpirationTime('1h')
        .sign(privateKey),
    );
    let joseMs = 0;
    let firstMs = 0;
    for (let i = 0; i < n; i += batch) {
      const slice = tokens.slice(i, i + batch);
      const joseFirst = (i / batch) % 2 === 0;
      for (const side of joseFirst ? [0, 1] : [1, 0]) {
        const t = performance.now();
        if (side === 0) for (const token of slice) await jwtVerify(token, publicKey, joseOptions);
        else for (const token of slice) await client.verify(token);
        if (side === 0) joseMs += performance.now() - t;
        else firstMs += performance.now() - t;
      }
    }
    jose.push(n / (joseMs / 1000));
    first.push(n / (firstMs / 1000));

    // Seen again: the same tokens, now in the cache, against jose on the same tokens.
    let againMs = 0;
    let joseAgainMs = 0;
    const repeats = 20;
    for (let i = 0; i < n; i += batch) {
      const slice = tokens.slice(i, i + batch);
      let t = performance.now();
      for (let r = 0; r < repeats; r++) for (const token of slice) await client.verify(token);
      againMs += performance.now() - t;
      t = performance.now();
      for (const token of slice) await jwtVerify(token, publicKey, joseOptions);
      joseAgainMs += performance.now() - t;
    }
    again.push((n * repeats) / (againMs / 1000));
    againRatio.push((n * repeats) / againMs / (n / joseAgainMs));
    client.close();
    options.log?.(
      `sdk verify round ${round + 1}/${rounds}: jose ${Math.round(jose.at(-1)!)}/s, first seen ${Math.round(first.at(-1)!)}/s, seen again ${Math.round(again.at(-1)!)}/s`,
    );
  }
  const ops = { jose: median(jose), firstSeen: median(first), seenAgain: median(again) };
  return {
    tokens: n,
    rounds,
    opsPerSecond: {
      jose: Math.round(ops.jose),
      firstSeen: Math.round(ops.firstSeen),
      seenAgain: Math.round(ops.seenAgain),
    },
    // Ratios per round (both sides measured side by side), then the median.
    ratio: {
      firstSeen: Math.round(median(first.map((f, i) => f / jose[i]!)) * 100) / 100,
      seenAgain: Math.round(median(againRatio) * 10) / 10,
    },
  };
}

if (import.meta.main) {
  const result = await measureSdkVerify({ log: (l) => console.log(`[bench] ${l}`) });
  console.log(JSON.stringify(result, null, 2));
}
