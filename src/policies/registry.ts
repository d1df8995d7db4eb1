/**
 * Policy definitions and lookup. A definition is data (name, paper, zod options with their
 * defaults and docs) plus a `create` that binds options to one session. The catalogue is an
 * explicit list (src/policies/catalog.ts), not a mutable global: adding a policy is one file
 * plus one line there.
 */
import { z } from 'zod';
import type { LinearWeight } from '../attention/backend.js';
import type { PolicyInstance } from '../cache/policy-api.js';

export type PolicyKind = 'baseline' | 'eviction' | 'merging' | 'multimodal' | 'retention' | 'quantization';

export interface PaperRef {
  title: string;
  /** arXiv id, e.g. "2404.14469". */
  arxiv?: string;
  venue?: string;
}

/** What a policy needs to know about the model it is bound to. */
export interface PolicyEnv {
  numLayers: number;
  kvHeads: number;
  qHeads: number;
  headDim: number;
  seed: number;
  /**
   * Optional: the attention output projection W_o of layer l in HF layout
   * [hidden][qHeads·headDim] (CriticalKV weighs values by ‖W_o v‖). Runtimes bound to a real
   * model pass it (src/model/policy-for-model.ts); hand-built sessions may leave it out.
   */
  outputProjection?: (layer: number) => LinearWeight;
  /**
   * Optional: the model's rotate-half RoPE (ExpectedAttention rotates query statistics to
   * future positions): rotaryDim leading dims of each head rotate, pair (c, c + rotaryDim/2)
   * by angle position·inverseFrequencies(seqLen)[c]; axes 3 under multimodal (sectioned) RoPE.
   */
  rope?: { rotaryDim: number; axes: number; inverseFrequencies: (seqLen: number) => Float64Array };
}

/**
 * What the catalogue says about a policy beyond its options (`kvprism policies` lists it).
 * Attention-freeness is not declared: it is read from the policy's `needs` at default options.
 */
export interface DeclaredTraits {
  /** Compresses without looking at the question (default: true iff attention-free). */
  queryAgnostic?: boolean;
  /** Needs a second model pass over the prompt (e.g. a repeat prompt, KVzip). Default false. */
  secondPass?: boolean;
  /** Needs calibration data gathered before the run (offline statistics). Default false. */
  calibration?: boolean;
}

export interface PolicyDefinition<S extends z.ZodType = z.ZodType> {
  /** Registry name, lower-case kebab (e.g. "snapkv", "streaming-llm"). */
  name: string;
  /** Display name as the paper writes it (e.g. "SnapKV"). */
  title: string;
  kind: PolicyKind;
  paper?: PaperRef;
  /** One or two lines: what it keeps / merges and why. */
  summary: string;
  /** zod object schema of the options, every key with a default and a .describe(). */
  options: S;
  traits?: DeclaredTraits;
  create(options: z.output<S>, env: PolicyEnv): PolicyInstance;
  /**
   * Options that only make sense for some models (a layer index beyond the model's depth):
   * one "option: problem; expected form" line per problem, checked once the model is known.
   */
  checkForModel?(options: z.output<S>, model: ModelShape): string[];
}

/** The model facts options can depend on. */
export type ModelShape = Pick<PolicyEnv, 'numLayers' | 'kvHeads' | 'qHeads' | 'headDim'>;

/** Helper that keeps the options type tied to the schema. */
export function definePolicy<S extends z.ZodType>(def: PolicyDefinition<S>): PolicyDefinition<S> {
  return def;
}

export class PolicyRegistry {
  private readonly byName = new Map<string, PolicyDefinition>();

  constructor(defs: readonly PolicyDefinition[]) {
    for (const d of defs) {
      if (this.byName.has(d.name)) throw new Error(`policy "${d.name}" is defined twice in the catalogue`);
      this.byName.set(d.name, d);
    }
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  list(): PolicyDefinition[] {
    return this.names().map((n) => this.byName.get(n)!);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): PolicyDefinition {
    const d = this.byName.get(name);
    if (!d) {
      const near = nearestName(name, this.names());
      throw new Error(`unknown policy "${name}"${near ? `; did you mean "${near}"?` : ''} (registered: ${this.names().join(', ')})`);
    }
    return d;
  }

  /** Validates raw options (unknown keys are errors) and binds the policy to a session. */
  create(name: string, rawOptions: unknown, env: PolicyEnv): PolicyInstance {
    const def = this.get(name);
    return def.create(parsePolicyOptions(def, rawOptions), env);
  }
}

export function parsePolicyOptions(def: PolicyDefinition, rawOptions: unknown): unknown {
  const schema = def.options instanceof z.ZodObject ? def.options.strict() : def.options;
  const parsed = schema.safeParse(rawOptions ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `policies.${def.name}.${i.path.join('.') || '(options)'}: ${i.message}`)
      .join('; ');
    throw new Error(`invalid options for policy "${def.name}": ${issues}`);
  }
  return parsed.data;
}

/** Closest name by edit distance, or undefined when nothing is reasonably close. */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 2)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
