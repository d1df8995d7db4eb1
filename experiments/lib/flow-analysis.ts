/**
 * FlowMM's motivating measurement (arXiv 2511.05534, §3): the per-layer cross-modal
 * interaction ratio ρ^ℓ = Σ_h (A_{v→t} + A_{t→v}) / A on real prefills. It is read from
 * FlowMM's own per-layer report (the policy computes ρ from the kernels' modality-flow
 * statistic); compression runs only after the prefill, so every ρ is of the full-cache forward.
 */
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { policies } from '../../src/policies/catalog.js';
import type { FlowMMInstance } from '../../src/policies/merging/flowmm.js';
import { resolveBackend } from '../../src/runner/backend-choice.js';
import { loadConfig } from '../../src/runner/config-load.js';
import { DatasetSource } from '../../src/runner/dataset-source.js';
import { resolveModelDir } from '../../src/runner/run-experiment.js';

export interface FlowAnalysisResult {
  /** [layer] mean ρ over the samples. */
  rho: number[];
  /** [sample][layer] ρ of each prefill (what the depth claim's interval is bootstrapped over). */
  perSample: number[][];
  /** [layer] share of samples whose layer merged cross-modally at θ. */
  crossShare: number[];
  samples: number;
  theta: number;
  /** Wall time of the analysis. */
  seconds: number;
}

/** ρ per layer over the first `samples` samples of the config's dataset (its first seed). */
export async function flowAnalysis(configFile: string, samples: number, theta: number, overrides: readonly string[] = []): Promise<FlowAnalysisResult> {
  const t0 = performance.now();
  const { config, baseDir } = loadConfig(configFile, overrides);
  const model = loadModel(resolveModelDir(config.model, baseDir), { backend: resolveBackend(config.backend, config.threads) });
  const c = model.config;
  const data = await new DatasetSource(config.dataset, baseDir).samples(samples, config.seeds[0]!);
  const rho = new Float64Array(c.numLayers);
  const cross = new Float64Array(c.numLayers);
  const decoder = new Decoder(model);
  const perSample: number[][] = [];
  for (const sample of data) {
    const policy = policies.create('flowmm', { theta }, { numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, seed: 0 }) as FlowMMInstance;
    // Half the prompt: every layer plans (and reports ρ); the compressed cache itself is not used.
    const seq = decoder.open({ policy, budget: { ratio: 0.5 }, schedule: { kind: 'after-prefill' }, dtype: config.cache.dtype });
    decoder.prefill(seq, embedPrompt(model, sample.prompt));
    const own: number[] = [];
    policy.reports().forEach((r, l) => {
      if (!r) throw new Error(`flow analysis: sample ${sample.id}: layer ${l} did not plan (prompt shorter than 2 tokens?)`);
      own.push(r.rho);
      rho[l]! += r.rho / data.length;
      cross[l]! += (r.strategy === 'cross' ? 1 : 0) / data.length;
    });
    perSample.push(own);
  }
  return { rho: Array.from(rho), perSample, crossShare: Array.from(cross), samples: data.length, theta, seconds: (performance.now() - t0) / 1000 };
}
