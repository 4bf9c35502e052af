// The access expression language shared by the server (client access rules, forward auth) and
// the SDK: group paths, `perm:<permission>`, `user:<username>`, `&`, `|`, `!` and parentheses.
//
//     expression := or
//     or         := and ( "|" and )*
//     and        := unary ( "&" unary )*
//     unary      := "!" unary | "(" expression ")" | term
//     term       := path | "perm:" permission | "user:" username
//     path       := segment ( "/" segment )*      segment    := [a-z0-9._-]+ (not only dots)
//     permission := [A-Za-z0-9._:*-]+              username   := [A-Za-z0-9._-]+
//
// `!` binds tightest, then `&`, then `|`. The parser is a hand-written recursive descent with
// a length limit checked before any work and a nesting limit checked on every `(` and `!`, so
// hostile input costs at most a linear scan and never a deep stack. No dependencies.

/** The largest expression accepted, in UTF-16 code units. */
export const MAX_EXPRESSION_LENGTH = 1024;
/** The deepest nesting of parentheses and `!` accepted. */
export const MAX_EXPRESSION_DEPTH = 32;

/** A parsed expression: a tree of terms and operators. */
export type Expression =
  | { readonly type: 'group'; readonly path: string }
  | { readonly type: 'perm'; readonly permission: string }
  | { readonly type: 'user'; readonly username: string }
  | { readonly type: 'not'; readonly operand: Expression }
  | { readonly type: 'and'; readonly operands: readonly Expression[] }
  | { readonly type: 'or'; readonly operands: readonly Expression[] };

/** Whom an expression is evaluated for. */
export interface AccessSubject {
  username: string;
  /** Group paths the user is a member of, directly or through an include. */
  groups: Iterable<string>;
  permissions: Iterable<string>;
}

export const EXPRESSION_ERRORS = {
  EXPRESSION_NOT_STRING: 'An access expression must be text',
  EXPRESSION_EMPTY: 'The access expression is empty',
  EXPRESSION_TOO_LONG: `An access expression is at most ${MAX_EXPRESSION_LENGTH} characters`,
  EXPRESSION_TOO_DEEP: `Parentheses and "!" nest at most ${MAX_EXPRESSION_DEPTH} deep`,
  UNEXPECTED_CHARACTER: 'Unexpected character',
  UNEXPECTED_TOKEN: 'Expected "&", "|" or ")"',
  EXPECTED_TERM: 'Expected a group path, perm:…, user:…, "!" or "("',
  UNCLOSED_PARENTHESIS: 'This "(" is never closed',
  UNMATCHED_PARENTHESIS: 'This ")" has no matching "("',
  INVALID_PATH: 'Group paths are segments of a–z, 0–9, ".", "_" or "-" separated by "/"',
  INVALID_PERMISSION: 'Expected a permission after "perm:", such as perm:upload:write',
  INVALID_USERNAME: 'Expected a username after "user:", such as user:alice',
  UNKNOWN_PREFIX: 'Unknown term prefix; use perm: or user:',
} as const;

/** A stable error code, for callers that switch on it. */
export type ExpressionErrorCode = keyof typeof EXPRESSION_ERRORS;

/**
 * Why an expression was refused, and where: `position` is the 0-based offset of the mistake.
 *
 * @example
 * try { parseExpression('members & (') } catch (e) {
 *   if (e instanceof ExpressionError) console.log(e.code, e.position); // EXPECTED_TERM 11
 * }
 */
export class ExpressionError extends Error {
  override name = 'ExpressionError';
  readonly code: ExpressionErrorCode;
  readonly position: number;
  constructor(code: ExpressionErrorCode, position: number) {
    super(`${EXPRESSION_ERRORS[code]} (at position ${position})`);
    this.code = code;
    this.position = position;
  }
}

const SEGMENT = /^[a-z0-9._-]+$/;
const ONLY_DOTS = /^\.+$/;

/**
 * Whether `path` is a well-formed group path such as `members/workshop/laser`.
 *
 * @example isGroupPath('members/workshop') // true
 */
export function isGroupPath(path: unknown): path is string {
  if (typeof path !== 'string' || path.length === 0 || path.length > MAX_EXPRESSION_LENGTH)
    return false;
  for (const segment of path.split('/')) {
    if (!SEGMENT.test(segment) || ONLY_DOTS.test(segment)) return false;
  }
  return true;
}

