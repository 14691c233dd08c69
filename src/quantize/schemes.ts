/**
 * The quantization schemes, one table: id, what it does, nominal bits per
 * weight, whether it needs calibration data, the model formats it writes,
 * the error budgets the test suite holds it to, and how to apply it. The
 * CLI's help and option checks and the TF.js / safetensors scheme mapping are
 * generated from this table; the tests read the budgets from it.
 */
import type { ModelProto } from 'onnx-buf';
import { dtypeTraits, type DType } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { quantizeDynamic } from './dynamic.js';
import { convertFp16 } from './fp16.js';
import { guardFp16 } from './fp16-guard.js';
import { nbitsWeights } from './nbits.js';
import { quantizeStatic } from './static/index.js';
import type { QuantizeOptions, SchemeResult } from './types.js';
import { runWeightPass, type WeightFn, type WeightContext } from './weight-pass.js';
import { halfWeights, kmeansWeights, linearWeights } from './weight-only.js';
import { ternaryWeights, type TernaryKind } from './ternary.js';
import type { WeightDef } from '../graph/weights.js';
import type { TfjsScheme } from './weights-file.js';

/** What a scheme writes per model format: ONNX (a rewritten graph), TF.js (a quantized manifest dtype), safetensors (a storage dtype). */
export interface SchemeFormats {
  readonly onnx: boolean;
  readonly tfjs?: TfjsScheme;
  readonly safetensors?: 'float16' | 'bfloat16';
}

/** The real models the fixture budgets are measured on (support/quantize-fixtures.ts: PP-OCR det/rec/cls, Silero VAD). */
export type BudgetFixture = 'det' | 'rec' | 'cls' | 'silero';

/**
 * Error budgets: figures measured once, then rounded down (up for losses), that
 * the test suite holds a scheme to, so a change that costs precision fails a test.
 */
export interface ErrorBudgets {
  /**
   * On the real fixtures with `opts`: the lowest cosine similarity of the
   * output against the float model's, per fixture (a fixture left out is not
   * measured), and the lowest SNR of any quantized weight.
   */
  readonly fixtures?: {
    readonly opts?: QuantizeOptions;
    readonly minCosine: Readonly<Partial<Record<BudgetFixture, number>>>;
    readonly minWeightSnrDb?: number;
  };
  /** On the Fashion-MNIST nearest-class-mean classifier (10k test images) with `opts`: the most accuracy points lost. */
  readonly mnist?: { readonly opts?: QuantizeOptions; readonly maxPointsLost: number };
}

export interface SchemeTraits {
  readonly id: string;
  readonly summary: string;
  /** Nominal storage bits per quantized weight (excluding scales). */
  readonly bits: number;
  readonly needsCalibration: boolean;
  /** Only the stored weights change (decoded back to float32 in the graph); no model is run. */
  readonly weightOnly: boolean;
  readonly formats: SchemeFormats;
  readonly budgets: ErrorBudgets;
  /** Rewrites an ONNX model (absent when formats.onnx is false). Schemes that run models open them through opts.openRunner. */
  readonly apply?: (model: ModelProto, opts: QuantizeOptions) => SchemeResult | Promise<SchemeResult>;
}

/**
 * A weight-only scheme. `foldsLosslessly` tells whether folding BatchNormalization into the
 * Conv before quantizing costs no precision (true when each output channel gets its own
 * scale or the weights stay floats); it decides the default of opts.foldBatchNorm.
 */
function weightScheme(
  make: () => { fn: WeightFn; prepare?: (ctx: WeightContext, defs: WeightDef[]) => void },
  foldsLosslessly: (opts: QuantizeOptions) => boolean,
): NonNullable<SchemeTraits['apply']> {
  return (model, opts) => {
    const s = make();
    return runWeightPass(model, { ...opts, foldBatchNorm: opts.foldBatchNorm ?? foldsLosslessly(opts) }, s.fn, s.prepare);
  };
}
const always = () => true;
const perChannel = (opts: QuantizeOptions) => opts.perChannel === true;

const ONNX: SchemeFormats = { onnx: true };
const FLOAT16_FILES: SchemeFormats = { onnx: true, tfjs: 'float16', safetensors: 'float16' };
const all = (c: number): Record<BudgetFixture, number> => ({ det: c, rec: c, cls: c, silero: c });
const symmetricPerChannel: QuantizeOptions = { perChannel: true, symmetric: true };

