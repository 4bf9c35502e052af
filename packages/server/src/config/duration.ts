// Durations in settings are written the way operators think of them: "15m", "7d", "12h".

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Milliseconds for "30s", "15m", "12h", "7d", "2w" or a plain number of seconds; null if invalid. */
export function parseDuration(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1000 : null;
  const match = /^\s*(\d{1,9})\s*(ms|s|m|h|d|w)?\s*$/.exec(input);
  if (!match) return null;
  return Number(match[1]) * UNITS[match[2] ?? 's']!;
}
