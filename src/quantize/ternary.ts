/**
 * Binary and ternary weights: each weight becomes a code times a scale of
 * its output channel (one scale per tensor when it has no channel axis).
 *
 * - binary (BWN, Rastegari et al. 2016, XNOR-Net): code = sign(w) in {-1, +1}
 *   (0 counts as +1), scale = mean |w| of the channel. For codes fixed to
 *   sign(w) this scale is the least-squares one: argmin_a ||w - a*b||^2 =
 *   <w, b> / n = mean |w|.
 * - ternary (TWN, Li et al. 2016): threshold d = 0.7 * mean |w| of the
 *   channel; code = sign(w) where |w| > d, else 0; scale = mean |w| over the
 *   weights above the threshold (the least-squares scale for those codes).
 * - ternary-absmean (BitNet b1.58, Ma et al. 2024): scale = mean |w| of the
 *   channel, code = round(w / scale) clipped to [-1, 1].
 * - ttq (Trained Ternary Quantization, Zhu et al. 2017): two scales per
 *   channel, w_p for the positive codes and w_n for the negative ones;
 *   threshold d = 0.7 * mean |w| of the channel (TWN's; the paper's
 *   0.05 * max |w| zeroes almost nothing in dense layers: LeNet-300-100
 *   post-training 64.3% against TWN's 78.8%), w_p / w_n = mean of the
 *   weights above d / mean |w| below -d. QAT learns w_p and w_n
 *   (compress/qat.ts); a tensor already in that form (per channel one
 *   positive and one negative value besides zeros) is stored as it is, so
 *   the export keeps exactly the trained values.
 *
 * Storage (ONNX): the codes are packed into uint8 and decoded in the graph
 * by standard ops (opset 11, all in onnxruntime's CPU kernels, node and web):
 * - binary, 8 per byte (bit j = code j, 1 for +1): BitShift left by 7 - j then
 *   right by 7 isolates each bit, Cast to float32, 2b - 1;
 * - ternary, 5 per byte in base 3 (byte = sum (c_j + 1) 3^j <= 242, 1.6 bits
 *   per weight, like llama.cpp's TQ1_0): Cast to int32, Div by 3^j, Mod 3,
 *   Cast to float32, t - 1;
 * then Reshape (Slice when the count is not a multiple of the codes per
 * byte) and Mul by the per-channel scale (ttq: Where(t > 0, w_p, t * w_n)).
 * The graph computes exactly `dequantizeCodes`.
 */
import { ONNX_TYPE } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { axisSplit } from './linear.js';
import { defaultOpsetOf } from './opset.js';
import { canUpgradeOpset, upgradeOpset } from './opset-upgrade.js';
import { bytesOf, DecoderBuilder, replaceDefinition } from './rewrite.js';
import type { WeightContext, WeightFn } from './weight-pass.js';
import { sharedRole, type WeightDef } from '../graph/weights.js';

export type TernaryKind = 'binary' | 'ternary' | 'ternary-absmean' | 'ttq';

/** TWN's threshold factor: d = 0.7 * mean |w|. */
export const TWN_THRESHOLD = 0.7;

export interface CodesResult {
  /** One code per weight, in {-1, 1} (binary) or {-1, 0, 1} (ternary). */
  readonly codes: Int8Array;
  /** One float32 scale per channel along `axis` (one in all without an axis); ttq: the positive codes' scale. */
  readonly scales: Float32Array;
  /** ttq: the negative codes' scale per channel (a code -1 stands for -negScales[c]); absent: one scale for both signs. */
  readonly negScales?: Float32Array;
  readonly axis: number | undefined;
}

/** Calls `f(channel, flatIndex)` for every element, grouped by channel of `axis` (all one channel when axis is undefined). */
function channelsOf(shape: readonly number[], axis: number | undefined): { channels: number; channelOf: (i: number) => number } {
  if (axis === undefined || shape.length === 0) return { channels: 1, channelOf: () => 0 };
  const { channels, inner } = axisSplit(shape, axis);
  return { channels, channelOf: (i) => Math.floor(i / inner) % channels };
}

function checkFinite(x: Float32Array): void {
  for (let i = 0; i < x.length; i++)
    if (!Number.isFinite(x[i]!)) throw new ModelpressError('E_ARG', `cannot ternarize a tensor containing ${x[i]} (at index ${i})`);
}

