/**
 * TF.js weight quantization, arithmetic matched to the two reference
 * implementations:
 * - dequantize as tfjs-core io_utils `decodeWeight` does: `q * scale + min`
 *   evaluated in float64 and stored into a Float32Array (one rounding);
 *   int32 weights take `Math.round` of that; float16 via an exact
 *   half -> single conversion (tfjs's table decoder is exact too).
 * - quantize as tfjs-converter quantization.py `quantize_weights` does:
 *   scale = (max - min) / (2^bits - 1); when 0 lies in [min, max] the range
 *   is nudged so 0 is exactly representable (zero point rounded half-to-even,
 *   min = -zp * scale, max = qmax * scale + min); q = round_half_even(
 *   (clip(x, min, max) - min) / scale). We evaluate this in float64, which is
 *   what NumPy >= 2 does for a float32 array with float64 scalars (NumPy 1's
 *   value-based casting computed the last steps in float32 and can differ by
 *   one step on exact ties). A constant tensor gets q = 0, scale = 1, min = value.
 */
import { fail } from '../../core/errors.js';
import { float16ToFloat32, float32ToFloat16 } from '../../core/float16.js';
import { roundHalfEven } from '../../core/tensor.js';

export type TfjsAffineDtype = 'uint8' | 'uint16';

export interface TfjsAffineQuantized {
  readonly dtype: TfjsAffineDtype;
  readonly data: Uint8Array | Uint16Array;
  readonly scale: number;
  readonly min: number;
}

/** float32 values of affine-quantized codes, exactly as tfjs-core computes them. */
export function dequantizeTfjsAffine(codes: Uint8Array | Uint16Array, scale: number, min: number): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i]! * scale + min;
  return out;
}

/** int32 values of affine-quantized codes (tfjs-core: Math.round, then Int32Array wrap). */
export function dequantizeTfjsAffineInt32(codes: Uint8Array | Uint16Array, scale: number, min: number): Int32Array {
  const out = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = Math.round(codes[i]! * scale + min);
  return out;
}

/** float32 values of float16 bit patterns (exact; equal to tfjs-core's table decoder for all 65,536 inputs). */
export function dequantizeTfjsFloat16(bits: Uint16Array): Float32Array {
  return float16ToFloat32(bits);
}

/** float16 bit patterns of float32 values (round to nearest even, as numpy's astype(float16)). */
export function quantizeTfjsFloat16(values: Float32Array): Uint16Array {
  return float32ToFloat16(values);
}

/** Affine uint8/uint16 quantization of float32 values, as tfjs-converter computes it. */
export function quantizeTfjsAffine(values: Float32Array, dtype: TfjsAffineDtype, name = 'tensor'): TfjsAffineQuantized {
  const qmax = dtype === 'uint8' ? 255 : 65535;
  const data = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) fail('E_ARG', `${name} holds ${v} at index ${i}; ${dtype} quantization needs finite values`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (values.length === 0) return { dtype, data, scale: 1, min: 0 };
  if (lo === hi) return { dtype, data, scale: 1, min: lo };
  const scale = (hi - lo) / qmax;
  let min = lo;
  let max = hi;
  if (lo <= 0 && 0 <= hi) {
    const zeroPoint = roundHalfEven((0 - lo) / scale);
    min = -zeroPoint * scale;
    max = qmax * scale + min;
  }
  for (let i = 0; i < values.length; i++) {
    let x = values[i]!;
    x = x < min ? min : x > max ? max : x;
    const t = (x - min) / scale;
    let q = Math.round(t); // half up; a tie on an odd code goes down to the even one (numpy's round)
    if (q - t === 0.5 && (q & 1) === 1) q--;
    data[i] = q < 0 ? 0 : q > qmax ? qmax : q;
  }
  return { dtype, data, scale, min: min === 0 ? 0 : min };
}
