import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isModelpressError } from '../../src/core/errors.js';
import { decodeSignLz, encodeSignLz } from '../../src/codec/container/signlz.js';
import { rng } from './container-helpers.js';

/** A DFT-like basis: w[n]·cos(2πkn/N) rows, whose magnitudes recur up to sign (what signlz is for). */
function basis(rows: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let k = 0; k < rows; k++)
    for (let j = 0; j < n; j++) out[k * n + j] = (0.5 - 0.5 * Math.cos((2 * Math.PI * j) / n)) * Math.cos((2 * Math.PI * k * j) / n);
  return out;
}

describe('signlz-f32', () => {
  it('round-trips a repetitive basis bit-exactly and beats raw by far', () => {
    const f = basis(64, 128);
    const bytes = new Uint8Array(f.buffer);
    const enc = encodeSignLz(bytes)!;
    expect(enc).toBeDefined();
    expect(enc.length).toBeLessThan(bytes.length / 2);
    expect(decodeSignLz(enc, bytes.length)).toEqual(bytes);
  });

  it('declines data whose magnitudes do not repeat', () => {
    const rand = rng(1);
    const f = Float32Array.from({ length: 4096 }, () => rand() - 0.5);
    expect(encodeSignLz(new Uint8Array(f.buffer))).toBeUndefined();
  });

  it('round-trips random repeated patterns with NaN payloads, -0 and infinities (property)', () => {
    const specials = [0x80000000, 0x7fc00001, 0xffffffff, 0x7f800000, 0xff800000, 1, 0x3f800000];
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(...specials), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        (pattern, reps) => {
          const u = new Uint32Array(pattern.length * reps);
          for (let i = 0; i < u.length; i++) u[i] = (pattern[i % pattern.length]! ^ ((i * 2654435761) & 0x80000000)) >>> 0; // vary signs
          const bytes = new Uint8Array(u.buffer);
          const enc = encodeSignLz(bytes, { minCoverage: 0 })!;
          expect(decodeSignLz(enc, bytes.length)).toEqual(bytes);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('corrupt or truncated chunks throw typed errors', () => {
    const bytes = new Uint8Array(basis(64, 128).buffer);
    const enc = encodeSignLz(bytes)!;
    const rand = rng(5);
    for (let k = 0; k < 150; k++) {
      const bad = k < 50 ? enc.subarray(0, Math.floor(rand() * enc.length)) : enc.slice();
      if (k >= 50) bad[Math.floor(rand() * bad.length)]! ^= 1 << (k % 8);
      try {
        const out = decodeSignLz(bad, bytes.length);
        expect(out.length).toBe(bytes.length); // an undetected flip still yields the declared size; the container's CRC rejects it
      } catch (e) {
        expect(isModelpressError(e)).toBe(true);
      }
    }
  });
});
