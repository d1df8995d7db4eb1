/**
 * When to compress: once after prefill (SnapKV-style), every N decode steps, or whenever a
 * layer holds more than its budget (streaming: StreamingLLM, H2O, TOVA during decode).
 */
export type Schedule =
  | { kind: 'after-prefill' }
  | { kind: 'every'; steps: number }
  | { kind: 'over-budget' };

export const DEFAULT_SCHEDULE: Schedule = { kind: 'after-prefill' };

/** Whether a layer holding `length` slots against `budget` should be compressed now. */
export function shouldCompress(s: Schedule, phase: 'prefill' | 'decode', step: number, length: number, budget: number): boolean {
  switch (s.kind) {
    case 'after-prefill':
      return phase === 'prefill' && length > budget;
    case 'every':
      if (!Number.isInteger(s.steps) || s.steps < 1) throw new RangeError(`schedule.steps must be an integer ≥ 1; got ${s.steps}`);
      return length > budget && (phase === 'prefill' || step % s.steps === 0);
    case 'over-budget':
      return length > budget;
  }
}

/**
 * Whether the endStep that closes decode step `step` (0-based: the session's step count before
 * it) may compress, so the attention of that step must gather the policy's statistics: never
 * under after-prefill, on every N-th step under `every`, always under over-budget (it depends
 * on lengths the step has not reached yet).
 */
export function compressionMayFollowStep(s: Schedule, step: number): boolean {
  switch (s.kind) {
    case 'after-prefill':
      return false;
    case 'every':
      return (step + 1) % s.steps === 0;
    case 'over-budget':
      return true;
  }
}

/**
 * Whether a compression may still come at some later decode step: statistics that accumulate
 * across steps (the H2O scores) must then be gathered on every step.
 */
export function compressesDuringDecode(s: Schedule): boolean {
  return s.kind !== 'after-prefill';
}
