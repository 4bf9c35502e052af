import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AccessSubject,
  type Expression,
  ExpressionError,
  evaluateExpression,
  expressionTerms,
  formatExpression,
  isGroupPath,
  MAX_EXPRESSION_DEPTH,
  MAX_EXPRESSION_LENGTH,
  parseExpression,
} from '../src/expression.ts';

function errorOf(text: unknown): ExpressionError {
  try {
    parseExpression(text as string);
  } catch (err) {
    if (err instanceof ExpressionError) return err;
    throw err;
  }
  throw new Error(`parsed: ${String(text)}`);
}

const alice: AccessSubject = {
  username: 'alice',
  groups: ['members/workshop', 'board'],
  permissions: ['upload:write'],
};

describe('parseExpression', () => {
  it('parses terms, operators and precedence (! over & over |)', () => {
    expect(parseExpression('members/workshop/laser')).toEqual({
      type: 'group',
      path: 'members/workshop/laser',
    });
    expect(parseExpression('perm:upload:write')).toEqual({
      type: 'perm',
      permission: 'upload:write',
    });
    expect(parseExpression('user:Alice')).toEqual({ type: 'user', username: 'alice' });
    expect(parseExpression('a | b & !c')).toEqual({
      type: 'or',
      operands: [
        { type: 'group', path: 'a' },
        {
          type: 'and',
          operands: [
            { type: 'group', path: 'b' },
            { type: 'not', operand: { type: 'group', path: 'c' } },
          ],
        },
      ],
    });
    expect(formatExpression(parseExpression(' ( a|b )&c '))).toBe('(a | b) & c');
    expect(formatExpression(parseExpression('!(a & b)'))).toBe('!(a & b)');
    expect(formatExpression(parseExpression('x.y_z-1/2'))).toBe('x.y_z-1/2');
  });

  it.each([
    ['', 'EXPRESSION_EMPTY', 0],
    ['   ', 'EXPRESSION_EMPTY', 3],
    ['a &', 'EXPECTED_TERM', 3],
    ['a & | b', 'EXPECTED_TERM', 4],
    ['(a | b', 'UNCLOSED_PARENTHESIS', 0],
    ['a)', 'UNMATCHED_PARENTHESIS', 1],
    ['a b', 'UNEXPECTED_TOKEN', 2],
    ['(a b)', 'UNEXPECTED_TOKEN', 3],
    ['Members', 'INVALID_PATH', 0],
    ['members/Workshop', 'INVALID_PATH', 8],
    ['members//x', 'INVALID_PATH', 8],
    ['members/../x', 'INVALID_PATH', 8],
    ['/members', 'INVALID_PATH', 0],
    ['a & perm:', 'INVALID_PERMISSION', 9],
    ['user:al/ice', 'INVALID_USERNAME', 5],
    ['group:a', 'UNKNOWN_PREFIX', 0],
    ['a && b', 'EXPECTED_TERM', 3],
    ['a ; b', 'UNEXPECTED_TOKEN', 2],
    ['a & é', 'UNEXPECTED_CHARACTER', 4],
    ['a & <script>', 'UNEXPECTED_CHARACTER', 4],
  ])('refuses %j with %s at %i', (text, code, position) => {
    const err = errorOf(text);
    expect(err.code).toBe(code);
    expect(err.position).toBe(position);
    expect(err.message).toContain(`position ${position}`);
  });

  it('refuses what is not text', () => {
    for (const bad of [undefined, null, 42, {}, ['a']]) {
      expect(errorOf(bad).code).toBe('EXPRESSION_NOT_STRING');
    }
  });

  it('refuses an expression over the length limit before parsing it', () => {
    expect(parseExpression('a'.repeat(MAX_EXPRESSION_LENGTH)).type).toBe('group');
    expect(errorOf('a'.repeat(MAX_EXPRESSION_LENGTH + 1)).code).toBe('EXPRESSION_TOO_LONG');
    expect(errorOf('('.repeat(1_000_000)).code).toBe('EXPRESSION_TOO_LONG');
  });

  it('refuses nesting over the depth limit, for parentheses and for !', () => {
    const ok = `${'('.repeat(MAX_EXPRESSION_DEPTH)}a${')'.repeat(MAX_EXPRESSION_DEPTH)}`;
    expect(parseExpression(ok)).toEqual({ type: 'group', path: 'a' });
    const deep = `${'('.repeat(MAX_EXPRESSION_DEPTH + 1)}a${')'.repeat(MAX_EXPRESSION_DEPTH + 1)}`;
    expect(errorOf(deep)).toMatchObject({ code: 'EXPRESSION_TOO_DEEP', position: 32 });
    expect(errorOf(`${'!'.repeat(MAX_EXPRESSION_DEPTH + 1)}a`).code).toBe('EXPRESSION_TOO_DEEP');
    expect(errorOf(`${'!('.repeat(200)}a`).code).toBe('EXPRESSION_TOO_DEEP');
  });

  it('never throws anything but an ExpressionError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => {
        try {
          const expr = parseExpression(text);
          expect(parseExpression(formatExpression(expr))).toEqual(expr);
        } catch (err) {
          expect(err).toBeInstanceOf(ExpressionError);
          const e = err as ExpressionError;
          expect(e.position).toBeGreaterThanOrEqual(0);
          expect(e.position).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('evaluateExpression', () => {
  it('grants a group and everything below it, never above', () => {
    expect(evaluateExpression('members/workshop', alice)).toBe(true);
    expect(evaluateExpression('members/workshop/laser', alice)).toBe(true);
    expect(evaluateExpression('members/workshop/laser/deep', alice)).toBe(true);
    expect(evaluateExpression('members', alice)).toBe(false);
    expect(evaluateExpression('members/workshopx', alice)).toBe(false);
    expect(evaluateExpression('members/work', alice)).toBe(false);
  });

  it('checks permissions, usernames and operators', () => {
    expect(evaluateExpression('perm:upload:write', alice)).toBe(true);
    expect(evaluateExpression('perm:upload', alice)).toBe(false);
    expect(evaluateExpression('user:ALICE', alice)).toBe(true);
    expect(evaluateExpression('user:bob', alice)).toBe(false);
    expect(evaluateExpression('board & !members/workshop/laser', alice)).toBe(false);
    expect(evaluateExpression('members | perm:upload:write', alice)).toBe(true);
    expect(evaluateExpression('!(members | user:bob)', alice)).toBe(true);
  });

  it('agrees with a reference evaluator on random expressions (fast-check)', () => {
    const segment = fc.constantFrom('a', 'b', 'c');
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    const term: fc.Arbitrary<Expression> = fc.oneof(
      path.map((p) => ({ type: 'group', path: p }) as const),
      fc.constantFrom('x', 'y').map((p) => ({ type: 'perm', permission: p }) as const),
      fc.constantFrom('u', 'v').map((u) => ({ type: 'user', username: u }) as const),
    );
    const { expr } = fc.letrec<{ expr: Expression }>((tie) => ({
      expr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        term,
        tie('expr').map((e) => ({ type: 'not', operand: e }) as const),
        fc
          .tuple(
            fc.constantFrom('and' as const, 'or' as const),
            fc.array(tie('expr'), { minLength: 2, maxLength: 3 }),
          )
          .map(([type, operands]) => ({ type, operands }) as Expression),
      ),
    }));
    const subject = fc.record({
      username: fc.constantFrom('u', 'v'),
      groups: fc.array(path, { maxLength: 4 }),
      permissions: fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }),
    });
    const reference = (e: Expression, s: AccessSubject & { groups: string[] }): boolean => {
      switch (e.type) {
        case 'group':
          return s.groups.some((g) => e.path === g || e.path.startsWith(`${g}/`));
        case 'perm':
          return [...s.permissions].includes(e.permission);
        case 'user':
          return s.username === e.username;
        case 'not':
          return !reference(e.operand, s);
        case 'and':
          return e.operands.every((o) => reference(o, s));
        case 'or':
          return e.operands.some((o) => reference(o, s));
      }
    };
    fc.assert(
      fc.property(expr, subject, (e, s) => {
        const text = formatExpression(e);
        if (text.length > MAX_EXPRESSION_LENGTH) return;
        const parsed = parseExpression(text);
        expect(evaluateExpression(parsed, s)).toBe(reference(e, s));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('helpers', () => {
  it('lists the terms an expression uses', () => {
    expect(expressionTerms(parseExpression('b/c | a & perm:x & !(user:bob | a) | perm:x'))).toEqual(
      { groups: ['a', 'b/c'], permissions: ['x'], users: ['bob'] },
    );
  });

  it('recognises group paths', () => {
    expect(isGroupPath('members/workshop')).toBe(true);
    for (const bad of ['', 'a/', '/a', 'a//b', 'A', '..', 'a/./b', 'a b', 42]) {
      expect(isGroupPath(bad)).toBe(false);
    }
  });
});
