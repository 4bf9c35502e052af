// `gatehouse client …` and `gatehouse keys rotate` as an operator runs them.

import { describe, expect, it } from 'vitest';
import { storageMode } from '../../src/testing/test-gatehouse.ts';
import { run } from './harness.ts';

function noStack(text: string) {
  expect(text).not.toMatch(/\n\s+at /);
}

// Each step starts a process that opens the database: generous room on a loaded machine.
describe(`gatehouse client and keys (${storageMode()})`, { timeout: 180_000 }, () => {
  it('creates, shows, lists, updates, rotates the secret of and deletes a client', async () => {
    const created = await run([
      'client',
      'create',
      '--name',
      'Grafana',
      '--redirect-uri',
      'https://grafana.example.org/login/generic_oauth',
      '--launch-url',
      'https://grafana.example.org/',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const client = JSON.parse(created.stdout);
    expect(client.client_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.client_secret).toMatch(/^gth_cs_/);
    expect(client.grant_types).toEqual(['authorization_code', 'refresh_token']);
    expect(client.response_types).toEqual(['code']);

    const shown = await run(['client', 'show', client.client_id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Grafana');
    expect(shown.stdout).not.toContain('gth_cs_');

    const listed = JSON.parse((await run(['client', 'list', '--json'])).stdout);
    expect(listed.map((c: { client_id: string }) => c.client_id)).toContain(client.client_id);

    const updated = await run(['client', 'update', client.client_id, '--first-party', '--json']);
    expect(JSON.parse(updated.stdout).first_party).toBe(true);
    expect(JSON.parse(updated.stdout).resources).toEqual([]);

    // The resources it may get tokens for (RFC 8707): listed, replaced, checked.
    const withResource = await run([
      'client',
      'update',
      client.client_id,
      '--resource',
      'https://grafana.example.org/',
      '--resource',
      'https://api.example.org',
      '--json',
    ]);
    expect(JSON.parse(withResource.stdout).resources).toEqual([
      'https://grafana.example.org/',
      'https://api.example.org',
    ]);
    expect((await run(['client', 'show', client.client_id])).stdout).toContain(
      'https://api.example.org',
    );
    const badResource = await run([
      'client',
      'update',
      client.client_id,
      '--resource',
      'https://api.example.org/?x=1',
    ]);
    expect(badResource.code).not.toBe(0);
    expect(badResource.stderr).toContain('must not contain a query');
    noStack(badResource.stderr);

    const rotated = JSON.parse(
      (await run(['client', 'rotate-secret', client.client_id, '--json'])).stdout,
    );
    expect(rotated.client_secret).toMatch(/^gth_cs_/);
    expect(rotated.client_secret).not.toBe(client.client_secret);

    expect((await run(['client', 'delete', client.client_id])).code).toBe(0);
    const gone = await run(['client', 'show', client.client_id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('there is no client');
  });

  it('derives what a choice implies and explains a conflict in one line', async () => {
    const hybrid = JSON.parse(
      (
        await run([
          'client',
          'create',
          '--name',
          'Hybrid',
          '--redirect-uri',
          'https://app.example.org/cb',
          '--response-type',
          'code id_token',
          '--json',
        ])
      ).stdout,
    );
    expect(hybrid.grant_types).toEqual(['authorization_code', 'refresh_token', 'implicit']);

    // token alone is registered, with a note on stderr that code with PKCE is better.
    const token = await run([
      'client',
      'create',
      '--name',
      'Implicit',
      '--redirect-uri',
      'https://app.example.org/cb',
      '--response-type',
      'token',
      '--json',
    ]);
    expect(token.code).toBe(0);
    expect(JSON.parse(token.stdout)).toMatchObject({
      response_types: ['token'],
      grant_types: ['implicit'],
    });
    expect(token.stderr).toContain('RFC 9700');

    // Every rule is unit-tested in clients.test.ts; here, how one reaches the operator.
    const res = await run([
      'client',
      'create',
      '--name',
      'Bad',
      '--public',
      '--grant-type',
      'client_credentials',
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('a public client has no secret');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    noStack(res.stderr);
    expect(
      (await run(['client', 'create', '--redirect-uri', 'https://a.example.org/cb'])).code,
    ).toBe(2);
    expect((await run(['client', 'show'])).code).toBe(2);
    expect((await run(['client', 'show', 'not-a-uuid'])).code).toBe(1);
  });

  it('rotates keys and issues a registration token', async () => {
    const rotated = await run(['keys', 'rotate', '--json']);
    expect(rotated.code).toBe(0);
    const result = JSON.parse(rotated.stdout);
    expect(result.activated).toHaveLength(3);
    expect(result.retired).toHaveLength(3);
    const token = await run(['client', 'registration-token', '--expires-in', '1h', '--json']);
    expect(token.code).toBe(0);
    expect(JSON.parse(token.stdout).token.length).toBeGreaterThan(20);
  });
});
