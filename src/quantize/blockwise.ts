/**
 * Block-wise 4-bit quantization.
 *
 * - `quantizeMatMulNBits`: the layout of onnxruntime's com.microsoft
 *   MatMulNBits (bits=4). For MatMul's B of shape [K, N], each output column
 *   n is cut into blocks of `blockSize` along K; B is stored as uint8
 *   [N, kBlocks, blockSize/2] with codes packed low nibble first, scales
 *   [N * kBlocks], optional zero points packed two per byte
 *   [N * ceil(kBlocks/2)] (default 8). Dequantized: (q - zp) * scale.
 * - `quantizeBlocked`: DequantizeLinear's blocked form (opset 21: `axis` +
 *   `block_size`), scales shaped like the tensor with the axis dimension
 *   divided by the block size, rounded up.
 */
import { packInt4, roundHalfEven } from '../core/tensor.js';
import { axisSplit, computeQuantParams, type IntRange } from './linear.js';

export interface MatMulNBitsWeights {
  readonly k: number;
  readonly n: number;
  readonly blockSize: number;
  /** uint8 [n, kBlocks, blockSize / 2]. */
  readonly packed: Uint8Array;
  /** float32 [n * kBlocks]. */
  readonly scales: Float32Array;
  /** uint8 [n * ceil(kBlocks / 2)], packed 4-bit zero points; absent when symmetric (implicit 8). */
  readonly zeroPoints?: Uint8Array;
  /** Unpacked codes [n, kBlocks * blockSize] (padding included), kept for coders and tests. */
  readonly codes: Uint8Array;
}

/**
 * Quantize MatMul weights `b` ([k, n], row-major) to 4-bit blocks along k.
 * Symmetric: scale = (value of largest magnitude) / -8 and zero point 8, so
 * that extreme value is exact and all 16 codes are used. Asymmetric: the
 * block's [min, max] (widened to 0) over 15 steps, zero point rounded.
 */
export function quantizeMatMulNBits(b: Float32Array, k: number, n: number, blockSize: number, symmetric: boolean): MatMulNBitsWeights {
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new RangeError(`block size must be a power of two >= 16, got ${blockSize}`);
  if (b.length !== k * n) throw new RangeError(`weights hold ${b.length} values, not ${k}x${n}`);
  const kBlocks = Math.ceil(k / blockSize);
  const padded = kBlocks * blockSize;
  const codes = new Uint8Array(n * padded);
  const scales = new Float32Array(n * kBlocks);
  const zps = new Uint8Array(n * kBlocks);
  for (let col = 0; col < n; col++) {
    for (let blk = 0; blk < kBlocks; blk++) {
      const k0 = blk * blockSize;
      const k1 = Math.min(k, k0 + blockSize);
      let lo = 0;
      let hi = 0;
      let extreme = 0;
      for (let r = k0; r < k1; r++) {
        const v = b[r * n + col]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        if (Math.abs(v) > Math.abs(extreme)) extreme = v;
      }
      let scale: number;
      let zp: number;
      if (symmetric) {
        scale = Math.fround(extreme / -8);
        zp = 8;
      } else {
        scale = Math.fround((hi - lo) / 15);
        zp = scale === 0 ? 8 : Math.min(15, Math.max(0, roundHalfEven(-lo / scale)));
      }
      if (scale === 0) scale = 1; // an all-zero block: code zp restores 0 exactly
      scales[col * kBlocks + blk] = scale;
      zps[col * kBlocks + blk] = zp;
      const base = col * padded;
      for (let r = k0; r < k0 + blockSize; r++) {
        const v = r < k1 ? b[r * n + col]! : 0;
        const q = roundHalfEven(Math.fround(v / scale)) + zp;
        codes[base + r] = q < 0 ? 0 : q > 15 ? 15 : q;
      }
    }
  }
  const packed = packInt4(codes);
  if (symmetric) return { k, n, blockSize, packed, scales, codes };
  // zero points: each column's kBlocks values packed two per byte, padded per column
  const zpBytesPerCol = Math.ceil(kBlocks / 2);
  const zeroPoints = new Uint8Array(n * zpBytesPerCol);
  for (let col = 0; col < n; col++) zeroPoints.set(packInt4(zps.subarray(col * kBlocks, (col + 1) * kBlocks)), col * zpBytesPerCol);
  return { k, n, blockSize, packed, scales, zeroPoints, codes };
}

/** The float [k, n] weights MatMulNBits computes with (reference for tests and error figures). */
export function dequantizeMatMulNBits(w: MatMulNBitsWeights): Float32Array {
  const { k, n, blockSize } = w;
  const kBlocks = Math.ceil(k / blockSize);
  const padded = kBlocks * blockSize;
  const zpBytesPerCol = Math.ceil(kBlocks / 2);
  const out = new Float32Array(k * n);
  for (let col = 0; col < n; col++) {
    for (let r = 0; r < k; r++) {
      const blk = Math.floor(r / blockSize);
      let zp = 8;
      if (w.zeroPoints) {
        const byte = w.zeroPoints[col * zpBytesPerCol + (blk >> 1)]!;
        zp = (blk & 1) === 0 ? byte & 0x0f : byte >> 4;
      }
      out[r * n + col] = Math.fround((w.codes[col * padded + r]! - zp) * w.scales[col * kBlocks + blk]!);
    }
  }
  return out;
}

export interface BlockedResult {
  readonly q: Int32Array;
  /** Scales shaped like the input with the axis dimension replaced by ceil(dim / blockSize). */
  readonly scales: Float32Array;
  readonly zeroPoints: Int32Array;
  readonly scaleShape: number[];
}

/** Blocked quantization along `axis` as opset-21 DequantizeLinear(axis, block_size) reads it. */
export function quantizeBlocked(
  x: Float32Array,
  shape: readonly number[],
  axis: number,
  blockSize: number,
  range: IntRange,
  symmetric: boolean,
): BlockedResult {
  const { outer, channels, inner } = axisSplit(shape, axis);
  const blocks = Math.ceil(channels / blockSize);
  const scales = new Float32Array(outer * blocks * inner);
  const zeroPoints = new Int32Array(outer * blocks * inner);
  const q = new Int32Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let blk = 0; blk < blocks; blk++) {
      const c0 = blk * blockSize;
      const c1 = Math.min(channels, c0 + blockSize);
      for (let i = 0; i < inner; i++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let c = c0; c < c1; c++) {
          const v = x[(o * channels + c) * inner + i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        const p = computeQuantParams(lo, hi, range, symmetric);
        const si = (o * blocks + blk) * inner + i;
        scales[si] = p.scale;
        zeroPoints[si] = p.zeroPoint;
        for (let c = c0; c < c1; c++) {
          const idx = (o * channels + c) * inner + i;
          const v = roundHalfEven(Math.fround(x[idx]! / p.scale)) + p.zeroPoint;
          q[idx] = v < range.qmin ? range.qmin : v > range.qmax ? range.qmax : v;
        }
      }
    }
  }
  const ax = axis < 0 ? axis + shape.length : axis;
  const scaleShape = shape.map((d, i) => (i === ax ? blocks : d));
  return { q, scales, zeroPoints, scaleShape };
}
