import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCodebook, kmeans1d, kmeansOptimal1d } from '../../src/quantize/kmeans.js';

/** Minimum SSE over every way to cut the sorted values into k intervals (tiny inputs only). */
function bruteForceSse(x: number[], k: number): number {
  const v = [...x].sort((a, b) => a - b);
  const cost = (i: number, j: number) => {
    const s = v.slice(i, j);
    const m = s.reduce((a, b) => a + b, 0) / s.length;
    return s.reduce((a, b) => a + (b - m) ** 2, 0);
  };
  const best = (start: number, parts: number): number => {
    if (parts === 1) return cost(start, v.length);
    let b = Infinity;
    for (let cut = start + 1; cut <= v.length - parts + 1; cut++) b = Math.min(b, cost(start, cut) + best(cut, parts - 1));
    return b;
  };
  return best(0, Math.min(k, v.length));
}

const floats = fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }).map(Math.fround);

describe('1-D k-means', () => {
  it('the exact solver matches brute force on small inputs', () => {
    fc.assert(
      fc.property(fc.array(floats, { minLength: 1, maxLength: 9 }), fc.integer({ min: 1, max: 4 }), (xs, k) => {
        const x = Float32Array.from(xs);
        const r = kmeansOptimal1d(x, { k });
        const distinct = new Set(xs).size;
        expect(r.centroids.length).toBe(Math.min(k, distinct));
        const want = bruteForceSse(Array.from(x), Math.min(k, distinct));
        // centroids are rounded to float32, so allow that rounding's error
        expect(r.sse).toBeLessThanOrEqual(want + 1e-5 * (1 + want));
      }),
      { numRuns: 200 },
    );
  });

  it("Lloyd's iterations never beat the optimum and reconstruct from the codebook", () => {
    fc.assert(
      fc.property(
        fc.array(floats, { minLength: 20, maxLength: 300 }),
        fc.constantFrom(2, 4, 8, 16),
        fc.constantFrom('linear', 'density', 'random', 'kmeans++' as const),
        (xs, k, init) => {
          const x = Float32Array.from(xs);
          const opt = kmeansOptimal1d(x, { k });
          const r = kmeans1d(x, { k, init });
          expect(r.sse).toBeGreaterThanOrEqual(opt.sse - 1e-6 * (1 + opt.sse));
          const y = decodeCodebook(r.centroids, r.indices);
          let sse = 0;
          for (let i = 0; i < x.length; i++) sse += (x[i]! - y[i]!) ** 2;
          expect(sse).toBeCloseTo(r.sse, 6);
          // every value maps to its nearest centroid
          for (let i = 0; i < x.length; i++) {
            const d = Math.abs(x[i]! - y[i]!);
            for (const c of r.centroids) expect(d).toBeLessThanOrEqual(Math.abs(x[i]! - c) + 1e-7);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('linear initialization on a known mixture finds the modes', () => {
    const x = new Float32Array(3000);
    for (let i = 0; i < x.length; i++) x[i] = [-1, 0.25, 2][i % 3]! + ((i * 7919) % 101) / 10000;
    const r = kmeans1d(x, { k: 3 });
    // each mode plus the mean jitter (~0.005)
    [-1, 0.25, 2].forEach((mode, j) => expect(Math.abs(r.centroids[j]! - mode - 0.005)).toBeLessThan(0.001));
  });

  it('zeroCentroid keeps pruned weights exactly zero at index 0', () => {
    const x = Float32Array.from({ length: 500 }, (_, i) => (i % 4 === 0 ? 0 : Math.sin(i) * 0.1));
    for (const r of [kmeans1d(x, { k: 8, zeroCentroid: true }), kmeansOptimal1d(x, { k: 8, zeroCentroid: true })]) {
      expect(r.centroids[0]).toBe(0);
      expect(r.centroids.length).toBe(8);
      for (let i = 0; i < x.length; i++) if (x[i] === 0) expect(r.indices[i]).toBe(0);
      for (let i = 0; i < x.length; i++) if (x[i] !== 0) expect(r.indices[i]).toBeGreaterThan(0);
    }
  });

  it('uses 16-bit indices past 256 centroids and rejects bad k and NaN', () => {
    const x = Float32Array.from({ length: 2000 }, (_, i) => i / 7);
    expect(kmeans1d(x, { k: 512 }).indices).toBeInstanceOf(Uint16Array);
    expect(() => kmeans1d(x, { k: 0 })).toThrow(/k must be/);
    expect(() => kmeans1d(new Float32Array([1, NaN]), { k: 2 })).toThrow(/NaN/);
    expect(() =>
      kmeansOptimal1d(
        Float32Array.from({ length: 1e6 }, (_, i) => i),
        { k: 256 },
      ),
    ).toThrow(/too costly/);
  });
});
