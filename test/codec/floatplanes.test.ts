import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FloatDType } from '../../src/codec/floatplanes.js';
import { decodeFloats, decodeFloatsChunks, encodeFloats } from '../../src/codec/floatplanes.js';
import { joinPlanes, splitPlanes } from '../../src/codec/floatfields.js';
import { expectModelpressError, fromHex, fuzzDecoder, hex, rng } from './helpers.js';

const SPECIAL_F32 = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffbfffff, 0x7fc12345, 0x00000001, 0x807fffff, 0x00400000,
  0x3f800000,
];
const SPECIAL_16 = [0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfdff, 0x0001, 0x83ff, 0x7f80, 0xff81, 0x7fc1, 0x0040];

/** Weight-like float32 bit patterns (Gaussian-ish) with specials sprinkled in. */
function weightLike(n: number, seed: number, specials: number): Uint32Array {
  const r = rng(seed);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = (r() + r() + r() - 1.5) * 0.05 * (1 + (i >> 10));
  const bits = new Uint32Array(f.buffer);
  for (let i = 0; i < specials; i++) bits[Math.floor(r() * n)] = SPECIAL_F32[i % SPECIAL_F32.length]!;
  return bits;
}

function roundTrip(bytes: Uint8Array, dtype: FloatDType, chunkBytes?: number): Uint8Array {
  const enc = encodeFloats(bytes, dtype, chunkBytes === undefined ? {} : { chunkBytes });
  const dec = decodeFloats(enc, dtype, bytes.length);
  expect(hex(dec)).toBe(hex(bytes));
  const chunks = [...decodeFloatsChunks(enc, dtype, bytes.length)];
  const joined = new Uint8Array(bytes.length);
  let o = 0;
  for (const c of chunks) {
    joined.set(c, o);
    o += c.length;
  }
  expect(o).toBe(bytes.length);
  expect(hex(joined)).toBe(hex(bytes));
  return enc;
}

describe('encodeFloats / decodeFloats', () => {
  it('golden bytes (float32 with specials)', () => {
    const bytes = new Uint8Array(Float32Array.of(0.5, -0.25, 0, -0, 1e-40, Infinity, NaN, 0.125).buffer);
    const golden = '0150077e7d000000ffff7c00800080010040000000a1d4eee0000001117c700000';
    expect(hex(encodeFloats(bytes, 'float32'))).toBe(golden);
    expect(hex(decodeFloats(fromHex(golden), 'float32', 32))).toBe(hex(bytes));
  });

  it('is bit-exact on arbitrary float32 bit patterns (NaN payloads, -0, subnormals, Inf)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(...SPECIAL_F32)), { maxLength: 3000 }),
        fc.integer({ min: 1, max: 4096 }),
        (words, chunkElems) => {
          roundTrip(new Uint8Array(Uint32Array.from(words).buffer), 'float32', chunkElems * 4);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is bit-exact on arbitrary float16 and bfloat16 bit patterns', () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      fc.assert(
        fc.property(
          fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(...SPECIAL_16)), { maxLength: 3000 }),
          fc.integer({ min: 1, max: 4096 }),
          (halves, chunkElems) => {
            roundTrip(new Uint8Array(Uint16Array.from(halves).buffer), dtype, chunkElems * 2);
          },
        ),
        { numRuns: 100 },
      );
    }
  });

  it('compresses weight-like float32 and stays exact across many chunks', () => {
    const bits = weightLike(300_000, 1, 500);
    const bytes = new Uint8Array(bits.buffer);
    const enc = roundTrip(bytes, 'float32');
    expect(bytes.length / enc.length).toBeGreaterThan(1.15);
    // the same data as float16 / bfloat16 (top halves)
    const halves = new Uint16Array(bits.length);
    for (let i = 0; i < bits.length; i++) halves[i] = bits[i]! >>> 16;
    const bf = roundTrip(new Uint8Array(halves.buffer), 'bfloat16');
    expect(halves.byteLength / bf.length).toBeGreaterThan(1.3);
    roundTrip(new Uint8Array(halves.buffer), 'float16', 1000);
  });

  it('handles empty input', () => {
    const enc = roundTrip(new Uint8Array(0), 'float32');
    expect(enc.length).toBeLessThan(8);
  });

  it('rejects bad arguments and inconsistent streams', () => {
    expectModelpressError(() => encodeFloats(new Uint8Array(3), 'float32'), ['E_ARG']);
    expectModelpressError(() => encodeFloats(new Uint8Array(4), 'float32', { chunkBytes: 2 }), ['E_ARG']);
    const enc = encodeFloats(new Uint8Array(Float32Array.of(1, 2, 3).buffer), 'float32');
    expectModelpressError(() => decodeFloats(enc, 'float16', 12), ['E_CORRUPT']); // dtype code mismatch
    expectModelpressError(() => decodeFloats(enc, 'float32', 16), ['E_CORRUPT', 'E_TRUNCATED']); // wrong length: plane sizes disagree
    expectModelpressError(() => decodeFloats(enc, 'float32', 13), ['E_ARG']);
    const trailing = new Uint8Array(enc.length + 1);
    trailing.set(enc);
    expectModelpressError(() => decodeFloats(trailing, 'float32', 12), ['E_CORRUPT']);
  });

  it('throws on every truncation and never misbehaves on bit flips', () => {
    const bytes = new Uint8Array(weightLike(200, 4, 3).buffer);
    const enc = encodeFloats(bytes, 'float32', { chunkBytes: 400 });
    fuzzDecoder(enc, (b) => decodeFloats(b, 'float32', bytes.length), bytes.length, 3);
  });
});

