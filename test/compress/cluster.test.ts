import { describe, expect, it } from 'vitest';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ortNode from 'onnxruntime-node';
import { clusterModel, clusterWeights, denseClusteredWeights } from '../../src/compress/cluster.js';
import { compressibleLayers } from '../../src/compress/layers.js';
import { magnitudePrune } from '../../src/compress/sensitivity.js';
import { ModelpressError } from '../../src/core/errors.js';
import { cloneModel, getInitializerValues, setInitializerValues } from '../../src/graph/model-edit.js';
import { buildTrainingGraph } from '../../src/train/autodiff/index.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { floatView } from '../../src/data/dataset.js';
import { fashion, openRunner, runInOrt, trainedZoo } from './helpers.js';

describe('cluster: k-means weight sharing with centroid fine-tuning', () => {
  it('rewrites each Conv/Gemm weight as Gather(codebook, indices) with at most 2^bits values, conv and fc bits apart', async () => {
    const model = buildZooModel('lenet-5', { seed: 1 });
    const r = clusterWeights(model, { bits: 5, bitsConv: 3, bitsFc: 2 });
    expect(r.layers.map((l) => [l.name, l.kind, l.bits])).toEqual([
      ['conv1.weight', 'conv', 3],
      ['conv2.weight', 'conv', 3],
      ['fc1.weight', 'fc', 2],
      ['fc2.weight', 'fc', 2],
    ]);
    for (const l of r.layers) {
      const dense = denseClusteredWeights(r.model, l);
      expect(new Set(dense).size).toBeLessThanOrEqual(2 ** l.bits);
      expect(dense.length).toBe(l.shape.reduce((a, b) => a * b, 1));
    }
    const ops = r.model.graph!.node.map((n) => n.opType);
    expect(ops.filter((o) => o === 'Gather')).toHaveLength(4);
    expect(r.model.graph!.initializer.some((t) => t.name === 'fc1.weight')).toBe(false);
    const logits = await runInOrt(r.model, 4);
    expect(logits.length).toBe(40);
    expect(logits.every(Number.isFinite)).toBe(true);
  });

  it('each centroid gradient is the sum of the gradients of the weights in its cluster', async () => {
    const model = buildZooModel('lenet-300-100', { seed: 2 });
    const c = clusterWeights(model, { bits: 3 });
    // the same weights in dense form
    const dense = cloneModel(model);
    setInitializerValues(dense, new Map(c.layers.map((l) => [l.name, denseClusteredWeights(c.model, l)])));
    const { train } = fashion(64, 10);
    const x = new ortNode.Tensor('float32', floatView(train).inputs.slice(0, 32 * 784), [32, 1, 28, 28]);
    const y = new ortNode.Tensor('int64', BigInt64Array.from(Array.from(train.y!.slice(0, 32), BigInt)), [32]);
    const grads = async (m: typeof model, names: string[]) => {
      const tg = buildTrainingGraph(m, { loss: { kind: 'cross-entropy' }, trainable: names });
      const s = await ortNode.InferenceSession.create(toBinary(ModelProtoSchema, tg.model));
      const feeds: Record<string, ortNode.Tensor> = { input: x, labels: y };
      for (const p of tg.params) feeds[p.name] = new ortNode.Tensor('float32', Float32Array.from(p.initial), p.shape);
      const out = await s.run(feeds);
      await s.release();
      return new Map(tg.params.map((p) => [p.name, out[p.grad]!.data as Float32Array]));
    };
    const layer = c.layers[1]!; // fc2: 100 x 300
    const g = await grads(c.model, [layer.codebook]);
    const gd = await grads(dense, [layer.name]);
    const idx = c.model.graph!.initializer.find((t) => t.name === layer.indices)!.rawData;
    const sums = new Float64Array(layer.centroids);
    const denseGrad = gd.get(layer.name)!;
    for (let i = 0; i < idx.length; i++) sums[idx[i]!] += denseGrad[i]!;
    const cg = g.get(layer.codebook)!;
    for (let k = 0; k < layer.centroids; k++) expect(cg[k]).toBeCloseTo(sums[k]!, 4);
    expect(Math.max(...Array.from(cg, Math.abs))).toBeGreaterThan(1e-4);
  });

  it('keeps pruned zeros at exactly zero through fine-tuning and improves on plain k-means', async () => {
    const trained = await trainedZoo('lenet-300-100', 1, 4000);
    const pruned = cloneModel(trained);
    const names = compressibleLayers(trained).map((l) => l.name);
    const values = getInitializerValues(trained, names);
    setInitializerValues(pruned, new Map(names.map((n) => [n, magnitudePrune(values.get(n)!, 0.8)])));
    const { train, test } = fashion(4000, 1000);
    const r = await clusterModel(pruned, { openRunner, bits: 2, train, test, epochs: 1, optimizer: { name: 'adam', lr: 1e-3 } });
    for (const l of r.layers) {
      const before = values.get(l.name)!;
      const zeros = magnitudePrune(before, 0.8).filter((v) => v === 0).length;
      expect(l.zeros).toBe(zeros);
      const dense = denseClusteredWeights(r.model, l);
      const kept = magnitudePrune(before, 0.8);
      for (let i = 0; i < dense.length; i++) if (kept[i] === 0) expect(dense[i]).toBe(0);
      expect(new Set(dense).size).toBeLessThanOrEqual(4);
      expect(dense.filter((v) => v === 0).length).toBe(zeros);
    }
    // the fine-tuned codebooks moved
    const c0 = clusterWeights(pruned, { bits: 2 });
    const moved = r.layers.some((l) => {
      const a = getInitializerValues(c0.model, [l.codebook]).get(l.codebook)!;
      const b = getInitializerValues(r.model, [l.codebook]).get(l.codebook)!;
      return a.some((v, i) => v !== b[i]);
    });
    expect(moved).toBe(true);
    expect(r.accuracy!.finetuned!.accuracy).toBeGreaterThan(r.accuracy!.clustered.accuracy);
    expect(r.history[0]!.trainLoss).toBeGreaterThan(0);
  });

  it('rejects bits out of range and models without weights to cluster', () => {
    const model = buildZooModel('lenet-300-100');
    expect(() => clusterWeights(model, { bits: 0 })).toThrow(/bits must be an integer in 1..8/);
    expect(() => clusterWeights(model, { bits: 4, bitsFc: 9 })).toThrow(ModelpressError);
    const empty = cloneModel(model);
    empty.graph!.node = empty.graph!.node.filter((n) => n.opType !== 'Gemm');
    expect(() => clusterWeights(empty, { bits: 4 })).toThrow(/no float32 Conv\/Gemm\/MatMul weight/);
  });
});
