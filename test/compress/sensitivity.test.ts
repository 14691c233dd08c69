import { describe, expect, it } from 'vitest';
import { renderSensitivityHtml } from '../../src/compress/sensitivity-html.js';
import {
  analyzeSensitivity,
  greedyPlan,
  magnitudePrune,
  sensitivityLevels,
  type LayerSensitivity,
} from '../../src/compress/sensitivity.js';
import { compressibleLayers } from '../../src/compress/layers.js';
import { buildZooModel } from '../../src/train/zoo/index.js';
import { fashion, openRunner, trainedZoo } from './helpers.js';

describe('sensitivity analysis', () => {
  it('magnitude pruning zeroes exactly the smallest fraction', () => {
    const w = Float32Array.of(0.5, -0.1, 0.3, -0.9, 0.05, 0.2, -0.4, 0.7, 0.15, -0.25);
    expect(Array.from(magnitudePrune(w, 0.5))).toEqual(Array.from(Float32Array.of(0.5, 0, 0.3, -0.9, 0, 0, -0.4, 0.7, 0, 0)));
    expect(() => magnitudePrune(w, 1)).toThrow(/sparsity must be in \[0, 1\)/);
    expect(() => magnitudePrune(w, -0.1)).toThrow(/sparsity/);
  });

  it('levels store fewer bits as they go and k-means levels hold at most 2^bits values', () => {
    const layer = compressibleLayers(buildZooModel('lenet-300-100', { seed: 1 }))[1]!;
    const w = Float32Array.from({ length: layer.count }, (_, i) => Math.sin(i * 12.9898) * 0.1);
    const q = sensitivityLevels('quant');
    expect(q.map((l) => l.id)).toEqual(['int8', 'int4', 'kmeans-4', 'kmeans-3', 'kmeans-2']);
    const bits = q.map((l) => l.bitsPerWeight(layer));
    for (let i = 1; i < bits.length; i++) expect(bits[i]).toBeLessThan(bits[i - 1]!);
    expect(new Set(q[3]!.apply(w, layer)).size).toBeLessThanOrEqual(8);
    expect(new Set(q[1]!.apply(w, layer)).size).toBeGreaterThan(16); // int4 blocks: 16 levels per block, many blocks
    const p = sensitivityLevels('prune');
    expect(p.map((l) => l.bitsPerWeight(layer))).toEqual([17, 0.3 * 32 + 1, 0.1 * 32 + 1].map((x) => expect.closeTo(x, 6)));
    expect(p[2]!.apply(w, layer).filter((v) => v === 0).length).toBe(Math.floor(layer.count * 0.9));
    expect(() => sensitivityLevels('svd' as 'prune')).toThrow(/method must be one of prune, quant/);
  });

  it('greedy plan takes the smallest-drop moves until the size target is met', () => {
    const mk = (layer: string, weights: number, drops: number[]): LayerSensitivity => ({
      layer,
      kind: 'fc',
      shape: [weights],
      weights,
      levels: [8, 4, 2].map((b, i) => ({ level: `b${b}`, bitsPerWeight: b, accuracy: 0.9 - drops[i]!, drop: drops[i]! })),
    });
    const layers = [mk('big', 1000, [0, 0.001, 0.05]), mk('small', 100, [0, 0.02, 0.2])];
    const plan = greedyPlan(layers, 0.15);
    // 15% of 32 bits = 4.8 bits/weight on average: big to 4 bits (drop 0.001) and small to 8 bits (drop 0) fits; 2 bits nowhere
    expect(plan.layers.map((l) => l.level)).toEqual(['b4', 'b8']);
    expect(plan.reached).toBe(true);
    expect(plan.ratio).toBeCloseTo((4 * 1000 + 8 * 100) / (32 * 1100), 10);
    expect(plan.estimatedDrop).toBeCloseTo(0.001, 10);
    const tight = greedyPlan(layers, 0.01);
    expect(tight.reached).toBe(false);
    expect(tight.layers.map((l) => l.level)).toEqual(['b2', 'b2']);
  });

  it('measures per-layer drops on a trained model, suggests settings and renders an HTML chart', async () => {
    const model = await trainedZoo('lenet-300-100', 1, 3000);
    const { test } = fashion(10, 1000);
    const r = await analyzeSensitivity({ openRunner, model, data: test, method: 'prune', targetRatio: 0.3 });
    expect(r.layers.map((l) => l.layer)).toEqual(['fc1.weight', 'fc2.weight', 'fc3.weight']);
    expect(r.baseline).toBeGreaterThan(0.6);
    for (const l of r.layers) {
      expect(l.levels.map((x) => x.level)).toEqual(['prune-50', 'prune-70', 'prune-90']);
      for (const x of l.levels) expect(x.drop).toBeCloseTo(r.baseline - x.accuracy, 12);
    }
    // pruning the 10-way output layer to 90% hurts more than pruning it to 50%
    const fc3 = r.layers[2]!.levels;
    expect(fc3[2]!.drop).toBeGreaterThan(fc3[0]!.drop);
    expect(fc3[2]!.drop).toBeGreaterThan(0.02);
    const s = r.suggestion!;
    expect(s.reached).toBe(true);
    expect(s.ratio).toBeLessThanOrEqual(0.3);
    expect(s.drop).toBeCloseTo(r.baseline - s.accuracy, 12);
    const html = renderSensitivityHtml(r, { chartJs: '/* chart */ window.Chart = function () {};' }, { model: 'm.onnx' });
    expect(html).toContain('<canvas id="sensitivity">');
    expect(html).toContain('window.Chart = function');
    expect(html).toContain('fc1.weight');
    expect(html).toContain('prune-90 drop (pts)');
    await expect(analyzeSensitivity({ openRunner, model, data: test, method: 'quant', targetRatio: 1.5 })).rejects.toThrow(
      /target ratio must be in \(0, 1\]/,
    );
  });
});
