/**
 * Decides each paper claim on our measurements: confirmed, not confirmed, or not testable
 * here, with the numbers that decided it. Comparisons are strict (a tie does not confirm
 * "beats"; KL differences under 1e-4 nats are ties; a layer trend must exceed 10 %); cells
 * are means over seeds of one metric for one policy label at one budget.
 */
import { MODALITIES } from '../../src/cache/modality.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { buildGrid, cellStats, REPORT_METRICS } from '../../src/runner/report/tables.js';
import type { Claim, ClaimCheck } from './manifest.js';

export type Verdict = 'confirmed' | 'not confirmed' | 'not testable here';

export interface ClaimResult {
  id: string;
  claim: string;
  paper: string;
  verdict: Verdict;
  /** Our numbers, as one line. */
  measured: string;
}

/** Per-layer ρ of a flow analysis (see flow-analysis.ts). */
export type FlowAnalyses = Map<string, { rho: number[]; samples: number }>;

const HIGHER_IS_BETTER = new Set(['accuracy', 'top1_agreement']);
const FULL_LABEL = 'full cache';

export const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** Mean of `metric` for `label` at `budget` (the full cache at any budget); NaN when missing. */
export function cell(rows: readonly ResultRow[], metric: string, label: string, budget: string): number {
  const def = REPORT_METRICS.find((m) => m.key === metric);
  if (!def) throw new Error(`claims: unknown metric "${metric}"`);
  return cellStats(buildGrid(rows, { ...def, scale: 1 }), label, budget)?.mean ?? Number.NaN;
}

const digits = (metric: string): number => (metric === 'kl' ? 4 : 3);
/** Differences below this count as ties (KL values of near-identical distributions are float noise). */
const TIE: Record<string, number> = { kl: 1e-4 };
const better = (metric: string, a: number, b: number): boolean => (HIGHER_IS_BETTER.has(metric) ? a - b : b - a) > (TIE[metric] ?? 0);
/** A shift counts when the larger value exceeds the smaller by 10 % of it (and by more than float noise). */
const clearlyLarger = (a: number, b: number): boolean => a > b * 1.1 && a - b > 1e-3;

export function evaluateClaims(claims: readonly Claim[], runs: Map<string, ResultRow[]>, flows: FlowAnalyses): ClaimResult[] {
  return claims.map((c) => {
    const { verdict, measured } = decide(c.check, runs, flows);
    return { id: c.id, claim: c.claim, paper: c.paper, verdict, measured };
  });
}

function decide(check: ClaimCheck, runs: Map<string, ResultRow[]>, flows: FlowAnalyses): { verdict: Verdict; measured: string } {
  if (check.kind === 'untestable') return { verdict: 'not testable here', measured: check.reason };
  if (check.kind === 'rho-depth') return rhoDepth(flows.get(check.analysis));
  const rows = runs.get(check.run);
  if (!rows || rows.length === 0) return { verdict: 'not testable here', measured: `run "${check.run}" has no results` };
  const missing = (what: string): { verdict: Verdict; measured: string } => ({ verdict: 'not testable here', measured: `no measurement of ${what} in run "${check.run}"` });
  switch (check.kind) {
    case 'beats': {
      let all = true;
      const parts: string[] = [];
      for (const b of check.budgets) {
        const own = cell(rows, check.metric, check.policy, b);
        if (Number.isNaN(own)) return missing(`${check.policy} @ ${b}`);
        const others = check.over.map((o) => ({ o, v: cell(rows, check.metric, o, b) }));
        const gap = others.find((x) => Number.isNaN(x.v));
        if (gap) return missing(`${gap.o} @ ${b}`);
        const wins = others.filter((x) => better(check.metric, own, x.v)).length;
        all &&= wins === others.length;
        const d = digits(check.metric);
        parts.push(`${b}: ${check.policy} ${fmt(own, d)} vs ${others.map((x) => `${x.o} ${fmt(x.v, d)}`).join(', ')} (beats ${wins}/${others.length})`);
      }
      return { verdict: all ? 'confirmed' : 'not confirmed', measured: `${check.metric} — ${parts.join('; ')}` };
    }
    case 'ablation': {
      let all = true;
      const parts: string[] = [];
      for (const b of check.budgets) {
        const full = cell(rows, check.metric, check.full, b);
        const abl = cell(rows, check.metric, check.ablated, b);
        if (Number.isNaN(full) || Number.isNaN(abl)) return missing(`${check.full} / ${check.ablated} @ ${b}`);
        all &&= better(check.metric, full, abl);
        const d = digits(check.metric);
        parts.push(`${b}: ${check.full} ${fmt(full, d)} vs ${check.ablated} ${fmt(abl, d)} (Δ ${fmt(abl - full, d)})`);
      }
      return { verdict: all ? 'confirmed' : 'not confirmed', measured: `${check.metric} — ${parts.join('; ')}` };
    }
    case 'near-full': {
      const full = cell(rows, check.metric, FULL_LABEL, check.budget);
      const own = cell(rows, check.metric, check.policy, check.budget);
      if (Number.isNaN(full) || Number.isNaN(own)) return missing(`${check.policy} @ ${check.budget} and the full cache`);
      const loss = HIGHER_IS_BETTER.has(check.metric) ? full - own : own - full;
      return {
        verdict: loss <= check.within + 1e-9 ? 'confirmed' : 'not confirmed',
        measured: `${check.metric} — full ${fmt(full)}, ${check.policy} @ ${check.budget} ${fmt(own)} (loss ${fmt(loss)}; claim holds if ≤ ${check.within})`,
      };
    }
    case 'graceful': {
      const drop = (label: string): number => {
        const hi = cell(rows, check.metric, label, check.high);
        const lo = cell(rows, check.metric, label, check.low);
        return HIGHER_IS_BETTER.has(check.metric) ? hi - lo : lo - hi;
      };
      const own = drop(check.policy);
      if (Number.isNaN(own)) return missing(`${check.policy} @ ${check.high} and ${check.low}`);
      const others = check.over.map((o) => ({ o, d: drop(o) }));
      const gap = others.find((x) => Number.isNaN(x.d));
      if (gap) return missing(`${gap.o} @ ${check.high} and ${check.low}`);
      const ok = others.filter((x) => own < x.d).length;
      return {
        verdict: ok === others.length ? 'confirmed' : 'not confirmed',
        measured: `${check.metric} loss from ${check.high} to ${check.low} — ${check.policy} ${fmt(own)} vs ${others.map((x) => `${x.o} ${fmt(x.d)}`).join(', ')} (smaller than ${ok}/${others.length})`,
      };
    }
    case 'speedup':
    case 'memory': {
      const metric = check.kind === 'speedup' ? 'decode_ms_per_token' : 'total_bytes';
      const full = cell(rows, metric, FULL_LABEL, check.budgets[0]!);
      if (Number.isNaN(full)) return missing(`${metric} of the full cache`);
      let all = true;
      const parts: string[] = [];
      for (const b of check.budgets) {
        const own = cell(rows, metric, check.policy, b);
        if (Number.isNaN(own)) return missing(`${metric} of ${check.policy} @ ${b}`);
        if (check.kind === 'speedup') {
          const ratio = full / own;
          all &&= ratio >= check.atLeast;
          parts.push(`${b}: ${fmt(own, 2)} ms vs full ${fmt(full, 2)} ms → ${fmt(ratio, 2)}×`);
        } else {
          const cut = 1 - own / full;
          all &&= cut >= check.reductionAtLeast;
          parts.push(`${b}: ${fmt(own / 1024, 1)} KiB vs full ${fmt(full / 1024, 1)} KiB → −${fmt(100 * cut, 1)} %`);
        }
      }
      const bar = check.kind === 'speedup' ? `≥ ${check.atLeast}× at every budget` : `≥ ${100 * check.reductionAtLeast} % at every budget`;
      return { verdict: all ? 'confirmed' : 'not confirmed', measured: `${parts.join('; ')} (claim holds if ${bar})` };
    }
    case 'layer-shift':
      return layerShift(rows, check.modality, check.versus);
  }
}

