import type { ValueInfoProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { readOnnx, writeOnnx, onnxSummary } from '../../src/formats/onnx/index.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { ONNX_TYPE } from '../../src/core/dtypes.js';
import { inferElemTypes } from '../../src/graph/op-traits.js';
import { findWeights } from '../../src/graph/weights.js';
import { convertFp16 } from '../../src/quantize/fp16.js';
import { getScheme } from '../../src/quantize/index.js';
import type { RunnerFactory } from '../../src/runtime/runner.js';
import { FIXTURES, fidelity, loadFixture, nodeRunner, rng, runAll, sameBytes } from '../../support/quantize-fixtures.js';
import { accuracy, mnistSetup } from './static-mnist.js';

const FLOAT = ONNX_TYPE.float32;
const FLOAT16 = ONNX_TYPE.float16;

describe('convertFp16 on the real fixtures', () => {
  // det's BatchNormalization variance reaches 9.8e7 and stays float32
  const { minCosine } = getScheme('fp16').budgets.fixtures!;
  const cases = (['rec', 'cls', 'silero', 'det'] as const).map((id) => [id, minCosine[id]!] as const);
  for (const [id, minCos] of cases) {
    it(`${id}: float16 weights and compute, float32 at the boundary, cosine >= ${minCos}`, async () => {
      const f = FIXTURES[id];
      const bytes = loadFixture(f);
      const model = readOnnx(bytes);
      const feeds = [100, 101].map((s) => f.feed(s));
      const r = await convertFp16(model.proto, { openRunner: nodeRunner });
      expect(sameBytes(writeOnnx(model.proto), bytes)).toBe(true);
      const out = writeOnnx(r.model);
      const fi = fidelity(await runAll(bytes, feeds), await runAll(out, feeds));
      expect(fi.cosine).toBeGreaterThanOrEqual(minCos);
      expect(out.length / bytes.length).toBeLessThan(0.56);
      const g = r.model.graph!;
      // boundary types unchanged
      const elem = (v: ValueInfoProto) => (v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : undefined);
      expect(g.input.map(elem)).toEqual(model.proto.graph!.input.map(elem));
      expect(g.output.map(elem)).toEqual(model.proto.graph!.output.map(elem));
      // weights are float16, except the few float16 cannot hold and Resize scales (float32 by spec)
      const weights = findWeights(r.model);
      const half = weights.filter((w) => w.dtype === 'float16').length;
      const single = weights.filter((w) => w.dtype === 'float32');
      expect(half).toBeGreaterThan(50);
      for (const w of single)
        expect(w.consumers.every((c) => c.node.opType === 'Resize' || /BatchNormalization|Mul/.test(c.node.opType))).toBe(true);
      expect(single.length).toBeLessThanOrEqual(12);
      if (id === 'det') {
        expect(r.notes.join(' ')).toMatch(/24 weight value\(s\) beyond ±65504 in batch_norm_0\.w_2: kept in float32 with the 1 node\(s\)/);
      }
    }, 300_000);
  }

  it('det with overflow "clamp": clamps and counts the 24 values', async () => {
    const f = FIXTURES.det;
    const r = await convertFp16(readOnnx(loadFixture(f)).proto, { overflow: 'clamp' });
    expect(r.notes.join(' ')).toMatch(/24 weight value\(s\) beyond ±65504 clamped/);
  }, 120_000);
});

describe('convertFp16 rules', () => {
  function small() {
    const r = rng(5);
    const b = new GraphBuilder();
    b.input('x', 'float32', [2, 8]);
    const w = b.initializer(
      'w',
      'float32',
      [8, 4],
      Float32Array.from({ length: 32 }, () => r() - 0.5),
    );
    const y = b.op('MatMul', ['x', w]);
    const z = b.op('Softmax', [y], { axis: -1 });
    const big = b.initializer('big', 'float32', [1], [1e6]);
    b.node('Mul', [z, big], { outputs: ['out'] });
    b.output('out', 'float32', [2, 4]);
    return makeModel(b.graph, { opset: 13 });
  }
  const feeds = [0, 1].map((s) => {
    const r = rng(s);
    return { x: { dtype: 'float32', shape: [2, 8], data: Float32Array.from({ length: 16 }, () => r() * 2 - 1) } };
  });

  it('keepOps leaves those ops in float32 with Casts around them', async () => {
    const m = small();
    const r = await convertFp16(m, { keepOps: ['Softmax'], openRunner: nodeRunner });
    const g = r.model.graph!;
    const types = inferElemTypes(g, new Map());
    const softmax = g.node.find((n) => n.opType === 'Softmax')!;
    expect(types.get(softmax.input[0]!)).toBe(FLOAT);
    expect(types.get(g.node.find((n) => n.opType === 'MatMul')!.input[1]!)).toBe(FLOAT16);
    expect(r.notes.join(' ')).toMatch(/node\(s\) kept in float32 \(Mul, Softmax\)/);
    const fi = fidelity(await runAll(writeOnnx(m), feeds), await runAll(writeOnnx(r.model), feeds));
    expect(fi.cosine).toBeGreaterThan(0.9999);
  });

  it('probe loop: an op the runtime has no float16 kernel for is kept in float32 and retried', async () => {
    let calls = 0;
    // a runtime that, like onnxruntime on a provider without the kernel, refuses float16 MatMul
    const picky: RunnerFactory = async (bytes, options) => {
      calls++;
      const ops = onnxSummary(readOnnx(bytes as Uint8Array)).opHistogram;
      const g = readOnnx(bytes as Uint8Array).proto.graph!;
      const mm = g.node.find((n) => n.opType === 'MatMul')!;
      const types = inferElemTypes(g, new Map());
      if (ops.MatMul && types.get(mm.input[0]!) === FLOAT16)
        throw new Error(`onnxruntime cannot load the model: Could not find an implementation for MatMul(13) node with name '${mm.name}'`);
      return nodeRunner(bytes, options);
    };
    const r = await convertFp16(small(), { openRunner: picky, fp16Guard: false });
    expect(calls).toBe(2);
    expect(r.notes.join(' ')).toMatch(/no float16 kernel: MatMul/);
    const types = inferElemTypes(r.model.graph!, new Map());
    expect(types.get(r.model.graph!.node.find((n) => n.opType === 'MatMul')!.input[0]!)).toBe(FLOAT);
  });

  it('gives up after maxProbeRounds with a clear error', async () => {
    const never: RunnerFactory = async () => {
      throw new Error('Could not find an implementation for Foo(1) node');
    };
    await expect(convertFp16(small(), { openRunner: never, fp16Guard: false })).rejects.toThrow(/no float16 kernel for Foo/);
  });
});

describe('fp16 on a real Fashion-MNIST classifier', () => {
  it('loses at most 0.1 points of accuracy', async () => {
    const setup = mnistSetup();
    const before = await accuracy(setup.model, setup.test);
    const r = await convertFp16(setup.model, { openRunner: nodeRunner });
    const after = await accuracy(r.model, setup.test);
    expect(Math.abs(before - after)).toBeLessThanOrEqual(0.1);
  }, 120_000);
});
