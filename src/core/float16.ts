/**
 * IEEE 754 binary16 and bfloat16 <-> binary32 conversion, bit-exact:
 * round-to-nearest-even, overflow to infinity, subnormals, signed zeros,
 * and NaN payloads kept (top mantissa bits; a quiet bit only where the
 * payload would otherwise vanish into an infinity).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bit pattern -> float16 bit pattern (RNE). */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const m = mant >>> 13;
    return sign | 0x7c00 | (m === 0 ? 0x200 : m);
  }
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rem > half || (rem === half && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry rolls into the exponent, up to infinity
  return sign | h;
}

/** float16 bit pattern -> float32 bit pattern (exact). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    let e = 113; // 127 - 14
    while ((mant & 0x400) === 0) {
      mant <<= 1;
      e--;
    }
    return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
  }
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}

/** float32 bit pattern -> bfloat16 bit pattern (RNE). */
export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    const h = x >>> 16;
    return (h & 0x7f) === 0 ? h | 0x40 : h;
  }
  return ((x >>> 0) + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

export function bf16BitsToF32Bits(h: number): number {
  return (h << 16) >>> 0;
}

export function toFloat16Bits(v: number): number {
  f32[0] = v;
  return f32BitsToF16Bits(u32[0]!);
}

export function fromFloat16Bits(h: number): number {
  u32[0] = f16BitsToF32Bits(h);
  return f32[0]!;
}

export function toBfloat16Bits(v: number): number {
  f32[0] = v;
  return f32BitsToBf16Bits(u32[0]!);
}

export function fromBfloat16Bits(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

function bitsOf(src: Float32Array): Uint32Array {
  return new Uint32Array(src.buffer, src.byteOffset, src.length);
}

/** Bulk float32 -> float16 bits. */
export function float32ToFloat16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = bitsOf(src);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToF16Bits(bits[i]!);
  return dst;
}

/** Bulk float16 bits -> float32. */
export function float16ToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = bitsOf(dst);
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    const exp = h & 0x7c00;
    // fast path for normal numbers; the general function handles the rest
    out[i] = exp !== 0 && exp !== 0x7c00 ? (((h & 0x8000) << 16) | (((h & 0x7fff) + 0x1c000) << 13)) >>> 0 : f16BitsToF32Bits(h);
  }
  return dst;
}

export function float32ToBfloat16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = bitsOf(src);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToBf16Bits(bits[i]!);
  return dst;
}

export function bfloat16ToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = bitsOf(dst);
  for (let i = 0; i < src.length; i++) out[i] = (src[i]! << 16) >>> 0;
  return dst;
}
