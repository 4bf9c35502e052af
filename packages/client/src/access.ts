// The bridge to the access expression language (`./expression.ts`, shared with the server):
// parse each distinct expression once, evaluate it against a user.

import { type Expression, evaluateExpression, parseExpression } from './expression.ts';
import type { GatehouseUser } from './user.ts';

/** Parses and caches expressions; one per client, so nothing is shared between clients. */
export function createAccessEvaluator(maxCached = 1000) {
  const parsed = new Map<string, Expression>();
  return function allows(text: string, user: GatehouseUser): boolean {
    let expr = parsed.get(text);
    if (expr === undefined) {
      // A parse error is the service's bug: it surfaces as an ExpressionError, not a 403.
      expr = parseExpression(text);
      if (parsed.size >= maxCached) parsed.clear();
      parsed.set(text, expr);
    }
    return evaluateExpression(expr, {
      username: user.username,
      groups: user.groups,
      permissions: user.permissions,
    });
  };
}
