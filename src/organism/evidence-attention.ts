/**
 * How much of the answer row's attention lands on the question's evidence: per layer, the mass
 * the row that predicts the answer puts on the evidence tokens (known by construction in
 * av-world), averaged over questions, for the mean head and for the head that puts the most
 * there. An organism trained with an attention loss onto the evidence reads it with most of one
 * head's mass; one that learnt where to look from the answer alone may spread it. The share of
 * the prompt the evidence takes is the mass a uniform head would put there.
 */
import type { QASample } from '../model/prompt.js';
import type { OrtKernels } from './ort-kernels.js';
import { forward, type Organism } from './forward.js';
import { encodePrompt, makeBatch, type Vocabulary } from './sequence.js';

export interface EvidenceAttentionRow {
  /** A family, or 'all'. */
  family: string;
  /** Questions read (those with evidence tokens; object-exists "no" has none). */
  n: number;
  /** Per layer: mean over questions of the head-averaged mass on the evidence. */
  meanHead: number[];
  /** Per layer: mean over questions of the largest single-head mass on the evidence. */
  bestHead: number[];
  /** Mean share of the prompt's tokens that are evidence. */
  share: number;
}

export async function evidenceAttention(k: OrtKernels, model: Organism, vocab: Vocabulary, samples: readonly QASample[]): Promise<EvidenceAttentionRow[]> {
  const { layers: L, heads: H } = model.config;
  const rows = new Map<string, EvidenceAttentionRow>();
  const row = (family: string) => {
    if (!rows.has(family)) rows.set(family, { family, n: 0, meanHead: new Array<number>(L).fill(0), bestHead: new Array<number>(L).fill(0), share: 0 });
    return rows.get(family)!;
  };
  for (const s of samples) {
    const evidence = s.evidence ?? [];
    if (evidence.length === 0) continue;
    const enc = encodePrompt(s.prompt, vocab);
    const n = enc.n;
    const f = await forward(k, model, makeBatch([enc], [[[n - 1, 0]]], vocab.pad), { withProbs: true });
    for (const r of [row(s.family), row('all')]) {
      for (let l = 0; l < L; l++) {
        const p = f.probs![l]!;
        let sum = 0;
        let best = 0;
        for (let h = 0; h < H; h++) {
          const o = (h * n + (n - 1)) * n;
          let m = 0;
          for (const j of evidence) m += p[o + j]!;
          sum += m;
          best = Math.max(best, m);
        }
        r.meanHead[l] += sum / H;
        r.bestHead[l] += best;
      }
      r.share += evidence.length / n;
      r.n++;
    }
  }
  const out = [...rows.values()].map((r) => ({ ...r, meanHead: r.meanHead.map((x) => x / r.n), bestHead: r.bestHead.map((x) => x / r.n), share: r.share / r.n }));
  return out.sort((a, b) => (a.family === 'all' ? 1 : b.family === 'all' ? -1 : a.family.localeCompare(b.family)));
}

export function evidenceAttentionTable(rows: readonly EvidenceAttentionRow[]): string {
  const L = rows[0]?.meanHead.length ?? 0;
  const layers = Array.from({ length: L }, (_, l) => l);
  const head = `| family | n | evidence share of the prompt | ${layers.map((l) => `layer ${l} mean head / best head`).join(' | ')} |`;
  const rule = `|---|---:|---:|${layers.map(() => '---:|').join('')}`;
  const body = rows.map((r) => `| ${r.family} | ${r.n} | ${r.share.toFixed(3)} | ${layers.map((l) => `${r.meanHead[l]!.toFixed(3)} / ${r.bestHead[l]!.toFixed(3)}`).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}
