// Node 18 keeps the Web Crypto globals (`crypto`, `CryptoKey`) behind
// --experimental-global-webcrypto; jose, which verifies and seals our tokens, uses them. Where
// they are missing, this module defines them from `node:crypto` (the same implementation Node
// 19 and later expose as globals). On Node 19+ it does nothing.

import { webcrypto } from 'node:crypto';

const globals = globalThis as { crypto?: unknown; CryptoKey?: unknown };
if (globals.crypto === undefined) {
  Object.defineProperty(globalThis, 'crypto', {
    value: webcrypto,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
if (globals.CryptoKey === undefined) {
  Object.defineProperty(globalThis, 'CryptoKey', {
    // Node 18's webcrypto object carries the class; newer typings only know the global.
    value: (webcrypto as unknown as { CryptoKey: unknown }).CryptoKey,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
