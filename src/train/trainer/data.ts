/**
 * In-memory classification data for the trainer: float32 examples in one
 * array, integer labels, and helpers to split, subset and batch them.
 */
import { ModelpressError } from '../../core/errors.js';
import { permutation, type Rng } from '../../core/random.js';

export interface ClassificationData {
  /** `count * prod(sampleShape)` float32 values, example after example. */
  readonly inputs: Float32Array;
  /** Class index per example, in [0, classes). */
  readonly labels: Uint8Array | Int32Array;
  readonly count: number;
  /** Shape of one example, e.g. [1, 28, 28]. */
  readonly sampleShape: readonly number[];
}

export function sampleSize(data: ClassificationData): number {
  return data.sampleShape.reduce((a, b) => a * b, 1);
}

/** Checks that the arrays agree with count and shape; throws E_SHAPE naming the field. */
export function checkData(data: ClassificationData, what = 'dataset'): void {
  const size = sampleSize(data);
  if (data.inputs.length !== data.count * size) {
    throw new ModelpressError('E_SHAPE', `${what}: inputs hold ${data.inputs.length} values, expected ${data.count} examples x ${size} (shape [${data.sampleShape.join(', ')}])`);
  }
  if (data.labels.length !== data.count) throw new ModelpressError('E_SHAPE', `${what}: ${data.labels.length} labels for ${data.count} examples`);
}

/** uint8 images (0..255) as float32 in [0, 1] with shape [channels=1, rows, cols]. */
export function fromUint8Images(images: Uint8Array, labels: Uint8Array, count: number, rows: number, cols: number): ClassificationData {
  const inputs = new Float32Array(count * rows * cols);
  for (let i = 0; i < inputs.length; i++) inputs[i] = images[i]! / 255;
  return { inputs, labels, count, sampleShape: [1, rows, cols] };
}

/** The examples at `indices`, copied, in that order. */
export function subset(data: ClassificationData, indices: ArrayLike<number>): ClassificationData {
  const size = sampleSize(data);
  const inputs = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    inputs.set(data.inputs.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = data.labels[i]!;
  }
  return { inputs, labels, count: indices.length, sampleShape: data.sampleShape };
}

/** The first `n` examples (a view, no copy). */
export function head(data: ClassificationData, n: number): ClassificationData {
  const count = Math.min(n, data.count);
  const size = sampleSize(data);
  return { inputs: data.inputs.subarray(0, count * size), labels: data.labels.subarray(0, count), count, sampleShape: data.sampleShape };
}

/** A seeded random split into `holdout` examples and the rest. */
export function splitHoldout(data: ClassificationData, holdout: number, rng: Rng): { train: ClassificationData; holdout: ClassificationData } {
  if (!(holdout >= 0 && holdout < data.count)) throw new ModelpressError('E_ARG', `hold-out size ${holdout} must be in [0, ${data.count})`);
  const p = permutation(data.count, rng);
  return { holdout: subset(data, p.subarray(0, holdout)), train: subset(data, p.subarray(holdout)) };
}

/** Largest label + 1. */
export function classCount(data: ClassificationData): number {
  let max = -1;
  for (let i = 0; i < data.count; i++) if (data.labels[i]! > max) max = data.labels[i]!;
  return max + 1;
}
