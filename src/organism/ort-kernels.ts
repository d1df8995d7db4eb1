/**
 * The organism trainer's heavy kernels run as tiny ONNX graphs in onnxruntime-node (CPU,
 * MLAS GEMMs): matrix products for linear layers and their gradients, and causal attention
 * forward/backward. Everything elementwise stays in TS (ops.ts).
 */
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Dim = number | string;

const valueInfo = (name: string, dims: Dim[]) => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
});
const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
const int = (name: string, v: number) => ({ name, type: 2, i: v });
const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({ opType, input, output, attribute });

function modelBytes(nodes: object[], inputs: object[], outputs: object[], initializer: object[] = []): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'organism', node: nodes, input: inputs, output: outputs, initializer } as any,
  });
  return onnx.ModelProto.encode(m).finish();
}

const gemm = (transA: number, transB: number) =>
  modelBytes([node('Gemm', ['a', 'b'], ['c'], [int('transA', transA), int('transB', transB)])], [valueInfo('a', ['A0', 'A1']), valueInfo('b', ['B0', 'B1'])], [valueInfo('c', ['C0', 'C1'])]);

const BNHD = ['B', 'n', 'H', 'd'];
/** Attention forward. q,k,v: [B][n][H][d] (q pre-scaled, GQA already expanded), mask: [mB][mH][n][n] additive. */
function attentionForwardGraph(withProbs: boolean): Uint8Array {
  const nodes = [
    node('Transpose', ['q'], ['qt'], [ints('perm', [0, 2, 1, 3])]),
    node('Transpose', ['k'], ['kT'], [ints('perm', [0, 2, 3, 1])]),
    node('Transpose', ['v'], ['vt'], [ints('perm', [0, 2, 1, 3])]),
    node('MatMul', ['qt', 'kT'], ['s']),
    node('Add', ['s', 'mask'], ['sm']),
    node('Softmax', ['sm'], ['p'], [int('axis', -1)]),
    node('MatMul', ['p', 'vt'], ['ot']),
    node('Transpose', ['ot'], ['o'], [ints('perm', [0, 2, 1, 3])]),
  ];
  const outs = [valueInfo('o', BNHD)];
  if (withProbs) outs.push(valueInfo('p', ['B', 'H', 'n', 'n']));
  return modelBytes(nodes, [valueInfo('q', BNHD), valueInfo('k', BNHD), valueInfo('v', BNHD), valueInfo('mask', ['mB', 'mH', 'n', 'n'])], outs);
}

/** Attention backward: recomputes P, then dq, dk, dv ([B][n][H][d]) from dout. */
function attentionBackwardGraph(): Uint8Array {
  const nodes = [
    node('Transpose', ['q'], ['qt'], [ints('perm', [0, 2, 1, 3])]),
    node('Transpose', ['k'], ['kt'], [ints('perm', [0, 2, 1, 3])]),
    node('Transpose', ['k'], ['kT'], [ints('perm', [0, 2, 3, 1])]),
    node('Transpose', ['v'], ['vT'], [ints('perm', [0, 2, 3, 1])]),
    node('Transpose', ['dout'], ['dot'], [ints('perm', [0, 2, 1, 3])]),
    node('MatMul', ['qt', 'kT'], ['s']),
    node('Add', ['s', 'mask'], ['sm']),
    node('Softmax', ['sm'], ['p'], [int('axis', -1)]),
    node('Transpose', ['p'], ['pT'], [ints('perm', [0, 1, 3, 2])]),
    node('MatMul', ['pT', 'dot'], ['dvt']),
    node('MatMul', ['dot', 'vT'], ['dp']),
    node('Mul', ['dp', 'p'], ['dpp']),
    node('ReduceSum', ['dpp', 'axes'], ['rs'], [int('keepdims', 1)]),
    node('Sub', ['dp', 'rs'], ['dps']),
    node('Mul', ['p', 'dps'], ['ds']),
    node('MatMul', ['ds', 'kt'], ['dqt']),
    node('Transpose', ['ds'], ['dsT'], [ints('perm', [0, 1, 3, 2])]),
    node('MatMul', ['dsT', 'qt'], ['dkt']),
    node('Transpose', ['dqt'], ['dq'], [ints('perm', [0, 2, 1, 3])]),
    node('Transpose', ['dkt'], ['dk'], [ints('perm', [0, 2, 1, 3])]),
    node('Transpose', ['dvt'], ['dv'], [ints('perm', [0, 2, 1, 3])]),
  ];
  const axes = { name: 'axes', dataType: 7, dims: [1], int64Data: [-1] };
  return modelBytes(
    nodes,
    [valueInfo('q', BNHD), valueInfo('k', BNHD), valueInfo('v', BNHD), valueInfo('mask', ['mB', 'mH', 'n', 'n']), valueInfo('dout', BNHD)],
    [valueInfo('dq', BNHD), valueInfo('dk', BNHD), valueInfo('dv', BNHD)],
    [axes],
  );
}

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

