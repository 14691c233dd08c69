import { describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { compressibleLayers } from '../../src/compress/layers.js';
import { quantizationAwareTraining } from '../../src/compress/qat.js';
import { activationParams } from '../../src/compress/qat-activations.js';
import { weightFakeQuant } from '../../src/compress/weight-fake-quant.js';
import { cloneModel, getInitializerValues, setInitializerValues } from '../../src/graph/model-edit.js';
import { readTensorProtoNumbers } from '../../src/graph/tensor-proto.js';
import { evaluateModel } from '../../src/train/trainer.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { floatDataset } from '../../src/data/dataset.js';
import { fashion, openRunner, runInOrt, trainedZoo } from './helpers.js';

/** Dequantized value of a DequantizeLinear-defined weight of `model` (per-axis int8). */
function dequantized(model: ModelProto, weight: string): Float32Array {
  const g = model.graph!;
  const dq = g.node.find((n) => n.opType === 'DequantizeLinear' && n.output[0] === weight)!;
  const init = (name: string) => g.initializer.find((t) => t.name === name)!;
  const q = readTensorProtoNumbers(init(dq.input[0]!));
  const s = readTensorProtoNumbers(init(dq.input[1]!));
  const zp = readTensorProtoNumbers(init(dq.input[2]!));
  const dims = init(dq.input[0]!).dims.map(Number);
  const inner = dims.slice(1).reduce((a, b) => a * b, 1);
  return Float32Array.from(q, (v, i) => Math.fround((v - zp[Math.floor(i / inner)]!) * s[Math.floor(i / inner)]!));
}

describe('qat: quantization-aware training', () => {
  it('int8: trains, and the exported QDQ model holds exactly the fake-quantized weights and the learned ranges', async () => {
    const model = await trainedZoo('lenet-300-100', 1, 3000);
    const { train, test } = fashion(3000, 1000);
    const r = await quantizationAwareTraining({
      openRunner,
      model,
      train,
      scheme: 'int8',
      epochs: 2,
      optimizer: { name: 'adam', lr: 2e-4 },
    });
    expect(r.history).toHaveLength(2);
    expect(r.history[1]!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
    expect(r.fakeQuantized).toEqual(['fc1.weight', 'fc2.weight', 'fc3.weight']);
    const layers = compressibleLayers(r.floatModel);
    const shadow = getInitializerValues(
      r.floatModel,
      layers.map((l) => l.name),
    );
    for (const l of layers) {
      const expected = weightFakeQuant('int8', l)!(shadow.get(l.name)!);
      expect(Array.from(dequantized(r.model, l.name))).toEqual(Array.from(expected));
    }
    const ops = r.model.graph!.node.map((n) => n.opType);
    // the activations the static exporter quantizes (the logits have no reader, so they stay float)
    expect(r.activations.map((a) => a.tensor)).toEqual(['flatten.out', 'relu1.out', 'relu2.out']);
    expect(ops.filter((o) => o === 'QuantizeLinear').length).toBe(3);
    for (const a of r.activations) {
      const q = r.model.graph!.node.find((n) => n.opType === 'QuantizeLinear' && n.input[0] === a.tensor)!;
      const scale = readTensorProtoNumbers(r.model.graph!.initializer.find((t) => t.name === q.input[1])!)[0]!;
      expect(scale).toBe(activationParams(a.min, a.max).scale);
      expect(a.max).toBeGreaterThan(a.min);
    }
    const acc = await evaluateModel(openRunner, r.model, test);
    const fq = cloneModel(r.floatModel);
    setInitializerValues(fq, new Map(layers.map((l) => [l.name, weightFakeQuant('int8', l)!(shadow.get(l.name)!)])));
    // the integer model agrees with its float simulation up to activation rounding
    expect(Math.abs(acc.accuracy - (await evaluateModel(openRunner, fq, test)).accuracy)).toBeLessThan(0.02);
    expect(acc.accuracy).toBeGreaterThan(0.6);
  });

  it('int4: the exported model computes with exactly the weights QAT trained (logits match the fake-quantized float model)', async () => {
    const model = await trainedZoo('lenet-5', 1, 2000);
    const { train } = fashion(2000, 100);
    const r = await quantizationAwareTraining({ openRunner, model, train, scheme: 'int4', epochs: 1, maxStepsPerEpoch: 10 });
    expect(r.activations).toEqual([]);
    expect(r.fakeQuantized).toEqual(['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight']);
    const layers = compressibleLayers(r.floatModel);
    const shadow = getInitializerValues(
      r.floatModel,
      layers.map((l) => l.name),
    );
    const fq = cloneModel(r.floatModel);
    setInitializerValues(fq, new Map(layers.map((l) => [l.name, weightFakeQuant('int4', l)!(shadow.get(l.name)!)])));
    const a = await runInOrt(r.model, 16);
    const b = await runInOrt(fq, 16);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 3);
    const plain = await runInOrt(r.floatModel, 16);
    expect(plain.some((v, i) => Math.abs(v - a[i]!) > 1e-3)).toBe(true);
  });

  it('int8 on a BatchNormalization CNN: BN stays unfolded so the exported Conv weights are the trained q(w); running statistics update', async () => {
    const model = buildZooModel('dwsep-bn', { seed: 0 });
    const { train } = fashion(640, 10);
    const r = await quantizationAwareTraining({ openRunner, model, train, scheme: 'int8', epochs: 1, maxStepsPerEpoch: 5 });
    expect(r.fakeQuantized).toHaveLength(6);
    const mean = getInitializerValues(r.floatModel, ['stem.bn.running_mean']).get('stem.bn.running_mean')!;
    expect(mean.some((v) => v !== 0)).toBe(true);
    expect(r.model.graph!.node.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(5);
    const layers = compressibleLayers(r.floatModel);
    const shadow = getInitializerValues(
      r.floatModel,
      layers.map((l) => l.name),
    );
    for (const l of layers)
      expect(Array.from(dequantized(r.model, l.name))).toEqual(Array.from(weightFakeQuant('int8', l)!(shadow.get(l.name)!)));
    expect((await runInOrt(r.model, 2)).every(Number.isFinite)).toBe(true);
  });

  it('with validation: each epoch is validated fake-quantized, and the best epoch (weights and ranges) is exported', async () => {
    const model = await trainedZoo('lenet-300-100', 1, 3000);
    const { train, test } = fashion(3000, 600);
    const epochs: number[] = [];
    const r = await quantizationAwareTraining({
      openRunner,
      model,
      train,
      validation: test,
      scheme: 'int8',
      epochs: 3,
      maxStepsPerEpoch: 15,
      optimizer: { name: 'adam', lr: 3e-3 },
      onProgress: (e) => {
        if (e.kind === 'epoch') epochs.push(e.record.epoch);
      },
    });
    expect(epochs).toEqual([1, 2, 3]);
    const accs = r.history.map((h) => h.validation!.accuracy);
    expect(r.bestEpoch).toBe(accs.indexOf(Math.max(...accs)) + 1);
    // the validation pass ran the fake-quantized model: it agrees with the exported integer model up to activation rounding
    const exported = await evaluateModel(openRunner, r.model, test);
    if (r.bestEpoch === r.history.length) expect(Math.abs(exported.accuracy - accs[r.bestEpoch - 1]!)).toBeLessThan(0.02);
    const layers = compressibleLayers(r.floatModel);
    const shadow = getInitializerValues(
      r.floatModel,
      layers.map((l) => l.name),
    );
    for (const l of layers)
      expect(Array.from(dequantized(r.model, l.name))).toEqual(Array.from(weightFakeQuant('int8', l)!(shadow.get(l.name)!)));
    const early = await quantizationAwareTraining({
      openRunner,
      model,
      train,
      validation: test,
      scheme: 'int4',
      epochs: 6,
      maxStepsPerEpoch: 5,
      optimizer: { name: 'adam', lr: 0.05 },
      earlyStopping: { patience: 1 },
    });
    expect(early.stoppedEarly || early.history.length === 6).toBe(true);
    expect(early.history.every((h) => h.validation !== undefined)).toBe(true);
  });

  it('rejects bad options before training', async () => {
    const model = buildZooModel('lenet-300-100');
    const { train } = fashion(100, 10);
    await expect(quantizationAwareTraining({ openRunner, model, train, scheme: 'int2' as 'int8', epochs: 1 })).rejects.toThrow(
      /scheme must be one of int8, int4/,
    );
    await expect(quantizationAwareTraining({ openRunner, model, train, scheme: 'int4', epochs: 1, blockSize: 48 })).rejects.toThrow(
      /block size must be a power of two/,
    );
    await expect(quantizationAwareTraining({ openRunner, model, train, scheme: 'int8', epochs: 0 })).rejects.toThrow(
      /epochs must be an integer >= 1/,
    );
    const colour = floatDataset(new Float32Array(100 * 3 * 784), [3, 28, 28], train.y, 'colour');
    await expect(quantizationAwareTraining({ openRunner, model, train: colour, scheme: 'int8', epochs: 1 })).rejects.toThrow();
  });
});
