/**
 * Budgets: how many slots each KV head of a layer may keep. Given as a ratio of the prompt
 * length (the literature's "20 % budget") or as absolute tokens (AVicuna's 160 / 120).
 */
export type BudgetSpec = { ratio: number } | { tokens: number };

export function validateBudget(b: BudgetSpec, where = 'budget'): BudgetSpec {
  if ('ratio' in b) {
    if (!Number.isFinite(b.ratio) || b.ratio < 0 || b.ratio > 1) {
      throw new RangeError(`${where}.ratio must be a number in [0, 1]; got ${b.ratio}`);
    }
  } else if ('tokens' in b) {
    if (!Number.isInteger(b.tokens) || b.tokens < 0) {
      throw new RangeError(`${where}.tokens must be a whole number ≥ 0; got ${b.tokens}`);
    }
  } else {
    throw new TypeError(`${where} must be { ratio: number in [0,1] } or { tokens: integer ≥ 0 }`);
  }
  return b;
}

/** Slots per head for a prompt of `promptLength` tokens (never more than the prompt). */
export function resolveBudget(b: BudgetSpec, promptLength: number): number {
  validateBudget(b);
  const t = 'ratio' in b ? Math.round(b.ratio * promptLength) : b.tokens;
  return Math.min(t, promptLength);
}

/** Parses "20%", "0.2", "512" or "512t" into a BudgetSpec. */
export function parseBudget(s: string | number, where = 'budget'): BudgetSpec {
  if (typeof s === 'number') return validateBudget(s <= 1 ? { ratio: s } : { tokens: s }, where);
  const t = s.trim();
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  if (pct) return validateBudget({ ratio: Number(pct[1]) / 100 }, where);
  const tok = /^(\d+)\s*t(?:okens)?$/.exec(t);
  if (tok) return validateBudget({ tokens: Number(tok[1]) }, where);
  const num = Number(t);
  if (t !== '' && Number.isFinite(num)) return validateBudget(num <= 1 ? { ratio: num } : { tokens: num }, where);
  throw new TypeError(`${where}: "${s}" is not a budget; expected a ratio like 0.2 or "20%", or tokens like 512 or "512t"`);
}
