import { describe, expect, it } from 'vitest';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { onnxSummary, readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { quantizeDynamic } from '../../src/quantize/dynamic.js';
import { getScheme } from '../../src/quantize/index.js';
import { FIXTURES, fidelity, loadFixture, rng, runAll, type Fixture, sameBytes } from '../../support/quantize-fixtures.js';

async function measure(f: Fixture, perChannel: boolean) {
  const bytes = loadFixture(f);
  const model = readOnnx(bytes);
  const feeds = [100, 101].map((s) => f.feed(s));
  const ref = await runAll(bytes, feeds);
  const r = quantizeDynamic(model.proto, { perChannel });
  const out = writeOnnx(r.model);
  expect(sameBytes(writeOnnx(model.proto), bytes)).toBe(true); // input untouched
  return { r, out, bytes, fi: fidelity(ref, await runAll(out, feeds)) };
}

describe('quantizeDynamic on the real fixtures', () => {
  // the scheme table's budget sits a little under what was measured per-channel
  const budget = getScheme('dynamic').budgets.fixtures!;
  const cases = (['rec', 'cls', 'silero', 'det'] as const).map((id) => [id, budget.minCosine[id]!] as const);
  for (const [id, minCos] of cases) {
    it(`${id}: loads and runs in onnxruntime-node, cosine >= ${minCos}`, async () => {
      const { r, out, bytes, fi } = await measure(FIXTURES[id], budget.opts?.perChannel === true);
      expect(fi.cosine).toBeGreaterThanOrEqual(minCos);
      const ops = onnxSummary(readOnnx(out)).opHistogram;
      expect(ops.DynamicQuantizeLinear).toBeGreaterThan(0);
      expect(out.length / bytes.length).toBeLessThan(0.45);
      expect(r.tensors.filter((t) => t.action !== 'skipped').length).toBeGreaterThan(10);
      if (id === 'rec') {
        expect(ops.MatMulInteger).toBeGreaterThan(0);
        expect(r.notes.join(' ')).toMatch(/opset raised from 9 to 11 \(rewrote Clip, Slice\)/);
      }
      if (id === 'silero') expect(ops.DequantizeLinear).toBeGreaterThan(0); // LSTM weights, inside the If branches
    }, 300_000);
  }
});

describe('quantizeDynamic rewrites', () => {
  async function gemmModel(transB: number, alpha: number, beta: number) {
    const r = rng(7);
    const b = new GraphBuilder();
    b.input('x', 'float32', [4, 32]);
    const wShape = transB ? [16, 32] : [32, 16];
    const w = b.initializer(
      'w',
      'float32',
      wShape,
      Float32Array.from({ length: 512 }, () => r() * 2 - 1),
    );
    const c = b.initializer(
      'c',
      'float32',
      [16],
      Float32Array.from({ length: 16 }, () => r()),
    );
    b.node('Gemm', [b.graph.input[0]!.name, w, c], { outputs: ['y'], attrs: { transB, alpha: { float: alpha }, beta: { float: beta } } });
    b.output('y', 'float32');
    return makeModel(b.graph, { opset: 13 });
  }

  for (const [transB, alpha, beta] of [
    [0, 1, 1],
    [1, 0.5, 2],
  ] as const) {
    it(`Gemm transB=${transB} alpha=${alpha} beta=${beta} agrees with the float model`, async () => {
      const m = await gemmModel(transB, alpha, beta);
      const r = rng(3);
      const feeds = [0, 1].map(() => ({
        x: { dtype: 'float32', shape: [4, 32], data: Float32Array.from({ length: 128 }, () => r() * 2 - 1) },
      }));
      const ref = await runAll(writeOnnx(m), feeds);
      for (const perChannel of [false, true]) {
        const q = quantizeDynamic(m, { perChannel, minSize: 1 });
        const ops = onnxSummary(readOnnx(writeOnnx(q.model))).opHistogram;
        expect(ops.Gemm).toBeUndefined();
        expect(ops.MatMulInteger).toBe(1);
        const fi = fidelity(ref, await runAll(writeOnnx(q.model), feeds));
        expect(fi.cosine).toBeGreaterThan(0.999);
        expect(fi.snrDb).toBeGreaterThan(25);
      }
    });
  }

  it('refuses a model with nothing to quantize', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [2]);
    b.node('Relu', ['x'], { outputs: ['y'] });
    b.output('y', 'float32');
    expect(() => quantizeDynamic(makeModel(b.graph))).toThrow(/dynamic quantization applies to MatMul\/Gemm\/Conv/);
  });
});

describe('quantizeDynamic op selection', () => {
  it("ops: ['MatMul'] rewrites only the 9 constant-weight MatMuls of rec, Convs stay float", async () => {
    const f = FIXTURES.rec;
    const bytes = loadFixture(f);
    const r = quantizeDynamic(readOnnx(bytes).proto, { ops: ['MatMul'] });
    const out = writeOnnx(r.model);
    const ops = onnxSummary(readOnnx(out)).opHistogram;
    expect(ops.ConvInteger).toBeUndefined();
    expect(ops.MatMulInteger).toBe(9);
    expect(r.tensors.some((t) => t.reason?.startsWith('read by Conv, not among the ops to rewrite'))).toBe(true);
    const feeds = [100].map((s) => f.feed(s));
    expect(fidelity(await runAll(bytes, feeds), await runAll(out, feeds)).cosine).toBeGreaterThan(0.99);
  }, 300_000);
});