/** ORT-backed kernels; create once with `OrtKernels.create(threads)`. */
export class OrtKernels {
  private constructor(
    private readonly nt: ort.InferenceSession,
    private readonly nn: ort.InferenceSession,
    private readonly tn: ort.InferenceSession,
    private readonly attF: ort.InferenceSession,
    private readonly attFP: ort.InferenceSession,
    private readonly attB: ort.InferenceSession,
  ) {}

  static async create(threads = 2): Promise<OrtKernels> {
    // No spin-waiting: on a shared, oversubscribed machine spinning threads burn the cores
    // that the JS half of each step needs.
    const o: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    const mk = (b: Uint8Array) => ort.InferenceSession.create(b, o);
    const s = await Promise.all([mk(gemm(0, 1)), mk(gemm(0, 0)), mk(gemm(1, 0)), mk(attentionForwardGraph(false)), mk(attentionForwardGraph(true)), mk(attentionBackwardGraph())]);
    return new OrtKernels(s[0], s[1], s[2], s[3], s[4], s[5]);
  }

  /** x [m][k] · wᵀ, w [n][k] → [m][n] (a linear layer). */
  async linear(x: Float32Array, m: number, w: Float32Array, n: number, k: number): Promise<Float32Array> {
    const r = await this.nt.run({ a: f32(x, [m, k]), b: f32(w, [n, k]) });
    return r.c!.data as Float32Array;
  }

  /** dy [m][n] · w [n][k] → [m][k] (input gradient of a linear layer). */
  async linearInputGrad(dy: Float32Array, m: number, w: Float32Array, n: number, k: number): Promise<Float32Array> {
    const r = await this.nn.run({ a: f32(dy, [m, n]), b: f32(w, [n, k]) });
    return r.c!.data as Float32Array;
  }

  /** dyᵀ · x: dy [m][n], x [m][k] → [n][k] (weight gradient of a linear layer). */
  async linearWeightGrad(dy: Float32Array, x: Float32Array, m: number, n: number, k: number): Promise<Float32Array> {
    const r = await this.tn.run({ a: f32(dy, [m, n]), b: f32(x, [m, k]) });
    return r.c!.data as Float32Array;
  }

  /** Causal attention; q,k,v [B][n][H][d], mask [mB][mH][n][n] → o [B][n][H][d] (and P [B][H][n][n]). */
  async attention(q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array, dims: number[], maskDims: number[], withProbs = false): Promise<{ o: Float32Array; p?: Float32Array }> {
    const feeds = { q: f32(q, dims), k: f32(k, dims), v: f32(v, dims), mask: f32(mask, maskDims) };
    const r = await (withProbs ? this.attFP : this.attF).run(feeds);
    return { o: r.o!.data as Float32Array, p: withProbs ? (r.p!.data as Float32Array) : undefined };
  }

  async attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array, dout: Float32Array, dims: number[], maskDims: number[]): Promise<{ dq: Float32Array; dk: Float32Array; dv: Float32Array }> {
    const r = await this.attB.run({ q: f32(q, dims), k: f32(k, dims), v: f32(v, dims), mask: f32(mask, maskDims), dout: f32(dout, dims) });
    return { dq: r.dq!.data as Float32Array, dk: r.dk!.data as Float32Array, dv: r.dv!.data as Float32Array };
  }
}

/** Additive causal mask [n][n]: 0 on and below the diagonal, -1e9 above. */
export function causalMask(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) m.fill(-1e9, i * n + i + 1, (i + 1) * n);
  return m;
}
