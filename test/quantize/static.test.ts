import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { onnxSummary, readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { getScheme } from '../../src/quantize/index.js';
import { quantizeStatic } from '../../src/quantize/static/index.js';
import { foldBatchNorms } from '../../src/quantize/static/fold-bn.js';
import { allNames, findWeights } from '../../src/graph/weights.js';
import { NameGen } from '../../src/graph/names.js';
import { cloneSharingBytes } from '../../src/formats/onnx/clone.js';
import { FIXTURES, fidelity, loadFixture, nodeRunner, rng, runAll, sameBytes } from '../../support/quantize-fixtures.js';
import { accuracy, mnistSetup, type MnistSetup } from './static-mnist.js';

/** Op histogram of the model onnxruntime actually runs (after its QDQ fusions). */
async function optimizedOps(bytes: Uint8Array): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'mp-static-'));
  try {
    const path = join(dir, 'opt.onnx');
    const s = await ort.InferenceSession.create(bytes, {
      optimizedModelFilePath: path,
      graphOptimizationLevel: 'extended',
      intraOpNumThreads: 1,
    });
    await s.release();
    return onnxSummary(readOnnx(new Uint8Array(readFileSync(path)))).opHistogram;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const budgets = getScheme('static').budgets;

describe('quantizeStatic on the real fixtures', () => {
  const fx = budgets.fixtures!;
  const cases = (['cls', 'rec', 'det'] as const).map((id) => ({ id, method: fx.opts!.calibMethod!, minCos: fx.minCosine[id]! }));
  for (const c of cases) {
    it(`${c.id} (${c.method}): onnxruntime fuses QLinear ops and the output keeps cosine >= ${c.minCos}`, async () => {
      const f = FIXTURES[c.id];
      const bytes = loadFixture(f);
      const model = readOnnx(bytes);
      const feeds = [100, 101].map((s) => f.feed(s));
      const ref = await runAll(bytes, feeds);
      const r = await quantizeStatic(model.proto, {
        calibration: [0, 1, 2, 3].map((s) => f.feed(s)),
        calibMethod: c.method,
        openRunner: nodeRunner,
      });
      expect(sameBytes(writeOnnx(model.proto), bytes)).toBe(true);
      const out = writeOnnx(r.model);
      const fi = fidelity(ref, await runAll(out, feeds));
      expect(fi.cosine).toBeGreaterThanOrEqual(c.minCos);
      expect(r.notes.join(' ')).toMatch(
        c.id === 'det' ? /opset raised from 11 to 13/ : /opset raised from 9 to 13 \(rewrote Clip, Slice, Softmax/,
      );
      expect(r.notes.join(' ')).toMatch(/node\(s\) folded into the Conv before them/);
      const ops = await optimizedOps(out);
      expect(ops.QLinearConv ?? ops['com.microsoft::QLinearConv']).toBeGreaterThan(30);
      if (c.id === 'rec') expect(ops.QLinearMatMul).toBeGreaterThan(5);
      const weights = r.tensors.filter((t) => t.action.startsWith('int8 per-channel'));
      expect(weights.length).toBeGreaterThan(30);
      for (const w of weights) expect(w.error!.snrDb).toBeGreaterThan(fx.minWeightSnrDb!);
    }, 300_000);
  }

  it('silero: no Conv/MatMul/Gemm in the main graph (they sit in If branches) is refused clearly', async () => {
    const f = FIXTURES.silero;
    const model = readOnnx(loadFixture(f));
    await expect(quantizeStatic(model.proto, { calibration: [f.feed(0)], openRunner: nodeRunner })).rejects.toThrow(
      /static quantization applies to Conv, MatMul, Gemm in the main graph/,
    );
  });
});

describe('quantizeStatic graph rules', () => {
  function convRelu() {
    const r = rng(11);
    const b = new GraphBuilder();
    b.input('x', 'float32', [1, 3, 8, 8]);
    const w = b.initializer(
      'w',
      'float32',
      [4, 3, 3, 3],
      Float32Array.from({ length: 108 }, () => r() - 0.5),
    );
    const bias = b.initializer(
      'b',
      'float32',
      [4],
      Float32Array.from({ length: 4 }, () => r() - 0.5),
    );
    const y = b.node('Conv', ['x', w, bias], { outputs: ['conv_out'], attrs: { pads: [1, 1, 1, 1] } })[0]!;
    b.node('Relu', [y], { outputs: ['relu_out'] });
    b.node('Softmax', ['relu_out'], { outputs: ['probs'], attrs: { axis: 1 } });
    b.output('probs', 'float32');
    return makeModel(b.graph, { opset: 13 });
  }
  const feed = (s: number) => {
    const r = rng(s);
    return { x: { dtype: 'float32', shape: [1, 3, 8, 8], data: Float32Array.from({ length: 192 }, () => r() * 2 - 1) } };
  };

  it('puts Q/DQ after the Relu, not between Conv and Relu; biases become int32; Softmax stays float', async () => {
    const m = convRelu();
    const r = await quantizeStatic(m, { calibration: [0, 1, 2].map(feed), openRunner: nodeRunner });
    const g = r.model.graph!;
    const q = g.node.filter((n) => n.opType === 'QuantizeLinear');
    expect(q.map((n) => n.input[0]).sort()).toEqual(['relu_out', 'x']);
    const conv = g.node.find((n) => n.opType === 'Conv')!;
    expect(g.node.find((n) => n.input.includes('conv_out'))!.opType).toBe('Relu');
    const biasDq = g.node.find((n) => n.output[0] === conv.input[2])!;
    expect(biasDq.opType).toBe('DequantizeLinear');
    expect(g.initializer.find((t) => t.name === biasDq.input[0])!.dataType).toBe(6); // int32
    const softmax = g.node.find((n) => n.opType === 'Softmax')!;
    expect(g.node.find((n) => n.output[0] === softmax.input[0])!.opType).toBe('DequantizeLinear');
    const feeds = [5, 6].map(feed);
    const fi = fidelity(await runAll(writeOnnx(m), feeds), await runAll(writeOnnx(r.model), feeds));
    expect(fi.cosine).toBeGreaterThan(0.999);
    const ops = await optimizedOps(writeOnnx(r.model));
    expect(ops['com.microsoft::QLinearConv'] ?? ops.QLinearConv).toBe(1);
  });

  it('needs calibration data and a runtime', async () => {
    await expect(quantizeStatic(convRelu(), { openRunner: nodeRunner })).rejects.toThrow(/needs calibration data/);
    await expect(quantizeStatic(convRelu(), { calibration: [feed(0)] })).rejects.toThrow(/needs a runtime/);
  });
});

describe('folding into Conv', () => {
  it('BatchNormalization, per-channel Mul and Add fold exactly (float model unchanged up to rounding)', async () => {
    const r = rng(21);
    const vals = (n: number, lo = -0.5, hi = 0.5) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
    const b = new GraphBuilder();
    b.input('x', 'float32', [1, 3, 6, 6]);
    const y = b.op('Conv', ['x', b.initializer('w', 'float32', [4, 3, 3, 3], vals(108)), b.initializer('b', 'float32', [4], vals(4))]);
    const bn = b.op('BatchNormalization', [
      y,
      b.initializer('g', 'float32', [4], vals(4, 0.5, 2)),
      b.initializer('beta', 'float32', [4], vals(4)),
      b.initializer('mean', 'float32', [4], vals(4)),
      b.initializer('var', 'float32', [4], vals(4, 0.1, 3)),
    ]);
    const mul = b.op('Mul', [b.initializer('s', 'float32', [4, 1, 1], vals(4, 0.5, 3)), bn]);
    b.node('Add', [mul, b.initializer('t', 'float32', [1, 4, 1, 1], vals(4))], { outputs: ['y'] });
    b.output('y', 'float32');
    const m = makeModel(b.graph, { opset: 13 });
    const folded = cloneSharingBytes(m);
    const n = foldBatchNorms(folded.graph!, new Map(findWeights(folded).map((d) => [d.name, d])), new NameGen(allNames(folded)));
    expect(n).toBe(3);
    expect(folded.graph!.node.map((x) => x.opType)).toEqual(['Conv']);
    const feeds = [1, 2].map((s) => ({ x: { dtype: 'float32', shape: [1, 3, 6, 6], data: vals(108 + s * 0, -1, 1) } }));
    const fi = fidelity(await runAll(writeOnnx(m), feeds), await runAll(writeOnnx(folded), feeds));
    expect(fi.snrDb).toBeGreaterThan(100);
    const bnOnly = cloneSharingBytes(m);
    expect(foldBatchNorms(bnOnly.graph!, new Map(findWeights(bnOnly).map((d) => [d.name, d])), new NameGen(allNames(bnOnly)), false)).toBe(
      1,
    );
    expect(bnOnly.graph!.node.map((x) => x.opType)).toEqual(['Conv', 'Mul', 'Add']);
  });
});

describe('static int8 on a real Fashion-MNIST classifier', () => {
  let setup: MnistSetup;
  beforeAll(() => {
    setup = mnistSetup();
  });
  it(`loses at most ${budgets.mnist!.maxPointsLost} points of accuracy (per-channel, 256 calibration images)`, async () => {
    const before = await accuracy(setup.model, setup.test);
    expect(before).toBeGreaterThan(65); // nearest class mean scores ~68% on Fashion-MNIST
    for (const calibMethod of ['minmax', 'entropy'] as const) {
      const r = await quantizeStatic(setup.model, { calibration: setup.calibration(256), calibMethod, openRunner: nodeRunner });
      expect(r.model.graph!.node.some((n) => n.opType === 'Gemm')).toBe(true);
      const after = await accuracy(r.model, setup.test);
      expect(before - after).toBeLessThanOrEqual(budgets.mnist!.maxPointsLost);
    }
  }, 300_000);
});
