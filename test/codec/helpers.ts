import { expect } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { mulberry32 } from '../../src/core/random.js';

export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export const fromHex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

/** Asserts `fn` throws a ModelpressError (optionally with one of `codes`). */
export function expectModelpressError(fn: () => unknown, codes?: string[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a ModelpressError').toBeInstanceOf(ModelpressError);
  if (codes) expect(codes).toContain((thrown as ModelpressError).code);
}

/**
 * Every truncation must throw; every single-bit flip must either throw a
 * ModelpressError or decode to an output of the declared size (checksums in
 * the container catch the rest), never hang or throw anything else.
 */
export function fuzzDecoder(
  encoded: Uint8Array,
  decode: (b: Uint8Array) => { length: number },
  expectedLength: number,
  flipStride = 1,
): void {
  for (let cut = 0; cut < encoded.length; cut++) expectModelpressError(() => decode(encoded.subarray(0, cut)));
  for (let bit = 0; bit < encoded.length * 8; bit += flipStride) {
    const bad = encoded.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    try {
      const out = decode(bad);
      expect(out.length).toBe(expectedLength);
    } catch (e) {
      expect(e).toBeInstanceOf(ModelpressError);
    }
  }
}

/** Deterministic PRNG for test data: the library's mulberry32. */
export const rng = mulberry32;

/** Laplacian-ish integers (quantized-weight-like), scale ~ `scale`. */
export function laplaceInts(n: number, scale: number, seed: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() - 0.5;
    out[i] = Math.round(-scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u) + 1e-12));
  }
  return out;
}
