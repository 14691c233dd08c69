import { describe, expect, it } from 'vitest';
import { findDuplicateGroups, histogramEntropy, tensorStats } from '../../src/core/stats.js';
import { fromFloat32, makeTensor, packInt4 } from '../../src/core/tensor.js';

const f32 = (values: number[], shape = [values.length]) => fromFloat32(Float32Array.from(values), 'float32', shape);

describe('tensorStats', () => {
  it('computes range, moments, zeros and non-finite counts of a float32 tensor', () => {
    const s = tensorStats(f32([0, 1, 2, 3, -0, NaN, Infinity, -Infinity]));
    expect(s.count).toBe(8);
    expect(s.min).toBe(0);
    expect(s.max).toBe(3);
    expect(s.mean).toBe(1.2);
    expect(s.std).toBeCloseTo(Math.sqrt((1.44 + 0.04 + 0.64 + 3.24 + 1.44) / 5), 12);
    expect(s.zeroFraction).toBe(2 / 8);
    expect(s.nanCount).toBe(1);
    expect(s.infCount).toBe(2);
  });

  it('is numerically stable for a large offset (float64 two-pass)', () => {
    const values = Array.from({ length: 10000 }, (_, i) => 1e6 + (i % 2 === 0 ? 0.5 : -0.5));
    const s = tensorStats(f32(values));
    expect(s.mean).toBeCloseTo(1e6, 6);
    expect(s.std).toBeCloseTo(0.5, 9);
  });

  it('defines the entropies precisely', () => {
    // 4 distinct float32 values, equally often: 2 bits/param of exact values
    const s = tensorStats(f32([1, 2, 3, 4, 1, 2, 3, 4]));
    expect(s.entropyValueBits).toBeCloseTo(2, 12);
    // 8-bit quantization over [1,4]: levels 0, 85, 170, 255 -> still 2 bits
    expect(s.entropy8Bits).toBeCloseTo(2, 12);
    // raw bytes: 1=0x3f800000 2=0x40000000 3=0x40400000 4=0x40800000; 32 bytes:
    // 0x00 x20, 0x3f x2, 0x40 x6, 0x80 x4 (two from 1.0, two from 4.0)... computed below from the same histogram
    const hist = new Map<number, number>();
    for (const b of new Uint8Array(Float32Array.from([1, 2, 3, 4, 1, 2, 3, 4]).buffer)) hist.set(b, (hist.get(b) ?? 0) + 1);
    expect(s.entropyRawBits).toBeCloseTo(histogramEntropy([...hist.values()], 32) * 4, 12);
    expect(s.entropyRawBits).toBeLessThanOrEqual(32);
  });

  it('gives 0 bits for a constant tensor and 1 bit for a balanced binary one', () => {
    const c = tensorStats(f32([5, 5, 5, 5]));
    expect(c.entropy8Bits).toBe(0);
    expect(c.entropyValueBits).toBe(0);
    expect(c.std).toBe(0);
    const b = tensorStats(fromFloat32(Float32Array.from([0, 1, 0, 1]), 'uint8', [4]));
    expect(b.entropyValueBits).toBe(1);
    expect(b.entropyRawBits).toBe(1);
    expect(b.entropy8Bits).toBe(1);
    expect(b.zeroFraction).toBe(0.5);
  });

  it('handles float16, bfloat16, int4, int64 and float64 tensors', () => {
    const h = tensorStats(fromFloat32(Float32Array.from([0.5, -0.5, 0, 65504]), 'float16', [4]));
    expect([h.min, h.max, h.zeroFraction, h.entropyValueBits]).toEqual([-0.5, 65504, 0.25, 2]);
    const bf = tensorStats(fromFloat32(Float32Array.from([1, 1, 1, 2]), 'bfloat16', [4]));
    expect(bf.mean).toBe(1.25);
    const i4 = tensorStats(makeTensor('int4', [3], packInt4([-8, 7, 7])));
    expect([i4.min, i4.max, i4.count]).toEqual([-8, 7, 3]);
    expect(i4.entropyValueBits).toBeCloseTo(-(1 / 3) * Math.log2(1 / 3) - (2 / 3) * Math.log2(2 / 3), 12);
    const big = makeTensor('int64', [2], new Uint8Array(BigInt64Array.of(2n ** 40n, -3n).buffer));
    const s64 = tensorStats(big);
    expect([s64.min, s64.max, s64.entropyValueBits]).toEqual([-3, 2 ** 40, null]);
    const d = tensorStats(makeTensor('float64', [2], new Uint8Array(Float64Array.of(0.1, 0.2).buffer)));
    expect(d.mean).toBe((0.1 + 0.2) / 2);
  });

  it('reports only raw entropy for non-numeric dtypes and handles empty tensors', () => {
    const s = tensorStats({ dtype: 'string', shape: [2], data: new Uint8Array(0), strings: [Uint8Array.of(97), Uint8Array.of(98)] });
    expect(s.count).toBe(2);
    expect(s.min).toBeNull();
    expect(s.entropyRawBits).toBe(1); // bytes "a","b": 1 bit per byte, one byte per string
    const e = tensorStats(f32([], [0]));
    expect([e.count, e.min, e.mean, e.zeroFraction, e.entropyRawBits]).toEqual([0, null, null, 0, 0]);
  });
});

describe('findDuplicateGroups', () => {
  it('groups identical dtype+shape+bytes and ignores look-alikes', () => {
    const a = f32([1, 2, 3, 4]);
    const groups = findDuplicateGroups([
      { name: 'a', tensor: a },
      { name: 'b', tensor: f32([1, 2, 3, 4]) },
      { name: 'c', tensor: f32([1, 2, 3, 4], [2, 2]) }, // other shape
      { name: 'd', tensor: fromFloat32(Float32Array.from([1, 2, 3, 4]), 'int32', [4]) }, // other dtype
      { name: 'e', tensor: f32([1, 2, 3, 5]) },
      { name: 'f', tensor: a },
      { name: 'g', tensor: f32([9, 9]) },
      { name: 'h', tensor: f32([9, 9]) },
    ]);
    expect(groups).toEqual([
      { names: ['a', 'b', 'f'], dtype: 'float32', shape: [4], bytes: 16, wastedBytes: 32 },
      { names: ['g', 'h'], dtype: 'float32', shape: [2], bytes: 8, wastedBytes: 8 },
    ]);
  });

  it('compares bytes, not only hashes, and works on unaligned data', () => {
    const buf = new Uint8Array(13);
    buf.set([1, 2, 3, 4, 5, 6, 7, 8, 9], 1);
    const u = makeTensor('uint8', [9], buf.subarray(1, 10));
    const v = makeTensor('uint8', [9], Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9));
    const w = makeTensor('uint8', [9], Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 8));
    expect(
      findDuplicateGroups([
        { name: 'u', tensor: u },
        { name: 'v', tensor: v },
        { name: 'w', tensor: w },
      ]).map((g) => g.names),
    ).toEqual([['u', 'v']]);
  });
});
