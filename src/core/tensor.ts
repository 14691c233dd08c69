/**
 * A tensor as modelpress carries it between formats: a dtype, a shape and
 * the raw little-endian bytes (sub-byte types packed, ONNX nibble order).
 * Keeping raw bytes makes every reader/writer lossless by construction;
 * numeric views are made on demand.
 */
import { byteLength, elementCount, type DType } from './dtypes.js';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from './float16.js';

export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Raw little-endian element bytes; empty for string tensors. */
  readonly data: Uint8Array;
  /** Elements of a string tensor (UTF-8 or arbitrary bytes). */
  readonly strings?: readonly Uint8Array[];
}

export function makeTensor(dtype: DType, shape: readonly number[], data: Uint8Array): Tensor {
  if (dtype !== 'string') {
    const want = byteLength(dtype, elementCount(shape));
    if (data.byteLength !== want) throw new Error(`tensor of ${dtype}[${shape.join(',')}] needs ${want} bytes, got ${data.byteLength}`);
  }
  return { dtype, shape: [...shape], data };
}

/** `bytes`, or a copy whose offset is aligned for typed-array views (a real copy: Buffer#slice would share). */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : new Uint8Array(bytes);
}

/** Typed view (or copy when unaligned) of a tensor's elements in its natural JS type. */
export function typedView(
  t: Tensor,
):
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array {
  const b = t.data;
  switch (t.dtype) {
    case 'float32': {
      const a = aligned(b, 4);
      return new Float32Array(a.buffer, a.byteOffset, a.byteLength / 4);
    }
    case 'float64': {
      const a = aligned(b, 8);
      return new Float64Array(a.buffer, a.byteOffset, a.byteLength / 8);
    }
    case 'int8':
      return new Int8Array(b.buffer, b.byteOffset, b.byteLength);
    case 'uint8':
    case 'bool':
      return b;
    case 'int16': {
      const a = aligned(b, 2);
      return new Int16Array(a.buffer, a.byteOffset, a.byteLength / 2);
    }
    case 'uint16':
    case 'float16':
    case 'bfloat16': {
      const a = aligned(b, 2);
      return new Uint16Array(a.buffer, a.byteOffset, a.byteLength / 2);
    }
    case 'int32': {
      const a = aligned(b, 4);
      return new Int32Array(a.buffer, a.byteOffset, a.byteLength / 4);
    }
    case 'uint32': {
      const a = aligned(b, 4);
      return new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4);
    }
    case 'int64': {
      const a = aligned(b, 8);
      return new BigInt64Array(a.buffer, a.byteOffset, a.byteLength / 8);
    }
    case 'uint64': {
      const a = aligned(b, 8);
      return new BigUint64Array(a.buffer, a.byteOffset, a.byteLength / 8);
    }
    default:
      throw new Error(`no typed view for dtype ${t.dtype}`);
  }
}

/** True for dtypes `toFloat32` can convert. */
export function isNumeric(d: DType): boolean {
  return ![
    'string',
    'complex64',
    'complex128',
    'float8e4m3fn',
    'float8e4m3fnuz',
    'float8e5m2',
    'float8e5m2fnuz',
    'float4e2m1',
    'float8e8m0',
    'uint2',
    'int2',
  ].includes(d);
}

/** The tensor's values as float32 (int64 beyond 2^24 loses precision, as any float32 cast does). */
export function toFloat32(t: Tensor): Float32Array {
  const n = elementCount(t.shape);
  switch (t.dtype) {
    case 'float32': {
      const v = typedView(t) as Float32Array;
      return v.buffer === t.data.buffer && v.byteOffset === t.data.byteOffset ? new Float32Array(v) : v;
    }
    case 'float16':
      return float16ToFloat32(typedView(t) as Uint16Array);
    case 'bfloat16':
      return bfloat16ToFloat32(typedView(t) as Uint16Array);
    case 'int4':
    case 'uint4':
      return Float32Array.from(unpackInt4(t.data, n, t.dtype === 'int4'));
    default: {
      const v = typedView(t);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(v[i]!);
      return out;
    }
  }
}

