/**
 * The auto scheme's mixed model: every precision in one graph (int8 DequantizeLinear, int4 DequantizeLinear,
 * MatMulNBits, a k-means Gather, a float16 Cast) loads in onnxruntime-node and computes what the candidate
 * values predict, and its sensitivity probe measures what quantizing one tensor does at the outputs.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { measureOutputErrors } from '../../src/compress/sensitivity.js';
import { makeTensor } from '../../src/core/tensor.js';
import { writeOnnx } from '../../src/formats/onnx/index.js';
import { GraphBuilder, makeModel } from '../../src/graph/builder.js';
import { cloneModel, setInitializerValues } from '../../src/graph/model-edit.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { autoCandidates, buildMixed, type AutoPrecision } from '../../src/quantize/auto.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { rng, runModel } from '../../support/quantize-fixtures.js';

function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() + r() + r() - 1.5) * scale);
}

/** x[1,4,8,8] -> Conv 3x3 -> Relu -> Conv 1x1 -> Relu -> Flatten -> MatMul [512,64] + b -> Relu -> MatMul [64,32]. */
function model() {
  const b = new GraphBuilder();
  b.input('x', 'float32', [1, 4, 8, 8]);
  const c1 = b.op('Conv', ['x', b.initializer('w1', 'float32', [8, 4, 3, 3], randn(288, 1, 0.3))], { pads: [1, 1, 1, 1] });
  const c2 = b.op('Conv', [b.op('Relu', [c1]), b.initializer('w2', 'float32', [8, 8, 1, 1], randn(64, 2, 0.4))]);
  const f = b.op('Flatten', [b.op('Relu', [c2])]);
  const m1 = b.op('MatMul', [f, b.initializer('w3', 'float32', [512, 64], randn(512 * 64, 3, 0.05))]);
  const a = b.op('Add', [m1, b.initializer('bias', 'float32', [64], randn(64, 4, 0.1))]);
  b.node('MatMul', [b.op('Relu', [a]), b.initializer('w4', 'float32', [64, 32], randn(64 * 32, 5, 0.2))], { outputs: ['y'] });
  b.output('y', 'float32');
  return makeModel(b.graph, { opset: 17 });
}

const feeds = () => ({ x: new ort.Tensor('float32', randn(256, 9), [1, 4, 8, 8]) });

function snrDb(ref: Float32Array, y: Float32Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    n += (ref[i]! - y[i]!) ** 2;
  }
  return 10 * Math.log10(s / n);
}

describe('auto mixed precision model', () => {
  const m = model();
  const cands = autoCandidates(m, { minSize: 0 });
  const byName = new Map(cands.tensors.map((t) => [t.name, t]));

  it('offers every candidate a tensor can take, each smaller than float32', () => {
    const precisions = (n: string) => byName.get(n)!.candidates.map((c) => c.precision);
    expect(precisions('w3')).toEqual(['float32', 'float16', 'int8', 'kmeans8', 'int4']);
    expect(precisions('w1')).toContain('int4');
    // the bias is only ever stored as float16 (the integer schemes leave biases alone)
    expect(precisions('bias')).toEqual(['float32', 'float16']);
    for (const t of cands.tensors) for (const c of t.candidates.slice(1)) expect(c.bytes).toBeLessThan(t.candidates[0]!.bytes);
  });

  it('one graph holding every precision loads in onnxruntime and computes the candidate values', async () => {
    const plan = new Map<string, AutoPrecision>([
      ['w1', 'int8'],
      ['w2', 'int4'],
      ['w3', 'int4'],
      ['w4', 'kmeans8'],
      ['bias', 'float16'],
    ]);
    const r = buildMixed(cands, plan, {});
    const ops = new Set(r.model.graph!.node.map((n) => n.opType));
    for (const op of ['DequantizeLinear', 'MatMulNBits', 'Gather', 'Cast']) expect(ops, op).toContain(op);
    const actions = new Map(r.tensors.map((t) => [t.name, t.action]));
    expect(actions.get('w3')).toMatch(/MatMulNBits/);
    expect(actions.get('w2')).toMatch(/int4/);
    // what the model should compute: the float model with each tensor's candidate values
    const expected = cloneModel(cands.model);
    setInitializerValues(
      expected,
      new Map([...plan].map(([n, p]) => [n, byName.get(n)!.candidates.find((c) => c.precision === p)!.values])),
    );
    const want = (await runModel(writeOnnx(expected), feeds())).y!;
    const got = (await runModel(writeOnnx(r.model), feeds())).y!;
    const float = (await runModel(writeOnnx(m), feeds())).y!;
    expect(snrDb(want, got)).toBeGreaterThan(60);
    // and it is not the float model: the quantization is really there
    expect(snrDb(float, got)).toBeLessThan(45);
    const bytes = r.tensors.reduce((a, t) => a + t.bytesAfter, 0);
    const planned = [...plan].reduce((a, [n, p]) => a + byName.get(n)!.candidates.find((c) => c.precision === p)!.bytes, 0);
    expect(bytes).toBe(planned);
  });

  it('a plan of one precision everywhere computes exactly what that uniform scheme computes', async () => {
    for (const [p, scheme, opts] of [
      ['int8', 'int8', { perChannel: true, symmetric: true }],
      ['kmeans8', 'kmeans:8', {}],
      ['float16', 'fp16-weights', {}],
    ] as const) {
      const plan = new Map<string, AutoPrecision>(
        cands.tensors.filter((t) => t.candidates.some((c) => c.precision === p)).map((t) => [t.name, p]),
      );
      const mixed = (await runModel(writeOnnx(buildMixed(cands, plan, {}).model), feeds())).y!;
      // the same tensors (auto drops a candidate that stores more than float32: w2's 256-entry codebook)
      const include = [...plan.keys()];
      const uniform = (await runModel(writeOnnx((await quantizeModel(m, scheme, { ...opts, minSize: 0, include })).model), feeds())).y!;
      expect(Array.from(mixed), p).toEqual(Array.from(uniform));
    }
  });

  it('the probe measures one tensor at a time: float16 is nearly lossless, int4 costs more than int8', async () => {
    const names = cands.tensors.map((t) => t.name);
    const feed = { x: makeTensor('float32', [1, 4, 8, 8], new Uint8Array(randn(256, 9).buffer)) };
    const { errors, runs } = await measureOutputErrors({
      openRunner: createNodeRunner,
      model: cands.model,
      feeds: [feed],
      tensors: cands.tensors.map((t) => ({ name: t.name, variants: t.candidates.slice(1).map((c) => c.values) })),
    });
    expect(runs).toBe(1 + cands.tensors.reduce((a, t) => a + t.candidates.length - 1, 0));
    const w3 = names.indexOf('w3');
    const err = (t: number, p: AutoPrecision) => errors[t]![cands.tensors[t]!.candidates.findIndex((c) => c.precision === p) - 1]!;
    expect(err(w3, 'float16')).toBeLessThan(1e-6);
    expect(err(w3, 'int4')).toBeGreaterThan(err(w3, 'int8'));
    // the probe agrees with running the real model with that one tensor changed
    const one = cloneModel(cands.model);
    setInitializerValues(one, new Map([['w3', byName.get('w3')!.candidates.find((c) => c.precision === 'int4')!.values]]));
    const ref = (await runModel(writeOnnx(cands.model), feeds())).y!;
    const y = (await runModel(writeOnnx(one), feeds())).y!;
    expect(-10 * Math.log10(err(w3, 'int4'))).toBeCloseTo(snrDb(ref, y), 3);
  });
});