/** mean |w| per channel. */
function meanAbs(x: Float32Array, channels: number, channelOf: (i: number) => number): Float64Array {
  const sum = new Float64Array(channels);
  const count = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const c = channelOf(i);
    sum[c]! += Math.abs(x[i]!);
    count[c]!++;
  }
  for (let c = 0; c < channels; c++) sum[c] = count[c]! > 0 ? sum[c]! / count[c]! : 0;
  return sum;
}

/** BWN: sign(w) times mean |w| per channel. */
export function binaryCodes(x: Float32Array, shape: readonly number[], axis?: number): CodesResult {
  checkFinite(x);
  const { channels, channelOf } = channelsOf(shape, axis);
  const m = meanAbs(x, channels, channelOf);
  const codes = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) codes[i] = x[i]! < 0 ? -1 : 1;
  return { codes, scales: Float32Array.from(m), axis };
}

/** TWN: threshold 0.7 * mean |w|, scale = mean |w| above it, per channel. */
export function twnCodes(x: Float32Array, shape: readonly number[], axis?: number): CodesResult {
  checkFinite(x);
  const { channels, channelOf } = channelsOf(shape, axis);
  const m = meanAbs(x, channels, channelOf);
  const sum = new Float64Array(channels);
  const count = new Float64Array(channels);
  const codes = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = channelOf(i);
    const a = Math.abs(x[i]!);
    if (a > TWN_THRESHOLD * m[c]!) {
      codes[i] = x[i]! < 0 ? -1 : 1;
      sum[c]! += a;
      count[c]!++;
    }
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = count[c]! > 0 ? sum[c]! / count[c]! : 0;
  return { codes, scales, axis };
}

/** BitNet b1.58 absmean: scale = mean |w|, code = clip(round(w / scale), -1, 1), per channel. */
export function absmeanCodes(x: Float32Array, shape: readonly number[], axis?: number): CodesResult {
  checkFinite(x);
  const { channels, channelOf } = channelsOf(shape, axis);
  const scales = Float32Array.from(meanAbs(x, channels, channelOf));
  const codes = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const s = scales[channelOf(i)]!;
    if (s === 0) continue;
    const r = Math.round(x[i]! / s);
    codes[i] = r > 1 ? 1 : r < -1 ? -1 : r === 0 ? 0 : r; // r === 0 also turns -0 into 0
  }
  return { codes, scales, axis };
}

/**
 * TTQ's codes and two scales per channel: threshold `t` * mean |w| (default
 * TWN's 0.7); w_p = mean of the weights above the threshold, w_n = mean |w|
 * of those below minus it. When every channel holds, besides zeros, only one
 * positive and one negative value (a tensor TTQ already produced), those are
 * the codes and scales, exactly.
 */
export function ttqCodes(x: Float32Array, shape: readonly number[], axis?: number, t = TWN_THRESHOLD): CodesResult {
  checkFinite(x);
  if (!(t >= 0 && Number.isFinite(t))) throw new ModelpressError('E_ARG', `TTQ threshold factor must be finite and >= 0, got ${t}`);
  const { channels, channelOf } = channelsOf(shape, axis);
  const codes = new Int8Array(x.length);
  const pos = new Float32Array(channels);
  const neg = new Float32Array(channels);
  const exact = ternaryForm(x, channelOf, pos, neg);
  if (exact) {
    for (let i = 0; i < x.length; i++) codes[i] = x[i]! > 0 ? 1 : x[i]! < 0 ? -1 : 0;
    return { codes, scales: pos, negScales: neg, axis };
  }
  const mean = meanAbs(x, channels, channelOf);
  const sum = [new Float64Array(channels), new Float64Array(channels)] as const;
  const count = [new Float64Array(channels), new Float64Array(channels)] as const;
  for (let i = 0; i < x.length; i++) {
    const c = channelOf(i);
    const v = x[i]!;
    const d = t * mean[c]!;
    if (v > d) {
      codes[i] = 1;
      sum[0][c]! += v;
      count[0][c]!++;
    } else if (v < -d) {
      codes[i] = -1;
      sum[1][c]! -= v;
      count[1][c]!++;
    }
  }
  for (let c = 0; c < channels; c++) {
    pos[c] = count[0][c]! > 0 ? sum[0][c]! / count[0][c]! : 0;
    neg[c] = count[1][c]! > 0 ? sum[1][c]! / count[1][c]! : 0;
  }
  return { codes, scales: pos, negScales: neg, axis };
}

