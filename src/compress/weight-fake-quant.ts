/**
 * Weight fake quantization for QAT, done in TypeScript: the training graph
 * is fed q(w) (quantize -> dequantize of the float "shadow" weights w) and
 * the optimizer applies the gradient taken at q(w) to w: the
 * straight-through estimator. Each function here reproduces, value for
 * value, what the export path stores, so the exported model computes with
 * exactly the weights training saw:
 *  - int8: `quantizeModel(.., 'static')` (src/quantize/static): symmetric
 *    int8 per output channel (quantizeWeight with the weight role's channel axis).
 *  - int4: `quantizeModel(.., 'int4')` (src/quantize/nbits.ts, weight-only.ts,
 *    defaults): MatMul B -> MatMulNBits blocks (asymmetric); Gemm weights ->
 *    int4 blocks along the reduction axis when it is >= the block size,
 *    per-channel int4 otherwise and for Conv (asymmetric); tensors under 256
 *    elements stay float.
 *  - binary / ternary / ternary-absmean / ttq: `quantizeModel(.., scheme, { minSize: 1 })`
 *    (src/quantize/ternary.ts): BWN / TWN / absmean codes times a scale per
 *    output channel (ttq: two; QAT learns them, compress/ttq.ts), every
 *    Conv/Gemm/MatMul weight. With first and last layers kept at
 *    8 bits those two are `quantizeModel(.., 'int8', { perChannel, symmetric })`
 *    (weight-only int8 DequantizeLinear), `int8WeightOnlyFakeQuant`.
 */
import { dequantizeMatMulNBits, quantizeBlocked, quantizeMatMulNBits } from '../quantize/blockwise.js';
import {
  axisSplit,
  computeQuantParams,
  dequantizePerChannel,
  dequantizePerTensor,
  intRange,
  quantizePerChannel,
  quantizePerTensor,
} from '../quantize/linear.js';
import { quantizeWeight } from '../quantize/qdq-helpers.js';
import { dequantizeCodes, ternaryCodes } from '../quantize/ternary.js';
import type { CompressibleLayer } from './layers.js';

export type LowBitScheme = 'binary' | 'ternary' | 'ternary-absmean' | 'ttq';
export type QatScheme = 'int8' | 'int4' | LowBitScheme;
export const QAT_SCHEMES: readonly QatScheme[] = ['int8', 'int4', 'binary', 'ternary', 'ternary-absmean', 'ttq'];

/** Whether a QAT scheme is binary/ternary (weight-only, every weight, optionally first and last layers at 8 bits). */
export function isLowBitScheme(scheme: QatScheme): scheme is LowBitScheme {
  return scheme === 'binary' || scheme === 'ternary' || scheme === 'ternary-absmean' || scheme === 'ttq';
}

/** What `quantizeModel(.., 'int8', { perChannel: true, symmetric: true })` stores for this layer (src/quantize/weight-only.ts). */
export function int8WeightOnlyFakeQuant(layer: CompressibleLayer): WeightFakeQuant {
  const { shape, role } = layer;
  const range = intRange(8, true, true, false);
  const axis = role.channelAxis !== undefined && shape.length >= 1 ? role.channelAxis : undefined;
  if (axis === undefined) {
    return (w) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of w) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const p = computeQuantParams(lo > hi ? 0 : lo, lo > hi ? 0 : hi, range, true);
      return dequantizePerTensor(quantizePerTensor(w, p, range), p);
    };
  }
  return (w) => {
    const pc = quantizePerChannel(w, shape, axis, range, true);
    return dequantizePerChannel(pc.q, shape, axis, pc.scales, pc.zeroPoints);
  };
}

/** quantize -> dequantize of one layer's weights (a fresh array), or undefined when the export leaves it float. */
export type WeightFakeQuant = (w: Float32Array) => Float32Array;

/** Smallest tensor the int4 scheme quantizes (quantizeModel's default minSize). */
export const INT4_MIN_SIZE = 256;

export function weightFakeQuant(scheme: QatScheme, layer: CompressibleLayer, blockSize = 32): WeightFakeQuant | undefined {
  const { shape, role } = layer;
  if (isLowBitScheme(scheme)) {
    const axis = role.channelAxis !== undefined && shape.length >= 1 ? role.channelAxis : undefined;
    return (w) => dequantizeCodes(ternaryCodes(scheme, w, shape, axis), shape);
  }
  if (scheme === 'int8') {
    if (role.role === 'conv-transpose') return undefined; // static leaves ConvTranspose float
    return (w) => quantizeWeight(w, shape, { signed: true, symmetric: true, reduceRange: false, axis: role.channelAxis }).restored;
  }
  if (layer.count < INT4_MIN_SIZE) return undefined;
  const range = intRange(4, true, false, false);
  const plainMatMul =
    role.role === 'matmul' && shape.length === 2 && layer.def.consumers.every((c) => c.node.opType === 'MatMul' && c.inputIndex === 1);
  if (plainMatMul) {
    const [k, n] = shape as [number, number];
    return (w) => dequantizeMatMulNBits(quantizeMatMulNBits(w, k, n, blockSize, false));
  }
  if (role.role === 'matmul') return undefined;
  const ax = role.reductionAxis;
  if (ax !== undefined && role.role === 'gemm' && shape[ax]! >= blockSize) {
    return (w) => {
      const r = quantizeBlocked(w, shape, ax, blockSize, range, false);
      const { channels, inner } = axisSplit(shape, ax);
      const blocks = r.scaleShape[ax]!;
      const out = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) {
        const o = Math.floor(i / (channels * inner));
        const c = Math.floor(i / inner) % channels;
        const si = (o * blocks + Math.floor(c / blockSize)) * inner + (i % inner);
        out[i] = Math.fround((r.q[i]! - r.zeroPoints[si]!) * r.scales[si]!);
      }
      return out;
    };
  }
  const axis = role.channelAxis;
  if (axis === undefined) return undefined;
  return (w) => {
    const pc = quantizePerChannel(w, shape, axis, range, false);
    return dequantizePerChannel(pc.q, shape, axis, pc.scales, pc.zeroPoints);
  };
}
