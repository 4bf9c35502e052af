// Group paths: validation and the string relations the tree semantics rest on.

import { isGroupPath } from 'gatehouse-client/expression';

export const MAX_PATH_LENGTH = 255;
export const MAX_DEPTH = 16;

export function validPath(path: unknown): path is string {
  return (
    typeof path === 'string' &&
    path.length <= MAX_PATH_LENGTH &&
    isGroupPath(path) &&
    path.split('/').length <= MAX_DEPTH
  );
}

export function validSegment(name: unknown): name is string {
  return typeof name === 'string' && !name.includes('/') && validPath(name);
}

/** `a`, `a/b`, `a/b/c` for `a/b/c`. */
export function ancestorsOrSelf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  out.push(path);
  return out;
}

export function parentPath(path: string): string | null {
  const i = path.lastIndexOf('/');
  return i < 0 ? null : path.slice(0, i);
}

/** `path` is `base` or below it. */
export function isAtOrBelow(path: string, base: string): boolean {
  return path === base || path.startsWith(`${base}/`);
}

/**
 * Would membership flow in a circle? `edges` are includes (group path → included path). Members
 * of X are members of everything at or below X, and of every group that includes one of those.
 * Adding "group includes included" is a cycle when group's members already reach included.
 */
export function includeWouldCycle(
  edges: readonly { group: string; included: string }[],
  group: string,
  included: string,
): boolean {
  const reached = [group];
  const seen = new Set(reached);
  for (let i = 0; i < reached.length; i++) {
    const from = reached[i]!;
    if (isAtOrBelow(included, from)) return true;
    for (const e of edges) {
      if (!seen.has(e.group) && isAtOrBelow(e.included, from)) {
        seen.add(e.group);
        reached.push(e.group);
      }
    }
  }
  return false;
}

/** Whether any include in the set closes a circle (after a move or rename changed paths). */
export function hasIncludeCycle(edges: readonly { group: string; included: string }[]): boolean {
  return edges.some((e, i) =>
    includeWouldCycle(
      edges.filter((_, j) => j !== i),
      e.group,
      e.included,
    ),
  );
}
