/**
 * Weight-only schemes: each weight is stored small and decoded back to
 * float32 by standard ops at load time, so the consumers and the compute
 * stay as they were and the model runs everywhere.
 *
 * - int8/uint8 (and int4 where MatMulNBits does not apply): DequantizeLinear,
 *   per tensor or per channel; on opsets too old for per-axis
 *   DequantizeLinear that cannot be raised safely, Cast -> Sub -> Mul.
 * - fp16-weights / bf16-weights: half-precision initializer + Cast (a tensor
 *   with values beyond float16's range stays float32).
 * - kmeans: uint8/uint16 indices + a float32 codebook, decoded by Gather.
 */
import { ONNX_TYPE } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../core/float16.js';
import { packInt4 } from '../core/tensor.js';
import { kmeans1d, kmeansOptimal1d, decodeCodebook, type KmeansResult } from './kmeans.js';
import { quantizeBlocked } from './blockwise.js';
import {
  computeQuantParams,
  dequantizePerChannel,
  dequantizePerTensor,
  intRange,
  quantizePerChannel,
  quantizePerTensor,
} from './linear.js';
import { defaultOpsetOf } from './opset.js';
import { canUpgradeOpset, upgradeOpset } from './opset-upgrade.js';
import { bytesOf, DecoderBuilder, replaceDefinition } from './rewrite.js';
import type { WeightContext, WeightFn, WeightOutcome } from './weight-pass.js';
import { sharedRole, type WeightDef } from '../graph/weights.js';

function outcome(def: WeightDef, b: DecoderBuilder, action: string, restored: Float32Array): WeightOutcome {
  return {
    action,
    restored,
    apply: () => {
      const d = b.build();
      replaceDefinition(def, d);
      return d.initializers;
    },
  };
}

function minMax(x: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo > hi ? [0, 0] : [lo, hi];
}

/** Shape that broadcasts a per-channel vector along `axis` of a rank-`rank` tensor: [C, 1, ..., 1]. */
function broadcastShape(channels: number, axis: number, rank: number): number[] {
  return [channels, ...Array.from({ length: rank - axis - 1 }, () => 1)];
}

/** The opset each linear form needs. */
function neededOpset(bits: number, perChannel: boolean): number {
  return bits === 4 ? 21 : perChannel ? 13 : 10;
}

/**
 * int8/uint8 (bits 8) or int4/uint4 (bits 4) weight-only quantization.
 * 4-bit uses per-channel scales for Conv-like weights and blocks of
 * `blockSize` along the reduction axis for Gemm/MatMul-like ones.
 */
