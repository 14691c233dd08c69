/**
 * Fitting dataset samples to a model input: preprocessing (scale, mean/std,
 * layout) and reshaping each sample to the input's per-sample shape, binding
 * the input's symbolic dims. A sample that cannot fit is an E_SHAPE naming
 * both shapes.
 */
import { elementCount, type DType } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { fromFloat32, toFloat32, typedView, type Tensor } from '../core/tensor.js';
import { formatShape, type IoInfo } from '../runtime/runner.js';

export type Layout = 'nchw' | 'nhwc';

export interface PreprocessOptions {
  /** Multiplier applied first; default 1/255 when the data is uint8 and the model input is float, else 1. */
  scale?: number;
  /** Subtracted after scaling: one value, or one per channel. Default 0. */
  mean?: readonly number[];
  /** Divides after the mean: one value, or one per channel. Default 1. */
  std?: readonly number[];
  /** Layout of the dataset's image samples (rank-3 samples: CHW or HWC). Default: as the model. */
  dataLayout?: Layout;
  /** Layout the model input expects. Default: as the data. */
  modelLayout?: Layout;
}

/** How samples map onto one model input. */
export interface InputFit {
  readonly input: string;
  readonly dtype: DType;
  /** Per-sample shape the model sees (input shape without the batch axis). */
  readonly sampleShape: readonly number[];
  /** Whether axis 0 of the input is the batch axis. */
  readonly batched: boolean;
  /** A fixed batch size the model demands (its axis 0 is a number), if any. */
  readonly fixedBatch: number | undefined;
  /** Name of the symbolic batch dim (to bind in other inputs), if any. */
  readonly batchSymbol: string | undefined;
  /** Symbolic dims bound by fitting. */
  readonly bindings: Readonly<Record<string, number>>;
  /** Transpose HWC→CHW (1) or CHW→HWC (2) before reshaping; 0 none. */
  readonly transpose: 0 | 1 | 2;
}

/** Matches samples of `dataSampleShape` to `input`; `dims` are user bindings (--dim). */
export function fitSamples(
  dataSampleShape: readonly number[],
  input: IoInfo,
  pre: PreprocessOptions = {},
  dims: Readonly<Record<string, number>> = {},
): InputFit {
  if (!input.dtype) throw new ModelpressError('E_UNSUPPORTED', `model input '${input.name}' is not a tensor`);
  const transpose =
    dataSampleShape.length === 3 && pre.dataLayout && pre.modelLayout && pre.dataLayout !== pre.modelLayout
      ? pre.dataLayout === 'nhwc'
        ? 1
        : 2
      : 0;
  const data =
    transpose === 1
      ? [dataSampleShape[2]!, dataSampleShape[0]!, dataSampleShape[1]!]
      : transpose === 2
        ? [dataSampleShape[1]!, dataSampleShape[2]!, dataSampleShape[0]!]
        : [...dataSampleShape];
  const values = elementCount(data);
  const modelShape = input.shape ?? [];
  const mismatch = (why: string): never => {
    throw new ModelpressError(
      'E_SHAPE',
      `dataset samples of shape ${formatShape(dataSampleShape)} (${values} values) cannot fit model input '${input.name}' ${formatShape(input.shape)}: ${why}`,
    );
  };
  if (!input.shape) mismatch('the model declares no input shape; give it with --shape');
  // Axis 0 is the batch axis unless the input has exactly the sample's rank and fixed dims equal to it.
  const unbatched = modelShape.length === data.length && modelShape.every((d, i) => d === data[i]);
  const batched = !unbatched && modelShape.length >= 1;
  const axis0 = batched ? modelShape[0] : undefined;
  const rest = batched ? modelShape.slice(1) : [...modelShape];
  const bindings: Record<string, number> = {};
  const resolved: (number | undefined)[] = rest.map((d) => (typeof d === 'number' ? d : dims[d]));
  const unknown = resolved.flatMap((d, i) => (d === undefined ? [i] : []));
  if (unknown.length > 0 && rest.length === data.length && rest.every((d, i) => typeof d !== 'number' || d === data[i])) {
    // Same rank: bind symbolic dims axis by axis.
    for (const i of unknown) resolved[i] = data[i]!;
  } else if (unknown.length === 1) {
    const known = resolved.reduce<number>((a, d) => a * (d ?? 1), 1);
    if (known === 0 || values % known !== 0) mismatch(`${values} is not a multiple of the ${known} values its fixed dims hold`);
    resolved[unknown[0]!] = values / known;
  } else if (unknown.length > 1) {
    mismatch(`symbolic dims ${unknown.map((i) => `'${rest[i]}'`).join(', ')} are ambiguous; bind them with --dim name=value`);
  }
  const shape = resolved as number[];
  rest.forEach((d, i) => {
    if (typeof d === 'string') bindings[d] = shape[i]!;
  });
  if (elementCount(shape) !== values) mismatch(`each sample needs ${elementCount(shape)} values [${shape.join(', ')}]`);
  const fixedBatch = typeof axis0 === 'number' ? axis0 : undefined;
  const batchSymbol = typeof axis0 === 'string' ? axis0 : undefined;
  return {
    input: input.name,
    dtype: input.dtype,
    sampleShape: shape,
    batched,
    fixedBatch: batched ? fixedBatch : 1,
    batchSymbol,
    bindings,
    transpose,
  };
}

/** The default scale: 1/255 for uint8 data going into a float input. */
export function defaultScale(dataDType: DType, inputDType: DType): number {
  return dataDType === 'uint8' && (inputDType.startsWith('float') || inputDType === 'bfloat16') ? 1 / 255 : 1;
}

