/**
 * Input tensors for a model when no dataset gives them: shapes resolved from
 * the model's declared shapes plus `--dim name=value` / `--shape input=...`,
 * values random (seeded) or constant (`--fill input=value`).
 */
import { isNumeric, fromFloat32, makeTensor, type Tensor } from '../core/tensor.js';
import { byteLength, elementCount, type DType } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { formatShape, type IoInfo } from '../runtime/runner.js';
import { mulberry32 } from '../core/random.js';

export interface ShapeBindings {
  /** Values of symbolic dimensions by name (`--dim batch=1`). */
  dims?: Readonly<Record<string, number>>;
  /** Full shapes by input name (`--shape x=1,3,64,64`); win over `dims`. */
  shapes?: Readonly<Record<string, readonly number[]>>;
  /** The value of symbolic dims neither `dims` nor `shapes` bind; without it they are an E_ARG. */
  defaultDim?: number;
  /** Hears each symbolic dim set to `defaultDim`. */
  onDefault?: (dim: string) => void;
}

/** The concrete shape of `input`; unresolved symbolic dims are an E_ARG naming them. */
export function resolveInputShape(input: IoInfo, bindings: ShapeBindings = {}): number[] {
  const given = bindings.shapes?.[input.name];
  if (given) {
    if (input.shape && input.shape.length !== given.length) {
      throw new ModelpressError(
        'E_SHAPE',
        `--shape ${input.name}=${given.join(',')} has rank ${given.length}, model input '${input.name}' is ${formatShape(input.shape)}`,
      );
    }
    input.shape?.forEach((d, i) => {
      if (typeof d === 'number' && d !== given[i])
        throw new ModelpressError(
          'E_SHAPE',
          `--shape ${input.name}=${given.join(',')} sets dim ${i} to ${given[i]}, model input '${input.name}' fixes it at ${d} (${formatShape(input.shape)})`,
        );
    });
    return [...given];
  }
  if (!input.shape)
    throw new ModelpressError('E_ARG', `model input '${input.name}' declares no shape; give one with --shape ${input.name}=d0,d1,...`);
  const missing: string[] = [];
  const shape = input.shape.map((d) => {
    if (typeof d === 'number') return d;
    const v = bindings.dims?.[d];
    if (v !== undefined) return v;
    if (bindings.defaultDim !== undefined) {
      bindings.onDefault?.(d);
      return bindings.defaultDim;
    }
    missing.push(d);
    return 0;
  });
  if (missing.length) {
    throw new ModelpressError(
      'E_ARG',
      `model input '${input.name}' ${formatShape(input.shape)} has symbolic dims ${missing.map((m) => `'${m}'`).join(', ')}; give them with ${missing.map((m) => `--dim ${m}=<n>`).join(' ')} or --shape ${input.name}=d0,d1,...`,
    );
  }
  return shape;
}

/** A constant tensor (every element `value`). */
export function constantTensor(dtype: DType, shape: readonly number[], value: number): Tensor {
  const n = elementCount(shape);
  if (dtype === 'int64') return makeTensor(dtype, shape, new Uint8Array(new BigInt64Array(n).fill(BigInt(Math.round(value))).buffer));
  if (!isNumeric(dtype)) throw new ModelpressError('E_UNSUPPORTED', `cannot make ${dtype} inputs`);
  if (value === 0) return makeTensor(dtype, shape, new Uint8Array(byteLength(dtype, n)));
  return fromFloat32(new Float32Array(n).fill(value), dtype, shape);
}

/**
 * A seeded random tensor: floats uniform in [0, 1), integers uniform in
 * [0, 16), bools 0/1 — small non-negative values that index-like inputs accept.
 */
export function randomTensor(dtype: DType, shape: readonly number[], seed: number): Tensor {
  const n = elementCount(shape);
  const rng = mulberry32(seed);
  if (dtype === 'int64' || dtype === 'uint64') {
    const a = dtype === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n);
    for (let i = 0; i < n; i++) a[i] = BigInt(Math.floor(rng() * 16));
    return makeTensor(dtype, shape, new Uint8Array(a.buffer));
  }
  if (!isNumeric(dtype)) throw new ModelpressError('E_UNSUPPORTED', `cannot make random ${dtype} inputs`);
  const values = new Float32Array(n);
  const isFloat = dtype.startsWith('float') || dtype === 'bfloat16';
  for (let i = 0; i < n; i++) values[i] = dtype === 'bool' ? (rng() < 0.5 ? 0 : 1) : isFloat ? rng() : Math.floor(rng() * 16);
  return fromFloat32(values, dtype, shape);
}

/** Pairs of (input, output) that carry recurrent state between runs, e.g. silero_vad's h→hn, c→cn. */
export interface StatePair {
  readonly input: string;
  readonly output: string;
}

/**
 * State pairs found by name: output `<in>n`, `<in>_out`, `<in>_next`,
 * `next_<in>`, or `present…` for `past…`, with the same dtype. Explicit
 * pairs (`--state in=out`) replace the guess.
 */
export function findStatePairs(inputs: readonly IoInfo[], outputs: readonly IoInfo[]): StatePair[] {
  const pairs: StatePair[] = [];
  for (const input of inputs) {
    const candidates = [
      `${input.name}n`,
      `${input.name}_out`,
      `${input.name}_next`,
      `next_${input.name}`,
      input.name.replace(/^past/, 'present'),
    ];
    const output = outputs.find((o) => o.name !== input.name && candidates.includes(o.name) && o.dtype === input.dtype);
    if (output) pairs.push({ input: input.name, output: output.name });
  }
  return pairs;
}