export function linearWeights(bits: 8 | 4, signed: boolean): { fn: WeightFn; prepare: (ctx: WeightContext, defs: WeightDef[]) => void } {
  let useDq = true;
  const prepare = (ctx: WeightContext, defs: WeightDef[]) => {
    if (defs.length === 0) return;
    const need = neededOpset(bits, ctx.opts.perChannel ?? false);
    if (canUpgradeOpset(ctx.model, need)) {
      raiseOpset(ctx, need, 'DequantizeLinear');
    } else if (bits === 4) {
      useDq = false;
    } else {
      useDq = defaultOpsetOf(ctx.model) >= 10 && !(ctx.opts.perChannel ?? false);
      if (!useDq)
        ctx.notes.push(
          `opset ${defaultOpsetOf(ctx.model)} cannot be raised safely to ${need}: weights are decoded with Cast/Sub/Mul instead of DequantizeLinear`,
        );
    }
  };
  const fn: WeightFn = (def, x, ctx) => {
    if (bits === 4 && !useDq) return { skip: `int4 DequantizeLinear needs opset 21 and this model's opset cannot be raised safely` };
    const role = sharedRole(def);
    if (!role) return { skip: 'not a Conv/Gemm/MatMul/Gather/recurrent weight (biases and normalization parameters stay float)' };
    const { opts } = ctx;
    const symmetric = opts.symmetric ?? false;
    const range = intRange(bits, signed, symmetric, opts.reduceRange ?? false);
    const qtype = bits === 8 ? (signed ? 'int8' : 'uint8') : signed ? 'int4' : 'uint4';
    const rank = def.shape.length;
    const b = new DecoderBuilder(ctx.names, def.name);
    const store = (suffix: string, values: Int32Array, shape: readonly number[]) =>
      b.tensor(suffix, qtype, shape, bits === 4 ? packInt4(values) : bytesOf(signed ? Int8Array.from(values) : Uint8Array.from(values)));
    // 4-bit Gemm/MatMul-like weights: blocks along the reduction axis
    if (
      bits === 4 &&
      role.reductionAxis !== undefined &&
      role.role !== 'conv' &&
      role.role !== 'conv-transpose' &&
      def.shape[role.reductionAxis]! >= (opts.blockSize ?? 32)
    ) {
      const blockSize = opts.blockSize ?? 32;
      const r = quantizeBlocked(x, def.shape, role.reductionAxis, blockSize, range, symmetric);
      const q = store('q', r.q, def.shape);
      const s = b.tensor('s', 'float32', r.scaleShape, bytesOf(r.scales));
      const z = store('zp', r.zeroPoints, r.scaleShape);
      b.node('DequantizeLinear', [q, s, z], { axis: role.reductionAxis, block_size: blockSize }, def.name);
      const restored = new Float32Array(x.length);
      // reconstruct exactly as DequantizeLinear does
      const ax = role.reductionAxis;
      const inner = def.shape.slice(ax + 1).reduce((a, c) => a * c, 1);
      const channels = def.shape[ax]!;
      const blocks = r.scaleShape[ax]!;
      for (let i = 0; i < x.length; i++) {
        const o = Math.floor(i / (channels * inner));
        const c = Math.floor(i / inner) % channels;
        const si = (o * blocks + Math.floor(c / blockSize)) * inner + (i % inner);
        restored[i] = Math.fround((r.q[i]! - r.zeroPoints[si]!) * r.scales[si]!);
      }
      return outcome(def, b, `${qtype} blocks of ${blockSize} along axis ${ax} (DequantizeLinear)`, restored);
    }
    const axis = (opts.perChannel || bits === 4) && role.channelAxis !== undefined && rank >= 1 ? role.channelAxis : undefined;
    if (axis !== undefined) {
      const pc = quantizePerChannel(x, def.shape, axis, range, symmetric);
      const restored = dequantizePerChannel(pc.q, def.shape, axis, pc.scales, pc.zeroPoints);
      const q = store('q', pc.q, def.shape);
      if (useDq) {
        const s = b.tensor('s', 'float32', [pc.scales.length], bytesOf(pc.scales));
        // an all-zero zero point of a signed type is DequantizeLinear's default: leave it out
        const z = signed && pc.zeroPoints.every((v) => v === 0) ? [] : [store('zp', pc.zeroPoints, [pc.zeroPoints.length])];
        b.node('DequantizeLinear', [q, s, ...z], { axis }, def.name);
        return outcome(def, b, `${qtype} per-channel axis ${axis} (DequantizeLinear)`, restored);
      }
      const shape = broadcastShape(pc.scales.length, axis, rank);
      let v = b.node('Cast', [q], { to: ONNX_TYPE.float32 });
      if (pc.zeroPoints.some((z) => z !== 0))
        v = b.node('Sub', [v, b.tensor('zp', 'float32', shape, bytesOf(Float32Array.from(pc.zeroPoints)))]);
      b.node('Mul', [v, b.tensor('s', 'float32', shape, bytesOf(pc.scales))], undefined, def.name);
      return outcome(def, b, `${qtype} per-channel axis ${axis} (Cast/Mul)`, restored);
    }
    const [lo, hi] = minMax(x);
    const p = computeQuantParams(lo, hi, range, symmetric);
    const qv = quantizePerTensor(x, p, range);
    const restored = dequantizePerTensor(qv, p);
    const q = store('q', qv, def.shape);
    if (useDq) {
      const s = b.tensor('s', 'float32', [], bytesOf(new Float32Array([p.scale])));
      const z = signed && p.zeroPoint === 0 ? [] : [store('zp', Int32Array.of(p.zeroPoint), [])];
      b.node('DequantizeLinear', [q, s, ...z], undefined, def.name);
      return outcome(def, b, `${qtype} per-tensor (DequantizeLinear)`, restored);
    }
    let v = b.node('Cast', [q], { to: ONNX_TYPE.float32 });
    if (p.zeroPoint !== 0) v = b.node('Sub', [v, b.tensor('zp', 'float32', [], bytesOf(new Float32Array([p.zeroPoint])))]);
    b.node('Mul', [v, b.tensor('s', 'float32', [], bytesOf(new Float32Array([p.scale])))], undefined, def.name);
    return outcome(def, b, `${qtype} per-tensor (Cast/Mul)`, restored);
  };
  return { fn, prepare };
}

