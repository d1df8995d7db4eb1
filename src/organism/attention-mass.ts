/**
 * Where the organism looks: per layer, the share of attention that the question's tokens
 * (queries after the media) put on text, video and audio keys, averaged over heads,
 * question tokens and samples. A degenerate model (all mass on BOS, or on one modality
 * whatever the question) shows up here.
 */
import type { QASample } from '../model/prompt.js';
import { ModalityCode, MODALITIES, NUM_MODALITIES } from '../cache/modality.js';
import type { OrtKernels } from './ort-kernels.js';
import { forward, type Organism } from './forward.js';
import { encodePrompt, makeBatch, type Vocabulary } from './sequence.js';

/** Tokens up to and including the last non-text one: BOS + the media; the question follows. */
export function mediaPrefix(modality: Uint8Array): number {
  let last = -1;
  for (let i = 0; i < modality.length; i++) if (modality[i] !== ModalityCode.text) last = i;
  return last + 1;
}

/** mass[layer][modality code] (rows sum to 1), plus the same restricted to BOS. */
export async function attentionMassByModality(k: OrtKernels, model: Organism, vocab: Vocabulary, samples: readonly QASample[]): Promise<{ mass: number[][]; bos: number[] }> {
  const { layers: L, heads: H } = model.config;
  const mass = Array.from({ length: L }, () => new Array<number>(NUM_MODALITIES).fill(0));
  const bos = new Array<number>(L).fill(0);
  let rows = 0;
  for (const s of samples) {
    const enc = encodePrompt(s.prompt, vocab);
    const n = enc.n;
    const f = await forward(k, model, makeBatch([enc], [[[n - 1, 0]]], vocab.pad), { withProbs: true });
    const prefix = mediaPrefix(enc.modality);
    for (let l = 0; l < L; l++) {
      const p = f.probs![l]!;
      for (let h = 0; h < H; h++) {
        for (let i = prefix; i < n; i++) {
          const o = (h * n + i) * n;
          for (let j = 0; j <= i; j++) mass[l]![enc.modality[j]!] += p[o + j]!;
          bos[l] += p[o]!;
        }
      }
    }
    rows += H * (n - prefix);
  }
  return { mass: mass.map((m) => m.map((x) => x / rows)), bos: bos.map((x) => x / rows) };
}

export function massTable(r: { mass: number[][]; bos: number[] }): string {
  const cols = MODALITIES.filter((_, m) => r.mass.some((row) => row[m]! > 0));
  const head = `| layer | ${cols.join(' | ')} | (BOS alone) |\n|---|${cols.map(() => '---|').join('')}---|`;
  const body = r.mass.map((row, l) => `| ${l} | ${cols.map((m) => `${(100 * row[MODALITIES.indexOf(m)]!).toFixed(1)} %`).join(' | ')} | ${(100 * r.bos[l]!).toFixed(1)} % |`);
  return [head, ...body].join('\n');
}