/**
 * Builds the input tensor for samples [start, end) of `x` ([count, ...sample]):
 * float conversion, scale, mean/std per channel, layout transpose, model dtype.
 */
export function makeInputBatch(x: Tensor, start: number, end: number, fit: InputFit, pre: PreprocessOptions = {}): Tensor {
  return createBatcher(x, fit, pre)(start, end);
}

/** makeInputBatch with everything that does not depend on the batch worked out once (for loops over a dataset). */
export function createBatcher(x: Tensor, fit: InputFit, pre: PreprocessOptions = {}): (start: number, end: number) => Tensor {
  const sample = x.shape.slice(1);
  const per = elementCount(sample);
  const bytesPer = x.data.byteLength / (x.shape[0] || 1);
  const scale = pre.scale ?? defaultScale(x.dtype, fit.dtype);
  const plain = scale === 1 && !pre.mean && !pre.std && fit.transpose === 0 && x.dtype === fit.dtype;
  const channelAxis = sample.length === 3 ? (pre.dataLayout === 'nhwc' ? 2 : 0) : -1;
  const channels = channelAxis >= 0 ? sample[channelAxis]! : 1;
  const mean = perChannel(pre.mean, channels, 0, 'mean', sample);
  const std = perChannel(pre.std, channels, 1, 'std', sample);
  const uniform = mean.every((m) => m === mean[0]) && std.every((d) => d === std[0]);
  const inner = channelAxis === 0 ? per / channels : 1;
  return (start, end) => {
    const count = end - start;
    const shape = fit.batched ? [count, ...fit.sampleShape] : [...fit.sampleShape];
    const data = x.data.subarray(start * bytesPer, end * bytesPer);
    if (plain) return { dtype: fit.dtype, shape, data };
    const slice: Tensor = { dtype: x.dtype, shape: [count, ...sample], data };
    let values: Float32Array;
    if (uniform) {
      values = scaleUniform(slice, scale, mean[0]!, std[0]!);
    } else {
      values = toFloat32(slice);
      for (let i = 0; i < values.length; i++) {
        const c = channelAxis === 0 ? Math.floor((i % per) / inner) : i % channels;
        values[i] = (values[i]! * scale - mean[c]!) / std[c]!;
      }
    }
    if (fit.transpose) values = transposeSamples(values, count, sample, fit.transpose);
    // float32 wraps the buffer as is; other dtypes convert.
    return fit.dtype === 'float32'
      ? { dtype: 'float32', shape, data: new Uint8Array(values.buffer) }
      : fromFloat32(values, fit.dtype, shape);
  };
}

/**
 * (x·scale − mean) / std with one mean and std, in one pass from the source
 * typed array. A scale of 1/k with integer k divides by k, so 1/255 gives the
 * same floats as the usual `x / 255`.
 */
function scaleUniform(t: Tensor, scale: number, mean: number, std: number): Float32Array {
  const src =
    t.dtype === 'uint8' || t.dtype === 'int8' || t.dtype === 'float32' || t.dtype === 'int16' || t.dtype === 'uint16' || t.dtype === 'int32'
      ? (typedView(t) as ArrayLike<number>)
      : toFloat32(t);
  const n = src.length;
  const out = new Float32Array(n);
  const divisor = 1 / scale;
  if (mean === 0 && std === 1 && Number.isInteger(divisor) && src instanceof Uint8Array) {
    divideBytes(src, divisor, out);
  } else if (mean === 0 && std === 1 && Number.isInteger(divisor)) {
    for (let i = 0; i < n; i++) out[i] = src[i]! / divisor;
  } else if (mean === 0 && std === 1) {
    for (let i = 0; i < n; i++) out[i] = src[i]! * scale;
  } else {
    for (let i = 0; i < n; i++) out[i] = (src[i]! * scale - mean) / std;
  }
  return out;
}

/** The hot case (uint8 images / 255) in a monomorphic loop. */
function divideBytes(src: Uint8Array, divisor: number, out: Float32Array): void {
  for (let i = 0; i < src.length; i++) out[i] = src[i]! / divisor;
}

function perChannel(
  v: readonly number[] | undefined,
  channels: number,
  fallback: number,
  what: string,
  sample: readonly number[],
): number[] {
  if (!v || v.length === 0) return new Array<number>(channels).fill(fallback);
  if (v.length === 1) return new Array<number>(channels).fill(v[0]!);
  if (v.length !== channels)
    throw new ModelpressError('E_SHAPE', `--${what} has ${v.length} values but samples ${formatShape(sample)} have ${channels} channels`);
  return [...v];
}

/** HWC→CHW (mode 1) or CHW→HWC (mode 2) for each of `count` samples. */
function transposeSamples(values: Float32Array, count: number, sample: readonly number[], mode: 1 | 2): Float32Array {
  const out = new Float32Array(values.length);
  const [a, b, c] = sample as [number, number, number];
  const per = a * b * c;
  for (let s = 0; s < count; s++) {
    const base = s * per;
    for (let i = 0; i < a; i++)
      for (let j = 0; j < b; j++)
        for (let k = 0; k < c; k++) {
          // Source index (i, j, k) in [a, b, c]; destination [c, a, b] for HWC→CHW, [b, c, a] for CHW→HWC.
          const src = base + (i * b + j) * c + k;
          const dst = mode === 1 ? base + (k * a + i) * b + j : base + (j * c + k) * a + i;
          out[dst] = values[src]!;
        }
  }
  return out;
}
