/**
 * OnnxEncoder on small graphs built here with onnx-proto: a linear "tower"
 * Y[n][H] = X[n][F] · W[F][H] + B[H], so the expected embeddings are computable by hand.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxEncoder } from '../../src/model/onnx-encoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { STORIES_DIR } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const F = 5;
const H = 64;
const W = Float32Array.from({ length: F * H }, (_, i) => Math.sin(i * 0.37) * 0.1);
const B = Float32Array.from({ length: H }, (_, i) => (i % 7) * 0.01);

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function linearTower(): Uint8Array {
  const graph: onnx.IGraphProto = {
    name: 'tower',
    node: [
      { opType: 'MatMul', input: ['features', 'W'], output: ['xw'], name: 'matmul' },
      { opType: 'Add', input: ['xw', 'B'], output: ['embeddings'], name: 'add' },
    ],
    initializer: [
      { name: 'W', dims: [F, H], dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(W) },
      { name: 'B', dims: [H], dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(B) },
    ],
    input: [valueInfo('features', ['n', F])],
    output: [valueInfo('embeddings', ['n', H])],
  };
  return onnx.ModelProto.encode({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'kvprism-test', graph }).finish();
}

describe('OnnxEncoder', () => {
  it('runs a tower from a file and returns an embedding span with the metadata given', async () => {
    const file = join(tmp, 'tower.onnx');
    writeFileSync(file, linearTower());
    const enc = await OnnxEncoder.create(file, { modality: 'audio', hiddenSize: H, threads: 1 });
    const n = 3;
    const x = Float32Array.from({ length: n * F }, (_, i) => i - 4);
    const span = await enc.encode(x, [n, F], { segment: 2, time: Float32Array.from([0, 0.04, 0.08]) });
    expect(span.kind).toBe('embeddings');
    expect(span.modality).toBe('audio');
    expect(span.n).toBe(n);
    expect(span.segment).toBe(2);
    for (let t = 0; t < n; t++) {
      for (let h = 0; h < H; h++) {
        let want = B[h]!;
        for (let f = 0; f < F; f++) want += x[t * F + f]! * W[f * H + h]!;
        expect(span.data[t * H + h]).toBeCloseTo(want, 5);
      }
    }
    // The span feeds a real model's prompt as is.
    const model = loadModel(STORIES_DIR);
    const p = embedPrompt(model, { segments: [{ kind: 'text', text: 'Hi' }, span] });
    expect(p.meta.modality[p.n - 1]).toBe(3);
    expect(p.meta.time[p.n - 1]).toBeCloseTo(0.08);
    await enc.release();
  });

  it('reports bad graphs, names, widths and inputs clearly', async () => {
    const bytes = linearTower();
    await expect(OnnxEncoder.create(new Uint8Array([1, 2, 3]), { modality: 'image' })).rejects.toThrow(/\(onnx bytes\): onnxruntime cannot load the encoder/);
    await expect(OnnxEncoder.create(bytes, { modality: 'image', inputName: 'pixels' })).rejects.toThrow(/no graph input named "pixels" \(has: features\)/);
    const wrongWidth = await OnnxEncoder.create(bytes, { modality: 'image', hiddenSize: 32 });
    await expect(wrongWidth.encode(new Float32Array(F), [1, F])).rejects.toThrow(/output "embeddings" has width 64; the model's hidden size is 32/);
    await expect(wrongWidth.encode(new Float32Array(F), [2, F])).rejects.toThrow(/input has 5 values; dims \[2, 5\] need 10/);
    await expect(wrongWidth.encode(new Float32Array(2 * F + 2), [2, F + 1])).rejects.toThrow(/encoder run failed for input "features" \[2, 6\]/);
    const enc = await OnnxEncoder.create(bytes, { modality: 'image' });
    await expect(enc.encode(new Float32Array(F), [1, F], { row: new Int16Array(4) })).rejects.toThrow(/span row has 4 entries; the encoder produced 1 tokens/);
  });
});