/** Upper-half layers put more of their attention on `modality` than lower-half layers, and more than on `versus`. */
function layerShift(rows: readonly ResultRow[], modality: string, versus: string): { verdict: Verdict; measured: string } {
  const full = rows.find((r) => r.policy === 'full' && r.modality_mass && r.modality_mass.length > 1);
  if (!full) return { verdict: 'not testable here', measured: 'no full-cache attention-mass measurement (metric "attention-mass")' };
  const mass = full.modality_mass!;
  const mi = MODALITIES.indexOf(modality as (typeof MODALITIES)[number]);
  const vi = MODALITIES.indexOf(versus as (typeof MODALITIES)[number]);
  if (mi < 0 || vi < 0 || mass.every((l) => l[mi]! === 0) || mass.every((l) => l[vi]! === 0)) {
    return { verdict: 'not testable here', measured: `the prompts lack ${modality} or ${versus} tokens` };
  }
  const half = Math.floor(mass.length / 2);
  const mean = (ls: number[][], i: number): number => ls.reduce((a, l) => a + l[i]!, 0) / ls.length;
  const lower = mass.slice(0, half);
  const upper = mass.slice(half);
  const ok = clearlyLarger(mean(upper, mi), mean(lower, mi)) && clearlyLarger(mean(upper, mi), mean(upper, vi));
  const perLayer = mass.map((l, i) => `L${i} ${fmt(l[mi]!, 2)}/${fmt(l[vi]!, 2)}`).join(', ');
  return {
    verdict: ok ? 'confirmed' : 'not confirmed',
    measured: `share of prefill attention on ${modality}/${versus} keys per layer: ${perLayer}; upper-half ${modality} ${fmt(mean(upper, mi), 2)} vs lower-half ${fmt(mean(lower, mi), 2)} (confirmed if ≥ 10 % larger, and ≥ 10 % above ${versus})`,
  };
}

/** ρ grows with depth: the deeper half of the layers has the larger mean ρ. */
function rhoDepth(a: { rho: number[]; samples: number } | undefined): { verdict: Verdict; measured: string } {
  if (!a || a.rho.length < 2) return { verdict: 'not testable here', measured: 'the flow analysis did not run' };
  if (a.rho.every((r) => r === 0)) return { verdict: 'not testable here', measured: `ρ is 0 in every layer: the ${a.samples} prompts hold no media tokens` };
  const half = Math.floor(a.rho.length / 2);
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const lo = mean(a.rho.slice(0, half));
  const hi = mean(a.rho.slice(half));
  return {
    verdict: clearlyLarger(hi, lo) ? 'confirmed' : 'not confirmed',
    measured: `ρ per layer (${a.samples} full-cache prefills): ${a.rho.map((r, i) => `L${i} ${fmt(r, 3)}`).join(', ')}; deeper half ${fmt(hi)} vs shallower half ${fmt(lo)} (confirmed if ≥ 10 % larger)`,
  };
}
