/**
 * Exhaustive checks of the float16 / bfloat16 conversions against an
 * independent reference that works on real numbers (exact doubles and powers
 * of two), not on bit fields.
 */
import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32Bits,
  bfloat16ToFloat32,
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  fromBfloat16Bits,
  fromFloat16Bits,
  toBfloat16Bits,
  toFloat16Bits,
} from '../../src/core/float16.js';

/** A small float format described by its exponent bias and mantissa width. */
interface Format {
  readonly mantBits: number;
  readonly expBits: number;
  readonly bias: number;
}
const HALF: Format = { mantBits: 10, expBits: 5, bias: 15 };
const BF16: Format = { mantBits: 7, expBits: 8, bias: 127 };

/** Reference decoder: value of a bit pattern as a real number (NaN for NaNs). */
function refDecode(f: Format, bits: number): number {
  const sign = (bits >> (f.mantBits + f.expBits)) & 1 ? -1 : 1;
  const e = (bits >> f.mantBits) & ((1 << f.expBits) - 1);
  const m = bits & ((1 << f.mantBits) - 1);
  if (e === (1 << f.expBits) - 1) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** (1 - f.bias - f.mantBits);
  return sign * (1 + m / 2 ** f.mantBits) * 2 ** (e - f.bias);
}

/** Map from non-negative finite value to bit pattern, for the reference encoder. */
function valueTable(f: Format): Map<number, number> {
  const table = new Map<number, number>();
  const maxFinite = ((1 << f.expBits) - 1) << f.mantBits; // first pattern of the Inf/NaN exponent
  for (let bits = 0; bits < maxFinite; bits++) table.set(refDecode(f, bits), bits);
  return table;
}

/** Reference encoder: round the exact value `v` to nearest, ties to even, by scaling to an integer. */
function refEncode(f: Format, table: Map<number, number>, v: number): number {
  const signBit = 1 << (f.mantBits + f.expBits);
  const inf = ((1 << f.expBits) - 1) << f.mantBits;
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  const s = neg ? signBit : 0;
  if (a === Infinity) return s | inf;
  const minNormal = 2 ** (1 - f.bias);
  let step: number; // spacing of representable values around a
  if (a < minNormal) step = 2 ** (1 - f.bias - f.mantBits);
  else {
    let e = 1 - f.bias;
    while (2 ** (e + 1) <= a) e++;
    step = 2 ** (e - f.mantBits);
  }
  const q = a / step; // exact: division by a power of two
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  const rounded = r * step;
  const bits = table.get(rounded);
  if (bits === undefined) return s | inf; // rounded beyond the largest finite value
  return s | bits;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function f32FromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0]!;
}
function bitsFromF32(v: number): number {
  f32[0] = v;
  return u32[0]!;
}

/** Every float32 input worth checking for a 16-bit format: all its values, their midpoints and the float32 neighbours of both. */
function probeInputs(f: Format): Uint32Array {
  const out: number[] = [];
  const inf = ((1 << f.expBits) - 1) << f.mantBits;
  const push = (v: number) => {
    const b = bitsFromF32(v);
    out.push(b, (b + 1) >>> 0, (b - 1) >>> 0);
    const nb = bitsFromF32(-v);
    out.push(nb, (nb + 1) >>> 0, (nb - 1) >>> 0);
  };
  for (let bits = 0; bits < inf; bits++) {
    const a = refDecode(f, bits);
    const b = refDecode(f, bits + 1); // the next value (Infinity after the largest finite)
    push(a);
    push(b === Infinity ? a + (a - refDecode(f, bits - 1)) / 2 : (a + b) / 2);
  }
  return Uint32Array.from(out.filter((b) => Number.isFinite(f32FromBits(b)) || (b & 0x7fffffff) === 0x7f800000));
}

