// The bridge to the access expression language (`./expression.ts`, shared with the server):
// parse each distinct expression once, evaluate it against a user.

import { GatehouseError } from './errors.ts';
import * as expression from './expression.ts';
import type { GatehouseUser } from './user.ts';

interface ExpressionModule {
  parseExpression(text: string): unknown;
  evaluateExpression(
    expr: unknown,
    subject: { username: string; groups: readonly string[]; permissions: readonly string[] },
  ): boolean;
}

// Read through an interface so this file compiles whether or not the language has landed yet.
const language = expression as unknown as Partial<ExpressionModule>;

/** Parses and caches expressions; one per client, so nothing is shared between clients. */
export function createAccessEvaluator(maxCached = 1000) {
  const parsed = new Map<string, unknown>();
  return function allows(text: string, user: GatehouseUser): boolean {
    if (!language.parseExpression || !language.evaluateExpression) {
      throw new GatehouseError('configuration', 'The access expression language is unavailable.');
    }
    let expr = parsed.get(text);
    if (expr === undefined) {
      // A parse error is the service's bug: it surfaces as an ExpressionError, not a 403.
      expr = language.parseExpression(text);
      if (parsed.size >= maxCached) parsed.clear();
      parsed.set(text, expr);
    }
    return language.evaluateExpression(expr, {
      username: user.username,
      groups: user.groups,
      permissions: user.permissions,
    });
  };
}

/** True when the expression language is present (it is written separately). */
export const expressionLanguageAvailable: boolean = Boolean(
  language.parseExpression && language.evaluateExpression,
);