/** A tensor of dtype `dtype` holding `values` (rounded/truncated the way a cast would: RNE for floats, round-half-even then saturate for ints). */
export function fromFloat32(values: Float32Array, dtype: DType, shape: readonly number[]): Tensor {
  const n = values.length;
  if (elementCount(shape) !== n) throw new Error(`shape [${shape.join(',')}] does not hold ${n} values`);
  switch (dtype) {
    case 'float32':
      return makeTensor(dtype, shape, new Uint8Array(values.slice().buffer));
    case 'float16':
      return makeTensor(dtype, shape, new Uint8Array(float32ToFloat16(values).buffer));
    case 'bfloat16':
      return makeTensor(dtype, shape, new Uint8Array(float32ToBfloat16(values).buffer));
    case 'float64':
      return makeTensor(dtype, shape, new Uint8Array(Float64Array.from(values).buffer));
    case 'int4':
    case 'uint4': {
      const [lo, hi] = dtype === 'int4' ? [-8, 7] : [0, 15];
      const q = new Int8Array(n);
      for (let i = 0; i < n; i++) q[i] = Math.min(hi, Math.max(lo, roundHalfEven(values[i]!)));
      return makeTensor(dtype, shape, packInt4(q));
    }
    case 'bool':
      return makeTensor(
        dtype,
        shape,
        Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0)),
      );
    case 'int64':
      return makeTensor(
        dtype,
        shape,
        new Uint8Array(BigInt64Array.from(values, (v) => saturatingBigInt(v, -(2n ** 63n), 2n ** 63n - 1n)).buffer),
      );
    case 'uint64':
      return makeTensor(dtype, shape, new Uint8Array(BigUint64Array.from(values, (v) => saturatingBigInt(v, 0n, 2n ** 64n - 1n)).buffer));
    default: {
      const ctor = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array }[
        dtype as 'int8'
      ];
      if (!ctor) throw new Error(`cannot make a ${dtype} tensor from float32 values`);
      const bits = new ctor(0).BYTES_PER_ELEMENT * 8;
      const signed = dtype.startsWith('int');
      const lo = signed ? -(2 ** (bits - 1)) : 0;
      const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      const out = new ctor(n);
      for (let i = 0; i < n; i++) out[i] = Math.min(hi, Math.max(lo, roundHalfEven(values[i]!)));
      return makeTensor(dtype, shape, new Uint8Array(out.buffer));
    }
  }
}

/** `v` rounded half-to-even and clamped to [lo, hi]; NaN becomes 0 like the 32-bit integer paths (BigInt(NaN) would throw). */
function saturatingBigInt(v: number, lo: bigint, hi: bigint): bigint {
  if (Number.isNaN(v)) return 0n;
  if (v === Infinity) return hi;
  if (v === -Infinity) return lo;
  const b = BigInt(roundHalfEven(v));
  return b < lo ? lo : b > hi ? hi : b;
}

/** Round half to even, as ONNX QuantizeLinear and numpy do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Pack 4-bit values (each in [-8,7] or [0,15]) two per byte, first element in the low nibble. */
export function packInt4(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array((values.length + 1) >> 1);
  for (let i = 0; i < values.length; i++) {
    const nib = values[i]! & 0x0f;
    out[i >> 1]! |= (i & 1) === 0 ? nib : nib << 4;
  }
  return out;
}

/** Unpack `count` 4-bit values; sign-extends when `signed`. */
export function unpackInt4(bytes: Uint8Array, count: number, signed: boolean): Int8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const b = bytes[i >> 1]!;
    let v = (i & 1) === 0 ? b & 0x0f : b >> 4;
    if (signed && v >= 8) v -= 16;
    out[i] = v;
  }
  return out;
}
