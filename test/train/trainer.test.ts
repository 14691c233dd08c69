import { describe, expect, it } from 'vitest';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../src/core/errors.js';
import { GraphBuilder, makeModel, getInitializerValues } from '../../src/graph/index.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { evaluateModel, train } from '../../src/train/trainer.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { Sgd } from '../../src/train/optim/index.js';
import { floatDataset } from '../../src/data/dataset.js';
import { convBnModel, fashionSubsets, transformerModel } from './trainer-fixtures.js';

const openRunner = createNodeRunner;

function structure(m: ModelProto): string {
  const g = m.graph!;
  return JSON.stringify({
    nodes: g.node.map((n) => [n.opType, n.name, n.input, n.output]),
    inits: g.initializer.map((t) => [t.name, t.dims.map(Number), t.dataType]),
    inputs: g.input.map((v) => v.name),
    outputs: g.output.map((v) => v.name),
  });
}

describe('trainer on Fashion-MNIST subsets', () => {
  it('trains LeNet-300-100: loss falls, accuracy rises, weights written back into the same graph', async () => {
    const { train: data, test } = fashionSubsets(0, 6000, 2000);
    const model = buildZooModel('lenet-300-100', { seed: 1 });
    const before = await evaluateModel(openRunner, model, test);
    const steps: number[] = [];
    const r = await train({
      openRunner,
      model,
      train: data,
      validation: test,
      epochs: 3,
      batchSize: 64,
      seed: 1,
      optimizer: { name: 'adam', lr: 1e-3 },
      onProgress: (e) => {
        if (e.kind === 'step') steps.push(e.step);
      },
    });
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(steps.length).toBe(3 * Math.ceil(6000 / 64));
    expect(r.history[2]!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
    expect(r.history[0]!.trainAccuracy!).toBeGreaterThan(0.6);
    expect(before.accuracy).toBeLessThan(0.3);
    const best = Math.max(...r.history.map((h) => h.validation!.accuracy));
    expect(best).toBeGreaterThan(0.8);
    expect(r.history[r.bestEpoch - 1]!.validation!.accuracy).toBe(best);
    // The returned model is the original graph with new weights, and runs on its own.
    expect(structure(r.model)).toBe(structure(model));
    expect(getInitializerValues(r.model, ['fc1.weight']).get('fc1.weight')).not.toEqual(
      getInitializerValues(model, ['fc1.weight']).get('fc1.weight'),
    );
    const reread = fromBinary(ModelProtoSchema, toBinary(ModelProtoSchema, r.model));
    const after = await evaluateModel(openRunner, reread, test);
    expect(after.accuracy).toBeCloseTo(best, 6);
    // the input model is untouched
    expect(await evaluateModel(openRunner, model, test)).toEqual(before);
  });

  it('keeps masked weights exactly zero in the written model (90% of fc1 pruned)', async () => {
    const { train: data } = fashionSubsets(6000, 2000, 10);
    const model = buildZooModel('lenet-300-100', { seed: 2 });
    const mask = new Uint8Array(300 * 784).map((_, i) => (i % 10 === 0 ? 1 : 0));
    const r = await train({ openRunner, model, train: data, epochs: 1, masks: { 'fc1.weight': mask } });
    const w = getInitializerValues(r.model, ['fc1.weight']).get('fc1.weight')!;
    let zeros = 0;
    for (let i = 0; i < w.length; i++) {
      if (mask[i] === 0) expect(w[i]).toBe(0);
      else if (w[i] === 0) zeros++;
    }
    expect(zeros).toBe(0);
    await expect(train({ openRunner, model, train: data, epochs: 1, masks: { 'fc9.weight': mask } })).rejects.toThrow(
      /mask given for 'fc9.weight'/,
    );
  });

  it('updates BatchNormalization running statistics from the training graph (dwsep-bn)', async () => {
    const { train: data, test } = fashionSubsets(8000, 3000, 1000);
    const model = buildZooModel('dwsep-bn', { seed: 3 });
    const r = await train({
      openRunner,
      model,
      train: data,
      validation: test,
      epochs: 2,
      batchSize: 64,
      optimizer: { name: 'adam', lr: 3e-3 },
    });
    const mean = r.weights.get('stem.bn.running_mean')!;
    const variance = r.weights.get('stem.bn.running_var')!;
    expect(mean.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(variance.some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    // the written model holds them, and inference with them is accurate
    const stored = getInitializerValues(r.model, ['stem.bn.running_mean']).get('stem.bn.running_mean')!;
    expect(stored).toEqual(mean);
    expect((await evaluateModel(openRunner, r.model, test)).accuracy).toBeGreaterThan(0.6);
  });

  it('stops early and restores the best epoch', async () => {
    const { train: data, test } = fashionSubsets(12000, 256, 200);
    const r = await train({
      openRunner,
      model: buildZooModel('lenet-300-100', { seed: 4 }),
      train: data,
      validation: test,
      epochs: 40,
      batchSize: 32,
      optimizer: { name: 'adam', lr: 3e-3 },
      earlyStopping: { patience: 2 },
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.history.length).toBeLessThan(40);
    const accs = r.history.map((h) => h.validation!.accuracy);
    expect(r.bestEpoch).toBe(accs.indexOf(Math.max(...accs)) + 1);
    expect(r.history.length - r.bestEpoch).toBe(2);
    expect((await evaluateModel(openRunner, r.model, test)).accuracy).toBeCloseTo(Math.max(...accs), 6);
  });

  it('takes an optimizer factory with parameter groups and calls the step hooks', async () => {
    const { train: data } = fashionSubsets(15000, 640, 10);
    const model = buildZooModel('lenet-300-100', { seed: 6 });
    let hooks = 0;
    let afters = 0;
    const r = await train({
      openRunner,
      model,
      train: data,
      epochs: 1,
      batchSize: 64,
      optimizer: (params) =>
        new Sgd(
          [
            { params: params.filter((p) => p.name.startsWith('fc1.')), lr: 0 },
            { params: params.filter((p) => !p.name.startsWith('fc1.')) },
          ],
          { lr: 0.05, momentum: 0.9 },
        ),
      gradientHook: (grads, step) => {
        expect(grads.get('fc2.weight')!.length).toBe(300 * 100);
        expect(step).toBe(hooks);
        hooks++;
      },
      afterStep: (weights) => {
        expect(weights.get('fc3.bias')!.length).toBe(10);
        afters++;
      },
    });
    expect([hooks, afters]).toEqual([10, 10]);
    const names = ['fc1.weight', 'fc2.weight'];
    const a = getInitializerValues(model, names),
      b = getInitializerValues(r.model, names);
    expect(b.get('fc1.weight')).toEqual(a.get('fc1.weight'));
    expect(b.get('fc2.weight')).not.toEqual(a.get('fc2.weight'));
  });

  it('trains an export with a fixed batch size of 1 and keeps its declared shapes', async () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', [1, 784]);
    const h = g.op('Relu', [
      g.op(
        'Gemm',
        [
          'x',
          g.initializer(
            'fc1.weight',
            'float32',
            [32, 784],
            new Float32Array(32 * 784).map((_, i) => Math.sin(i) * 0.03),
          ),
          g.initializer('fc1.bias', 'float32', [32], new Float32Array(32)),
        ],
        { transB: 1 },
      ),
    ]);
    g.node(
      'Gemm',
      [
        h,
        g.initializer(
          'fc2.weight',
          'float32',
          [10, 32],
          new Float32Array(320).map((_, i) => Math.cos(i) * 0.1),
        ),
        g.initializer('fc2.bias', 'float32', [10], new Float32Array(10)),
      ],
      { attrs: { transB: 1 }, outputs: ['y'] },
    );
    g.output('y', 'float32', [1, 10]);
    const model = makeModel(g.graph);
    const { train: data, test } = fashionSubsets(16000, 1280, 300);
    const before = await evaluateModel(openRunner, model, test);
    const r = await train({ openRunner, model, train: data, epochs: 2, batchSize: 64 });
    expect(r.history[1]!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
    expect((await evaluateModel(openRunner, r.model, test)).accuracy).toBeGreaterThan(before.accuracy + 0.3);
    expect(structure(r.model)).toBe(structure(model));
    expect(r.model.graph!.input[0]!.type!.value.value).toEqual(model.graph!.input[0]!.type!.value.value);
  });

  it('is reproducible for a seed', async () => {
    const { train: data } = fashionSubsets(14000, 640, 10);
    const run = async (seed: number) =>
      (
        await train({
          model: buildZooModel('lenet-300-100', { seed: 5 }),
          train: data,
          epochs: 1,
          seed,
          openRunner: (m, o) => createNodeRunner(m, { ...o, intraOpThreads: 1 }),
        })
      ).history[0]!.trainLoss;
    const a = await run(7);
    expect(await run(7)).toBe(a);
    expect(await run(8)).not.toBe(a);
  });
});

describe('fine-tuning models built like PyTorch exports', () => {
  const cases: [string, () => ModelProto, number][] = [
    ['Conv+BatchNormalization+Relu, depthwise Conv, GlobalAveragePool, Flatten, Gemm transB=1', () => convBnModel(11), 3e-3],
    ['transformer block: LayerNormalization, MatMul attention, Softmax, Erf GELU', () => transformerModel(12), 2e-3],
  ];
  for (const [name, make, lr] of cases) {
    it(name, async () => {
      const pre = fashionSubsets(20000, 3000, 1000);
      // "made elsewhere": a briefly trained model, serialized and read back
      const pretrained = await train({
        openRunner,
        model: make(),
        train: pre.train,
        epochs: 1,
        batchSize: 32,
        optimizer: { name: 'adam', lr },
      });
      const model = fromBinary(ModelProtoSchema, toBinary(ModelProtoSchema, pretrained.model));
      const before = await evaluateModel(openRunner, model, pre.test);
      const { train: more } = fashionSubsets(23000, 4000, 10);
      const r = await train({
        openRunner,
        model,
        train: more,
        epochs: 2,
        batchSize: 32,
        optimizer: { name: 'adam', lr: lr / 3 },
        restoreBest: false,
      });
      const after = await evaluateModel(openRunner, r.model, pre.test);
      expect(r.history[1]!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
      expect(after.loss).toBeLessThan(before.loss);
      expect(after.accuracy).toBeGreaterThanOrEqual(before.accuracy - 0.005);
      expect(structure(r.model)).toBe(structure(model));
    });
  }
});

describe('bad input', () => {
  it('rejects data that does not fit the model input', async () => {
    const model = buildZooModel('lenet-5');
    const data = floatDataset(new Float32Array(4 * 400), [1, 20, 20], new Int32Array(4), 'small');
    const err = await train({ openRunner, model, train: data, epochs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelpressError);
    expect((err as ModelpressError).code).toBe('E_SHAPE');
    expect((err as Error).message).toMatch(/examples have shape \[1, 20, 20\].*input 'input' takes \[N, 1, 28, 28\]/);
  });

  it('rejects labels beyond the logits classes and inconsistent arrays', async () => {
    const g = new GraphBuilder();
    g.input('input', 'float32', ['N', 1, 28, 28]);
    const flat = g.op('Flatten', ['input'], { axis: 1 });
    g.node(
      'Gemm',
      [
        flat,
        g.initializer('w', 'float32', [5, 784], new Float32Array(5 * 784).fill(0.01)),
        g.initializer('b', 'float32', [5], new Float32Array(5)),
      ],
      { attrs: { transB: 1 }, outputs: ['logits'] },
    );
    g.output('logits', 'float32', ['N', 5]);
    const model = makeModel(g.graph);
    const { train: data } = fashionSubsets(0, 100, 1);
    await expect(train({ openRunner, model, train: data, epochs: 1 })).rejects.toThrow(
      /labels go up to 9, but output 'logits' has only 5 classes/,
    );
    await expect(train({ openRunner, model, train: { ...data, x: { ...data.x, shape: [99, 1, 28, 28] } }, epochs: 1 })).rejects.toThrow(
      /x holds 313600 bytes, expected 99 examples x 784 float32 values/,
    );
    await expect(train({ openRunner, model, train: { ...data, y: data.y!.subarray(0, 99) }, epochs: 1 })).rejects.toThrow(
      /99 labels for 100 examples/,
    );
    await expect(train({ openRunner, model, train: { ...data, y: undefined }, epochs: 1 })).rejects.toThrow(
      /training data: the data has no labels/,
    );
  });

  it('names an op without a gradient rule', async () => {
    const g = new GraphBuilder();
    g.input('input', 'float32', ['N', 1, 28, 28]);
    const flat = g.op('Flatten', ['input'], { axis: 1 });
    const h = g.op(
      'Gemm',
      [
        flat,
        g.initializer('w', 'float32', [10, 784], new Float32Array(7840).fill(0.01)),
        g.initializer('b', 'float32', [10], new Float32Array(10)),
      ],
      { transB: 1 },
    );
    g.node('Sin', [h], { outputs: ['logits'], name: 'weird_sin' });
    g.output('logits', 'float32', ['N', 10]);
    const { train: data } = fashionSubsets(0, 64, 1);
    const err = await train({ openRunner, model: makeModel(g.graph), train: data, epochs: 1 }).catch((e: unknown) => e);
    expect((err as ModelpressError).code).toBe('E_GRAPH');
    expect((err as Error).message).toMatch(/Sin/);
  });
});
