/**
 * The one in-memory dataset type: examples stacked along axis 0 of a tensor
 * `x` (any numeric dtype, [count, ...sampleShape]), optional integer labels
 * `y`, and a name for reports. Evaluation feeds it to any model input;
 * training, pruning and compression read it through `floatView`, a float32
 * view of the examples (zero-copy when `x` already is aligned float32).
 * The readers (IDX, .npy, .npz) live in eval/datasets/ and return this type;
 * a .npz may also carry more named inputs and regression targets, and an
 * image folder (node/images.ts) arrives already preprocessed.
 */
import { byteLength, elementCount } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { permutation, type Rng } from '../core/random.js';
import { makeTensor, toFloat32, typedView, type Tensor } from '../core/tensor.js';

export interface Dataset {
  /** Examples along axis 0: [count, ...sampleShape]. */
  readonly x: Tensor;
  /** One integer class label per example, if the dataset has labels. */
  readonly y: Int32Array | undefined;
  /** Short description for reports: 'fashion-mnist:test', 'data.npz'. */
  readonly name: string;
  /**
   * The model input `x` is for, when the data names it (a .npz member's name);
   * undefined: the data input (--data-input, else the model's first input).
   */
  readonly xName?: string | undefined;
  /** More model inputs by name (the other members of a .npz), examples along axis 0 like `x`. */
  readonly inputs?: Readonly<Record<string, Tensor>> | undefined;
  /**
   * Regression / distillation targets by model output name, examples along
   * axis 0; the key '' is the model's single (or first) output (a .npz's
   * `targets` member, where `targets/<output>` gives one output by name).
   */
  readonly targets?: Readonly<Record<string, Tensor>> | undefined;
  /** The file or folder the examples came from, for error messages. */
  readonly file?: string | undefined;
  /** `x` already holds the model's input values (an image folder's preprocessing applied): feeders add no scale, mean or std. */
  readonly preprocessed?: boolean | undefined;
}

/** The fields a dataset carries besides x, y and name (kept by select, limit and hold-out). */
function extras(ds: Dataset, per: (t: Tensor) => Tensor): Partial<Dataset> {
  const map = (r: Readonly<Record<string, Tensor>> | undefined) =>
    r === undefined ? undefined : Object.fromEntries(Object.entries(r).map(([k, t]) => [k, per(t)]));
  return {
    ...(ds.xName === undefined ? {} : { xName: ds.xName }),
    ...(ds.inputs === undefined ? {} : { inputs: map(ds.inputs) }),
    ...(ds.targets === undefined ? {} : { targets: map(ds.targets) }),
    ...(ds.file === undefined ? {} : { file: ds.file }),
    ...(ds.preprocessed ? { preprocessed: true } : {}),
  };
}

/** The rows at `indices` of a tensor whose examples lie along axis 0, copied. */
export function selectRows(t: Tensor, indices: ArrayLike<number>): Tensor {
  const shape = t.shape.slice(1);
  const bytes = byteLength(t.dtype, elementCount(shape));
  const data = new Uint8Array(indices.length * bytes);
  for (let i = 0; i < indices.length; i++) {
    const s = indices[i]!;
    data.set(t.data.subarray(s * bytes, (s + 1) * bytes), i * bytes);
  }
  return makeTensor(t.dtype, [indices.length, ...shape], data);
}

/** The first `count` rows of a tensor (a view of the same bytes). */
function firstRows(t: Tensor, count: number): Tensor {
  const shape = t.shape.slice(1);
  return makeTensor(t.dtype, [count, ...shape], t.data.subarray(0, count * byteLength(t.dtype, elementCount(shape))));
}

/** The examples of a dataset as float32 values, example after example (what trainer steps and classifier passes batch from). */
export interface FloatView {
  readonly inputs: Float32Array;
  readonly labels: Int32Array | undefined;
  readonly count: number;
  /** Shape of one example, e.g. [1, 28, 28]. */
  readonly sampleShape: readonly number[];
}

export function sampleCount(ds: Dataset): number {
  return ds.x.shape[0] ?? 0;
}

export function sampleShape(ds: Dataset): number[] {
  return ds.x.shape.slice(1);
}

/** Values per example. */
export function sampleSize(ds: Dataset): number {
  return elementCount(ds.x.shape.slice(1));
}

