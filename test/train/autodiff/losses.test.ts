import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { ModelpressError } from '../../../src/core/errors.js';
import { GraphBuilder, makeModel } from '../../../src/graph/builder.js';
import { buildTrainingGraph } from '../../../src/train/autodiff/training.js';
import type { LossSpec, TrainingGraph } from '../../../src/train/autodiff/types.js';
import { randn, rng } from './gradcheck.js';

const [N, D, C] = [5, 4, 3];

/** logits = x W^T + b (a PyTorch-style Linear), float64. */
function linearModel(): ModelProto {
  const b = new GraphBuilder();
  b.input('x', 'float64', ['batch', D]);
  const w = b.initializer('fc.weight', 'float64', [C, D], randn(C * D, rng(11)));
  const bias = b.initializer('fc.bias', 'float64', [C], randn(C, rng(12)));
  b.node('Gemm', ['x', w, bias], { outputs: ['logits'], attrs: { transB: 1 } });
  b.output('logits', 'float64', ['batch', C]);
  return makeModel(b.graph);
}

const xs = Float64Array.from(randn(N * D, rng(13), 2));
const labels = BigInt64Array.from([0n, 2n, 1n, 2n, 0n]);
const teacher = Float64Array.from(randn(N * C, rng(14), 3));
const target = Float64Array.from(randn(N * C, rng(15)));

function logitsOf(w: Float64Array, bias: Float64Array): number[][] {
  return Array.from({ length: N }, (_, n) =>
    Array.from(
      { length: C },
      (_, c) => bias[c]! + Array.from({ length: D }, (_, d) => xs[n * D + d]! * w[c * D + d]!).reduce((a, v) => a + v, 0),
    ),
  );
}
const logSoftmax = (z: number[]): number[] => {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
};
const ce = (L: number[][]): number => -L.reduce((a, z, n) => a + logSoftmax(z)[Number(labels[n])]!, 0) / N;

async function check(spec: LossSpec, reference: (L: number[][]) => number): Promise<TrainingGraph> {
  const tg = buildTrainingGraph(linearModel(), { loss: spec });
  expect(tg.params.map((p) => p.name)).toEqual(['fc.weight', 'fc.bias']);
  const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, tg.model));
  const values = tg.params.map((p) => Float64Array.from(p.initial));
  const feeds = (): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = { x: new ort.Tensor('float64', xs, [N, D]) };
    for (const d of tg.dataInputs) {
      if (d.role === 'labels') f[d.name] = new ort.Tensor('int64', labels, [N]);
      if (d.role === 'teacher') f[d.name] = new ort.Tensor('float64', teacher, [N, C]);
      if (d.role === 'target') f[d.name] = new ort.Tensor('float64', target, [N, C]);
    }
    tg.params.forEach((p, i) => (f[p.name] = new ort.Tensor('float64', values[i]!, p.shape)));
    return f;
  };
  const r = await s.run(feeds());
  const loss = Number(r[tg.lossOutput]!.data[0]);
  expect(loss).toBeCloseTo(reference(logitsOf(values[0]!, values[1]!)), 9);
  expect((r[tg.forwardOutputs[0]!]!.data as Float64Array).length).toBe(N * C);
  const eps = 1e-6;
  for (const [pi, p] of tg.params.entries()) {
    const g = r[p.grad]!.data as Float64Array;
    expect(g.length).toBe(values[pi]!.length);
    for (let i = 0; i < values[pi]!.length; i++) {
      const v = values[pi]!;
      const orig = v[i]!;
      v[i] = orig + eps;
      const up = reference(logitsOf(values[0]!, values[1]!));
      v[i] = orig - eps;
      const down = reference(logitsOf(values[0]!, values[1]!));
      v[i] = orig;
      expect(g[i]).toBeCloseTo((up - down) / (2 * eps), 6);
    }
  }
  return tg;
}

describe('losses (values against a JS reference, gradients against finite differences)', () => {
  it('cross-entropy on int64 labels, mean over the batch', async () => {
    const tg = await check({ kind: 'cross-entropy' }, ce);
    expect(tg.dataInputs.map((d) => [d.name, d.role])).toEqual([
      ['x', 'model'],
      ['labels', 'labels'],
    ]);
  });
  it('mean squared error', async () => {
    await check({ kind: 'mse' }, (L) => L.flat().reduce((a, v, i) => a + (v - target[i]!) ** 2, 0) / (N * C));
  });
  it('knowledge distillation: alpha * T^2 * KL(teacher || student) + (1 - alpha) * CE', async () => {
    const T = 3,
      alpha = 0.7;
    const kd = (L: number[][]): number => {
      let kl = 0;
      for (let n = 0; n < N; n++) {
        const pt = logSoftmax(Array.from({ length: C }, (_, c) => teacher[n * C + c]! / T));
        const ps = logSoftmax(L[n]!.map((v) => v / T));
        for (let c = 0; c < C; c++) kl += Math.exp(pt[c]!) * (pt[c]! - ps[c]!);
      }
      return alpha * T * T * (kl / N) + (1 - alpha) * ce(L);
    };
    const tg = await check({ kind: 'distillation', temperature: T, alpha }, kd);
    expect(tg.dataInputs.map((d) => d.role).sort()).toEqual(['labels', 'model', 'teacher']);
  });
  it('distillation with alpha = 1 needs no labels', async () => {
    const tg = buildTrainingGraph(linearModel(), { loss: { kind: 'distillation', temperature: 2, alpha: 1 } });
    expect(tg.dataInputs.map((d) => d.role)).toEqual(['model', 'teacher']);
  });
  it('a loss whose shapes do not fit the output is E_SHAPE; a taken input name is E_ARG; bad T/alpha are E_ARG', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', ['batch', 2, 3]);
    b.node('Relu', ['x'], { outputs: ['y'] });
    b.output('y', 'float32', ['batch', 2, 3]);
    const err = (f: () => unknown): ModelpressError => {
      try {
        f();
      } catch (e) {
        return e as ModelpressError;
      }
      throw new Error('expected an error');
    };
    expect(err(() => buildTrainingGraph(makeModel(b.graph), { loss: { kind: 'cross-entropy' }, trainable: [] })).code).toBe('E_SHAPE');
    expect(err(() => buildTrainingGraph(linearModel(), { loss: { kind: 'cross-entropy', labels: 'x' } })).code).toBe('E_ARG');
    expect(err(() => buildTrainingGraph(linearModel(), { loss: { kind: 'distillation', temperature: 0, alpha: 0.5 } })).code).toBe('E_ARG');
    expect(err(() => buildTrainingGraph(linearModel(), { loss: { kind: 'distillation', temperature: 2, alpha: 1.5 } })).code).toBe('E_ARG');
  });
});
