import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TtqLayer } from '../../src/compress/ttq.js';

/** A loss with known gradient at the fed weights: L = sum_i c_i * fed_i + 0.5 * sum_i fed_i^2. */
function loss(fed: Float32Array, c: Float32Array): number {
  let l = 0;
  for (let i = 0; i < fed.length; i++) l += c[i]! * fed[i]! + 0.5 * fed[i]! ** 2;
  return l;
}

describe('TTQ scale gradients', () => {
  it('dL/dw_p and dL/dw_n match central finite differences', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (channels, inner, seed) => {
          let s = seed;
          const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
          const shadow = Float32Array.from({ length: channels * inner }, next);
          const c = Float32Array.from({ length: channels * inner }, next);
          const layer = new TtqLayer(shadow, [channels, inner], 0);
          const g = Float32Array.from(layer.fed, (f, i) => c[i]! + f);
          const { pos, neg } = layer.scaleGradients(g);
          const eps = 1e-3;
          for (const [scales, grad] of [
            [layer.pos, pos],
            [layer.neg, neg],
          ] as const) {
            for (let k = 0; k < channels; k++) {
              const v = scales[k]!;
              scales[k] = v + eps;
              layer.refresh();
              const up = loss(layer.fed, c);
              scales[k] = v - eps;
              layer.refresh();
              const down = loss(layer.fed, c);
              scales[k] = v;
              layer.refresh();
              expect(grad[k]).toBeCloseTo((up - down) / (2 * eps), 2);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('an Adam step moves each scale against its gradient and keeps it >= 0', () => {
    const shadow = Float32Array.of(0.5, -0.4, 0.01, 0.6, -0.5, 0.3);
    const layer = new TtqLayer(shadow, [2, 3], 0);
    const before = [Float32Array.from(layer.pos), Float32Array.from(layer.neg)];
    // a gradient that is positive on the +1 codes and on the -1 codes: w_p goes down, w_n goes up
    layer.stepScales(Float32Array.of(1, 1, 0, 1, 1, 1), 0.01);
    for (let k = 0; k < 2; k++) {
      expect(layer.pos[k]).toBeLessThan(before[0]![k]!);
      expect(layer.neg[k]).toBeGreaterThan(before[1]![k]!);
    }
    for (let i = 0; i < 500; i++) layer.stepScales(Float32Array.of(1, 0, 0, 1, 0, 1), 0.01);
    expect(Math.min(...layer.pos)).toBe(0);
  });
});
