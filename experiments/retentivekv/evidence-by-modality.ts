/**
 * Issue 18 diagnostic: of each sample's evidence tokens, the fraction RetentiveKV's keep rule
 * holds exactly after compression, split into video and audio evidence (averaged over layers,
 * KV heads and samples), for the earlier reading and the current defaults. The runner's
 * evidence_kept column mixes both modalities; this shows whether audio evidence now competes.
 * Retained (absorbed) tokens count as gone, as in src/runner/evidence-recall.ts.
 *
 *   npx tsx experiments/retentivekv/evidence-by-modality.ts [samples=24] [queryAware=true]
 *
 * Writes experiments/retentivekv/results/evidence-by-modality[-agnostic].json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModalityCode } from '../../src/cache/modality.js';
import { avWorldSamples } from '../../src/datasets/av-world/samples.js';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { heldBackCount, splitPrompt } from '../../src/model/held-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { policies } from '../../src/policies/catalog.js';
import { RETENTIVEKV_EARLIER_READING } from '../../src/policies/retention/retentive-kv.js';
import { resolveBackend } from '../../src/runner/backend-choice.js';

const here = dirname(fileURLToPath(import.meta.url));
const samples = Number(process.argv[2] ?? 24);
const queryAware = (process.argv[3] ?? 'true') === 'true';
const model = loadModel(join(here, '../../models/av-organism'), { backend: resolveBackend('auto', 1) });
const c = model.config;
const variants: Record<string, object> = { 'earlier reading': RETENTIVEKV_EARLIER_READING, defaults: {} };
const budgets = [0.1, 0.2];
const data = avWorldSamples({ count: samples, split: 'test', preset: 'default', seed: 0 });

const rows: { variant: string; budget: number; video: number; audio: number; samplesWithVideo: number; samplesWithAudio: number }[] = [];
for (const [variant, options] of Object.entries(variants)) {
  for (const ratio of budgets) {
    const sum = { video: 0, audio: 0, nv: 0, na: 0 };
    for (const sample of data) {
      const embedded = embedPrompt(model, sample.prompt);
      const { head } = splitPrompt(embedded, heldBackCount(embedded, queryAware));
      const policy = policies.create('retentivekv', options, { numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, seed: 0 });
      const decoder = new Decoder(model);
      const seq = decoder.open({ policy, budget: { ratio }, schedule: { kind: 'after-prefill' }, queryAware });
      decoder.prefill(seq, head);
      for (const [kind, code] of [['video', ModalityCode.video], ['audio', ModalityCode.audio]] as const) {
        const want = new Set((sample.evidence ?? []).filter((p) => embedded.meta.modality[p] === code));
        if (want.size === 0) continue;
        let frac = 0;
        for (let l = 0; l < c.numLayers; l++) {
          const cache = seq.session.layer(l);
          for (let h = 0; h < c.kvHeads; h++) {
            const pos = cache.headMeta(h).position;
            let hit = 0;
            for (let i = 0; i < cache.length(h); i++) if (want.has(pos[i]!)) hit++;
            frac += hit / want.size;
          }
        }
        sum[kind] += frac / (c.numLayers * c.kvHeads);
        sum[kind === 'video' ? 'nv' : 'na']++;
      }
    }
    const row = { variant, budget: ratio, video: sum.video / Math.max(1, sum.nv), audio: sum.audio / Math.max(1, sum.na), samplesWithVideo: sum.nv, samplesWithAudio: sum.na };
    rows.push(row);
    console.log(`${variant.padEnd(16)} ${(100 * ratio).toFixed(0)}%: video evidence kept ${row.video.toFixed(3)} (n=${row.samplesWithVideo}), audio ${row.audio.toFixed(3)} (n=${row.samplesWithAudio})`);
  }
}
const out = join(here, 'results', `evidence-by-modality${queryAware ? '' : '-agnostic'}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ command: `npx tsx experiments/retentivekv/evidence-by-modality.ts ${samples} ${queryAware}`, samples, queryAware, dataset: 'av-world:default/test seed 0', rows }, null, 2)}\n`);
console.log(`wrote ${out}`);