/** Whether each channel holds only zeros, one positive value and one negative value; fills their magnitudes (0 when absent). */
function ternaryForm(x: Float32Array, channelOf: (i: number) => number, pos: Float32Array, neg: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v === 0) continue;
    const c = channelOf(i);
    const into = v > 0 ? pos : neg;
    const a = Math.abs(v);
    if (into[c] === 0) into[c] = a;
    else if (into[c] !== a) {
      pos.fill(0);
      neg.fill(0);
      return false;
    }
  }
  return true;
}

export function ternaryCodes(kind: TernaryKind, x: Float32Array, shape: readonly number[], axis?: number): CodesResult {
  switch (kind) {
    case 'binary':
      return binaryCodes(x, shape, axis);
    case 'ternary':
      return twnCodes(x, shape, axis);
    case 'ttq':
      return ttqCodes(x, shape, axis);
    default:
      return absmeanCodes(x, shape, axis);
  }
}

/** code * scale of its channel (ttq: -negScale for the negative codes), in float32 (what the ONNX decoder computes). */
export function dequantizeCodes(r: CodesResult, shape: readonly number[]): Float32Array {
  const { channelOf } = channelsOf(shape, r.axis);
  const out = new Float32Array(r.codes.length);
  const neg = r.negScales;
  for (let i = 0; i < out.length; i++) {
    const code = r.codes[i]!;
    const c = channelOf(i);
    out[i] = neg && code < 0 ? -neg[c]! : code * r.scales[c]!;
  }
  return out;
}

/** Codes stored per byte: 8 binary codes (1 bit each), 5 ternary codes (base 3: 3^5 = 243 <= 256, 1.6 bits each, as llama.cpp's TQ1_0). */
export function codesPerByte(kind: TernaryKind): 5 | 8 {
  return kind === 'binary' ? 8 : 5;
}

/** Packs binary codes 8 per byte, low bit first, storing (c + 1) / 2. */
export function packBits(codes: Int8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(codes.length / 8));
  for (let i = 0; i < codes.length; i++) if (codes[i]! > 0) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

/** The inverse of packBits (the first `count` codes). */
export function unpackBits(packed: Uint8Array, count: number): Int8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) out[i] = (packed[i >> 3]! >> (i & 7)) & 1 ? 1 : -1;
  return out;
}

/** Packs ternary codes 5 per byte: byte = sum_j (c_j + 1) * 3^j (at most 242). */
export function packTrits(codes: Int8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(codes.length / 5));
  for (let i = 0, p = 1; i < codes.length; i++, p = p === 81 ? 1 : p * 3) out[Math.floor(i / 5)]! += (codes[i]! + 1) * p;
  return out;
}

/** The inverse of packTrits (the first `count` codes); E_CORRUPT on a byte above 242. */
export function unpackTrits(packed: Uint8Array, count: number): Int8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const b = packed[Math.floor(i / 5)]!;
    if (b > 242) throw new ModelpressError('E_CORRUPT', `packed ternary byte ${b} at ${Math.floor(i / 5)} is above 3^5 - 1`);
    out[i] = (Math.floor(b / 3 ** (i % 5)) % 3) - 1;
  }
  return out;
}

/** Opset the decoders need (BitShift; Mod). */
export const TERNARY_OPSET = 11;