/** Raises the default opset to `need` (rewriting nodes whose form changed), noting what happened. */
function raiseOpset(ctx: WeightContext, need: number, why: string): void {
  const before = defaultOpsetOf(ctx.model);
  if (before >= need) return;
  const rewritten = upgradeOpset(ctx.model, need, why, ctx.opts.file);
  ctx.notes.push(
    `default opset raised from ${before} to ${need}${rewritten.length ? ` (rewrote ${rewritten.join(', ')} into their new form)` : ''}`,
  );
}

const HALF_MAX = 65504;

/** float16 or bfloat16 storage + Cast to float32. */
export function halfWeights(kind: 'float16' | 'bfloat16'): { fn: WeightFn; prepare: (ctx: WeightContext, defs: WeightDef[]) => void } {
  const prepare = (ctx: WeightContext, defs: WeightDef[]) => {
    if (kind === 'bfloat16' && defs.length > 0) raiseOpset(ctx, 13, 'Cast from bfloat16');
  };
  const fn: WeightFn = (def, x, ctx) => {
    let bits: Uint16Array;
    let restored: Float32Array;
    if (kind === 'float16') {
      // a value float16 cannot hold (PP-OCRv4 det's BatchNormalization variance reaches 9.8e7) keeps its tensor in float32:
      // clamping it would change what the layer computes by orders of magnitude
      let maxAbs = 0;
      for (let i = 0; i < x.length; i++) if (Math.abs(x[i]!) > maxAbs) maxAbs = Math.abs(x[i]!);
      if (maxAbs > HALF_MAX) return { skip: `values up to ${maxAbs.toExponential(2)} exceed float16's ±65504; kept in float32` };
      bits = float32ToFloat16(x);
      restored = float16ToFloat32(bits);
    } else {
      bits = float32ToBfloat16(x);
      restored = bfloat16ToFloat32(bits);
    }
    const b = new DecoderBuilder(ctx.names, def.name);
    const h = b.tensor(kind === 'float16' ? 'fp16' : 'bf16', kind, def.shape, bytesOf(bits));
    b.node('Cast', [h], { to: ONNX_TYPE.float32 }, def.name);
    return outcome(def, b, `${kind} storage + Cast`, restored);
  };
  return { fn, prepare };
}

/** Per-tensor weight sharing with 2^bits centroids behind a Gather. */
export function kmeansWeights(bits: number): { fn: WeightFn } {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16)
    throw new ModelpressError('E_ARG', `kmeans bits must be an integer in [1, 16], got ${bits}`);
  const k = 2 ** bits;
  const fn: WeightFn = (def, x, ctx) => {
    if (!sharedRole(def)) return { skip: 'not a Conv/Gemm/MatMul/Gather/recurrent weight' };
    const { opts } = ctx;
    let zeros = 0;
    for (let i = 0; i < x.length; i++) if (x[i] === 0) zeros++;
    const zeroCentroid = zeros > x.length * 0.01; // pruned weights stay exactly zero
    const solver = opts.kmeansSolver ?? 'auto';
    let r: KmeansResult | undefined;
    let how = 'Lloyd';
    if (solver !== 'lloyd' && (solver === 'exact' || k <= 64)) {
      try {
        r = kmeansOptimal1d(x, { k, zeroCentroid, ...(solver === 'auto' ? { maxWork: 5e7 } : {}) });
        how = 'exact';
      } catch (e) {
        if (solver === 'exact') throw e;
      }
    }
    r ??= kmeans1d(x, { k, zeroCentroid, init: opts.kmeansInit ?? 'linear' });
    if (solver === 'lloyd') how = `Lloyd, ${opts.kmeansInit ?? 'linear'} init`;
    const b = new DecoderBuilder(ctx.names, def.name);
    const idx = b.tensor('indices', r.indices instanceof Uint8Array ? 'uint8' : 'uint16', def.shape, bytesOf(r.indices));
    const book = b.tensor('codebook', 'float32', [r.centroids.length], bytesOf(r.centroids));
    const idx32 = b.node('Cast', [idx], { to: ONNX_TYPE.int32 });
    b.node('Gather', [book, idx32], { axis: 0 }, def.name);
    return outcome(
      def,
      b,
      `kmeans ${r.centroids.length} centroids (${how}${zeroCentroid ? ', zeros kept' : ''}) + Gather`,
      decodeCodebook(r.centroids, r.indices),
    );
  };
  return { fn };
}
