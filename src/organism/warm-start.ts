/**
 * Warm start (`--init`): copies a checkpoint's weights into freshly initialised parameters.
 * Training-only tensors the earlier run did not use, and every tensor of the layers named in
 * `reinitLayers`, keep their fresh initialisation, so a stage can relearn chosen layers on
 * top of the inherited ones (the plain organism relearns its answer layer this way).
 */
import { TRAINING_ONLY, type Params } from './params.js';

const layerOf = (name: string): number | undefined => {
  const m = /^model\.layers\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
};

export function warmStart(params: Params, from: Params, source: string, reinitLayers: readonly number[], layers: number, log: (line: string) => void): void {
  for (const l of reinitLayers) {
    if (!(Number.isInteger(l) && l >= 0 && l < layers)) throw new RangeError(`organism:train: --reinit-layers: layer ${l} is outside the model's layers 0..${layers - 1}`);
  }
  const fresh = new Set(reinitLayers);
  for (const [name, t] of params) {
    const layer = layerOf(name);
    if (layer !== undefined && fresh.has(layer)) continue;
    const s = from.get(name);
    if (!s && TRAINING_ONLY.includes(name)) {
      log(`${name} is not in ${source}; it starts from its initialisation`);
      continue;
    }
    if (!s || s.data.length !== t.data.length) throw new Error(`${source}: tensor "${name}" is missing or has the wrong size (${s?.data.length ?? 0} values, expected ${t.data.length}); --init needs a checkpoint of the same architecture`);
    t.data.set(s.data);
  }
  if (fresh.size > 0) {
    const list = [...fresh].sort((a, b) => a - b);
    log(`${list.length === 1 ? 'layer' : 'layers'} ${list.join(', ')} ${list.length === 1 ? 'starts' : 'start'} from its initialisation, not from ${source}`);
  }
}
