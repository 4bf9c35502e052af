// Cursor pagination for lists: `?limit=&cursor=` → `{ items, next_cursor }`. A cursor is opaque
// to clients (base64url JSON of the last item's sort key), so the order can change without
// breaking them; a cursor that does not decode is a 400 naming the `cursor` field.

import { z } from 'zod';
import { HttpError } from '../errors.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

/** Spread into a route's query schema: `query: z.strictObject({ ...pageQuery })`. */
export const pageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .describe(`Items per page, 1 to ${MAX_PAGE_SIZE}.`),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .describe('The `next_cursor` of the previous page; omit for the first page.'),
};

/** The response schema of a list of `item`. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    next_cursor: z
      .string()
      .nullable()
      .describe('Pass as `cursor` to get the next page; null on the last page.'),
  });
}

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The sort key a cursor carries, checked against `schema`; absent cursor → null. */
export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | null {
  if (cursor === undefined) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString()));
    if (parsed.success) return parsed.data;
  } catch {}
  throw new HttpError('BAD_REQUEST', {
    message:
      'Invalid request: query.cursor: not a cursor from this list. Start from the first page.',
  });
}

const keyCursor = z.tuple([z.union([z.string(), z.number()]), z.string()]);

/** Refuses a cursor that does not decode, before the list's owner is looked up. */
export function checkListCursor(query: { cursor?: string | undefined }): void {
  decodeCursor(query.cursor, keyCursor);
}

/**
 * One page of an in-memory list (a member's sessions or tokens, which are few), ordered by
 * `keyOf` ascending — a unique pair, such as creation time and id.
 */
export function paginateList<T>(
  items: readonly T[],
  query: { limit: number; cursor?: string | undefined },
  keyOf: (item: T) => [string | number, string],
): { items: T[]; next_cursor: string | null } {
  const after = decodeCursor(query.cursor, keyCursor);
  const compare = (a: [string | number, string], b: [string | number, string]) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  const sorted = [...items].sort((a, b) => compare(keyOf(a), keyOf(b)));
  const rest = after ? sorted.filter((item) => compare(keyOf(item), after) > 0) : sorted;
  const pageItems = rest.slice(0, query.limit);
  const last = pageItems.at(-1);
  return {
    items: pageItems,
    next_cursor: rest.length > query.limit && last ? encodeCursor(keyOf(last)) : null,
  };
}
