/** Layer-wise reconstruction: masks are kept (or re-chosen with the same count per row), and the refit brings the outputs back. */
import { describe, expect, it } from 'vitest';
import { floatDataset } from '../../src/data/dataset.js';
import { getInitializerValues } from '../../src/graph/model-edit.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { createNodeRunner } from '../../src/node/ort-runner.js';
import { reconstructLayers } from '../../src/prune/reconstruct.js';
import { pruneUnstructured } from '../../src/prune/unstructured.js';
import { randomValues, runModel } from './helpers.js';

/** x [N, 12] -> Gemm 16 -> Relu -> Gemm 4; input features 8..11 are always zero in the data. */
function model() {
  const g = new GraphBuilder();
  g.input('x', 'float32', ['N', 12]);
  const w1 = g.initializer('w1', 'float32', [16, 12], randomValues(192, 11, -1, 1));
  const b1 = g.initializer('b1', 'float32', [16], randomValues(16, 12, -0.1, 0.1));
  const w2 = g.initializer('w2', 'float32', [16, 4], randomValues(64, 13, -1, 1));
  const h = g.op('Relu', [g.op('Gemm', ['x', w1, b1], { transB: 1 }, 'fc1')], undefined, 'relu');
  g.node('MatMul', [h, w2], { outputs: ['y'], name: 'fc2' });
  g.output('y', 'float32', ['N', 4]);
  return makeModel(g.graph);
}

function sqErr(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

describe('reconstructLayers', () => {
  const n = 400;
  const x = randomValues(n * 12, 14, -1, 1);
  for (let i = 0; i < n; i++) for (let j = 8; j < 12; j++) x[i * 12 + j] = 0;
  const data = floatDataset(x, [12], undefined, 'x');

  for (const select of ['given', 'obs', 'wanda'] as const) {
    it(`select ${select}: the pruned count per row holds, pruned weights stay zero, the output error falls`, async () => {
      const original = model();
      const pruned = pruneUnstructured(original, { kind: 'magnitude', sparsity: 0.5 });
      const r = await reconstructLayers({
        openRunner: createNodeRunner,
        original,
        pruned: pruned.model,
        masks: pruned.masks,
        data,
        select,
      });
      expect(r.layers.map((l) => l.name)).toEqual(['w1', 'w2']);
      expect(r.layers[0]!.biasRefitted).toBe(true);
      for (const l of r.layers) expect(l.errorAfter).toBeLessThanOrEqual(l.errorBefore);
      for (const name of ['w1', 'w2']) {
        const w = getInitializerValues(r.model, [name]).get(name)!;
        const mask = r.masks.get(name)!;
        const given = pruned.masks.get(name)!;
        expect(mask.reduce((a, b) => a + b, 0)).toBe(given.reduce((a, b) => a + b, 0));
        for (let i = 0; i < w.length; i++) if (mask[i] === 0) expect(w[i]).toBe(0);
        if (select === 'given') expect([...mask]).toEqual([...given]);
      }
      const ref = await runModel(original, x, [n, 12]);
      const before = sqErr(ref, await runModel(pruned.model, x, [n, 12]));
      const after = sqErr(ref, await runModel(r.model, x, [n, 12]));
      expect(after).toBeLessThan(before * 0.8);
    });
  }

  it('obs prunes the weights of inputs that are always zero first', async () => {
    const original = model();
    // a third of fc1's weights (per-row counts as magnitude chose them): OBS drops dead inputs first
    const pruned = pruneUnstructured(original, { kind: 'magnitude', sparsity: 1 / 3 }, { include: ['w1'] });
    const r = await reconstructLayers({
      openRunner: createNodeRunner,
      original,
      pruned: pruned.model,
      masks: pruned.masks,
      data,
      select: 'obs',
    });
    const mask = r.masks.get('w1')!;
    for (let row = 0; row < 16; row++) {
      let kept = 0;
      let keptDead = 0;
      for (let j = 0; j < 12; j++) {
        kept += mask[row * 12 + j]!;
        if (j >= 8) keptDead += mask[row * 12 + j]!;
      }
      // a row keeps a dead input only once all 8 live ones are kept
      expect(keptDead).toBe(Math.max(0, kept - 8));
    }
    expect(r.layers[0]!.errorAfter).toBeLessThan(r.layers[0]!.errorBefore);
  });
});
