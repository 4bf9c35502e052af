// The ways common servers read one request path. A rule is only as good as its agreement with
// the service behind it: `/public/..;/admin/x` is under /public for Express and /admin/x for
// Tomcat and Spring; `/public/..%2Fadmin/x` is under /public for most routers and /admin/x for a
// server that decodes before it resolves dot segments. So forward auth matches the rules
// against every reading here, and refuses a request whose readings pick different rules.
//
// Readings (each with dot segments resolved; the URL parser has already turned `\` into `/`
// and resolved `.`/`..` segments, `%2e` included, so `rawReadings` also reads the path as sent):
//   literal    percent-escapes of ordinary characters decoded, %2F %5C %3B %25… kept (Express,
//              most routers, NGINX's `location`)
//   params     `;parameters` cut from every segment first (Tomcat, Spring, Jetty)
//   decoded    every escape decoded, repeatedly (double encoding), `\` read as `/`, runs of `/`
//              merged (servers that decode, then normalise)
//   and params + decoded in both orders.

/** Only paths with one of these can read differently; the rest have one reading. */
const AMBIGUOUS = /[;%]|\/\//;
const ASCII_ESCAPE = /%[0-7][0-9A-Fa-f]/g;
/** Enough for `%252525…`; each round removes one level of encoding. */
const MAX_DECODE_ROUNDS = 4;

/** `/a/./b/../c` → `/a/c`, never above the root (RFC 3986 remove_dot_segments). */
function removeDots(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (last) out.push('');
    } else out.push(s);
  }
  return `/${out.join('/')}`;
}

/** Tomcat's reading: `/a;x=1/b;jsessionid=2` → `/a/b`. */
function stripParams(path: string): string {
  return path.replace(/;[^/]*/g, '');
}

/** Decodes every escape until none is left (or a malformed one stays), `\` as `/`, `//` as `/`. */
function decodeFully(path: string): string {
  let p = path;
  for (let i = 0; i < MAX_DECODE_ROUNDS; i++) {
    // ASCII escapes first: every character that changes a path's meaning is ASCII.
    const next = p.replace(ASCII_ESCAPE, (e) =>
      String.fromCharCode(Number.parseInt(e.slice(1), 16)),
    );
    if (next === p) break;
    p = next;
  }
  try {
    p = decodeURIComponent(p);
  } catch {
    // A stray "%" or a malformed UTF-8 sequence: the ASCII reading above is what counts.
  }
  return p.replace(/\\/g, '/').replace(/\/{2,}/g, '/');
}

/**
 * The path as rules see it by default (`literal`), or null when an escape is malformed.
 * `pathname` is a WHATWG URL's pathname.
 */
export function literalPath(pathname: string): string | null {
  try {
    // decodeURI leaves reserved characters (%2F, %3F, %23…) encoded, so "/a%2Fb" stays one segment.
    return decodeURI(pathname);
  } catch {
    return null;
  }
}

/**
 * The path of an absolute URL as the client sent it, before a WHATWG parser turns `\` into `/`
 * and lets `..` remove an empty segment: the text NGINX, Express and Tomcat see.
 */
export function rawPathOf(raw: string): string {
  const scheme = raw.indexOf('://');
  if (scheme < 0) return '';
  const rest = raw.slice(scheme + 3);
  const start = rest.search(/[/\\]/);
  if (start < 0) return '/';
  const path = rest.slice(start);
  const end = path.search(/[?#]/);
  return end < 0 ? path : path.slice(0, end);
}

/**
 * Readings of the raw path that the parsed one hides: `\` as an ordinary character (NGINX,
 * Express on Unix), or as `/`; runs of `/` merged before dot segments are resolved (NGINX's
 * merge_slashes, Tomcat, Go's path.Clean), so `/public//../admin/x` is `/admin/x`, not the
 * `/public/admin/x` a WHATWG parser makes of it.
 */
export function rawReadings(rawPath: string, literal: string): readonly string[] {
  if (!/\\|\/\//.test(rawPath)) return [];
  const out = new Set<string>();
  for (const variant of [
    rawPath,
    rawPath.replace(/\/{2,}/g, '/'),
    rawPath.replace(/\\/g, '/').replace(/\/{2,}/g, '/'),
  ]) {
    const path = literalPath(variant);
    if (path === null) continue;
    const reading = removeDots(path);
    if (reading !== literal) out.add(reading);
  }
  return [...out];
}

/** The other readings of `pathname` that differ from its literal one (usually none). */
export function otherReadings(pathname: string, literal: string): readonly string[] {
  if (!AMBIGUOUS.test(pathname)) return [];
  const params = literalPath(stripParams(pathname));
  const decoded = decodeFully(pathname);
  const candidates = [
    params === null ? null : removeDots(params),
    removeDots(decoded),
    removeDots(stripParams(decoded)),
    removeDots(decodeFully(stripParams(pathname))),
  ];
  const out = new Set<string>();
  for (const c of candidates) if (c !== null && c !== literal) out.add(c);
  return [...out];
}