const table: SchemeTraits[] = [
  {
    id: 'fp16-weights',
    summary: 'float16 weights + Cast to float32 at load (storage only, runs everywhere)',
    bits: 16,
    needsCalibration: false,
    weightOnly: true,
    formats: FLOAT16_FILES,
    apply: weightScheme(() => halfWeights('float16'), always),
    budgets: { fixtures: { minCosine: all(0.9999), minWeightSnrDb: 60 }, mnist: { maxPointsLost: 0.1 } },
  },
  {
    id: 'bf16-weights',
    summary: 'bfloat16 weights + Cast to float32 at load (storage only; opset 13)',
    bits: 16,
    needsCalibration: false,
    weightOnly: true,
    formats: { onnx: true, safetensors: 'bfloat16' },
    apply: weightScheme(() => halfWeights('bfloat16'), always),
    budgets: { fixtures: { minCosine: { det: 0.999, rec: 0.99, cls: 0.999, silero: 0.999 }, minWeightSnrDb: 40 } },
  },
  {
    id: 'int8',
    summary: 'int8 weights + DequantizeLinear (weight-only QDQ)',
    bits: 8,
    needsCalibration: false,
    weightOnly: true,
    formats: ONNX,
    apply: weightScheme(() => linearWeights(8, true), perChannel),
    budgets: {
      fixtures: { opts: symmetricPerChannel, minCosine: { det: 0.999, rec: 0.99, cls: 0.999, silero: 0.999 }, minWeightSnrDb: 25 },
      mnist: { opts: symmetricPerChannel, maxPointsLost: 0.5 },
    },
  },
  {
    id: 'uint8',
    summary: 'uint8 weights + DequantizeLinear (weight-only QDQ)',
    bits: 8,
    needsCalibration: false,
    weightOnly: true,
    formats: { onnx: true, tfjs: 'uint8' },
    apply: weightScheme(() => linearWeights(8, false), perChannel),
    budgets: { fixtures: { minCosine: { det: 0.99, rec: 0.97, cls: 0.99, silero: 0.999 }, minWeightSnrDb: 10 } },
  },
  {
    id: 'fp16',
    summary: 'weights and compute in float16 where onnxruntime has kernels; inputs/outputs stay float32 (Casts at the boundary)',
    bits: 16,
    needsCalibration: false,
    weightOnly: false,
    formats: FLOAT16_FILES,
    apply: (m, o) => convertFp16(m, o),
    // measured: rec 0.99996, cls 1.00000, silero 1.00000, det logits 1.00000
    budgets: { fixtures: { minCosine: all(0.9999) } },
  },
  {
    id: 'dynamic',
    summary: 'int8 weights, activations quantized at run time (MatMulInteger/ConvInteger), like quantize_dynamic',
    bits: 8,
    needsCalibration: false,
    weightOnly: false,
    formats: ONNX,
    apply: (m, o) => quantizeDynamic(m, o),
    // a little under what was measured per-channel (rec 0.989, cls 0.9994, silero 0.999, det logits 0.9998)
    budgets: { fixtures: { opts: { perChannel: true }, minCosine: { rec: 0.95, cls: 0.998, silero: 0.999, det: 0.995 } } },
  },
  {
    id: 'static',
    summary: 'QDQ int8 weights (per-channel) and uint8 activations calibrated on data',
    bits: 8,
    needsCalibration: true,
    weightOnly: false,
    formats: ONNX,
    apply: (m, o) => quantizeStatic(m, o),
    budgets: {
      fixtures: { opts: { calibMethod: 'minmax' }, minCosine: { cls: 0.99, rec: 0.97, det: 0.99 }, minWeightSnrDb: 20 },
      mnist: { maxPointsLost: 0.5 },
    },
  },
  {
    id: 'int4',
    summary: 'MatMul -> com.microsoft MatMulNBits (4-bit blocks); other weights int4 DequantizeLinear (opset 21)',
    bits: 4,
    needsCalibration: false,
    weightOnly: true,
    formats: ONNX,
    apply: weightScheme(() => nbitsWeights(false), always),
    budgets: {
      fixtures: { minCosine: { det: 0.9, rec: 0.999, cls: 0.6 }, minWeightSnrDb: 5 },
      mnist: { opts: { blockSize: 32 }, maxPointsLost: 2 },
    },
  },
  {
    id: 'q4f16',
    summary: 'int4 MatMulNBits on float16 activations (float16 scales)',
    bits: 4,
    needsCalibration: false,
    weightOnly: false,
    formats: ONNX,
    // the fp16 guard keeps MatMuls whose activations leave float16's range on float32 ones
    apply: (m, o) => {
      const run = async (keep?: ReadonlySet<string>) => weightScheme(() => nbitsWeights(true, keep), always)(m, o);
      return o.fp16Guard !== false && o.openRunner ? guardFp16(m, o, run) : run();
    },
    budgets: {},
  },
];

