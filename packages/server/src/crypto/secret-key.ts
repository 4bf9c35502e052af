// The instance's secret key: it encrypts signing keys at rest and keys the OIDC provider's
// cookie signatures. It lives outside the database (GATEHOUSE_SECRET_KEY, or a file in the data
// directory generated at first start), so a stolen database dump holds no usable private key.

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SecretKey {
  /** A 32-byte key for one purpose, derived with HKDF so purposes never share key material. */
  derive(purpose: string): Buffer;
  /** AES-256-GCM under the key derived for `purpose`; the output carries its nonce and tag. */
  seal(purpose: string, plaintext: string): string;
  /** Opens what `seal` produced; throws when the key is wrong or the text was altered. */
  open(purpose: string, sealed: string): string;
}

export const SECRET_KEY_FILE = 'secret.key';

/** Reads the configured key, or the data directory's, creating that one (mode 0600) if absent. */
export function loadSecretKey(config: { secretKey: string | null; dataDir: string }): SecretKey {
  if (config.secretKey) return secretKeyFrom(config.secretKey);
  const file = join(config.dataDir, SECRET_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(48).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  return secretKeyFrom(readFileSync(file, 'utf8').trim());
}

export function secretKeyFrom(material: string): SecretKey {
  const ikm = Buffer.from(material, 'utf8');
  const cache = new Map<string, Buffer>();
  const derive = (purpose: string) => {
    let key = cache.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', ikm, 'gatehouse', purpose, 32));
      cache.set(purpose, key);
    }
    return key;
  };
  return {
    derive,
    seal(purpose, plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', derive(purpose), iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    open(purpose, sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || body === undefined)
        throw new Error('not a sealed value');
      const decipher = createDecipheriv(
        'aes-256-gcm',
        derive(purpose),
        Buffer.from(iv, 'base64url'),
      );
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(body, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    },
  };
}
