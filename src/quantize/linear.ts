/**
 * Linear (affine) quantization arithmetic, written to agree bit for bit with
 * ONNX QuantizeLinear / DequantizeLinear as onnxruntime computes them:
 *   q = saturate(roundHalfEven(x / scale) + zeroPoint)   (division in float32)
 *   x' = (q - zeroPoint) * scale                          (float32)
 * Parameters follow onnxruntime.quantization's compute_scale_zp: the range is
 * widened to include 0 so that 0 is exactly representable.
 */
import { roundHalfEven } from '../core/tensor.js';

export interface IntRange {
  /** Smallest representable quantized value. */
  readonly qmin: number;
  /** Largest representable quantized value. */
  readonly qmax: number;
}

export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/**
 * The integer range for `bits` (8 or 4), signed or not. Symmetric signed
 * ranges drop the most negative code (int8: [-127, 127]) as onnxruntime does,
 * so that the range is symmetric about zero. `reduceRange` uses one bit less
 * (for CPUs whose int8 dot products can overflow: VPMADDUBSW).
 */
export function intRange(bits: number, signed: boolean, symmetric: boolean, reduceRange = false): IntRange {
  const b = reduceRange ? bits - 1 : bits;
  if (signed) {
    const qmax = 2 ** (b - 1) - 1;
    return { qmin: symmetric ? -qmax : -qmax - 1, qmax };
  }
  return { qmin: 0, qmax: 2 ** b - 1 };
}

/** Scale and zero point for the real range [rmin, rmax] (widened to contain 0). */
export function computeQuantParams(rmin: number, rmax: number, range: IntRange, symmetric: boolean): QuantParams {
  let lo = Math.min(rmin, 0);
  let hi = Math.max(rmax, 0);
  if (symmetric) {
    const absmax = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -absmax;
    hi = absmax;
  }
  let scale = Math.fround((hi - lo) / (range.qmax - range.qmin));
  if (!(scale > 0) || !Number.isFinite(scale)) scale = 1; // all-zero tensor: any scale represents it exactly
  const zeroPoint = symmetric
    ? roundHalfEven((range.qmax + range.qmin) / 2)
    : clamp(roundHalfEven(range.qmin - lo / scale), range.qmin, range.qmax);
  return { scale, zeroPoint: zeroPoint === 0 ? 0 : zeroPoint };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** q = saturate(roundHalfEven(x / scale) + zp), element-wise over a slice. */
export function quantizeSlice(
  x: Float32Array,
  start: number,
  end: number,
  stride: number,
  p: QuantParams,
  range: IntRange,
  out: Int32Array,
): void {
  const { scale, zeroPoint } = p;
  for (let i = start; i < end; i += stride) {
    const v = roundHalfEven(Math.fround(x[i]! / scale)) + zeroPoint;
    out[i] = v < range.qmin ? range.qmin : v > range.qmax ? range.qmax : Number.isNaN(v) ? zeroPoint : v;
  }
}

/** Per-tensor quantization of `x`. */
export function quantizePerTensor(x: Float32Array, p: QuantParams, range: IntRange): Int32Array {
  const out = new Int32Array(x.length);
  quantizeSlice(x, 0, x.length, 1, p, range, out);
  return out;
}

/** (q - zp) * scale in float32. */
export function dequantizePerTensor(q: ArrayLike<number>, p: QuantParams): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = Math.fround((q[i]! - p.zeroPoint) * p.scale);
  return out;
}

/** Index helpers for a tensor of `shape` split along `axis`: outer x channels x inner. */
export function axisSplit(shape: readonly number[], axis: number): { outer: number; channels: number; inner: number } {
  const ax = axis < 0 ? axis + shape.length : axis;
  if (ax < 0 || ax >= shape.length) throw new RangeError(`axis ${axis} out of range for rank ${shape.length}`);
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < ax; i++) outer *= shape[i]!;
  for (let i = ax + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, channels: shape[ax]!, inner };
}

/** Min and max of each channel along `axis`. */
export function channelRanges(x: Float32Array, shape: readonly number[], axis: number): { min: Float32Array; max: Float32Array } {
  const { outer, channels, inner } = axisSplit(shape, axis);
  const min = new Float32Array(channels).fill(Infinity);
  const max = new Float32Array(channels).fill(-Infinity);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let lo = min[c]!;
      let hi = max[c]!;
      for (let i = 0; i < inner; i++) {
        const v = x[base + i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      min[c] = lo;
      max[c] = hi;
    }
  }
  for (let c = 0; c < channels; c++) if (min[c]! > max[c]!) min[c] = max[c] = 0;
  return { min, max };
}

export interface PerChannelResult {
  readonly q: Int32Array;
  readonly scales: Float32Array;
  readonly zeroPoints: Int32Array;
}

/** Per-channel (per-axis) quantization as DequantizeLinear's `axis` attribute describes. */
export function quantizePerChannel(
  x: Float32Array,
  shape: readonly number[],
  axis: number,
  range: IntRange,
  symmetric: boolean,
): PerChannelResult {
  const { outer, channels, inner } = axisSplit(shape, axis);
  const { min, max } = channelRanges(x, shape, axis);
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  const params: QuantParams[] = [];
  for (let c = 0; c < channels; c++) {
    const p = computeQuantParams(min[c]!, max[c]!, range, symmetric);
    params.push(p);
    scales[c] = p.scale;
    zeroPoints[c] = p.zeroPoint;
  }
  const q = new Int32Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      quantizeSlice(x, base, base + inner, 1, params[c]!, range, q);
    }
  }
  return { q, scales, zeroPoints };
}

export function dequantizePerChannel(
  q: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  scales: ArrayLike<number>,
  zeroPoints: ArrayLike<number>,
): Float32Array {
  const { outer, channels, inner } = axisSplit(shape, axis);
  const out = new Float32Array(q.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = scales[c]!;
      const z = zeroPoints[c]!;
      for (let i = base; i < base + inner; i++) out[i] = Math.fround((q[i]! - z) * s);
    }
  }
  return out;
}

/** Error figures between a tensor and its reconstruction. */
export interface ErrorStats {
  readonly mse: number;
  /** Signal-to-noise ratio in dB; Infinity when the reconstruction is exact. */
  readonly snrDb: number;
  readonly maxAbs: number;
}

export function errorStats(original: Float32Array, restored: Float32Array): ErrorStats {
  let se = 0;
  let signal = 0;
  let maxAbs = 0;
  for (let i = 0; i < original.length; i++) {
    const d = original[i]! - restored[i]!;
    se += d * d;
    signal += original[i]! * original[i]!;
    const a = Math.abs(d);
    if (a > maxAbs) maxAbs = a;
  }
  const n = Math.max(1, original.length);
  return { mse: se / n, snrDb: se === 0 ? Infinity : 10 * Math.log10(signal / se), maxAbs };
}
