/**
 * Budget allocators: how many slots each layer (or each KV head of a layer) may keep. Every
 * allocator returns whole numbers that sum exactly to the total it was given (largest
 * remainder rounding), so the cache's byte accounting matches the nominal budget.
 */

/** Every layer gets `base` slots per head. */
export function uniformLayerBudgets(base: number, numLayers: number): number[] {
  checkBase(base, numLayers, 'uniformLayerBudgets');
  return new Array<number>(numLayers).fill(base);
}

/**
 * PyramidKV (arXiv 2406.02069): budgets decrease linearly with depth. With c = base − fixed
 * (the part that is allocated; `fixed` is the observation window every layer keeps), min = c/β,
 * max = 2c − min, layer ℓ gets max − ℓ·(max − min)/(L − 1), plus `fixed`. Sums to base·L.
 * Given the prompt length P, KVCache-Factory's guards apply (pyramidkv_utils.py,
 * PyramidKVCluster.update_kv): a prompt shorter than the base is left whole and one shorter
 * than 2c gets the SnapKV fallback (both: the uniform split), and max is clamped to P − fixed
 * (min = 2c − max) so no layer is given more slots than the prompt has while the average
 * stays c. Factory rounds with integer steps; we round to the exact total.
 */
export function pyramidLayerBudgets(base: number, numLayers: number, beta: number, fixed = 0, promptLength?: number): number[] {
  checkBase(base, numLayers, 'pyramidLayerBudgets');
  if (!(Number.isFinite(beta) && beta >= 1)) throw new RangeError(`pyramidLayerBudgets: beta must be a number ≥ 1; got ${beta}`);
  if (promptLength !== undefined && !(Number.isInteger(promptLength) && promptLength >= 0)) {
    throw new RangeError(`pyramidLayerBudgets: promptLength must be a whole number of tokens ≥ 0; got ${promptLength}`);
  }
  const f = Math.max(0, Math.min(Math.floor(fixed), base));
  const c = base - f;
  if (numLayers === 1) return [base];
  if (promptLength !== undefined && (promptLength < base || promptLength < 2 * c)) return uniformLayerBudgets(base, numLayers);
  let min = c / beta;
  let max = 2 * c - min;
  if (promptLength !== undefined && max >= promptLength - f) {
    max = promptLength - f;
    min = 2 * c - max;
  }
  const raw = Array.from({ length: numLayers }, (_, l) => max - (l * (max - min)) / (numLayers - 1));
  return roundToTotal(raw, c * numLayers).map((b) => b + f);
}

/**
 * Layer budgets in proportion to non-negative layer weights, blended with the uniform split:
 * b_ℓ = base·((1 − mix) + mix·L·w_ℓ/Σw). mix = 1 is fully proportional (D2O, MEDA).
 * All-zero weights give the uniform split. Sums to base·L.
 */
export function weightedLayerBudgets(weights: ArrayLike<number>, base: number, mix = 1): number[] {
  const L = weights.length;
  checkBase(base, L, 'weightedLayerBudgets');
  if (!(mix >= 0 && mix <= 1)) throw new RangeError(`weightedLayerBudgets: mix must be in [0, 1]; got ${mix}`);
  let sum = 0;
  for (let l = 0; l < L; l++) {
    const w = weights[l]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weightedLayerBudgets: weights[${l}] must be a finite number ≥ 0; got ${w}`);
    sum += w;
  }
  const raw = Array.from({ length: L }, (_, l) => base * ((1 - mix) + (sum > 0 ? (mix * L * weights[l]!) / sum : mix)));
  return roundToTotal(raw, base * L);
}

/**
 * AdaKV (arXiv 2407.11550): per-head budgets of one layer. Each head first gets a floor of
 * ⌊α·B⌋ slots (its own best ones); the remaining H·B − H·⌊α·B⌋ go to the largest scores over
 * the flattened (head, slot) scores not already taken. Heads with concentrated attention thus
 * keep fewer slots. scoresPerHead: [H][len_h], comparable across heads (attention mass).
 * A head never gets more than its length; the total is min(total, Σ len_h) where `total`
 * defaults to H·B (pass it when part of the layer budget is already spent, e.g. on windows).
 */
export function adaptiveHeadBudgets(scoresPerHead: ArrayLike<number>[], budgetPerHead: number, floorRatio: number, total?: number): number[] {
  if (!Number.isInteger(budgetPerHead) || budgetPerHead < 0) {
    throw new RangeError(`adaptiveHeadBudgets: budgetPerHead must be a whole number ≥ 0; got ${budgetPerHead}`);
  }
  if (!(floorRatio >= 0 && floorRatio <= 1)) throw new RangeError(`adaptiveHeadBudgets: floorRatio must be in [0, 1]; got ${floorRatio}`);
  const H = scoresPerHead.length;
  const want = total ?? H * budgetPerHead;
  if (!Number.isInteger(want) || want < 0) throw new RangeError(`adaptiveHeadBudgets: total must be a whole number ≥ 0; got ${want}`);
  const floor = Math.min(Math.floor(floorRatio * budgetPerHead), H > 0 ? Math.floor(want / H) : 0);
  const out = scoresPerHead.map((s) => Math.min(floor, s.length));
  // Remaining entries of every head, best first, so a head's extra picks follow its own order.
  const rest: { s: number; h: number }[] = [];
  scoresPerHead.forEach((s, h) => {
    const sorted = Array.from(s, (x) => (Number.isNaN(x) ? -Infinity : x)).sort((a, b) => b - a);
    for (let i = out[h]!; i < sorted.length; i++) rest.push({ s: sorted[i]!, h });
  });
  let left = Math.min(want - out.reduce((a, b) => a + b, 0), rest.length);
  rest.sort((a, b) => b.s - a.s || a.h - b.h);
  for (let i = 0; i < rest.length && left > 0; i++, left--) out[rest[i]!.h]!++;
  return out;
}

/** Rounds non-negative reals to integers with the given integer total (largest remainder). */
export function roundToTotal(raw: readonly number[], total: number): number[] {
  const clamped = raw.map((x) => Math.max(0, x));
  const out = clamped.map((x) => Math.floor(x));
  let left = Math.round(total) - out.reduce((a, b) => a + b, 0);
  const order = clamped.map((x, i) => ({ r: x - Math.floor(x), i })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]!.i]!++;
  for (let k = order.length - 1; left < 0; k = (k - 1 + order.length) % order.length) {
    if (out[order[k]!.i]! > 0) {
      out[order[k]!.i]!--;
      left++;
    }
  }
  return out;
}

function checkBase(base: number, numLayers: number, where: string): void {
  if (!Number.isInteger(base) || base < 0) throw new RangeError(`${where}: base must be a whole number of slots ≥ 0; got ${base}`);
  if (!Number.isInteger(numLayers) || numLayers < 1) throw new RangeError(`${where}: numLayers must be a whole number ≥ 1; got ${numLayers}`);
}
