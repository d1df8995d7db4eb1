/**
 * onnxruntime-node reference graphs for the kernel benchmark, built in JS with onnx-proto:
 * com.microsoft GroupQueryAttention (one decode step over a past KV cache) and MatMul.
 */
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = 1;
const INT32 = 6;

const valueInfo = (name: string, elemType: number, dims: (number | string)[]) => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
});

function modelBytes(nodes: object[], inputs: object[], outputs: object[]): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    graph: { name: 'kvprism-bench', node: nodes, input: inputs, output: outputs } as any,
  });
  return onnx.ModelProto.encode(m).finish();
}

async function session(bytes: Uint8Array, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

/** A ready-to-run decode step: `run()` attends one new token over `past` cached ones. */
export interface OrtRunner {
  run(): Promise<void>;
}

/**
 * GroupQueryAttention decode: query [1][1][qHeads·d], key/value [1][1][kvHeads·d] (the new
 * token), past_key/past_value [1][kvHeads][past][d] f32; total length past + 1.
 */
export async function ortGqaDecode(qHeads: number, kvHeads: number, headDim: number, past: number, threads: number): Promise<OrtRunner> {
  const node = {
    opType: 'GroupQueryAttention',
    domain: 'com.microsoft',
    input: ['query', 'key', 'value', 'past_key', 'past_value', 'seqlens_k', 'total_sequence_length'],
    output: ['output', 'present_key', 'present_value'],
    attribute: [
      { name: 'num_heads', type: 2, i: qHeads },
      { name: 'kv_num_heads', type: 2, i: kvHeads },
      { name: 'scale', type: 1, f: 1 / Math.sqrt(headDim) },
    ],
  };
  const bytes = modelBytes(
    [node],
    [
      valueInfo('query', FLOAT, [1, 1, qHeads * headDim]),
      valueInfo('key', FLOAT, [1, 1, kvHeads * headDim]),
      valueInfo('value', FLOAT, [1, 1, kvHeads * headDim]),
      valueInfo('past_key', FLOAT, [1, kvHeads, 'P', headDim]),
      valueInfo('past_value', FLOAT, [1, kvHeads, 'P', headDim]),
      valueInfo('seqlens_k', INT32, [1]),
      valueInfo('total_sequence_length', INT32, [1]),
    ],
    [valueInfo('output', FLOAT, [1, 1, qHeads * headDim]), valueInfo('present_key', FLOAT, [1, kvHeads, 'T', headDim]), valueInfo('present_value', FLOAT, [1, kvHeads, 'T', headDim])],
  );
  const s = await session(bytes, threads);
  const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  const feeds = {
    query: new ort.Tensor('float32', rnd(qHeads * headDim), [1, 1, qHeads * headDim]),
    key: new ort.Tensor('float32', rnd(kvHeads * headDim), [1, 1, kvHeads * headDim]),
    value: new ort.Tensor('float32', rnd(kvHeads * headDim), [1, 1, kvHeads * headDim]),
    past_key: new ort.Tensor('float32', rnd(kvHeads * past * headDim), [1, kvHeads, past, headDim]),
    past_value: new ort.Tensor('float32', rnd(kvHeads * past * headDim), [1, kvHeads, past, headDim]),
    seqlens_k: new ort.Tensor('int32', Int32Array.from([past]), [1]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.from([past + 1]), [1]),
  };
  return {
    async run() {
      await s.run(feeds);
    },
  };
}

/** MatMul a [m][k] · b [k][n] f32 (b = Wᵀ of our [n][k] weight). */
export async function ortMatMul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, threads: number): Promise<OrtRunner> {
  const bytes = modelBytes(
    [{ opType: 'MatMul', input: ['a', 'b'], output: ['c'] }],
    [valueInfo('a', FLOAT, [m, k]), valueInfo('b', FLOAT, [k, n])],
    [valueInfo('c', FLOAT, [m, n])],
  );
  const s = await session(bytes, threads);
  const feeds = { a: new ort.Tensor('float32', a, [m, k]), b: new ort.Tensor('float32', b, [k, n]) };
  return {
    async run() {
      await s.run(feeds);
    },
  };
}
