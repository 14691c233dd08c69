/**
 * What every quantization scheme shares: its options, the per-tensor report
 * it returns, and the signature of a scheme's apply function. A scheme takes
 * a model and returns a new one plus a report; it never mutates its input.
 */
import type { ModelProto } from 'onnx-buf';
import type { RunnerFactory } from '../runtime/runner.js';
import type { CalibrationMethod } from './calibrate.js';

/** A batch of model inputs for calibration: input name -> values. */
export interface CalibrationFeed {
  readonly [inputName: string]: {
    readonly dtype: string;
    readonly shape: readonly number[];
    readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;
  };
}

export interface QuantizeOptions {
  /** Per-channel scales for weights (default false: one scale per tensor). */
  readonly perChannel?: boolean;
  /** Symmetric ranges with zero point 0 (default false: affine). */
  readonly symmetric?: boolean;
  /** 7-bit ranges for CPUs whose int8 dot products can overflow (default false). */
  readonly reduceRange?: boolean;
  /** Block size for block-wise 4-bit schemes (default 32). */
  readonly blockSize?: number;
  /** MatMulNBits accuracy_level attribute (0 = unset, 1 fp32, 2 fp16, 3 bf16, 4 int8; default 0). */
  readonly accuracyLevel?: number;
  /** Leave tensors with fewer elements than this alone (default 256). */
  readonly minSize?: number;
  /** Only touch weights whose tensor name, consumer node name or op type matches one of these (exact, or /regex/). */
  readonly include?: readonly string[];
  /** Never touch weights whose tensor name, consumer node name or op type matches one of these. */
  readonly exclude?: readonly string[];
  /**
   * Fold each inference BatchNormalization into the Conv before it first, so
   * the quantized weight is the one that multiplies and the normalization
   * parameters leave the file. Default: on where that costs no precision
   * (per-channel scales, half-precision weights, int4, dynamic, static);
   * off for per-tensor int8/uint8 and kmeans, where one scale or codebook
   * would have to cover channels the fold scaled differently.
   */
  readonly foldBatchNorm?: boolean;
  /**
   * After quantizing, rename every internal tensor to a short name and clear
   * node names (default false). Graph inputs and outputs keep their names;
   * the per-tensor report keeps the original ones.
   */
  readonly compactNames?: boolean;
  /** fp16: op types kept in float32 (Casts around them). */
  readonly keepOps?: readonly string[];
  /** fp16: constants beyond ±65504 stay float32 with their readers ('keep', default) or are clamped ('clamp'). */
  readonly overflow?: 'keep' | 'clamp';
  /**
   * fp16, q4f16: find the activations that leave float16's range on the calibration inputs (else seeded random ones)
   * and keep the nodes around them in float32 (default true; needs openRunner). See ./fp16-guard.ts.
   */
  readonly fp16Guard?: boolean;
  /** kmeans: centroid initialization (default 'linear'). */
  readonly kmeansInit?: 'linear' | 'density' | 'random' | 'kmeans++';
  /** kmeans: 'exact' optimal 1-D clustering, 'lloyd', or 'auto' (exact when cheap; default). */
  readonly kmeansSolver?: 'auto' | 'exact' | 'lloyd';
  /** static: calibration batches (already preprocessed model inputs). */
  readonly calibration?: readonly CalibrationFeed[];
  readonly calibMethod?: CalibrationMethod;
  /** static: percentile for the 'percentile' method (default 99.999). */
  readonly calibPercentile?: number;
  /** Opens models for calibration runs (static) and kernel probes (fp16); createNodeRunner in Node. */
  readonly openRunner?: RunnerFactory;
  /** File name for error messages. */
  readonly file?: string;
}

/** What happened to one tensor. */
export interface TensorReport {
  readonly name: string;
  /** Graph path ('' = main graph). */
  readonly graph: string;
  /** Op types of the consumers, e.g. ['Conv']. */
  readonly ops: readonly string[];
  /** e.g. 'int8 per-channel axis 0 (DequantizeLinear)', or 'skipped'. */
  readonly action: string;
  /** Why it was skipped, when it was. */
  readonly reason?: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Weight error of the reconstruction (absent for skipped tensors). */
  readonly error?: { readonly mse: number; readonly snrDb: number; readonly maxAbs: number };
}

export interface SchemeResult {
  readonly model: ModelProto;
  readonly tensors: readonly TensorReport[];
  /** Notes for the user (opset raised, values clamped, ...). */
  readonly notes: readonly string[];
}
