import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, makeModel } from '../../../src/graph/builder.js';
import { lowerModel } from '../../../src/train/autodiff/lower.js';
import { gradCheck, randn, rng } from '../autodiff/gradcheck.js';

const positive = (n: number, seed: number): number[] => randn(n, rng(seed)).map((v) => 0.5 + Math.abs(v));

describe('BatchNormalization (lowered to primitives)', () => {
  it('training mode: gradients of x, scale and bias match finite differences (float64, 4-D)', async () => {
    await gradCheck({
      lower: { batchNorm: 'train' },
      params: { x: { shape: [3, 2, 3, 2] }, scale: { shape: [2] }, bias: { shape: [2] } },
      forward: (b, dt) => {
        const mean = b.initializer('mean', dt, [2], [0.1, -0.2]);
        const v = b.initializer('var', dt, [2], [1.5, 0.7]);
        return b.op('BatchNormalization', ['x', 'scale', 'bias', mean, v], { epsilon: { float: 1e-3 } });
      },
    });
  });
  it('training mode on [N, C] (after a Gemm) with the input computed from a weight', async () => {
    await gradCheck({
      lower: { batchNorm: 'train' },
      params: { a: { shape: [4, 3] }, w: { shape: [3, 2] }, scale: { shape: [2] }, bias: { shape: [2] } },
      forward: (b, dt) =>
        b.op('BatchNormalization', [
          b.op('MatMul', ['a', 'w']),
          'scale',
          'bias',
          b.initializer('mean', dt, [2], [0, 0]),
          b.initializer('var', dt, [2], [1, 1]),
        ]),
    });
  });
  it('eval mode (running statistics) matches finite differences', async () => {
    await gradCheck({
      lower: { batchNorm: 'eval' },
      params: { x: { shape: [2, 3, 2, 2] }, scale: { shape: [3] }, bias: { shape: [3] } },
      forward: (b, dt) =>
        b.op('BatchNormalization', [
          'x',
          'scale',
          'bias',
          b.initializer('mean', dt, [3], [0.1, 0.2, -0.3]),
          b.initializer('var', dt, [3], positive(3, 4)),
        ]),
    });
  });

  it('lowered forward equals the batch-statistics formula and onnxruntime in eval mode; batch stats outputs are right', async () => {
    const b = new GraphBuilder();
    const [n, c, h, w] = [4, 3, 2, 2];
    b.input('x', 'float32', ['N', c, h, w]);
    const scale = b.initializer('scale', 'float32', [c], [1.5, -0.5, 2]);
    const bias = b.initializer('bias', 'float32', [c], [0.1, 0.2, 0.3]);
    const mean = b.initializer('running_mean', 'float32', [c], [0.3, -0.1, 0.2]);
    const vr = b.initializer('running_var', 'float32', [c], [0.9, 1.2, 0.5]);
    b.node('BatchNormalization', ['x', scale, bias, mean, vr], { outputs: ['y'], attrs: { epsilon: { float: 1e-5 } }, name: 'bn' });
    b.output('y', 'float32');
    const model = makeModel(b.graph);
    const xs = Float32Array.from(randn(n * c * h * w, rng(9), 2));
    const feeds = { x: new ort.Tensor('float32', xs, [n, c, h, w]) };
    const run = async (m: typeof model) => (await ort.InferenceSession.create(toBinary(ModelProtoSchema, m))).run(feeds);

    const train = lowerModel(model, { batchNorm: 'train' });
    const stats = train.batchNorm[0]!;
    expect(stats.runningMean).toBe('running_mean');
    expect(stats.momentum).toBeCloseTo(0.9);
    const r = await run(train.model);
    const y = r.y!.data as Float32Array;
    const per = h * w;
    for (let ch = 0; ch < c; ch++) {
      const vals: number[] = [];
      for (let i = 0; i < n; i++) for (let p = 0; p < per; p++) vals.push(xs[(i * c + ch) * per + p]!);
      const mu = vals.reduce((a, v) => a + v, 0) / vals.length;
      const varB = vals.reduce((a, v) => a + (v - mu) ** 2, 0) / vals.length;
      expect((r[stats.batchMean]!.data as Float32Array)[ch]).toBeCloseTo(mu, 5);
      expect((r[stats.batchVar]!.data as Float32Array)[ch]).toBeCloseTo((varB * vals.length) / (vals.length - 1), 4);
      const s = [1.5, -0.5, 2][ch]!,
        bb = [0.1, 0.2, 0.3][ch]!;
      for (let i = 0; i < n; i++)
        for (let p = 0; p < per; p++) {
          const k = (i * c + ch) * per + p;
          expect(y[k]).toBeCloseTo(((xs[k]! - mu) / Math.sqrt(varB + 1e-5)) * s + bb, 4);
        }
    }
    const ref = (await run(model)).y!.data as Float32Array;
    const evalOut = (await run(lowerModel(model, { batchNorm: 'eval' }).model)).y!.data as Float32Array;
    for (let i = 0; i < ref.length; i++) expect(evalOut[i]).toBeCloseTo(ref[i]!, 5);
  });
});

describe('LayerNormalization (lowered to primitives)', () => {
  it('gradients of x, scale, bias over the last axis (float64)', async () => {
    await gradCheck({
      lower: {},
      params: { x: { shape: [2, 3, 4] }, scale: { shape: [4] }, bias: { shape: [4] } },
      forward: (b) => b.op('LayerNormalization', ['x', 'scale', 'bias'], { axis: -1, epsilon: { float: 1e-4 } }),
    });
  });
  it('axis 1 over two axes, no bias', async () => {
    await gradCheck({
      lower: {},
      params: { x: { shape: [2, 3, 4] }, scale: { shape: [3, 4] } },
      forward: (b) => b.op('LayerNormalization', ['x', 'scale'], { axis: 1 }),
    });
  });
  it('lowered forward equals onnxruntime LayerNormalization', async () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', ['B', 5, 6]);
    const scale = b.initializer('g', 'float32', [6], randn(6, rng(3)));
    const bias = b.initializer('beta', 'float32', [6], randn(6, rng(4)));
    b.node('LayerNormalization', ['x', scale, bias], { outputs: ['y'], attrs: { axis: -1 } });
    b.output('y', 'float32');
    const model = makeModel(b.graph);
    const feeds = { x: new ort.Tensor('float32', Float32Array.from(randn(60, rng(5), 3)), [2, 5, 6]) };
    const run = async (m: typeof model) => (await ort.InferenceSession.create(toBinary(ModelProtoSchema, m))).run(feeds);
    const ref = (await run(model)).y!.data as Float32Array;
    const low = (await run(lowerModel(model).model)).y!.data as Float32Array;
    for (let i = 0; i < ref.length; i++) expect(low[i]).toBeCloseTo(ref[i]!, 4);
  });
});

describe('InstanceNormalization (lowered to primitives)', () => {
  it('gradient by finite differences', async () => {
    await gradCheck({
      lower: {},
      params: { x: { shape: [2, 3, 2, 3] }, scale: { shape: [3] }, bias: { shape: [3] } },
      forward: (b) => b.op('InstanceNormalization', ['x', 'scale', 'bias'], { epsilon: { float: 1e-3 } }),
    });
  });
});
