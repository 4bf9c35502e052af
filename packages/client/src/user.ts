// The member a verified token or session stands for, built from Gatehouse's claim names.

/**
 * A member of Gatehouse, as a service sees them.
 *
 * @example
 * ```ts
 * const user: GatehouseUser = await gatehouse.verify(token);
 * console.log(`Hello ${user.name ?? user.username}`, user.groups);
 * ```
 */
export interface GatehouseUser {
  /** Gatehouse's user id (a UUID), the `sub` claim. Stable: key your own records on it. */
  readonly id: string;
  readonly username: string;
  readonly name: string | null;
  /** The member's email address, only when the issuer has verified it (`email_verified: true`). */
  readonly email: string | null;
  readonly picture: string | null;
  /** Group paths such as `members/workshop/laser`. */
  readonly groups: readonly string[];
  /** Permission strings such as `upload:write`. */
  readonly permissions: readonly string[];
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function strings(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  // Some issuers send space-separated strings.
  if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
  return [];
}

/**
 * Builds a {@link GatehouseUser} from token, introspection or userinfo claims.
 *
 * @example
 * ```ts
 * userFromClaims({ sub: 'b1…', preferred_username: 'ada', groups: ['members'] });
 * ```
 */
export function userFromClaims(claims: Record<string, unknown>): GatehouseUser {
  const id = str(claims.sub);
  if (!id) throw new TypeError('claims have no sub');
  return Object.freeze({
    id,
    username: str(claims.preferred_username) ?? str(claims.username) ?? id,
    name: str(claims.name),
    // Only an address the issuer says it has verified (JSON true) is the member's to rely on.
    email: claims.email_verified === true ? str(claims.email) : null,
    picture: str(claims.picture),
    groups: Object.freeze(strings(claims.groups)),
    permissions: Object.freeze(strings(claims.permissions)),
  });
}
