/**
 * KeyRerotation (NVIDIA kvpress `KeyRerotationPress`; the same step as HF SinkCache and FINCH,
 * arXiv 2408.00167): wraps any policy; after the prefill's compression every kept key is
 * re-rotated to RoPE position = its rank among its head's kept slots (K' = R(p_new − p_old)·K),
 * so the kept keys sit at contiguous positions 0..k−1, and later tokens continue at k.
 *   policy: { name: key-rerotation, options: { policy: snapkv, options: { window: 16 } } }
 * Why a wrapper policy (kvpress's design too): it needs the model's RoPE (PolicyEnv.rope) as
 * policies do, sweeps and labels like any policy, and leaves the config schema alone; the
 * session does the rewrite (policies stay pure: the instance only declares `rerotateKeys`).
 * Ours: the slots' sequence positions are not renumbered (they order the causal mask and say
 * which prompt tokens were kept); only the RoPE phase moves, as mrope already separates the
 * two. Heads or layers of different lengths (AdaKV, PyramidKV) each sit at 0..len−1 and later
 * tokens continue at the longest head's length (kvpress reads layer 0's). Rerotation happens
 * once, after prefill (kvpress's is a prefill press): compressions during decode evict without
 * re-rotating, which stays consistent. Supported: 1-D rotate-half RoPE, also partial rotary and
 * fixed-frequency scalings; refused: sectioned multimodal RoPE (M-RoPE: a slot's three position
 * ids have no single rank to move to), dynamic NTK past the trained length, quantized storage.
 */
import { z } from 'zod';
import type { PolicyInstance } from '../../cache/policy-api.js';
import { definePolicy, parsePolicyOptions, type PolicyDefinition, type PolicyEnv, type PolicyRegistry } from '../registry.js';
import { refineWrapped, wrapInstance } from './wrapper.js';

export const KEY_REROTATION = 'key-rerotation';

const keyRerotationOptions = z.object({
  policy: z.string().default('snapkv').describe('the policy whose kept keys are re-rotated (any registered policy but key-rerotation)'),
  options: z.record(z.string(), z.unknown()).default({}).describe('options of that policy (its own names and defaults; unknown keys are errors)'),
});
type KeyRerotationOptions = z.output<typeof keyRerotationOptions>;

/** The wrapped policy's definition; throws naming the option. */
function innerDefinition(registry: PolicyRegistry, name: string): PolicyDefinition {
  if (name === KEY_REROTATION) throw new Error(`policy: ${KEY_REROTATION} cannot wrap itself`);
  return registry.get(name);
}

/** Adds the rerotation to a bound policy (its clone keeps it). */
export function withKeyRerotation(inner: PolicyInstance, env: PolicyEnv): PolicyInstance {
  const rope = env.rope;
  if (!rope) throw new Error(`${KEY_REROTATION}: needs the model’s RoPE (PolicyEnv.rope); bind it to a model (createPolicy / the runner) or pass rope`);
  if (rope.axes !== 1) {
    throw new Error(`${KEY_REROTATION}: only 1-D RoPE is supported; this model uses sectioned multimodal RoPE (${rope.axes} position axes), where a slot has no single position to move to`);
  }
  const rerotateKeys = { rotaryDim: rope.rotaryDim, inverseFrequencies: rope.inverseFrequencies };
  return wrapInstance(inner, (p) => ({ name: `rerotate(${p.name})`, needs: p.needs, plan: (ctx) => p.plan(ctx), rerotateKeys }));
}

/** The definition, over the registry it looks the wrapped policy up in (the catalogue's). */
export function keyRerotationPolicy(registry: () => PolicyRegistry): PolicyDefinition<typeof keyRerotationOptions> {
  const checked = keyRerotationOptions.superRefine(refineWrapped((name) => innerDefinition(registry(), name)));
  return definePolicy({
    name: KEY_REROTATION,
    title: 'KeyRerotation',
    kind: 'eviction',
    paper: { title: 'kvpress KeyRerotationPress (as in FINCH: Prompt-guided Key-Value Cache Compression)', arxiv: '2408.00167' },
    summary: 'Any policy, then its kept keys re-rotated to contiguous RoPE positions 0..k−1 after prefill; later tokens continue at k.',
    options: checked,
    create(o: KeyRerotationOptions, env) {
      const def = innerDefinition(registry(), o.policy);
      return withKeyRerotation(def.create(parsePolicyOptions(def, o.options), env), env);
    },
  });
}