/** Slow, obvious field split through DataView and 32/16-bit integer fields, to check the fast byte-shuffling split. */
function referencePlanes(bytes: Uint8Array, dtype: FloatDType): number[][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const planes: number[][] = [];
  if (dtype === 'float32') {
    planes.push([], [], [], []);
    for (let i = 0; i < bytes.length; i += 4) {
      const w = view.getUint32(i, true);
      const sign = w >>> 31;
      const exp = (w >>> 23) & 0xff;
      const mant = w & 0x7fffff;
      planes[0]!.push(exp);
      planes[1]!.push((sign << 7) | (mant >>> 16));
      planes[2]!.push((mant >>> 8) & 0xff);
      planes[3]!.push(mant & 0xff);
    }
  } else if (dtype === 'bfloat16') {
    planes.push([], []);
    for (let i = 0; i < bytes.length; i += 2) {
      const w = view.getUint16(i, true);
      planes[0]!.push((w >>> 7) & 0xff);
      planes[1]!.push(((w >>> 15) << 7) | (w & 0x7f));
    }
  } else {
    planes.push([], [], []);
    for (let i = 0; i < bytes.length; i += 2) {
      const w = view.getUint16(i, true);
      planes[0]!.push((w >>> 10) & 0x1f);
      planes[1]!.push(((w >>> 15) << 2) | ((w >>> 8) & 0x3));
      planes[2]!.push(w & 0xff);
    }
  }
  return planes;
}

describe('float field split (fast path vs reference)', () => {
  it('splitPlanes matches the DataView reference and joinPlanes inverts it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom<FloatDType>('float32', 'float16', 'bfloat16'), (raw, dtype) => {
        const size = dtype === 'float32' ? 4 : 2;
        const bytes = raw.subarray(0, raw.length - (raw.length % size));
        const n = bytes.length / size;
        const planes = splitPlanes(bytes, 0, n, dtype);
        expect(planes.map((p) => Array.from(p))).toEqual(referencePlanes(bytes, dtype));
        const out = new Uint8Array(bytes.length);
        joinPlanes(planes, out, 0, n, dtype);
        expect(hex(out)).toBe(hex(bytes));
      }),
    );
  });
});