/** A float32 dataset over `values` (no copy) with examples of `shape`; labels are copied to Int32Array unless they are one. */
export function floatDataset(values: Float32Array, shape: readonly number[], labels: ArrayLike<number> | undefined, name: string): Dataset {
  const size = elementCount(shape);
  const count = size === 0 ? 0 : values.length / size;
  if (!Number.isInteger(count)) {
    const what = `${values.length} values are not a whole number of examples of shape [${shape.join(', ')}]`;
    throw new ModelpressError('E_SHAPE', `${name}: ${what}`);
  }
  const x = makeTensor('float32', [count, ...shape], new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return { x, y: labels === undefined || labels instanceof Int32Array ? labels : Int32Array.from(labels), name };
}

/** The examples at `indices` (in that order), copied, as a new dataset. */
export function selectSamples(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const y = ds.y;
  const labels = y ? Int32Array.from({ length: indices.length }, (_, i) => y[indices[i]!]!) : undefined;
  return { x: selectRows(ds.x, indices), y: labels, name, ...extras(ds, (t) => selectRows(t, indices)) };
}

/** The first `limit` examples (a view of the same bytes, no copy); the dataset itself when it has no more. */
export function limitSamples(ds: Dataset, limit: number): Dataset {
  const n = sampleCount(ds);
  if (limit >= n) return ds;
  const count = Math.max(0, limit);
  return { x: firstRows(ds.x, count), y: ds.y?.subarray(0, count), name: ds.name, ...extras(ds, (t) => firstRows(t, count)) };
}

/** A seeded random split into `holdout` examples and the rest, each in the permutation's order (the trainer's validation hold-out). */
export function splitHoldout(ds: Dataset, holdout: number, rng: Rng): { train: Dataset; holdout: Dataset } {
  const n = sampleCount(ds);
  if (!(holdout >= 0 && holdout < n)) throw new ModelpressError('E_ARG', `hold-out size ${holdout} must be in [0, ${n})`);
  const p = permutation(n, rng);
  return { holdout: selectSamples(ds, p.subarray(0, holdout)), train: selectSamples(ds, p.subarray(holdout)) };
}

/** Largest label + 1 (0 without labels). */
export function classCount(ds: Dataset): number {
  let max = -1;
  for (const label of ds.y ?? []) if (label > max) max = label;
  return max + 1;
}

/**
 * Checks that `x` holds its shape's bytes and the labels match the examples
 * (E_SHAPE, naming `what`); with `labels: true`, that there are labels and
 * none is negative (E_ARG).
 */
export function checkDataset(ds: Dataset, what = 'dataset', opts: { labels?: boolean } = {}): void {
  const { x, y } = ds;
  if (x.shape.length < 1) throw new ModelpressError('E_SHAPE', `${what}: x is a scalar; examples lie along axis 0`);
  if (x.dtype === 'string') throw new ModelpressError('E_UNSUPPORTED', `${what}: x holds strings`);
  const count = sampleCount(ds);
  const size = sampleSize(ds);
  const want = byteLength(x.dtype, count * size);
  if (x.data.byteLength !== want) {
    const expected = `${count} examples x ${size} ${x.dtype} values (${want} bytes; shape [${x.shape.join(', ')}])`;
    throw new ModelpressError('E_SHAPE', `${what}: x holds ${x.data.byteLength} bytes, expected ${expected}`);
  }
  if (y && y.length !== count) throw new ModelpressError('E_SHAPE', `${what}: ${y.length} labels for ${count} examples`);
  for (const [kind, arrays] of [
    ['input', ds.inputs],
    ['targets', ds.targets],
  ] as const) {
    for (const [key, t] of Object.entries(arrays ?? {})) {
      const label = kind === 'input' ? `array '${key}'` : key === '' ? "array 'targets'" : `array 'targets/${key}'`;
      if (t.shape[0] !== count)
        throw new ModelpressError(
          'E_SHAPE',
          `${what}: ${label} has ${t.shape[0] ?? 0} examples [${t.shape.join(', ')}], ${ds.xName === undefined ? 'x' : `'${ds.xName}'`} has ${count}`,
        );
    }
  }
  if (!opts.labels) return;
  if (!y) throw new ModelpressError('E_ARG', `${what}: the data has no labels (array 'y'); training needs them`);
  for (let i = 0; i < count; i++) if (y[i]! < 0) throw new ModelpressError('E_ARG', `${what}: label ${y[i]} of sample ${i} is negative`);
}

/** The examples as float32: a view when `x` is aligned float32, one conversion (values unscaled) otherwise. */
export function floatView(ds: Dataset): FloatView {
  const inputs = ds.x.dtype === 'float32' ? (typedView(ds.x) as Float32Array) : toFloat32(ds.x);
  return { inputs, labels: ds.y, count: sampleCount(ds), sampleShape: sampleShape(ds) };
}

/**
 * The dataset as float32 training input: uint8 examples (image pixels)
 * scaled by 1/255 into [0, 1], other numbers converted as they are;
 * `channelDim` turns grey images [count, rows, cols] into [count, 1, rows, cols].
 */
export function unitScaled(ds: Dataset, opts: { channelDim?: boolean } = {}): Dataset {
  const values = toFloat32(ds.x);
  if (ds.x.dtype === 'uint8') for (let i = 0; i < values.length; i++) values[i] = values[i]! / 255;
  const shape = sampleShape(ds);
  const scaled = floatDataset(values, opts.channelDim && shape.length === 2 ? [1, ...shape] : shape, ds.y, ds.name);
  return { ...scaled, ...extras(ds, (t) => t) };
}
