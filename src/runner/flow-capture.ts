/**
 * Per-layer attention mass by key modality, captured at the backend seam: a ComputeBackend
 * wrapper that, between begin() and end() (one prefill), asks every attend call for the
 * modality `flows` statistic as well and adds it up per layer. The runtime attends layers in
 * order 0..L-1 once per forward, so the k-th call of a prefill is layer k mod L. Asking for
 * flows adds work to prefill; that is why it is an opt-in metric ("attention-mass").
 *
 * By default only text query rows count: AccKV's "upper layers drift toward video" is about
 * where the text (the question) looks among the media. Over all query rows the media rows
 * (≈ 99 % of an AV prompt) dominate and the share mostly says where media attends media;
 * `queryRows: 'all'` keeps that reading.
 */
import type { AttendArgs, ComputeBackend } from '../attention/backend.js';
import { ModalityCode, NUM_MODALITIES } from '../cache/modality.js';

/** Which query rows' attention is added up: text rows only (default), or every row. */
export type CapturedQueryRows = 'text' | 'all';

export class FlowCapture {
  readonly backend: ComputeBackend;
  /** [layer][key modality] attention mass summed over heads, the captured query rows and prefills. */
  private readonly mass: Float64Array[];
  private active = false;
  private calls = 0;

  constructor(
    inner: ComputeBackend,
    private readonly numLayers: number,
    queryRows: CapturedQueryRows = 'text',
  ) {
    this.mass = Array.from({ length: numLayers }, () => new Float64Array(NUM_MODALITIES));
    const rows: readonly number[] = queryRows === 'text' ? [ModalityCode.text] : Array.from({ length: NUM_MODALITIES }, (_, m) => m);
    const attend = (args: AttendArgs) => {
      if (!this.active) return inner.attend(args);
      const res = inner.attend({ ...args, needs: { ...args.needs, flows: true } });
      const layer = this.mass[this.calls++ % this.numLayers]!;
      for (const f of res.stats.flows ?? []) {
        for (const qm of rows) {
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

  /** [layer][modality] share of each layer's captured attention mass per key modality (rows sum to 1; all 0 when no row was captured). */
  massByLayer(): number[][] {
    return this.mass.map((m) => {
      const total = m.reduce((a, b) => a + b, 0);
      return Array.from(m, (x) => (total > 0 ? x / total : 0));
    });
  }
}
