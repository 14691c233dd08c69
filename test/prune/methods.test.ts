import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { channelNorms, channelsToRemove, lowestChannels } from '../../src/prune/channel-scores.js';
import { globalMagnitudePrune } from '../../src/prune/global.js';
import { magnitudePrune, qualityPrune, standardDeviation } from '../../src/prune/magnitude.js';
import { countZeros } from '../../src/prune/mask.js';
import { nmPrune, parseNmPattern, satisfiesNm } from '../../src/prune/nm.js';
import { iterativeSchedule, makeSchedule, polynomialSchedule } from '../../src/prune/schedule.js';
import { randomValues } from './helpers.js';

const floats = fc
  .array(fc.float({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 300 })
  .map((a) => Float32Array.from(a));

describe('per-layer magnitude pruning', () => {
  it('prunes exactly round(s x n) weights, all of them no larger than any kept one', () => {
    fc.assert(
      fc.property(floats, fc.double({ min: 0, max: 0.999, noNaN: true }), (values, s) => {
        const r = magnitudePrune(values, s);
        expect(r.pruned).toBe(Math.round(s * values.length));
        let maxPruned = -1;
        let minKept = Infinity;
        for (let i = 0; i < values.length; i++) {
          if (r.mask[i] === 0) {
            expect(r.values[i]).toBe(0);
            maxPruned = Math.max(maxPruned, Math.abs(values[i]!));
          } else {
            expect(r.values[i]).toBe(values[i]);
            minKept = Math.min(minKept, Math.abs(values[i]!));
          }
        }
        expect(maxPruned).toBeLessThanOrEqual(minKept);
      }),
    );
  });

  it('keeps exact +0 in pruned slots and handles ties deterministically', () => {
    const v = Float32Array.from([1, -1, 1, -1, 2, 0.5]);
    const r = magnitudePrune(v, 0.5);
    expect(Array.from(r.mask)).toEqual([0, 0, 1, 1, 1, 0]);
    expect(Object.is(r.values[1], 0)).toBe(true);
  });

  it('rejects sparsity outside [0, 1)', () => {
    expect(() => magnitudePrune(new Float32Array(4), 1)).toThrow(/\[0, 1\)/);
    expect(() => magnitudePrune(new Float32Array(4), -0.1)).toThrow(/E?sparsity/);
    expect(() => magnitudePrune(new Float32Array(4), NaN)).toThrow();
  });

  it('Deep Compression threshold: prunes |w| < quality x std exactly', () => {
    const v = randomValues(5000, 3, -1, 1);
    const r = qualityPrune(v, 0.7);
    const t = 0.7 * standardDeviation(v);
    expect(r.threshold).toBeCloseTo(t, 12);
    let expected = 0;
    for (let i = 0; i < v.length; i++) if (Math.abs(v[i]!) < t) expected++;
    expect(r.pruned).toBe(expected);
    // Uniform on [-1,1]: std = 1/sqrt(3), so about 0.7/sqrt(3) = 40% fall below.
    expect(r.pruned / v.length).toBeGreaterThan(0.37);
    expect(r.pruned / v.length).toBeLessThan(0.44);
  });
});

describe('global magnitude pruning', () => {
  it('prunes round(s x total) weights under one threshold across layers', () => {
    const layers = [randomValues(1000, 1, -1, 1), randomValues(300, 2, -0.1, 0.1), randomValues(50, 3, -5, 5)];
    const r = globalMagnitudePrune(layers, 0.6);
    const total = layers.reduce((a, l) => a + l.length, 0);
    expect(r.layers.reduce((a, l) => a + l.pruned, 0)).toBe(Math.round(0.6 * total));
    let maxPruned = 0;
    let minKept = Infinity;
    layers.forEach((l, li) =>
      l.forEach((v, i) =>
        r.layers[li]!.mask[i] ? (minKept = Math.min(minKept, Math.abs(v))) : (maxPruned = Math.max(maxPruned, Math.abs(v))),
      ),
    );
    expect(maxPruned).toBeLessThanOrEqual(minKept);
    expect(r.threshold).toBe(Math.fround(maxPruned));
    // The small-valued layer goes (almost) entirely, the large one barely.
    expect(r.layers[1]!.pruned).toBe(300);
    expect(r.layers[2]!.pruned).toBeLessThan(10);
  });
});

describe('N:M semi-structured pruning', () => {
  it('parses patterns', () => {
    expect(parseNmPattern('2:4')).toEqual({ n: 2, m: 4 });
    expect(() => parseNmPattern('4:4')).toThrow(/0 < N < M/);
    expect(() => parseNmPattern('2-4')).toThrow(/N:M/);
  });

  for (const [label, shape, axis] of [
    ['Conv [O, I, kh, kw] along I', [6, 8, 3, 3], 1],
    ['Gemm transB=1 [out, in] along in', [10, 16], 1],
    ['MatMul [K, N] along K', [12, 5], 0],
  ] as const) {
    it(`${label}: every group of 4 keeps its 2 largest`, () => {
      const count = shape.reduce((a, b) => a * b, 1);
      const v = randomValues(count, 7, -1, 1);
      const r = nmPrune(v, shape, axis, { n: 2, m: 4 });
      expect(satisfiesNm(r.values, shape, axis, { n: 2, m: 4 })).toBe(true);
      expect(r.pruned).toBe(count / 2);
      const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const len = shape[axis]!;
      for (let o = 0; o < count / (len * inner); o++) {
        for (let j = 0; j < inner; j++) {
          for (let g = 0; g < len; g += 4) {
            const idx = [0, 1, 2, 3].map((t) => o * len * inner + j + (g + t) * inner);
            const kept = idx.filter((i) => r.mask[i]).map((i) => Math.abs(v[i]!));
            const dropped = idx.filter((i) => !r.mask[i]).map((i) => Math.abs(v[i]!));
            expect(kept).toHaveLength(2);
            expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...dropped));
          }
        }
      }
    });
  }

  it('rejects an input axis that is not a multiple of M', () => {
    expect(() => nmPrune(new Float32Array(20), [4, 5], 1, { n: 2, m: 4 })).toThrow(/not a multiple of 4/);
  });

  it('satisfiesNm detects a violation', () => {
    expect(satisfiesNm(Float32Array.from([1, 1, 1, 0]), [1, 4], 1, { n: 2, m: 4 })).toBe(false);
  });
});

