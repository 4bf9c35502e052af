// The text patterns more than one subsystem checks input against, in one place.

/** A UUID in its canonical 8-4-4-4-12 form, any case: what Postgres's uuid type accepts back. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a value is a UUID (checked before a look-up, so junk costs no query and no error). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * Control and format characters (Unicode Cc and Cf: newlines, NUL, zero-width and bidi
 * overrides), refused in names and notes shown to other people.
 */
export const CONTROL_CHARACTERS = /\p{Cc}|\p{Cf}/u;