function isTermChar(c: number): boolean {
  // a-z A-Z 0-9 . _ - / : *
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 46 ||
    c === 95 ||
    c === 45 ||
    c === 47 ||
    c === 58 ||
    c === 42
  );
}

const PERMISSION = /^[A-Za-z0-9._:*-]+$/;
const USERNAME = /^[A-Za-z0-9._-]+$/;

/**
 * Parses an access expression into its tree. Throws an `ExpressionError` naming the position
 * of the first mistake.
 *
 * @example
 * const rule = parseExpression('members/workshop & (perm:laser:use | user:alice)');
 */
export function parseExpression(text: string): Expression {
  if (typeof text !== 'string') throw new ExpressionError('EXPRESSION_NOT_STRING', 0);
  if (text.length > MAX_EXPRESSION_LENGTH)
    throw new ExpressionError('EXPRESSION_TOO_LONG', MAX_EXPRESSION_LENGTH);
  let pos = 0;

  function skipSpace() {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) pos++;
      else break;
    }
  }

  function parseOr(depth: number): Expression {
    const operands = [parseAnd(depth)];
    skipSpace();
    while (text[pos] === '|') {
      pos++;
      operands.push(parseAnd(depth));
      skipSpace();
    }
    return operands.length === 1 ? operands[0]! : { type: 'or', operands };
  }

  function parseAnd(depth: number): Expression {
    const operands = [parseUnary(depth)];
    skipSpace();
    while (text[pos] === '&') {
      pos++;
      operands.push(parseUnary(depth));
      skipSpace();
    }
    return operands.length === 1 ? operands[0]! : { type: 'and', operands };
  }

  function parseUnary(depth: number): Expression {
    skipSpace();
    if (pos >= text.length) {
      throw new ExpressionError(text.trim() === '' ? 'EXPRESSION_EMPTY' : 'EXPECTED_TERM', pos);
    }
    const ch = text[pos];
    if (ch === '!' || ch === '(') {
      if (depth >= MAX_EXPRESSION_DEPTH) throw new ExpressionError('EXPRESSION_TOO_DEEP', pos);
      const open = pos;
      pos++;
      if (ch === '!') return { type: 'not', operand: parseUnary(depth + 1) };
      const inner = parseOr(depth + 1);
      skipSpace();
      if (text[pos] !== ')') {
        throw new ExpressionError(
          pos >= text.length ? 'UNCLOSED_PARENTHESIS' : 'UNEXPECTED_TOKEN',
          pos >= text.length ? open : pos,
        );
      }
      pos++;
      return inner;
    }
    return parseTerm();
  }

  function parseTerm(): Expression {
    const start = pos;
    while (pos < text.length && isTermChar(text.charCodeAt(pos))) pos++;
    if (pos === start) {
      if (text[pos] === ')') throw new ExpressionError('UNMATCHED_PARENTHESIS', pos);
      if (text[pos] === '&' || text[pos] === '|') throw new ExpressionError('EXPECTED_TERM', pos);
      throw new ExpressionError('UNEXPECTED_CHARACTER', pos);
    }
    const word = text.slice(start, pos);
    const colon = word.indexOf(':');
    if (colon >= 0) {
      const prefix = word.slice(0, colon);
      const rest = word.slice(colon + 1);
      if (prefix === 'perm') {
        if (!PERMISSION.test(rest)) throw new ExpressionError('INVALID_PERMISSION', start + 5);
        return { type: 'perm', permission: rest };
      }
      if (prefix === 'user') {
        if (!USERNAME.test(rest)) throw new ExpressionError('INVALID_USERNAME', start + 5);
        return { type: 'user', username: rest.toLowerCase() };
      }
      throw new ExpressionError('UNKNOWN_PREFIX', start);
    }
    if (!isGroupPath(word)) throw new ExpressionError('INVALID_PATH', start + badPathOffset(word));
    return { type: 'group', path: word };
  }

  const expr = parseOr(0);
  skipSpace();
  if (pos < text.length) {
    throw new ExpressionError(
      text[pos] === ')' ? 'UNMATCHED_PARENTHESIS' : 'UNEXPECTED_TOKEN',
      pos,
    );
  }
  return expr;
}

