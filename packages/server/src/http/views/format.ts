// Formatting helpers for the views: locale-independent dates (so output is stable in tests and
// the same for every visitor), a readable summary of a user agent, and URL filters.

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `2026-11-22 16:40 UTC` — fixed format, never the server's locale or time zone. */
export function formatDateTime(date: Date): string {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

/** `5 minutes ago`, `yesterday`; falls back to the absolute date after a month. */
export function formatRelative(date: Date, now: Date): string {
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  if (seconds < 60) return 'just now';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return hours === 1 ? '1 hour ago' : `${hours} hours ago`;
  const days = Math.floor(hours / 24);
  if (days === 1) return 'yesterday';
  if (days < 31) return `${days} days ago`;
  return formatDateTime(date);
}

const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bCriOS\/|\bChrome\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/^Wget\//, 'Wget'],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

/** `Chrome on Linux`, `Safari on iPhone`, or `Unknown device` when there is nothing to go on. */
export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent?.trim()) return 'Unknown device';
  const browser = BROWSERS.find(([re]) => re.test(userAgent))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return `Browser on ${system}`;
  return 'Unknown browser';
}

/** Links from data (service URLs) must not become `javascript:` links: only http(s) and paths. */
export function safeHref(url: string | null | undefined): string | null {
  if (!url) return null;
  // `//host` and `/\host` are other sites to a browser, which reads `\` as `/`.
  if (/^\/(?![/\\])/.test(url)) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/** Images the Content-Security-Policy lets load (`img-src 'self' data: https:`); others would break. */
export function safeImageSrc(url: string | null | undefined): string | null {
  if (!url) return null;
  // `//host` and `/\host` are other sites to a browser, which reads `\` as `/`.
  if (/^\/(?![/\\])/.test(url)) return url;
  if (/^data:image\/(png|jpeg|gif|webp|avif|svg\+xml)[;,]/i.test(url)) return url;
  try {
    return new URL(url).protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/** Host of a URL for display under a service name, or null for relative/invalid URLs. */
export function hostOf(url: string): string | null {
  try {
    return new URL(url).host || null;
  } catch {
    return null;
  }
}

/** First letter (a whole grapheme, so emoji and accents survive) for letter avatars. */
export function initialOf(text: string): string {
  const trimmed = text.trim();
  const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
  const first = segmenter.segment(trimmed)[Symbol.iterator]().next().value?.segment ?? '?';
  return first.toLocaleUpperCase('en');
}

/** A stable colour slot (0–7) per name, so a service keeps its avatar colour. */
export function colourSlot(text: string): number {
  let hash = 0;
  for (const ch of text) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  return hash % 8;
}
