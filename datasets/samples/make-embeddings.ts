/**
 * Regenerates the embedding files of tiny-stories-qa.jsonl: each modality span is the
 * stories260K token embeddings of a phrase ([n][64] f32, little-endian), so the "image" or
 * "audio" span carries real meaning the model can use. Run: npx tsx datasets/samples/make-embeddings.ts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/model/model.js';
import { embedToken } from '../../src/model/embed-prompt.js';

const here = dirname(fileURLToPath(import.meta.url));
const model = loadModel(join(here, '../../../shared/models/stories260K'));
const spans: Record<string, string> = {
  'ts-15-image': ' a big red ball',
  'ts-16-audio': ' a little bird sing',
};
for (const [name, phrase] of Object.entries(spans)) {
  const ids = model.tokenizer.encode(phrase);
  const h = model.config.hiddenSize;
  const out = new Float32Array(ids.length * h);
  ids.forEach((id, i) => embedToken(model, id, out.subarray(i * h, (i + 1) * h)));
  writeFileSync(join(here, 'emb', `${name}.f32`), Buffer.from(out.buffer));
  console.log(`${name}: "${phrase}" → ${ids.length} tokens [${ids.join(', ')}]`);
}
