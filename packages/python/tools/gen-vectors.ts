// Shared test vectors for the access-expression language, generated from the TypeScript
// implementation (packages/client/src/expression.ts) so the Python port cannot drift from it.
//
//   node_modules/.bin/node --conditions=gatehouse-source packages/python/tools/gen-vectors.ts          # rewrite the JSON
//   node_modules/.bin/node --conditions=gatehouse-source packages/python/tools/gen-vectors.ts --stdout # print it
//
// pytest (tests/test_expression_vectors.py) runs this with --stdout and fails when the output
// differs (as data) from the committed vectors/expression.json, then checks the Python port against them.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ExpressionError,
  evaluateExpression,
  expressionTerms,
  formatExpression,
  isGroupPath,
  MAX_EXPRESSION_DEPTH,
  MAX_EXPRESSION_LENGTH,
  parseExpression,
} from '../../client/src/expression.ts';

const subjects = [
  { username: 'Ada', groups: ['members/workshop'], permissions: ['upload:read', 'post:messages'] },
  { username: 'bob', groups: ['members/kitchen', 'admins'], permissions: ['perm:banned'] },
  { username: 'carol', groups: ['members'], permissions: ['banned', 'upload:*'] },
  { username: 'dave', groups: [], permissions: [] },
  { username: 'eve', groups: ['members/workshop/laser', 'a.b/c_d/e-f'], permissions: ['banned'] },
];

const handWritten = [
  'members',
  'members/workshop',
  'members/workshop & !perm:banned',
  'members/workshop&!perm:banned',
  'members/workshop/laser',
  'members | admins',
  'a | b & c',
  '(a | b) & c',
  '!a & b',
  '!(a & b)',
  '!!members',
  '!(members/workshop | admins) | user:DAVE',
  'user:ada',
  'user:Ada & perm:upload:read',
  'perm:upload:*',
  'perm:*',
  'perm:post:messages | perm:banned',
  ' \t members \n| admins\r ',
  '((((members))))',
  '(members/kitchen & admins) | (members/workshop & perm:upload:read)',
  'a.b/c_d/e-f',
  'a.b/c_d',
  'members/.hidden',
  // Mistakes
  '',
  '   ',
  'members &',
  'members & (',
  '(members',
  'members)',
  ')',
  '& members',
  '| members',
  'members | | admins',
  'members admins',
  'Members',
  'members//workshop',
  '/members',
  'members/',
  '..',
  'members/..',
  'members/./x',
  'perm:',
  'perm:bad perm',
  'perm:has space',
  'user:',
  'user:a@b',
  'group:members',
  ':x',
  'members # comment',
  'members ^ admins',
  'members && admins',
  'members || admins',
  'mémbers',
  'members & 😀',
  '😀 | members',
  'members/😀',
  '!',
  '!!',
  '()',
  '(()',
  'a & (b | c',
  'a & b) | c',
  'a b c',
  'perm:x:y:z & user:x.y-z_w',
  'user:A.B',
  'x'.repeat(MAX_EXPRESSION_LENGTH),
  'x'.repeat(MAX_EXPRESSION_LENGTH + 1),
  `${'('.repeat(MAX_EXPRESSION_DEPTH)}a${')'.repeat(MAX_EXPRESSION_DEPTH)}`,
  `${'('.repeat(MAX_EXPRESSION_DEPTH + 1)}a${')'.repeat(MAX_EXPRESSION_DEPTH + 1)}`,
  `${'!'.repeat(MAX_EXPRESSION_DEPTH)}a`,
  `${'!'.repeat(MAX_EXPRESSION_DEPTH + 1)}a`,
  `${'😀'.repeat(MAX_EXPRESSION_LENGTH / 2)}`,
  `${'😀'.repeat(MAX_EXPRESSION_LENGTH / 2 + 1)}`,
];

// Deterministic pseudo-random expressions (a fixed linear congruential generator), so the
// vectors also cover combinations nobody wrote by hand.
let seed = 0x5eed;
function random(n: number): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
}
const pieces = [
  'members',
  'members/workshop',
  'members/kitchen',
  'admins',
  'perm:banned',
  'perm:upload:read',
  'user:ada',
  'user:bob',
  '&',
  '|',
  '!',
  '(',
  ')',
  ' ',
  'perm:',
  'x/',
  '/',
  '😀',
  'Z',
  '..',
];
const generated: string[] = [];
for (let i = 0; i < 300; i++) {
  const length = 1 + random(9);
  let text = '';
  for (let j = 0; j < length; j++) text += pieces[random(pieces.length)];
  generated.push(text);
}

// And well-formed ones, built from the grammar, with irregular spacing and parentheses.
const terms = [
  'members',
  'members/workshop',
  'members/workshop/laser',
  'members/kitchen',
  'admins',
  'a.b/c_d',
  'perm:banned',
  'perm:upload:read',
  'perm:upload:*',
  'perm:post:messages',
  'user:ada',
  'user:BOB',
  'user:eve',
];
const spaces = ['', ' ', '  ', '\t', '\n '];
function wellFormed(depth: number): string {
  const sp = () => spaces[random(spaces.length)];
  const kind = depth > 3 ? 0 : random(5);
  if (kind === 0 || kind === 1) return terms[random(terms.length)]!;
  if (kind === 2) return `!${sp()}${wellFormed(depth + 1)}`;
  if (kind === 3) return `(${sp()}${wellFormed(depth + 1)}${sp()})`;
  const op = random(2) ? '&' : '|';
  return `${wellFormed(depth + 1)}${sp()}${op}${sp()}${wellFormed(depth + 1)}`;
}
for (let i = 0; i < 200; i++) generated.push(wellFormed(0));

function caseFor(text: string) {
  try {
    const tree = parseExpression(text);
    return {
      text,
      tree,
      formatted: formatExpression(tree),
      terms: expressionTerms(tree),
      results: subjects.map((s) => evaluateExpression(tree, s)),
    };
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return { text, error: { code: err.code, position: err.position, message: err.message } };
  }
}

const groupPaths = [
  'members',
  'members/workshop',
  'a.b/c_d/e-f',
  '',
  '/',
  'a/',
  '/a',
  'a//b',
  '.',
  '..',
  '...',
  'a/../b',
  'A',
  'a b',
  'a/😀',
  `${'a'.repeat(MAX_EXPRESSION_LENGTH)}`,
  `${'a'.repeat(MAX_EXPRESSION_LENGTH + 1)}`,
];

const vectors = {
  generatedBy: 'packages/python/tools/gen-vectors.ts from packages/client/src/expression.ts',
  limits: { maxLength: MAX_EXPRESSION_LENGTH, maxDepth: MAX_EXPRESSION_DEPTH },
  subjects,
  cases: [...new Set([...handWritten, ...generated])].map(caseFor),
  groupPaths: groupPaths.map((path) => ({ path, valid: isGroupPath(path) })),
};

const json = `${JSON.stringify(vectors, null, 1)}\n`;
if (process.argv.includes('--stdout')) process.stdout.write(json);
else {
  const file = fileURLToPath(new URL('../vectors/expression.json', import.meta.url));
  writeFileSync(file, json);
  // Committed as Biome formats it, so `npm run lint` passes.
  execFileSync(fileURLToPath(new URL('../../../node_modules/.bin/biome', import.meta.url)), [
    'format',
    '--write',
    file,
  ]);
}