/** A binary/ternary scheme (per-channel scales, so folding BatchNormalization first is lossless). quantizeModel refuses a model it leaves unchanged (E_UNSUPPORTED). */
function ternaryScheme(id: TernaryKind, summary: string): SchemeTraits {
  return {
    id,
    summary,
    bits: id === 'binary' ? 1 : 1.6,
    needsCalibration: false,
    weightOnly: true,
    formats: ONNX,
    budgets: {},
    apply: weightScheme(() => ternaryWeights(id), always),
  };
}
table.push(
  ternaryScheme(
    'binary',
    'BWN: sign(w) x mean|w| per output channel, 1-bit codes packed 8 per byte, decoded by BitShift/Cast/Mul (opset 11)',
  ),
  ternaryScheme(
    'ternary',
    'TWN: {-1,0,1} x scale per output channel (threshold 0.7 mean|w|), 5 codes per byte (1.6 bits), Div/Mod/Cast/Mul (opset 11)',
  ),
  ternaryScheme(
    'ternary-absmean',
    'BitNet b1.58 absmean: round(w / mean|w|) clipped to {-1,0,1} per output channel, 2-bit codes (opset 11)',
  ),
  ternaryScheme(
    'ttq',
    'TTQ: {-w_n, 0, w_p} per output channel (threshold 0.7 mean|w|; qat --scheme ttq learns w_p, w_n), 5 codes per byte, Where decoder (opset 11)',
  ),
);

/** Schemes for weight files only (no ONNX rewrite). */
const fileOnly: readonly SchemeTraits[] = [
  {
    id: 'uint16',
    summary: 'uint16 affine manifest entries',
    bits: 16,
    needsCalibration: false,
    weightOnly: true,
    formats: { onnx: false, tfjs: 'uint16' },
    budgets: {},
  },
];

const KMEANS_SUMMARY = 'weight sharing: 2^bits centroids per tensor (1-D k-means), uint8/uint16 indices + codebook behind a Gather';
/** Budgets of k-means weight sharing by bit width (kmeans:<bits> is a family, not one row). */
const KMEANS_BUDGETS: Readonly<Record<number, ErrorBudgets>> = {
  8: { fixtures: { minCosine: { det: 0.999, rec: 0.92, cls: 0.999, silero: 0.999 }, minWeightSnrDb: 20 } },
  5: { mnist: { maxPointsLost: 2 } },
};

function kmeansScheme(bits: number): SchemeTraits {
  kmeansWeights(bits); // validates bits
  return {
    id: `kmeans:${bits}`,
    summary: `k-means weight sharing with ${2 ** bits} centroids`,
    bits,
    needsCalibration: false,
    weightOnly: true,
    formats: ONNX,
    budgets: KMEANS_BUDGETS[bits] ?? {},
    apply: weightScheme(
      () => kmeansWeights(bits),
      () => false,
    ),
  };
}

/** Every scheme for --help: the table, the kmeans:<bits> family, then the weight-file-only schemes. */
export function listSchemes(): readonly SchemeTraits[] {
  return [
    ...table,
    { id: 'kmeans:<bits>', summary: KMEANS_SUMMARY, bits: NaN, needsCalibration: false, weightOnly: true, formats: ONNX, budgets: {} },
    ...fileOnly,
  ];
}

/** The scheme for an id such as 'int8' or 'kmeans:5'; E_ARG listing the known ones otherwise. */
export function getScheme(id: string): SchemeTraits {
  const km = /^kmeans:(\d+)$/.exec(id);
  if (km) return kmeansScheme(Number(km[1]));
  const s = [...table, ...fileOnly].find((t) => t.id === id);
  if (!s)
    throw new ModelpressError(
      'E_ARG',
      `unknown scheme '${id}'; known: ${listSchemes()
        .map((t) => t.id)
        .join(', ')}`,
    );
  return s;
}

/** Every scheme with a `kind` budget, with the id it is measured under (kmeans:<bits> once per budgeted bit width). */
export function budgetedSchemes<K extends keyof ErrorBudgets>(
  kind: K,
): { id: string; scheme: SchemeTraits; budget: NonNullable<ErrorBudgets[K]> }[] {
  const schemes = [...table, ...Object.keys(KMEANS_BUDGETS).map((b) => kmeansScheme(Number(b))), ...fileOnly];
  return schemes.filter((s) => s.budgets[kind] !== undefined).map((s) => ({ id: s.id, scheme: s, budget: s.budgets[kind]! }));
}

/** The file formats other than ONNX a scheme writes, by display name ('TF.js', 'safetensors'). */
export function fileFormatNames(s: SchemeTraits): string[] {
  return (['tfjs', 'safetensors'] as const).filter((f) => s.formats[f] !== undefined).map((f) => (f === 'tfjs' ? 'TF.js' : f));
}

/** Ids of the schemes that write `format` files, one per storage dtype, integer before float, narrow before wide ("uint8, uint16 or fp16-weights"). */
export function schemesForFileFormat(format: 'tfjs' | 'safetensors'): { id: string; dtype: string }[] {
  const seen = new Map<string, string>();
  for (const s of [...table, ...fileOnly]) {
    const d = s.formats[format];
    if (d && !seen.has(d)) seen.set(d, s.id);
  }
  const rank = (d: string) => (dtypeTraits(d as DType).isFloat ? 1000 : 0) + dtypeTraits(d as DType).bits;
  return [...seen].map(([dtype, id]) => ({ id, dtype })).sort((a, b) => rank(a.dtype) - rank(b.dtype));
}
