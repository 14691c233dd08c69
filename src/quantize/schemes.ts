/**
 * The quantization schemes, one table: id, what it does, nominal bits per
 * weight, whether it needs calibration data, and how to apply it. The CLI's
 * help and option checks are generated from this table.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { quantizeDynamic } from './dynamic.js';
import { convertFp16 } from './fp16.js';
import { nbitsWeights } from './nbits.js';
import { quantizeStatic } from './static/index.js';
import type { QuantizeOptions, SchemeResult } from './types.js';
import { runWeightPass, type WeightFn, type WeightContext } from './weight-pass.js';
import { halfWeights, kmeansWeights, linearWeights } from './weight-only.js';
import type { WeightDef } from '../graph/weights.js';

/** Runs a model once: bytes + feeds -> named outputs. Injected so this module stays free of onnxruntime-node. */
export type ModelRunner = (model: Uint8Array, feeds: Record<string, { dtype: string; shape: readonly number[]; data: ArrayBufferView }>) => Promise<Record<string, { dtype: string; shape: readonly number[]; data: ArrayBufferView }>>;

export interface SchemeContext {
  /** Executes models for schemes that calibrate or probe onnxruntime (static, fp16). */
  readonly run?: ModelRunner;
  /** Tells whether onnxruntime can load a model (fp16 probes kernels with it). */
  readonly canLoad?: (model: Uint8Array) => Promise<string | undefined>;
}

export interface SchemeTraits {
  readonly id: string;
  readonly summary: string;
  /** Nominal storage bits per quantized weight (excluding scales). */
  readonly bits: number;
  readonly needsCalibration: boolean;
  readonly apply: (model: ModelProto, opts: QuantizeOptions, ctx: SchemeContext) => SchemeResult | Promise<SchemeResult>;
}

/**
 * A weight-only scheme. `foldsLosslessly` tells whether folding BatchNormalization into the
 * Conv before quantizing costs no precision (true when each output channel gets its own
 * scale or the weights stay floats); it decides the default of opts.foldBatchNorm.
 */
function weightScheme(make: () => { fn: WeightFn; prepare?: (ctx: WeightContext, defs: WeightDef[]) => void }, foldsLosslessly: (opts: QuantizeOptions) => boolean): SchemeTraits['apply'] {
  return (model, opts) => {
    const s = make();
    return runWeightPass(model, { ...opts, foldBatchNorm: opts.foldBatchNorm ?? foldsLosslessly(opts) }, s.fn, s.prepare);
  };
}
const always = () => true;
const perChannel = (opts: QuantizeOptions) => opts.perChannel === true;

const table: readonly SchemeTraits[] = [
  { id: 'fp16-weights', summary: 'float16 weights + Cast to float32 at load (storage only, runs everywhere)', bits: 16, needsCalibration: false, apply: weightScheme(() => halfWeights('float16'), always) },
  { id: 'bf16-weights', summary: 'bfloat16 weights + Cast to float32 at load (storage only; opset 13)', bits: 16, needsCalibration: false, apply: weightScheme(() => halfWeights('bfloat16'), always) },
  { id: 'int8', summary: 'int8 weights + DequantizeLinear (weight-only QDQ)', bits: 8, needsCalibration: false, apply: weightScheme(() => linearWeights(8, true), perChannel) },
  { id: 'uint8', summary: 'uint8 weights + DequantizeLinear (weight-only QDQ)', bits: 8, needsCalibration: false, apply: weightScheme(() => linearWeights(8, false), perChannel) },
  { id: 'fp16', summary: 'weights and compute in float16 where onnxruntime has kernels; inputs/outputs stay float32 (Casts at the boundary)', bits: 16, needsCalibration: false, apply: (m, o, c) => convertFp16(m, { ...o, ...(c.canLoad ? { canLoad: c.canLoad } : {}) }) },
  { id: 'dynamic', summary: 'int8 weights, activations quantized at run time (MatMulInteger/ConvInteger), like quantize_dynamic', bits: 8, needsCalibration: false, apply: (m, o) => quantizeDynamic(m, o) },
  { id: 'static', summary: 'QDQ int8 weights (per-channel) and uint8 activations calibrated on data', bits: 8, needsCalibration: true, apply: (m, o, c) => quantizeStatic(m, { ...o, ...(c.run ? { run: c.run } : {}) }) },
  { id: 'int4', summary: 'MatMul -> com.microsoft MatMulNBits (4-bit blocks); other weights int4 DequantizeLinear (opset 21)', bits: 4, needsCalibration: false, apply: weightScheme(() => nbitsWeights(false), always) },
  { id: 'q4f16', summary: 'int4 MatMulNBits on float16 activations (float16 scales)', bits: 4, needsCalibration: false, apply: weightScheme(() => nbitsWeights(true), always) },
];

export function listSchemes(): readonly SchemeTraits[] {
  return [...table, { id: 'kmeans:<bits>', summary: 'weight sharing: 2^bits centroids per tensor (1-D k-means), uint8/uint16 indices + codebook behind a Gather', bits: NaN, needsCalibration: false, apply: () => { throw new Error('use kmeans:<bits>'); } }];
}

/** The scheme for an id such as 'int8' or 'kmeans:5'; E_ARG listing the known ones otherwise. */
export function getScheme(id: string): SchemeTraits {
  const km = /^kmeans:(\d+)$/.exec(id);
  if (km) {
    const bits = Number(km[1]);
    kmeansWeights(bits); // validates bits
    return { id, summary: `k-means weight sharing with ${2 ** bits} centroids`, bits, needsCalibration: false, apply: weightScheme(() => kmeansWeights(bits), () => false) };
  }
  const s = table.find((t) => t.id === id);
  if (!s) throw new ModelpressError('E_ARG', `unknown scheme '${id}'; known: ${listSchemes().map((t) => t.id).join(', ')}`);
  return s;
}
