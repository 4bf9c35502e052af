// Password hashing: argon2id through @node-rs/argon2, whose async hash and verify run on the
// libuv thread pool so a login never blocks the event loop.
//
// Bounded: at most `concurrency` hashes run at once (by default one fewer than the cores, at
// least one), so a storm of sign-ins leaves a core to the checks every proxied request makes;
// at most `maxQueued` wait behind them, and the next is refused at once with
// PasswordHashingBusyError (the HTTP layer answers 503 with Retry-After) rather than queued
// without end.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { type Algorithm, hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

export interface Argon2Params {
  /** KiB of memory per hash. */
  memoryCost: number;
  /** Passes over that memory. */
  timeCost: number;
  /** Lanes; also changes the resulting hash. */
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id option 2 (19 MiB, 2 passes, 1 lane). */
export const OWASP_ARGON2ID: Readonly<Argon2Params> = Object.freeze({
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
});

/**
 * Longest password accepted, in UTF-16 code units after NFC normalisation. Argon2 itself
 * takes any length, but hashing (and normalising) megabytes per login attempt is a cheap
 * way to burn our CPU.
 */
export const MAX_PASSWORD_LENGTH = 1024;

// NFD can take up to 4 code units for one NFC code unit (UAX #15, "maximum expansion"), so
// anything longer than this cannot be ≤ MAX_PASSWORD_LENGTH once normalised: refuse it
// before paying for normalisation.
const MAX_RAW_PASSWORD_LENGTH = MAX_PASSWORD_LENGTH * 4;

// `Algorithm` is a const enum in the typings, which isolated-module, erasable TypeScript cannot
// read, and the runtime binding exports it as an empty object. 2 is Algorithm.Argon2id.
const ARGON2ID: Algorithm = 2;
// What a hash from this library says in its PHC string: the algorithm and version 0x13 = 19.
const PHC_ALGORITHM = 'argon2id';
const PHC_VERSION = 'v=19';

export type PasswordErrorCode = 'PASSWORD_TOO_LONG';

/** How many hashes run at once, and how many may wait. */
export interface HashingLimits {
  concurrency: number;
  maxQueued: number;
}

/** Seconds a refused sign-in is asked to wait before trying again. */
export const HASHING_RETRY_AFTER_SECONDS = 2;

/** One fewer than the cores (at least one), 64 waiting: 40 members signing in at once all wait. */
export function defaultHashingLimits(cores = availableParallelism()): HashingLimits {
  return { concurrency: Math.max(1, cores - 1), maxQueued: 64 };
}

/** Thrown when every hashing slot is busy and the queue is full: try again shortly. */
export class PasswordHashingBusyError extends Error {
  readonly code = 'HASHING_BUSY';
  readonly retryAfterSeconds = HASHING_RETRY_AFTER_SECONDS;
  override name = 'PasswordHashingBusyError';
  constructor() {
    super('Too many passwords are being checked at once');
  }
}

/** Thrown by `hash` for a password over MAX_PASSWORD_LENGTH; show the message to the person. */
export class PasswordTooLongError extends Error {
  readonly code = 'PASSWORD_TOO_LONG' satisfies PasswordErrorCode;
  readonly status = 400;
  constructor() {
    super(`Passwords can be at most ${MAX_PASSWORD_LENGTH} characters long.`);
    this.name = 'PasswordTooLongError';
  }
}

export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`); throws PasswordTooLongError. */
  hash(password: string): Promise<string>;
  /** Whether `password` matches `hash`; false, never a throw, for a malformed hash or password. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Whether `hash` was made with another algorithm or other parameters than this hasher's. */
  needsRehash(hash: string): boolean;
  /** Costs what `verify` costs, for a login whose user does not exist. */
  dummyVerify(password: string): Promise<void>;
  /** Hashes running and waiting now. */
  load(): { running: number; queued: number };
}

/** Runs at most `concurrency` tasks at once, `maxQueued` more wait, beyond that: busy. */
function createGate(limits: HashingLimits) {
  const concurrency = Math.max(1, Math.floor(limits.concurrency));
  const maxQueued = Math.max(0, Math.floor(limits.maxQueued));
  let running = 0;
  const queue: (() => void)[] = [];
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running < concurrency) running++;
      else if (queue.length < maxQueued) await new Promise<void>((go) => queue.push(go));
      else throw new PasswordHashingBusyError();
      try {
        return await task();
      } finally {
        // The slot passes straight to the next in line (running stays the same), or frees up.
        const next = queue.shift();
        if (next) next();
        else running--;
      }
    },
    load: () => ({ running, queued: queue.length }),
  };
}

export function createPasswordHasher(
  params: Partial<Argon2Params> = {},
  limits: Partial<HashingLimits> = {},
): PasswordHasher {
  const settings: Argon2Params = { ...OWASP_ARGON2ID, ...params };
  const gate = createGate({ ...defaultHashingLimits(), ...limits });
  const options = { ...settings, algorithm: ARGON2ID };
  const phcParams = `m=${settings.memoryCost},t=${settings.timeCost},p=${settings.parallelism}`;
  // Made on first use, not at start-up, and shared by concurrent callers.
  let dummyHash: Promise<string> | undefined;

  async function hash(password: string): Promise<string> {
    if (typeof password !== 'string') throw new TypeError('A password must be a string');
    const normalised = normalise(password);
    if (normalised === null) throw new PasswordTooLongError();
    return gate.run(() => argon2Hash(normalised, options));
  }

  async function verify(hash: string, password: string): Promise<boolean> {
    const normalised = normalise(password);
    if (normalised === null || typeof hash !== 'string' || !hash.startsWith('$argon2')) {
      return false;
    }
    return gate.run(() => verifyNormalised(hash, normalised));
  }

  function needsRehash(hash: string): boolean {
    // `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`: anything else, including a valid hash
    // with extra PHC parameters or another version, is rehashed at the next successful login.
    if (typeof hash !== 'string') return true;
    const [empty, algorithm, version, parameters] = hash.split('$', 4);
    return (
      empty !== '' ||
      algorithm !== PHC_ALGORITHM ||
      version !== PHC_VERSION ||
      parameters !== phcParams
    );
  }

  async function dummyVerify(password: string): Promise<void> {
    const normalised = normalise(password);
    // As in verify: a too-long password is refused without hashing, known user or not.
    if (normalised === null) return;
    // Made outside the gate (once per process), so it never holds a slot another waits for.
    dummyHash ??= argon2Hash(randomBytes(32).toString('base64url'), options);
    const stored = await dummyHash;
    await gate.run(() => verifyNormalised(stored, normalised));
  }

  return { hash, verify, needsRehash, dummyVerify, load: gate.load };
}

async function verifyNormalised(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify(hash, password);
  } catch {
    // The library throws on a hash it cannot decode; to a login that is a wrong password.
    return false;
  }
}

// NFC, because the same password typed on two keyboards (or pasted from two apps) can arrive
// as different code points: "é" precomposed (U+00E9) on one, "e" + combining acute (U+0065
// U+0301) on another. Null when the password is too long to hash.
function normalise(password: string): string | null {
  if (typeof password !== 'string' || password.length > MAX_RAW_PASSWORD_LENGTH) return null;
  const normalised = password.normalize('NFC');
  return normalised.length > MAX_PASSWORD_LENGTH ? null : normalised;
}