describe('float16', () => {
  const table = valueTable(HALF);

  it('decodes all 65,536 halves exactly (independent reference)', () => {
    for (let h = 0; h < 65536; h++) {
      const want = refDecode(HALF, h);
      const got = fromFloat16Bits(h);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(got)).toBe(true);
        // payload: sign and the 10 mantissa bits land in the top of the float32 mantissa
        expect(f16BitsToF32Bits(h)).toBe((((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0);
      } else {
        expect(Object.is(got, want), `half 0x${h.toString(16)}`).toBe(true);
      }
    }
  });

  it('f16 -> f32 -> f16 is the identity on all 65,536 patterns, NaN payloads included', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = float32ToFloat16(float16ToFloat32(all));
    expect(back).toEqual(all);
    for (let h = 0; h < 65536; h++) expect(f32BitsToF16Bits(f16BitsToF32Bits(h))).toBe(h);
  });

  it('rounds float32 -> float16 to nearest even on every value, midpoint and neighbour', () => {
    const inputs = probeInputs(HALF);
    expect(inputs.length).toBeGreaterThan(6 * 60000);
    const bulk = float32ToFloat16(new Float32Array(inputs.buffer.slice(0)));
    let mismatches = 0;
    for (let i = 0; i < inputs.length; i++) {
      const want = refEncode(HALF, table, f32FromBits(inputs[i]!));
      if (f32BitsToF16Bits(inputs[i]!) !== want || bulk[i] !== want) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('rounds 200,000 random float32 patterns like the reference', () => {
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed;
    };
    let mismatches = 0;
    let nans = 0;
    for (let i = 0; i < 200_000; i++) {
      const b = rand();
      const v = f32FromBits(b);
      const got = f32BitsToF16Bits(b);
      if (Number.isNaN(v)) {
        nans++;
        const ok = (got & 0x7c00) === 0x7c00 && (got & 0x3ff) !== 0 && (got & 0x8000) === ((b >>> 16) & 0x8000);
        if (!ok) mismatches++;
      } else if (got !== refEncode(HALF, table, v)) mismatches++;
    }
    expect(nans).toBeGreaterThan(0);
    expect(mismatches).toBe(0);
  });

  it('handles the named edge cases', () => {
    expect(toFloat16Bits(0)).toBe(0x0000);
    expect(toFloat16Bits(-0)).toBe(0x8000);
    expect(Object.is(fromFloat16Bits(0x8000), -0)).toBe(true);
    expect(toFloat16Bits(Infinity)).toBe(0x7c00);
    expect(toFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(65519.99)).toBe(0x7bff);
    expect(toFloat16Bits(65520)).toBe(0x7c00); // the midpoint to 65536 ties to even = Inf
    expect(toFloat16Bits(-65520)).toBe(0xfc00);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(2 ** -25)).toBe(0x0000); // tie to even: 0
    expect(toFloat16Bits(Math.fround(2 ** -25 * 1.0000001))).toBe(0x0001);
    expect(toFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 -> 2
    expect(toFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(toFloat16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // tie between 0x3ff and 0x400 -> even 0x400
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(fromFloat16Bits(0x3555)).toBe(0.333251953125);
    const nan = toFloat16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    // a NaN whose payload sits only in low float32 bits must stay NaN, not become Inf
    expect(f32BitsToF16Bits(0x7f800001) & 0x3ff).not.toBe(0);
    expect(f32BitsToF16Bits(0xff800001) >>> 15).toBe(1);
  });
});

describe('bfloat16', () => {
  const table = valueTable(BF16);

  it('decodes all 65,536 bfloat16 values exactly (independent reference)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const bulk = bfloat16ToFloat32(all);
    for (let h = 0; h < 65536; h++) {
      const want = refDecode(BF16, h);
      const got = fromBfloat16Bits(h);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(got) && Number.isNaN(bulk[h]!)).toBe(true);
        expect(bf16BitsToF32Bits(h)).toBe((h << 16) >>> 0);
      } else {
        expect(Object.is(got, want), `bf16 0x${h.toString(16)}`).toBe(true);
        expect(Object.is(bulk[h], want)).toBe(true);
      }
    }
  });

  it('bf16 -> f32 -> bf16 is the identity on all 65,536 patterns, NaN payloads included', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    expect(float32ToBfloat16(bfloat16ToFloat32(all))).toEqual(all);
    for (let h = 0; h < 65536; h++) expect(toBfloat16Bits(fromBfloat16Bits(h))).toBe(h);
  });

  it('rounds float32 -> bfloat16 to nearest even on every value, midpoint and neighbour', () => {
    const inputs = probeInputs(BF16);
    const bulk = float32ToBfloat16(new Float32Array(inputs.buffer.slice(0)));
    let mismatches = 0;
    for (let i = 0; i < inputs.length; i++) {
      const want = refEncode(BF16, table, f32FromBits(inputs[i]!));
      if (f32BitsToBf16Bits(inputs[i]!) !== want || bulk[i] !== want) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('handles the named edge cases', () => {
    expect(toBfloat16Bits(-0)).toBe(0x8000);
    expect(toBfloat16Bits(Infinity)).toBe(0x7f80);
    expect(toBfloat16Bits(-Infinity)).toBe(0xff80);
    expect(toBfloat16Bits(1)).toBe(0x3f80);
    expect(toBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(toBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(toBfloat16Bits(f32FromBits(0x7f7fffff))).toBe(0x7f80); // float32 max rounds up to Inf
    expect(toBfloat16Bits(2 ** -133)).toBe(0x0001); // smallest subnormal
    expect(f32BitsToBf16Bits(0x7f800001) & 0x7f).not.toBe(0); // NaN stays NaN
    expect(f32BitsToBf16Bits(0xffc00000)).toBe(0xffc0);
    expect(f32BitsToBf16Bits(0x7fa12345)).toBe(0x7fa1); // payload truncated, not rounded into Inf
  });
});