/** The weight-pass function of a binary/ternary scheme (see the module comment for the stored form). */
export function ternaryWeights(kind: TernaryKind): { fn: WeightFn; prepare: (ctx: WeightContext, defs: WeightDef[]) => void } {
  let blocked: string | undefined;
  const prepare = (ctx: WeightContext, defs: WeightDef[]) => {
    if (defs.length === 0) return;
    const before = defaultOpsetOf(ctx.model);
    if (before >= TERNARY_OPSET) return;
    if (!canUpgradeOpset(ctx.model, TERNARY_OPSET)) {
      blocked = `the ${kind} decoder (BitShift, Mod) needs opset ${TERNARY_OPSET} and this model's opset ${before} cannot be raised safely`;
      return;
    }
    const rewritten = upgradeOpset(ctx.model, TERNARY_OPSET, `the ${kind} decoder`, ctx.opts.file);
    ctx.notes.push(
      `default opset raised from ${before} to ${TERNARY_OPSET}${rewritten.length ? ` (rewrote ${rewritten.join(', ')} into their new form)` : ''}`,
    );
  };
  const fn: WeightFn = (def, x, ctx) => {
    if (blocked) return { skip: blocked };
    const role = sharedRole(def);
    if (!role) return { skip: 'not a Conv/Gemm/MatMul/Gather/recurrent weight (biases and normalization parameters stay float)' };
    const rank = def.shape.length;
    const axis = role.channelAxis !== undefined && rank >= 1 ? role.channelAxis : undefined;
    const r = ternaryCodes(kind, x, def.shape, axis);
    const restored = dequantizeCodes(r, def.shape);
    const per = codesPerByte(kind);
    const packed = kind === 'binary' ? packBits(r.codes) : packTrits(r.codes);
    const b = new DecoderBuilder(ctx.names, def.name);
    const p = b.tensor('codes', 'uint8', [packed.length, 1], packed);
    let v: string;
    if (kind === 'binary') {
      // bit j of a byte: shift it to the top, then down to the bottom (uint8 arithmetic drops the bits above); then 2b - 1
      const left = Uint8Array.from({ length: 8 }, (_, j) => 7 - j);
      v = b.node('BitShift', [p, b.tensor('shl', 'uint8', [8], left)], { direction: 'LEFT' });
      v = b.node('BitShift', [v, b.tensor('shr', 'uint8', [1], Uint8Array.of(7))], { direction: 'RIGHT' });
      v = b.node('Cast', [v], { to: ONNX_TYPE.float32 });
      v = b.node('Mul', [v, b.tensor('two', 'float32', [], bytesOf(Float32Array.of(2)))]);
    } else {
      // trit j of a byte: floor(byte / 3^j) mod 3 in int32; then t - 1
      v = b.node('Cast', [p], { to: ONNX_TYPE.int32 });
      v = b.node('Div', [v, b.tensor('pow3', 'int32', [5], bytesOf(Int32Array.of(1, 3, 9, 27, 81)))]);
      v = b.node('Mod', [v, b.tensor('three', 'int32', [], bytesOf(Int32Array.of(3)))], { fmod: 0 });
      v = b.node('Cast', [v], { to: ONNX_TYPE.float32 });
    }
    v = b.node('Sub', [v, b.tensor('one', 'float32', [], bytesOf(Float32Array.of(1)))]);
    const int64 = (suffix: string, vals: readonly number[]) =>
      b.tensor(suffix, 'int64', [vals.length], bytesOf(BigInt64Array.from(vals.map((n) => BigInt(n)))));
    if (packed.length * per !== x.length) {
      v = b.node('Reshape', [v, int64('flat', [-1])]);
      v = b.node('Slice', [v, int64('start', [0]), int64('end', [x.length]), int64('axes', [0])]);
    }
    const scaleShape = axis === undefined ? [] : [r.scales.length, ...Array.from({ length: rank - axis - 1 }, () => 1)];
    v = b.node('Reshape', [v, int64('shape', def.shape)]);
    const s = b.tensor('scale', 'float32', scaleShape, bytesOf(r.scales));
    if (r.negScales) {
      // t in {-1, 0, 1}: Where(t > 0, w_p, t * w_n) is w_p, 0 or -w_n exactly
      const n = b.node('Mul', [v, b.tensor('neg_scale', 'float32', scaleShape, bytesOf(r.negScales))]);
      const positive = b.node('Greater', [v, b.tensor('zero', 'float32', [], bytesOf(Float32Array.of(0)))]);
      b.node('Where', [positive, s, n], undefined, def.name);
    } else b.node('Mul', [v, s], undefined, def.name);
    const zeros = r.codes.reduce((n, c) => n + (c === 0 ? 1 : 0), 0);
    return {
      action: `${kind} ${kind === 'binary' ? '1-bit codes' : 'codes 5 per byte (1.6 bits)'}${r.negScales ? ', two scales' : ''}${axis === undefined ? ' per tensor' : ` per channel axis ${axis}`}${kind === 'binary' ? '' : `, ${((100 * zeros) / x.length).toFixed(1)}% zeros`} (${kind === 'binary' ? 'BitShift' : 'Div/Mod'}/Cast/Mul)`,
      restored,
      apply: () => {
        const d = b.build();
        replaceDefinition(def, d);
        return d.initializers;
      },
    };
  };
  return { fn, prepare };
}