/** The offset within a bad path of its first bad segment (or character). */
function badPathOffset(word: string): number {
  let offset = 0;
  for (const segment of word.split('/')) {
    if (!SEGMENT.test(segment) || ONLY_DOTS.test(segment)) {
      for (let i = 0; i < segment.length; i++) {
        if (!/[a-z0-9._-]/.test(segment[i]!)) return offset + i;
      }
      return offset;
    }
    offset += segment.length + 1;
  }
  return 0;
}

/** A subject prepared for repeated evaluation: sets instead of iterables. */
interface PreparedSubject {
  username: string;
  groups: ReadonlySet<string>;
  permissions: ReadonlySet<string>;
}

function prepare(subject: AccessSubject): PreparedSubject {
  return {
    username: subject.username.toLowerCase(),
    groups: subject.groups instanceof Set ? subject.groups : new Set(subject.groups),
    permissions:
      subject.permissions instanceof Set ? subject.permissions : new Set(subject.permissions),
  };
}

/** Whether the subject is a member of `path` or of one of its ancestors. */
function hasPath(groups: ReadonlySet<string>, path: string): boolean {
  if (groups.has(path)) return true;
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    if (groups.has(path.slice(0, i))) return true;
  }
  return false;
}

function evaluate(expr: Expression, s: PreparedSubject): boolean {
  switch (expr.type) {
    case 'group':
      return hasPath(s.groups, expr.path);
    case 'perm':
      return s.permissions.has(expr.permission);
    case 'user':
      return s.username === expr.username;
    case 'not':
      return !evaluate(expr.operand, s);
    case 'and':
      return expr.operands.every((e) => evaluate(e, s));
    case 'or':
      return expr.operands.some((e) => evaluate(e, s));
  }
}

/**
 * Whether `subject` passes `expr`. A group path is passed by members of that group or of any
 * group above it: membership grants a node and everything below it.
 *
 * @example
 * evaluateExpression(parseExpression('members/workshop/laser'), {
 *   username: 'alice', groups: ['members/workshop'], permissions: [],
 * }); // true
 */
export function evaluateExpression(expr: Expression | string, subject: AccessSubject): boolean {
  const tree = typeof expr === 'string' ? parseExpression(expr) : expr;
  return evaluate(tree, prepare(subject));
}

function formatNode(expr: Expression, parent: 'or' | 'and' | 'not' | null): string {
  switch (expr.type) {
    case 'group':
      return expr.path;
    case 'perm':
      return `perm:${expr.permission}`;
    case 'user':
      return `user:${expr.username}`;
    case 'not':
      return `!${formatNode(expr.operand, 'not')}`;
    case 'and': {
      const s = expr.operands.map((e) => formatNode(e, 'and')).join(' & ');
      return parent === 'not' ? `(${s})` : s;
    }
    case 'or': {
      const s = expr.operands.map((e) => formatNode(e, 'or')).join(' | ');
      return parent === 'not' || parent === 'and' ? `(${s})` : s;
    }
  }
}

/**
 * The canonical text of an expression: single spaces around operators, parentheses only where
 * needed. `parseExpression(formatExpression(e))` gives back an equal tree.
 *
 * @example formatExpression(parseExpression('(a)&(b|c)')) // 'a & (b | c)'
 */
export function formatExpression(expr: Expression): string {
  return formatNode(expr, null);
}

/** The terms an expression names, each kind sorted and without repeats. */
export interface ExpressionTerms {
  groups: string[];
  permissions: string[];
  users: string[];
}

/**
 * The group paths, permissions and usernames an expression uses (to check that the groups
 * exist, or to show a rule in words).
 *
 * @example expressionTerms(parseExpression('a | perm:x')) // { groups: ['a'], permissions: ['x'], users: [] }
 */
export function expressionTerms(expr: Expression): ExpressionTerms {
  const groups = new Set<string>();
  const permissions = new Set<string>();
  const users = new Set<string>();
  const stack: Expression[] = [expr];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (e.type === 'group') groups.add(e.path);
    else if (e.type === 'perm') permissions.add(e.permission);
    else if (e.type === 'user') users.add(e.username);
    else if (e.type === 'not') stack.push(e.operand);
    else stack.push(...e.operands);
  }
  return {
    groups: [...groups].sort(),
    permissions: [...permissions].sort(),
    users: [...users].sort(),
  };
}
