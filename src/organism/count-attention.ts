/**
 * Where the counting head looks on sound-count questions ("how many times did the <sound>
 * sound"): the attention mass of the answer row on `<s>`, on the onset tokens of the asked
 * sound, on the rest of those events' tokens and on the onsets of other sounds, split by the
 * true count. A head that counts against the sink keeps ≈ 1/(n + 1) on `<s>` for n sounds
 * (the `sink if even` column); one that confuses sounds puts mass on other onsets.
 */
import { COUNTS } from '../datasets/av-world/index.js';
import type { Organism } from './forward.js';
import type { OrtKernels } from './ort-kernels.js';
import type { Vocabulary } from './sequence.js';
import { forEachAnswerRow, type MatchAttentionOptions } from './match-attention.js';

export const COUNT_KINDS = ['<s>', 'asked onsets', 'rest of asked events', 'other onsets'] as const;
export type CountKind = (typeof COUNT_KINDS)[number];

export interface CountAttentionRow {
  /** True count (1-based). */
  count: number;
  n: number;
  accuracy: number;
  mass: Record<CountKind, number>;
}

export async function countAttention(k: OrtKernels, model: Organism, vocab: Vocabulary, o: MatchAttentionOptions): Promise<CountAttentionRow[]> {
  const rows = new Map<number, CountAttentionRow>();
  await forEachAnswerRow(k, model, vocab, 'sound-count', o, ({ clip, question: q, encoded: enc, attention: p, hit }) => {
    const count = q.answer + 1;
    // "question how many times did the <sound> sound answer".
    const words = q.text.split(' ');
    const sound = words[words.indexOf('the') + 1];
    const r = rows.get(count) ?? { count, n: 0, accuracy: 0, mass: { '<s>': 0, 'asked onsets': 0, 'rest of asked events': 0, 'other onsets': 0 } };
    rows.set(count, r);
    r.n++;
    r.accuracy += hit ? 1 : 0;
    r.mass['<s>'] += p[0]!;
    const at = (t: number) => p[enc.media.audio.pos[t]!]!;
    for (const e of clip.scene.events) {
      if (e.sound !== sound) {
        r.mass['other onsets'] += at(e.onset);
        continue;
      }
      r.mass['asked onsets'] += at(e.onset);
      for (let t = 1; t < e.duration; t++) r.mass['rest of asked events'] += at(e.onset + t);
    }
  });
  return [...rows.values()].sort((a, b) => a.count - b.count).map((r) => ({
    ...r, accuracy: r.accuracy / r.n, mass: Object.fromEntries(COUNT_KINDS.map((m) => [m, r.mass[m] / r.n])) as Record<CountKind, number>,
  }));
}

export function countAttentionTable(rows: readonly CountAttentionRow[]): string {
  const head = `| true count | n | accuracy | ${COUNT_KINDS.map((m) => `mass on ${m}`).join(' | ')} | <s> if even |`;
  const sep = `|---|---:|---:|${COUNT_KINDS.map(() => '---:').join('|')}|---:|`;
  const body = rows.map((r) => `| ${COUNTS[r.count - 1] ?? r.count} | ${r.n} | ${(100 * r.accuracy).toFixed(1)} % | ${COUNT_KINDS.map((m) => r.mass[m].toFixed(3)).join(' | ')} | ${(1 / (r.count + 1)).toFixed(3)} |`);
  return [head, sep, ...body].join('\n');
}
