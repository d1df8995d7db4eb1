/**
 * Per-layer attention mass by key modality, captured at the backend seam: a ComputeBackend
 * wrapper that, between begin() and end() (one prefill), asks every attend call for the
 * modality `flows` statistic as well and adds it up per layer. The runtime attends layers in
 * order 0..L-1 once per forward, so the k-th call of a prefill is layer k mod L. Asking for
 * flows adds work to prefill; that is why it is an opt-in metric ("attention-mass").
 */
import type { AttendArgs, ComputeBackend } from '../attention/backend.js';
import { NUM_MODALITIES } from '../cache/modality.js';

export class FlowCapture {
  readonly backend: ComputeBackend;
  /** [layer][key modality] attention mass summed over heads, query rows and prefills. */
  private readonly mass: Float64Array[];
  private active = false;
  private calls = 0;

  constructor(
    inner: ComputeBackend,
    private readonly numLayers: number,
  ) {
    this.mass = Array.from({ length: numLayers }, () => new Float64Array(NUM_MODALITIES));
    const attend = (args: AttendArgs) => {
      if (!this.active) return inner.attend(args);
      const res = inner.attend({ ...args, needs: { ...args.needs, flows: true } });
      const layer = this.mass[this.calls++ % this.numLayers]!;
      for (const f of res.stats.flows ?? []) {
        for (let qm = 0; qm < NUM_MODALITIES; qm++) {
          for (let km = 0; km < NUM_MODALITIES; km++) layer[km]! += f[qm * NUM_MODALITIES + km]!;
        }
      }
      return res;
    };
    // Every other op passes straight through to the wrapped backend (bound, so class
    // backends with private state keep working).
    this.backend = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'attend') return attend;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  begin(): void {
    this.active = true;
    this.calls = 0;
  }

  end(): void {
    this.active = false;
  }

  /** [layer][modality] share of each layer's attention mass per key modality (rows sum to 1). */
  massByLayer(): number[][] {
    return this.mass.map((m) => {
      const total = m.reduce((a, b) => a + b, 0);
      return Array.from(m, (x) => (total > 0 ? x / total : 0));
    });
  }
}
