/**
 * The README's library example: load a real checkpoint, compress its cache with SnapKV at a
 * 25 % budget, and generate. Run: npx tsx examples/library.ts [MODEL_DIR]
 */
import { createPolicy, generate, loadModel, selectBackend } from '../src/index.js';

export function runExample(modelDir: string) {
  const model = loadModel(modelDir, { backend: selectBackend('auto') });
  const prompt = { segments: [{ kind: 'text' as const, text: 'Once upon a time, there was a little dog named Max. Max loved to run in the park with his friend Sue.' }] };
  const full = generate(model, prompt, { maxNewTokens: 24 });
  const snap = generate(model, prompt, {
    maxNewTokens: 24,
    session: { policy: createPolicy(model, 'snapkv', { window: 8 }), budget: { ratio: 0.25 } },
  });
  return { full, snap };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? new URL('../../shared/models/stories260K', import.meta.url).pathname;
  const { full, snap } = runExample(dir);
  console.log(`full cache (${full.bytesAfterPrefill.kvBytes} B of K/V): ${full.text}`);
  console.log(`SnapKV 25% (${snap.bytesAfterPrefill.kvBytes} B of K/V): ${snap.text}`);
}
