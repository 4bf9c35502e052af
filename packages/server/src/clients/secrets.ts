// A confidential client's secret: a secret token (crypto/secret-tokens.ts) of kind `cs` that
// carries the client id. Only its SHA-256 is stored; the secret is shown once, at creation or
// rotation, and compared in constant time.

import {
  generateSecretToken,
  hashSecret,
  parseSecretToken,
  verifySecret,
} from '../crypto/secret-tokens.ts';
import { type ClientRow, invalid } from './settings.ts';

/** A fresh secret for the client and the hash to store. */
export function newSecret(clientId: string): { secret: string; secretHash: string } {
  const { token, hash } = generateSecretToken('cs', clientId);
  return { secret: token, secretHash: hash.toString('hex') };
}

/** The hash to store for a secret that dynamic registration handed over (ours, by its form). */
export function registeredSecretHash(clientSecret: string): string {
  const parsed = parseSecretToken(clientSecret, 'cs');
  if (!parsed) invalid('a registered client secret must be a Gatehouse client secret');
  return hashSecret(parsed!.secret).toString('hex');
}

/** Whether `presented` is this client's secret, in constant time. */
export function checkSecret(
  client: Pick<ClientRow, 'id' | 'secretHash'>,
  presented: unknown,
): boolean {
  if (!client.secretHash) return false;
  // The id inside the token is not checked: the hash comparison is the proof, and secrets
  // issued by dynamic registration carry their own id.
  const parsed = parseSecretToken(presented, 'cs');
  if (!parsed) return false;
  return verifySecret(parsed.secret, Buffer.from(client.secretHash, 'hex'));
}
