import { describe, expect, it } from 'vitest';
import { gradCheck, rng, type GradCheckOptions } from '../autodiff/gradcheck.js';

const f32: Partial<GradCheckOptions> = { dtype: 'float32', eps: 1e-2, atol: 3e-3, rtol: 3e-3 };

/** Distinct values spaced >= 0.05 apart in random order, so max-pool winners do not change under +-eps. */
function distinct(n: number, seed: number): number[] {
  const r = rng(seed);
  const v = Array.from({ length: n }, (_, i) => -1 + (i * 2) / n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v.map((x) => x * (n / 20));
}

describe('MaxPool gradient rule (finite differences)', () => {
  it('2x2 stride 2 (LeNet)', async () => {
    await gradCheck({
      ...f32,
      params: { x: { shape: [2, 2, 4, 4], values: distinct(64, 1) } },
      forward: (b) => b.op('MaxPool', ['x'], { kernel_shape: [2, 2], strides: [2, 2] }),
    });
  });
  it('3x3 stride 2 with padding (overlapping windows accumulate)', async () => {
    await gradCheck({
      ...f32,
      params: { x: { shape: [1, 2, 5, 5], values: distinct(50, 2) } },
      forward: (b) => b.op('MaxPool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
    });
  });
  it('1-D non-overlapping windows (mask path)', async () => {
    await gradCheck({
      ...f32,
      params: { x: { shape: [2, 3, 8], values: distinct(48, 4) } },
      forward: (b) => b.op('MaxPool', ['x'], { kernel_shape: [2], strides: [2] }),
    });
  });
  it('tied maxima in a window share the gradient (mask path)', async () => {
    const r = await gradCheck({
      ...f32,
      samples: 0,
      params: { x: { shape: [1, 1, 2, 2], values: [0.5, 0.5, 0.1, 0.5] } },
      forward: (b) => b.op('MaxPool', ['x'], { kernel_shape: [2, 2], strides: [2, 2] }),
    });
    const g = Array.from(r.analytic.get('x')!);
    expect(g[2]).toBe(0);
    expect(g[0]).toBeCloseTo(g[1]!, 6);
    expect(g[0]).toBeCloseTo(g[3]!, 6);
    expect(g[0]! + g[1]! + g[3]!).not.toBe(0);
  });
  it('float64, 1-D overlapping windows (indices path)', async () => {
    await gradCheck({
      params: { x: { shape: [2, 3, 7], values: distinct(42, 3) } },
      forward: (b) => b.op('MaxPool', ['x'], { kernel_shape: [3], strides: [2] }),
    });
  });
});

describe('AveragePool gradient rule (finite differences)', () => {
  it('2x2 stride 2', async () => {
    await gradCheck({
      ...f32,
      params: { x: { shape: [2, 2, 4, 4] } },
      forward: (b) => b.op('AveragePool', ['x'], { kernel_shape: [2, 2], strides: [2, 2] }),
    });
  });
  it('3x3 stride 2, pads 1, count_include_pad 0 and 1', async () => {
    await gradCheck({
      ...f32,
      params: { x: { shape: [1, 2, 5, 6] } },
      forward: (b) =>
        b.op('Add', [
          b.op('AveragePool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
          b.op('AveragePool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }),
        ]),
    });
  });
});

describe('GlobalAveragePool gradient rule (finite differences, float32)', () => {
  it('[2, 3, 4, 5]', async () => {
    await gradCheck({ ...f32, params: { x: { shape: [2, 3, 4, 5] } }, forward: (b) => b.op('GlobalAveragePool', ['x']) });
  });
});
