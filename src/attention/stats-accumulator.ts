/**
 * Accumulates the AttentionStats a call asked for, one softmax row at a time, so no n×len
 * matrix ever exists. Sums run in f64 and are rounded to f32 once per KV head at the end.
 * Semantics are those documented in stats.ts (per KV head, summed over the GQA group).
 */
import type { AttentionStats, StatNeeds } from './stats.js';
import { FLOW_STRIDE } from './stats.js';
import { ModalityCode } from '../cache/modality.js';

/** Number of query positions ≥ each slot position: count_j of the redistributed statistic. */
export function visibleQueryCounts(qPositions: Int32Array, slotPositions: Int32Array, len: number, out?: Float64Array): Float64Array {
  const sorted = Int32Array.from(qPositions).sort();
  const n = sorted.length;
  const counts = out ?? new Float64Array(len);
  for (let j = 0; j < len; j++) {
    const pj = slotPositions[j]!;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < pj) lo = mid + 1;
      else hi = mid;
    }
    counts[j] = n - lo;
  }
  return counts;
}

export class StatsAccumulator {
  private readonly stats: AttentionStats;
  private readonly windowStart: number;
  private len = 0;
  private slotModality: Uint8Array = new Uint8Array(0);
  private cumulative?: Float64Array;
  private window?: Float64Array;
  private lastQuery?: Float64Array;
  private textColumn?: Float64Array;
  private redistributed?: Float64Array;
  private counts?: Float64Array;
  private flows?: Float64Array;
  private entropy?: Float64Array;

  /**
   * needs: what to gather; kvHeads, group: GQA shape; qPositions [n];
   * qModality [n] (required for textColumn / flows, checked by validateAttendArgs).
   */
  constructor(
    needs: StatNeeds,
    kvHeads: number,
    private readonly group: number,
    private readonly qPositions: Int32Array,
    private readonly qModality: Uint8Array | undefined,
  ) {
    const n = qPositions.length;
    this.windowStart = n - Math.min(needs.window ?? 0, n);
    const perHead = <T>(): T[] => new Array<T>(kvHeads);
    this.stats = { groupSize: group, queries: n };
    if (needs.cumulative) this.stats.cumulative = perHead();
    if ((needs.window ?? 0) > 0) this.stats.window = perHead();
    if (needs.lastQuery) this.stats.lastQuery = perHead();
    if (needs.textColumn) this.stats.textColumn = perHead();
    if (needs.redistributed) this.stats.redistributed = perHead();
    if (needs.flows) this.stats.flows = perHead();
    if (needs.rowEntropy) this.stats.rowEntropy = perHead();
  }

  /** Starts KV head h, whose len slots have positions / modality codes (≥ len entries each). */
  beginHead(len: number, slotPositions: Int32Array, slotModality: Uint8Array): void {
    this.len = len;
    this.slotModality = slotModality;
    const n = this.qPositions.length;
    const zeros = (k: number): Float64Array => new Float64Array(k);
    const s = this.stats;
    this.cumulative = s.cumulative ? zeros(len) : undefined;
    this.window = s.window ? zeros(len) : undefined;
    this.lastQuery = s.lastQuery ? zeros(len) : undefined;
    this.textColumn = s.textColumn ? zeros(len) : undefined;
    this.redistributed = s.redistributed ? zeros(len) : undefined;
    this.counts = s.redistributed ? visibleQueryCounts(this.qPositions, slotPositions, len) : undefined;
    this.flows = s.flows ? zeros(FLOW_STRIDE * FLOW_STRIDE) : undefined;
    this.entropy = s.rowEntropy ? zeros(n) : undefined;
  }

  /**
   * Adds one softmax row: query token i of one query head; p [len] f64 probabilities (0 on
   * masked slots); entropy of the row in nats (0 when nothing was visible).
   */
  addRow(i: number, p: Float64Array, entropy: number): void {
    const len = this.len;
    addInto(this.cumulative, p, len);
    if (this.window && i >= this.windowStart) addInto(this.window, p, len);
    if (this.lastQuery && i === this.qPositions.length - 1) addInto(this.lastQuery, p, len);
    if (this.textColumn && this.qModality![i] === ModalityCode.text) addInto(this.textColumn, p, len);
    if (this.redistributed) {
      const f = this.qPositions[i]! + 1;
      const r = this.redistributed;
      for (let j = 0; j < len; j++) r[j] += p[j]! * f;
    }
    if (this.flows) {
      const base = this.qModality![i]! * FLOW_STRIDE;
      const fl = this.flows;
      const m = this.slotModality;
      for (let j = 0; j < len; j++) {
        const pj = p[j]!;
        if (pj !== 0) fl[base + m[j]!] += pj;
      }
    }
    if (this.entropy) this.entropy[i] += entropy;
  }

  /** Finishes KV head h: rounds the sums to their f32 / f64 result arrays. */
  endHead(h: number): void {
    const s = this.stats;
    if (s.cumulative) s.cumulative[h] = Float32Array.from(this.cumulative!);
    if (s.window) s.window[h] = Float32Array.from(this.window!);
    if (s.lastQuery) s.lastQuery[h] = Float32Array.from(this.lastQuery!);
    if (s.textColumn) s.textColumn[h] = Float32Array.from(this.textColumn!);
    if (s.redistributed) {
      const r = this.redistributed!;
      const c = this.counts!;
      const out = new Float32Array(this.len);
      for (let j = 0; j < this.len; j++) out[j] = c[j]! > 0 ? r[j]! / c[j]! : 0;
      s.redistributed[h] = out;
    }
    if (s.flows) s.flows[h] = this.flows!;
    if (s.rowEntropy) {
      const e = this.entropy!;
      const out = new Float32Array(e.length);
      for (let i = 0; i < e.length; i++) out[i] = e[i]! / this.group;
      s.rowEntropy[h] = out;
    }
  }

  result(): AttentionStats {
    return this.stats;
  }
}

function addInto(acc: Float64Array | undefined, p: Float64Array, len: number): void {
  if (!acc) return;
  for (let j = 0; j < len; j++) acc[j] += p[j]!;
}
