/**
 * Vision / audio towers exported to ONNX, run through onnxruntime-node (CPU). An encoder maps
 * one input tensor (pixels, mel frames, or precomputed features) to embeddings in the
 * model's hidden space; the output [..., n, hidden] becomes an EmbeddingSegment whose tokens
 * carry the span metadata given (segment, time, row, col).
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { Modality } from '../cache/modality.js';
import type { EmbeddingSegment } from './prompt.js';
import { decodeToF32 } from '../util/half.js';

export interface OnnxEncoderOptions {
  modality: Exclude<Modality, 'text'>;
  /** Graph input to feed (default: the graph's first input). */
  inputName?: string;
  /** Graph output holding the embeddings (default: the first output). */
  outputName?: string;
  /** When set, the output's last dimension must equal it (the LLM's hidden size). */
  hiddenSize?: number;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

/** Metadata for the tokens of one encoded span (arrays have one entry per output token). */
export interface SpanMeta {
  segment?: number;
  time?: Float32Array;
  row?: Int16Array;
  col?: Int16Array;
}

export class OnnxEncoder {
  readonly source: string;
  readonly modality: Exclude<Modality, 'text'>;
  private readonly session: InferenceSession;
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly hiddenSize?: number;

  private constructor(session: InferenceSession, source: string, opts: OnnxEncoderOptions) {
    this.session = session;
    this.source = source;
    this.modality = opts.modality;
    this.hiddenSize = opts.hiddenSize;
    this.inputName = pick(source, 'input', opts.inputName, session.inputNames);
    this.outputName = pick(source, 'output', opts.outputName, session.outputNames);
  }

  /** Loads an ONNX file (path) or graph bytes. */
  static async create(model: string | Uint8Array, opts: OnnxEncoderOptions): Promise<OnnxEncoder> {
    const source = typeof model === 'string' ? model : '(onnx bytes)';
    const sessionOptions: InferenceSession.SessionOptions = { executionProviders: ['cpu'], ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}) };
    let session: InferenceSession;
    try {
      session = typeof model === 'string' ? await InferenceSession.create(model, sessionOptions) : await InferenceSession.create(model, sessionOptions);
    } catch (e) {
      throw new Error(`${source}: onnxruntime cannot load the encoder (${(e as Error).message})`);
    }
    return new OnnxEncoder(session, source, opts);
  }

  /**
   * Runs the encoder on input (f32, shape `dims`) and returns its embeddings as a span:
   * data [n][hidden] where n is the product of the output's leading dimensions.
   */
  async encode(input: Float32Array, dims: readonly number[], meta: SpanMeta = {}): Promise<EmbeddingSegment> {
    const count = dims.reduce((a, b) => a * b, 1);
    if (input.length !== count) throw new RangeError(`${this.source}: input has ${input.length} values; dims [${dims.join(', ')}] need ${count}`);
    let result: InferenceSession.ReturnType;
    try {
      result = await this.session.run({ [this.inputName]: new Tensor('float32', input, dims) }, [this.outputName]);
    } catch (e) {
      throw new Error(`${this.source}: encoder run failed for input "${this.inputName}" [${dims.join(', ')}] (${(e as Error).message})`);
    }
    const out = result[this.outputName]!;
    const shape = out.dims;
    const hidden = shape[shape.length - 1] ?? 0;
    if (shape.length < 2 || hidden === 0) throw new Error(`${this.source}: output "${this.outputName}" has shape [${shape.join(', ')}]; expected [..., n, hidden]`);
    if (this.hiddenSize !== undefined && hidden !== this.hiddenSize) {
      throw new Error(`${this.source}: output "${this.outputName}" has width ${hidden}; the model's hidden size is ${this.hiddenSize}`);
    }
    const n = out.size / hidden;
    const data = toF32(out, this.source);
    for (const f of ['time', 'row', 'col'] as const) {
      const a = meta[f];
      if (a && a.length !== n) throw new RangeError(`${this.source}: span ${f} has ${a.length} entries; the encoder produced ${n} tokens`);
    }
    return { kind: 'embeddings', modality: this.modality, n, data, ...meta };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function pick(source: string, what: string, wanted: string | undefined, names: readonly string[]): string {
  if (wanted === undefined) {
    if (!names[0]) throw new Error(`${source}: the graph has no ${what}s`);
    return names[0];
  }
  if (!names.includes(wanted)) throw new Error(`${source}: no graph ${what} named "${wanted}" (has: ${names.join(', ')})`);
  return wanted;
}

function toF32(t: Tensor, source: string): Float32Array {
  if (t.type === 'float32') return Float32Array.from(t.data as Float32Array);
  if (t.type === 'float16') return decodeToF32(t.data as Uint16Array, 'f16', 0, t.size);
  throw new Error(`${source}: encoder output type ${t.type} is not supported; expected float32 or float16`);
}
