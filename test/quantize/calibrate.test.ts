import { describe, expect, it } from 'vitest';
import { computeRange, RangeCollector } from '../../src/quantize/calibrate.js';

function gaussian(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

describe('calibration ranges', () => {
  it('merging batches that grow the range equals one histogram at the final radius', () => {
    const a = gaussian(5000, 1).map((v) => v * 0.5);
    const b = gaussian(5000, 2).map((v) => v * 4);
    const incremental = new RangeCollector(64);
    incremental.add(a);
    incremental.add(b);
    const all = new RangeCollector(64);
    all.radius = incremental.radius;
    all.add([...a, ...b]);
    expect(incremental.count).toBe(10000);
    expect(Array.from(incremental.bins)).toEqual(Array.from(all.bins));
    expect(incremental.min).toBe(Math.min(...a, ...b));
    expect(incremental.max).toBe(Math.max(...a, ...b));
  });

  it('minmax is the observed range widened to zero', () => {
    const c = new RangeCollector();
    c.add([0.5, 2, 1]);
    expect(computeRange(c, 'minmax')).toEqual({ lo: 0, hi: 2 });
  });

  it('percentile, entropy and mse clip rare outliers that minmax keeps', () => {
    const x = gaussian(200000, 3);
    x[0] = 60; // one outlier, as in PP-OCRv4 det's activations
    const c = new RangeCollector();
    c.add(x);
    const mm = computeRange(c, 'minmax');
    expect(mm.hi).toBe(60);
    for (const method of ['percentile', 'entropy'] as const) {
      const r = computeRange(c, method);
      expect(r.hi, method).toBeLessThan(10);
      expect(r.hi, method).toBeGreaterThan(2.5);
      expect(r.lo, method).toBeLessThan(-2.5);
    }
  });

  it('mse trades clipping error against rounding error', () => {
    // one outlier at 60 among 200k N(0,1): clipping it to t costs (60-t)^2, rounding costs ~n(2t/255)^2/12,
    // so the optimum sits near t = 30, not at 60 and not at the 3-sigma of the bulk
    const x = gaussian(200000, 3);
    x[0] = 60;
    const c = new RangeCollector();
    c.add(x);
    const r = computeRange(c, 'mse');
    expect(r.hi).toBeGreaterThan(20);
    expect(r.hi).toBeLessThan(40);
    // with many outliers in a heavy tail the clip moves in
    const y = gaussian(200000, 5);
    for (let i = 0; i < 50; i++) y[i] = 8 + i / 10;
    const d = new RangeCollector();
    d.add(y);
    expect(computeRange(d, 'mse').hi).toBeLessThan(computeRange(d, 'minmax').hi);
  });

  it('non-negative activations (after Relu) keep lo = 0', () => {
    const x = gaussian(50000, 4).map(Math.abs);
    const c = new RangeCollector();
    c.add(x);
    for (const method of ['minmax', 'percentile', 'entropy', 'mse'] as const) expect(computeRange(c, method).lo).toBe(0);
  });

  it('percentile keeps the requested share of values', () => {
    const x = Float32Array.from({ length: 100001 }, (_, i) => i / 100000); // uniform on [0, 1]
    const c = new RangeCollector();
    c.add(x);
    const r = computeRange(c, 'percentile', { percentile: 99 });
    expect(r.hi).toBeGreaterThan(0.985);
    expect(r.hi).toBeLessThan(0.995);
  });

  it('all-zero and empty inputs give an empty range, NaN is ignored', () => {
    const c = new RangeCollector();
    expect(computeRange(c, 'entropy')).toEqual({ lo: 0, hi: 0 });
    c.add([0, 0, 0]);
    expect(computeRange(c, 'mse')).toEqual({ lo: 0, hi: 0 });
    c.add([NaN, 1]);
    expect(computeRange(c, 'minmax')).toEqual({ lo: 0, hi: 1 });
  });
});
