// Opens a service-session cookie the way the TypeScript SDK does (jose's jwtDecrypt, key from
// HKDF-SHA256 of the secret), then seals the payload back, for the Python tests that check the
// two SDKs share one cookie format (tests/test_session_interop.py).
//
//   node_modules/.bin/node packages/python/tools/session-interop.ts <sealed> <clientId> <secret>

import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';

const [sealed, clientId, secret] = process.argv.slice(2) as [string, string, string];
const key = new Uint8Array(
  hkdfSync('sha256', secret, 'gatehouse-client', `session:${clientId}`, 32),
);
const { payload } = await jwtDecrypt(sealed, key, {
  keyManagementAlgorithms: ['dir'],
  contentEncryptionAlgorithms: ['A256GCM'],
});
const back = await new EncryptJWT({ ...payload, from: 'ts' })
  .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
  .setExpirationTime(payload.exp!)
  .encrypt(key);
console.log(JSON.stringify({ payload, back }));
