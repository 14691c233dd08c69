/**
 * A model written by writeTfjs (with uint8, uint16 and float16 quantized
 * weights) loads in tfjs-converter's graph-model loader and computes what
 * the weights we read back say it should.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTensor, toFloat32 } from '../../src/core/tensor.js';
import { readTfjs, writeTfjs, type TfjsWriteResult } from '../../src/formats/tfjs/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
const constNode = (name: string, dtype: string, ...shape: number[]) => ({
  name,
  op: 'Const',
  attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: dims(...shape) } } },
});

/** y = reshape((x @ w + b) @ w2, [-1, 1]) with x: [?, 3] (GraphDef JSON as tfjs-converter writes it). */
const topology = {
  node: [
    { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims(-1, 3) } } },
    constNode('w', 'DT_FLOAT', 3, 4),
    constNode('b', 'DT_FLOAT', 4),
    constNode('w2', 'DT_FLOAT', 4, 2),
    constNode('shape', 'DT_INT32', 2),
    {
      name: 'mm',
      op: 'MatMul',
      input: ['x', 'w'],
      attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } },
    },
    { name: 'add', op: 'AddV2', input: ['mm', 'b'], attr: { T: { type: 'DT_FLOAT' } } },
    {
      name: 'mm2',
      op: 'MatMul',
      input: ['add', 'w2'],
      attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } },
    },
    { name: 'y', op: 'Reshape', input: ['mm2', 'shape'], attr: { T: { type: 'DT_FLOAT' }, Tshape: { type: 'DT_INT32' } } },
  ],
  versions: { producer: 1395 },
};

/** Loads our output the way a browser would: each group's shards concatenated, specs from the manifest. */
async function loadWithTfjs(out: TfjsWriteResult): Promise<tfconv.GraphModel> {
  const json = JSON.parse(out.json);
  const weightSpecs = tf.io.getWeightSpecs(json.weightsManifest);
  const files = new Map(out.shards.map((s) => [s.path, s.bytes]));
  const parts = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => files.get(p)!));
  const total = parts.reduce((n: number, p: Uint8Array) => n + p.length, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    weightData.set(p, at);
    at += p.length;
  }
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      weightSpecs,
      weightData: weightData.buffer,
    }),
  };
  return tfconv.loadGraphModel(handler);
}

function matmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let p = 0; p < k; p++) out[i * m + j]! += a[i * k + p]! * b[p * m + j]!;
  return out;
}

describe('tfjs-converter loads and runs what writeTfjs writes', () => {
  it('a MatMul+Add+MatMul+Reshape graph model with uint8, float16 and uint16 weights over several shards', async () => {
    const w = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i * 1.7) * 0.8);
    const b = Float32Array.from([0.1, -0.2, 0.30000001, 0]);
    const w2 = Float32Array.from({ length: 8 }, (_, i) => (i - 3.5) / 7);
    const out = writeTfjs(
      { format: 'graph-model', generatedBy: 'modelpress-test', convertedBy: null, modelTopology: topology },
      [
        { name: 'w', tensor: makeTensor('float32', [3, 4], bytesOf(w)) },
        { name: 'b', tensor: makeTensor('float32', [4], bytesOf(b)), group: 1 },
        { name: 'w2', tensor: makeTensor('float32', [4, 2], bytesOf(w2)), group: 1 },
        { name: 'shape', tensor: makeTensor('int32', [2], bytesOf(new Int32Array([-1, 1]))), group: 1 },
      ],
      { quantize: { w: 'uint8', b: 'float16', w2: 'uint16' }, shardSize: 8 },
    );
    expect(out.shards.length).toBeGreaterThan(3);
    const model = await loadWithTfjs(out);

    const x = Float32Array.from([1, 2, 3, -1, 0.5, 0.25]);
    const y = model.execute(tf.tensor2d(x, [2, 3]), 'y') as tf.Tensor;
    expect(y.shape).toEqual([4, 1]);
    const got = y.dataSync() as Float32Array;

    // expected from the weights as we read them back (dequantized like TF.js)
    const back = readTfjs(out.json, (p) => out.shards.find((s) => s.path === p)!.bytes);
    const get = (n: string) => toFloat32(back.tensors.find((t) => t.name === n)!.tensor);
    const h = matmul(x, get('w'), 2, 3, 4).map((v, i) => v + get('b')[i % 4]!);
    const want = matmul(Float32Array.from(h), get('w2'), 2, 4, 2);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);

    // and close to the float32 model (8-bit weights: ~1e-2)
    const hf = matmul(x, w, 2, 3, 4).map((v, i) => v + b[i % 4]!);
    const wantF = matmul(Float32Array.from(hf), w2, 2, 4, 2);
    for (let i = 0; i < wantF.length; i++) expect(Math.abs(got[i]! - wantF[i]!)).toBeLessThan(3e-2);
    // the quantized weights differ from the float ones (the test would notice a no-op quantizer)
    expect(get('w')).not.toEqual(w);
    model.dispose();
  });
});
