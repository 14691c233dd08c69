import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../../src/core/errors.js';
import { GraphBuilder, makeModel } from '../../../src/graph/builder.js';
import { getInitializerValues, setInitializerValues } from '../../../src/graph/model-edit.js';
import { buildTrainingGraph, updateRunningStats } from '../../../src/train/autodiff/training.js';
import { smallCnn, toyBatch } from './small-cnn.js';

describe('buildTrainingGraph on a small CNN (Conv+BN+Relu, depthwise, MaxPool, GAP, Dropout, Gemm transB)', () => {
  it('lists params, data inputs, BN statistics; plain SGD lowers the loss; weights write back', async () => {
    const model = smallCnn();
    const tg = buildTrainingGraph(model, { loss: { kind: 'cross-entropy' }, dropout: 'eval' });
    expect(tg.params.map((p) => p.name)).toEqual([
      'conv1.weight',
      'conv1.bias',
      'bn1.weight',
      'bn1.bias',
      'dw.weight',
      'pw.weight',
      'fc.weight',
      'fc.bias',
    ]);
    expect(tg.dataInputs.map((d) => d.name)).toEqual(['input', 'labels']);
    expect(tg.batchNorm).toHaveLength(1);
    expect(tg.batchNorm[0]).toMatchObject({
      node: 'bn1',
      runningMean: 'bn1.running_mean',
      runningVar: 'bn1.running_var',
      momentum: expect.closeTo(0.9, 6),
    });
    expect(tg.model.graph!.initializer.some((t) => t.name === 'bn1.running_mean')).toBe(false);

    const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, tg.model));
    const weights = tg.params.map((p) => Float32Array.from(p.initial));
    const running = { mean: new Float32Array(4), var: new Float32Array(4).fill(1) };
    const { x, y } = toyBatch(32, 2);
    const step = async (lr: number): Promise<number> => {
      const feeds: Record<string, ort.Tensor> = {
        input: new ort.Tensor('float32', x, [32, 1, 8, 8]),
        labels: new ort.Tensor('int64', y, [32]),
      };
      tg.params.forEach((p, i) => (feeds[p.name] = new ort.Tensor('float32', weights[i]!, p.shape)));
      const r = await session.run(feeds);
      tg.params.forEach((p, i) => {
        const g = r[p.grad]!.data as Float32Array;
        const w = weights[i]!;
        for (let k = 0; k < w.length; k++) w[k]! -= lr * g[k]!;
      });
      const s = tg.batchNorm[0]!;
      updateRunningStats(running.mean, r[s.batchMean]!.data as Float32Array, s.momentum);
      updateRunningStats(running.var, r[s.batchVar]!.data as Float32Array, s.momentum);
      return Number(r[tg.lossOutput]!.data[0]);
    };
    const first = await step(0.5);
    let last = first;
    for (let i = 0; i < 150; i++) last = await step(0.5);
    expect(first).toBeGreaterThan(0.9);
    expect(last).toBeLessThan(first * 0.5);
    expect(running.mean.some((v) => v !== 0)).toBe(true);

    // Write back: same graph, new weights; the inference model runs and classifies the toy data.
    const out = smallCnn();
    setInitializerValues(
      out,
      new Map([
        ...tg.params.map((p, i) => [p.name, weights[i]!] as const),
        ['bn1.running_mean', running.mean],
        ['bn1.running_var', running.var],
      ]),
    );
    expect(out.graph!.node.map((n) => n.opType)).toEqual(model.graph!.node.map((n) => n.opType));
    expect(getInitializerValues(out, ['fc.bias']).get('fc.bias')).toEqual(weights[7]);
    const inf = await ort.InferenceSession.create(toBinary(ModelProtoSchema, out));
    const logits = (await inf.run({ input: new ort.Tensor('float32', x, [32, 1, 8, 8]) })).logits!.data as Float32Array;
    let correct = 0;
    for (let n = 0; n < 32; n++) {
      const row = Array.from(logits.slice(n * 3, n * 3 + 3));
      if (row.indexOf(Math.max(...row)) === Number(y[n])) correct++;
    }
    expect(correct).toBeGreaterThanOrEqual(26);
  });

  it('dropout in train mode: the gradient uses the forward mask scaled by 1/(1-ratio)', async () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', ['N', 6]);
    const w = b.initializer('w', 'float32', [6], [1, 2, 3, 4, 5, 6]);
    const d = b.op('Dropout', [b.op('Mul', ['x', w])], { seed: 3 }, 'drop');
    b.node('ReduceSum', [d, b.int64s([1])], { outputs: ['y'], attrs: { keepdims: 0 } });
    b.output('y', 'float32', ['N']);
    const tg = buildTrainingGraph(makeModel(b.graph), { loss: { kind: 'mse' }, trainable: ['w'], dropoutRatioInput: 'drop_ratio' });
    expect(tg.dataInputs.map((x) => x.role)).toEqual(['model', 'dropout-ratio', 'target']);
    // Expose the mask to compare against.
    const mask = tg.model.graph!.node.find((n) => n.opType === 'Dropout')!.output[1]!;
    tg.model.graph!.output.push({ ...tg.model.graph!.output[0]!, name: mask, type: undefined } as never);
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, tg.model));
    const xs = Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2 + 0.5);
    const r = await s.run({
      x: new ort.Tensor('float32', xs, [2, 6]),
      w: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [6]),
      drop_ratio: new ort.Tensor('float32', Float32Array.from([0.25]), []),
      target: new ort.Tensor('float32', Float32Array.from([0, 0]), [2]),
    });
    const m = r[mask]!.data as Uint8Array;
    const yv = r.y!.data as Float32Array;
    const g = r[tg.params[0]!.grad]!.data as Float32Array;
    // loss = mean((y - 0)^2) over 2 rows: dL/dw_j = sum_n (2/2) y_n * x_nj * m_nj / 0.75
    for (let j = 0; j < 6; j++) {
      let want = 0;
      for (let n = 0; n < 2; n++) want += (yv[n]! * xs[n * 6 + j]! * (m[n * 6 + j] ? 1 : 0)) / 0.75;
      expect(g[j]).toBeCloseTo(want, 4);
    }
    expect(Array.from(m).some((v) => v === 0) || Array.from(m).every((v) => v === 1)).toBe(true);
  });

  it('keeps a newer opset (21) and the graph runs', async () => {
    const m = smallCnn();
    m.opsetImport[0]!.version = 21n;
    m.irVersion = 10n;
    const tg = buildTrainingGraph(m, { loss: { kind: 'cross-entropy' } });
    expect(Number(tg.model.opsetImport[0]!.version)).toBe(21);
    const s = await ort.InferenceSession.create(toBinary(ModelProtoSchema, tg.model));
    const { x, y } = toyBatch(4, 9);
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', x, [4, 1, 8, 8]),
      labels: new ort.Tensor('int64', y, [4]),
    };
    for (const p of tg.params) feeds[p.name] = new ort.Tensor('float32', p.initial, p.shape);
    const r = await s.run(feeds);
    expect(Number(r[tg.lossOutput]!.data[0])).toBeGreaterThan(0);
    expect((r[tg.params[0]!.grad]!.data as Float32Array).some((v) => v !== 0)).toBe(true);
  });

  it('rejects opset < 13 with E_UNSUPPORTED and unknown trainables with E_NOT_FOUND', () => {
    const m = smallCnn();
    m.opsetImport[0]!.version = 11n;
    expect(() => buildTrainingGraph(m, { loss: { kind: 'cross-entropy' } })).toThrow(ModelpressError);
    expect(() => buildTrainingGraph(smallCnn(), { loss: { kind: 'cross-entropy' }, trainable: ['nope'] })).toThrow(
      /trainable initializer 'nope' not found/,
    );
  });
});