describe('channel scores', () => {
  it('L1 and L2 norms per output channel along any axis', () => {
    const v = Float32Array.from([1, -2, 3, -4, 0, 0, 5, 12]); // shape [2, 2, 2]
    expect(Array.from(channelNorms(v, [2, 2, 2], 0, 'l1'))).toEqual([10, 17]);
    expect(Array.from(channelNorms(v, [2, 2, 2], 0, 'l2'))).toEqual([Math.sqrt(30), 13]);
    expect(Array.from(channelNorms(v, [2, 2, 2], 1, 'l1'))).toEqual([3, 24]);
    // Gemm transB=0 [in, out]: output channels on axis 1 of a 2-D weight.
    expect(Array.from(channelNorms(Float32Array.from([1, 2, 3, 4]), [2, 2], 1, 'l1'))).toEqual([4, 6]);
  });

  it('lowest channels, ties by index, at least one channel kept', () => {
    expect(lowestChannels([5, 1, 1, 0], 2)).toEqual([1, 3]);
    expect(channelsToRemove([3, 2, 1, 4], 0.5)).toEqual([1, 2]);
    expect(channelsToRemove([1, 2], 0.99)).toEqual([0]);
  });
});

describe('sparsity schedules', () => {
  it('polynomial decay follows s_f + (s_i - s_f)(1 - t/T)^3', () => {
    const s = polynomialSchedule({ initial: 0.1, final: 0.9, beginStep: 10, endStep: 110 });
    expect(s(0)).toBeCloseTo(0.1, 12);
    expect(s(10)).toBeCloseTo(0.1, 12);
    expect(s(60)).toBeCloseTo(0.9 + (0.1 - 0.9) * 0.5 ** 3, 12);
    expect(s(110)).toBe(0.9);
    expect(s(500)).toBe(0.9);
  });

  it('iterative schedule rises in k equal steps', () => {
    const s = iterativeSchedule(0.8, 4, 100);
    expect([0, 24, 25, 50, 75, 99, 100].map((t) => Number(s(t).toFixed(12)))).toEqual([0.2, 0.2, 0.4, 0.6, 0.8, 0.8, 0.8]);
  });

  it('makeSchedule ends the ramp at 75% of the steps by default', () => {
    const s = makeSchedule('polynomial', 0.9, { totalSteps: 1000 });
    expect(s(749)).toBeLessThan(0.9);
    expect(s(750)).toBe(0.9);
    expect(makeSchedule('oneshot', 0.5, { totalSteps: 10 })(0)).toBe(0.5);
  });
});

it('countZeros counts +0 and -0', () => {
  expect(countZeros(Float32Array.from([0, -0, 1, 2]))).toBe(2);
});
