import { ModelpressError } from '../core/errors.js';

/**
 * Field layouts of the float formats and the split of elements into planes
 * (see floatplanes.ts for the stream). Plane 0 is always the exponent.
 */
export type FloatDType = 'float32' | 'float16' | 'bfloat16';

/** How a plane is conditioned: nothing, the previous element's value of the same plane, or the element's exponent. */
export type PlaneContext = 'none' | 'previous' | 'exponent';
export interface PlaneSpec {
  bits: number;
  context: PlaneContext;
}
export interface Layout {
  elementBytes: number;
  expBits: number;
  planes: PlaneSpec[];
}

const LAYOUTS: Record<FloatDType, Layout> = {
  float32: {
    elementBytes: 4,
    expBits: 8,
    planes: [
      { bits: 8, context: 'previous' },
      { bits: 8, context: 'exponent' },
      { bits: 8, context: 'none' },
      { bits: 8, context: 'none' },
    ],
  },
  bfloat16: {
    elementBytes: 2,
    expBits: 8,
    planes: [
      { bits: 8, context: 'previous' },
      { bits: 8, context: 'exponent' },
    ],
  },
  float16: {
    elementBytes: 2,
    expBits: 5,
    planes: [
      { bits: 5, context: 'previous' },
      { bits: 3, context: 'exponent' },
      { bits: 8, context: 'none' },
    ],
  },
};

export function layoutOf(dtype: FloatDType): Layout {
  const layout = LAYOUTS[dtype];
  if (!layout) throw new ModelpressError('E_ARG', `float coder: unsupported dtype ${String(dtype)}`);
  return layout;
}

/** Splits `n` elements starting at byte `start` into planes (plane 0 is the exponent). */
export function splitPlanes(bytes: Uint8Array, start: number, n: number, dtype: FloatDType): Uint8Array[] {
  if (dtype === 'float32') {
    const exp = new Uint8Array(n);
    const hi = new Uint8Array(n);
    const mid = new Uint8Array(n);
    const lo = new Uint8Array(n);
    for (let i = 0, p = start; i < n; i++, p += 4) {
      const b2 = bytes[p + 2]!;
      const b3 = bytes[p + 3]!;
      exp[i] = ((b3 & 0x7f) << 1) | (b2 >>> 7);
      hi[i] = (b3 & 0x80) | (b2 & 0x7f);
      mid[i] = bytes[p + 1]!;
      lo[i] = bytes[p]!;
    }
    return [exp, hi, mid, lo];
  }
  if (dtype === 'bfloat16') {
    const exp = new Uint8Array(n);
    const hi = new Uint8Array(n);
    for (let i = 0, p = start; i < n; i++, p += 2) {
      const b0 = bytes[p]!;
      const b1 = bytes[p + 1]!;
      exp[i] = ((b1 & 0x7f) << 1) | (b0 >>> 7);
      hi[i] = (b1 & 0x80) | (b0 & 0x7f);
    }
    return [exp, hi];
  }
  const exp = new Uint8Array(n);
  const hi = new Uint8Array(n);
  const lo = new Uint8Array(n);
  for (let i = 0, p = start; i < n; i++, p += 2) {
    const b1 = bytes[p + 1]!;
    exp[i] = (b1 >>> 2) & 0x1f;
    hi[i] = ((b1 >>> 5) & 0x4) | (b1 & 0x3);
    lo[i] = bytes[p]!;
  }
  return [exp, hi, lo];
}

export function joinPlanes(planes: Uint8Array[], out: Uint8Array, start: number, n: number, dtype: FloatDType): void {
  if (dtype === 'float32') {
    const [exp, hi, mid, lo] = planes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    for (let i = 0, p = start; i < n; i++, p += 4) {
      const e = exp[i]!;
      const h = hi[i]!;
      out[p] = lo[i]!;
      out[p + 1] = mid[i]!;
      out[p + 2] = ((e & 1) << 7) | (h & 0x7f);
      out[p + 3] = (h & 0x80) | (e >>> 1);
    }
    return;
  }
  if (dtype === 'bfloat16') {
    const [exp, hi] = planes as [Uint8Array, Uint8Array];
    for (let i = 0, p = start; i < n; i++, p += 2) {
      const e = exp[i]!;
      const h = hi[i]!;
      out[p] = ((e & 1) << 7) | (h & 0x7f);
      out[p + 1] = (h & 0x80) | (e >>> 1);
    }
    return;
  }
  const [exp, hi, lo] = planes as [Uint8Array, Uint8Array, Uint8Array];
  for (let i = 0, p = start; i < n; i++, p += 2) {
    const h = hi[i]!;
    out[p] = lo[i]!;
    out[p + 1] = ((h & 0x4) << 5) | (exp[i]! << 2) | (h & 0x3);
  }
}

/** Packs `bits`-bit symbols MSB-first (bits = 8 is a copy). */
export function packBits(plane: Uint8Array, bits: number): Uint8Array {
  if (bits === 8) return plane;
  const out = new Uint8Array(Math.ceil((plane.length * bits) / 8));
  let acc = 0;
  let accBits = 0;
  let o = 0;
  for (let i = 0; i < plane.length; i++) {
    acc = (acc << bits) | plane[i]!;
    accBits += bits;
    if (accBits >= 8) {
      accBits -= 8;
      out[o++] = (acc >>> accBits) & 0xff;
    }
  }
  if (accBits > 0) out[o] = (acc << (8 - accBits)) & 0xff;
  return out;
}

export function unpackBits(src: Uint8Array, n: number, bits: number): Uint8Array {
  if (bits === 8) return src.slice(0, n);
  const out = new Uint8Array(n);
  let acc = 0;
  let accBits = 0;
  let s = 0;
  const mask = (1 << bits) - 1;
  for (let i = 0; i < n; i++) {
    if (accBits < bits) {
      acc = ((acc << 8) | src[s++]!) & 0xffff;
      accBits += 8;
    }
    accBits -= bits;
    out[i] = (acc >>> accBits) & mask;
  }
  return out;
}
