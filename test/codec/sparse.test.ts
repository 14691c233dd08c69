import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SparseLayout } from '../../src/codec/sparse.js';
import { decodeSparse, encodeSparse, sparseValueCount } from '../../src/codec/sparse.js';
import { expectModelpressError, fromHex, fuzzDecoder, hex, rng } from './helpers.js';

const LAYOUTS: SparseLayout[] = ['dense', 'gap', 'bitmask', 'csr'];

function maskTensor(n: number, density: number, seed: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) if (r() < density) out[i] = 1 + Math.floor(r() * 100) * (r() < 0.5 ? -1 : 1);
  return out;
}

function check(dense: Int32Array | Float32Array, options: Parameters<typeof encodeSparse>[1] = {}): SparseLayout {
  const enc = encodeSparse(dense, options);
  expect(sparseValueCount(enc.positions, dense.length)).toBe(enc.values.length);
  const dec = decodeSparse(enc.positions, enc.values, dense.length);
  expect(dec.constructor).toBe(dense.constructor);
  expect(hex(new Uint8Array(dec.buffer, dec.byteOffset, dec.byteLength))).toBe(
    hex(new Uint8Array(dense.buffer, dense.byteOffset, dense.byteLength)),
  );
  return enc.layout;
}

describe('encodeSparse / decodeSparse', () => {
  it('golden bytes (gap layout, 3-bit gaps with filler zeros)', () => {
    const dense = Int32Array.of(0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2, 0, 0, 1);
    const enc = encodeSparse(dense, { gapBits: 3, layouts: ['gap'] });
    expect(hex(enc.positions)).toBe('010305080210040000004010a823d3');
    expect(Array.from(enc.values)).toEqual([3, 0, 0, -2, 1]); // two filler zeros bridge the 17-zero gap
    expect(Array.from(decodeSparse(fromHex('010305080210040000004010a823d3'), Int32Array.of(3, 0, 0, -2, 1), 24))).toEqual(
      Array.from(dense),
    );
  });

  it('round-trips every layout at every density, including all-zero and all-nonzero', () => {
    for (const density of [0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
      const dense = maskTensor(3000, density, Math.round(density * 1000));
      for (const layout of LAYOUTS) for (const gapBits of [1, 4, 5, 8]) check(dense, { layouts: [layout], gapBits, shape: [60, 50] });
      check(dense, { shape: [60, 50] });
    }
  });

  it('property: random masks at random densities, float and int, every layout', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        fc.constantFrom(...LAYOUTS),
        fc.boolean(),
        (n, density, seed, layout, asFloat) => {
          const ints = maskTensor(n, density, seed);
          const cols = Math.max(1, [7, 5, 3, 2, 1].find((c) => n % c === 0) ?? 1);
          const shape = [n / cols, cols];
          if (asFloat) {
            const f = Float32Array.from(ints, (v) => v / 7);
            if (n > 2) new Uint32Array(f.buffer)[1] = 0x80000000; // -0 is a value, not a zero
            if (n > 3) new Uint32Array(f.buffer)[2] = 0x7fc01234; // NaN payload survives
            check(f, { layouts: [layout], shape });
          } else check(ints, { layouts: [layout], shape });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('chooses the layout with the smallest estimated size', () => {
    for (const density of [0, 0.002, 0.02, 0.3, 0.9, 1]) {
      const dense = maskTensor(50_000, density, 17);
      const auto = encodeSparse(dense, { shape: [500, 100] });
      const costs = LAYOUTS.map((layout) => encodeSparse(dense, { layouts: [layout], shape: [500, 100] }).estimatedBytes);
      expect(auto.estimatedBytes).toBe(Math.min(...costs));
      check(dense, { shape: [500, 100] });
    }
    expect(encodeSparse(maskTensor(50_000, 1, 3)).layout).toBe('dense');
    // An iid mask at 10% density: positions cost near the binary entropy H(0.1) = 0.469 bits per element.
    const enc = encodeSparse(maskTensor(100_000, 0.1, 4));
    expect(enc.positions.length).toBeLessThan((100_000 * 0.469 * 1.03) / 8);
  });

  it('rejects inconsistent input', () => {
    expectModelpressError(() => encodeSparse(new Int32Array(10), { gapBits: 0 }), ['E_ARG']);
    expectModelpressError(() => encodeSparse(new Int32Array(10), { shape: [3, 3], layouts: ['csr'] }), ['E_SHAPE']);
    const enc = encodeSparse(maskTensor(500, 0.1, 5), { layouts: ['gap'] });
    expectModelpressError(() => decodeSparse(enc.positions, enc.values.subarray(1), 500), ['E_CORRUPT']);
    expectModelpressError(() => decodeSparse(enc.positions, enc.values, 100), ['E_CORRUPT']);
    expectModelpressError(() => decodeSparse(Uint8Array.of(9), new Int32Array(0), 0), ['E_CORRUPT']);
  });

  it('throws on every truncation and never misbehaves on bit flips (every layout)', () => {
    const dense = maskTensor(400, 0.15, 6);
    for (const layout of ['gap', 'bitmask', 'csr'] as const) {
      const enc = encodeSparse(dense, { layouts: [layout], shape: [20, 20] });
      fuzzDecoder(
        enc.positions,
        (b) => {
          const n = sparseValueCount(b, 400);
          return decodeSparse(b, n === enc.values.length ? enc.values : new Int32Array(n), 400);
        },
        400,
      );
    }
  });
});
